"""Personal data out of buyer messages before kb keeps, prints or learns from them.

``mask(text)`` replaces, in this order:
  links                     -> <链接>
  e-mail addresses          -> <邮箱>
  WeChat/QQ/Alipay handles  -> <账号>   (the label before it is kept: 微信号<账号>)
  ID card numbers           -> <身份证号> (18 characters, the last may be X, valid date and checksum;
                                          or any 15/18-character number right after 身份证)
  mobile/landline numbers   -> <手机号>   (11 digits starting 1[3-9], also +86 / 86-, spaces or dashes
                                          between the groups; 0xx(x)-xxxxxxx(x) landlines)
  tracking numbers          -> <运单号>   (2-4 letters + 9 or more digits: SF1234567890123)
  order numbers             -> <订单号>   (15-19 digits)
  other long numbers        -> <号码>     (7 digits or more: QQ numbers, bank cards …)
  names after 收件人/收货人/联系人/寄件人/姓名/名字 -> <姓名>
  addresses                 -> <地址>     (a chain of two or more administrative parts: 省 市 区 县 镇 乡 村
                                          路 街 巷 弄 小区 + numbered 号 栋 幢 单元 楼 层 室; or what follows
                                          地址是/改成/寄到/送到 … up to its last such part)
  amounts                   -> <金额>     (¥/￥ + number, number + 元/块/块钱/rmb, 五十块钱 …)
The rest of the message — the buyer's wording, which is what kb learns from — is kept.
Over-masking a word next to personal data is preferred to letting personal data through.
"""

from __future__ import annotations

import re

PLACEHOLDERS = ("<链接>", "<邮箱>", "<账号>", "<身份证号>", "<手机号>", "<运单号>", "<订单号>", "<号码>", "<姓名>",
                "<地址>", "<金额>")

_ND = r"(?<![0-9])"  # not preceded by a digit
_NA = r"(?![0-9])"  # not followed by a digit

_URL = re.compile(r"(?:https?://|www\.)[^\s\u4e00-\u9fff，。！？；]+", re.IGNORECASE)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_HANDLE = re.compile(
    r"((?:微信|威信|薇信|v信|vx|wx|weixin|qq|扣扣|支付宝|旺旺)(?:号|账号|帐号|id)?\s*(?:是|为)?\s*[:：]?\s*)"
    r"([A-Za-z][A-Za-z0-9_-]{4,}|[0-9][0-9 -]{4,}[0-9])",
    re.IGNORECASE,
)
_ID_CONTEXT = re.compile(r"(身份证(?:号码|号)?\s*(?:是|为)?\s*[:：]?\s*)(\d{17}[\dXx]|\d{15})" + _NA)
_ID18 = re.compile(_ND + r"(\d{17}[\dXx])" + _NA)
_PHONE = re.compile(
    r"(?<![0-9+])(?:(?:\+|00)?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}" + _NA
    + r"|" + _ND + r"0\d{2,3}[\s-]\d{7,8}" + _NA
)
_TRACKING = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2,4}\d{9,}" + _NA)
_ORDER = re.compile(_ND + r"\d{15,19}" + _NA)
_LONG = re.compile(_ND + r"\d{7,}" + _NA)

_NAME_LABEL = r"(?:收件人|收货人|联系人|寄件人|签收人|姓名|名字)"
_NAME = re.compile(r"(" + _NAME_LABEL + r"\s*(?:是|叫|为|写的是|写)?\s*[:：]?\s*)([\u4e00-\u9fff·]{2,4})")
# what follows a label when no name does (收件人能改吗): no name then
_NOT_A_NAME = re.compile(r"能不能|能否|能|可不可以|可以|怎么|怎样|如何|不|会|还|也|都|就|要|想|改|换|修改|更改|的|在|是|有|"
                         r"住|电话|手机|号码|地址|吗|呢|吧|了|和|跟|说|叫|写|填|信息|那|这|名字|姓名")
# where a name ends (收件人张三电话…)
_NAME_END = re.compile(r"电话|手机|号码|地址|能不能|可以|怎么|改|换|的|吗|呢|吧|了")

# --- addresses ---------------------------------------------------------------------------
_NUM = r"[0-9一二三四五六七八九十百零〇两]"
# characters a place name does not contain (they belong to the sentence around an address)
_NOT_PLACE = "的了吗呢吧啊么哪个些我你他她们这那什"
_PLACE = rf"(?:(?![{_NOT_PLACE}])[\u4e00-\u9fffA-Za-z0-9\-#])"
_UNIT_NAMED = r"(?:特别行政区|自治区|自治州|自治县|省|市|区|县|旗|盟|镇|乡|街道|村|社区|大道|路|街|巷|弄|胡同|小区|花园|大厦|公寓|广场|家园|新村|苑)"
_UNIT_NUMBERED = r"(?:号楼|号院|号|栋|幢|座|单元|楼|层|室|户)"
_PART = rf"(?:{_PLACE}{{1,8}}?{_UNIT_NAMED}|{_NUM}+{_UNIT_NUMBERED}|[A-Za-z]\d*{_UNIT_NUMBERED})"
_ADDR_CHAIN = re.compile(rf"(?:{_PART}){{2,}}(?:[0-9A-Za-z\-#]+(?![0-9A-Za-z]))?")
_ADDR_TRIGGER = re.compile(
    r"(?:地址(?:是|为|在)?\s*[:：]?|改成|改为|改到|换成|换到|寄到|送到|发到|发往|寄往|住在|住址(?:是|为)?\s*[:：]?)\s*"
)
_ADDR_TAIL = re.compile(r"[^\s，。,.!！?？;；、]{2,40}")
_ADDR_LAST_PART = re.compile(rf"(?:{_UNIT_NAMED}|{_NUM}+{_UNIT_NUMBERED})(?:[0-9A-Za-z\-#]+(?![0-9A-Za-z]))?")
_PROVINCES = (
    "北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 贵州 "
    "云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门"
).split()
# words that lead into an address inside the first matched part: the address starts after them
_LEAD_IN = re.compile(r".*(?:地址是|地址为|地址|改成|改为|改到|换成|换到|寄到|送到|发到|发往|寄往|住在|在|到|是|为|:|：)")

# --- amounts -----------------------------------------------------------------------------
_AMOUNT = re.compile(
    r"[¥￥]\s*\d+(?:[.,]\d+)?"
    r"|" + _ND + r"\d+(?:\.\d+)?\s*(?:元|块钱|块|rmb|RMB|人民币)"
    r"|(?<![一二三四五六七八九十百千万两])(?:[二三四五六七八九十百千万两][一二三四五六七八九十百千万两零]*|一[一二三四五六七八九十百千万两零]+)"
    r"(?:元|块钱|块(?![一-龥]))"
    r"|一块钱"
)


# full-width digits, letters and + - . @ _ become plain ones (so ｜１３８… is seen as a phone number);
# Chinese punctuation (，：！) is left as the buyer wrote it
_HALF = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F) if chr(c - 0xFEE0).isalnum() or chr(c - 0xFEE0) in "+-.@_#"}
_HALF[0x3000] = 0x20


def _id_valid(s: str) -> bool:
    """An 18-character mainland ID number: plausible birth date and ISO 7064 MOD 11-2 checksum."""
    s = s.upper()
    y, m, d = int(s[6:10]), int(s[10:12]), int(s[12:14])
    if not (1900 <= y <= 2100 and 1 <= m <= 12 and 1 <= d <= 31):
        return False
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(s[:17], weights, strict=True))
    return "10X98765432"[total % 11] == s[17]


def _mask_address(text: str) -> str:
    def chain(m: re.Match[str]) -> str:
        s = m.group(0)
        start = 0
        prov = [s.find(p) for p in _PROVINCES if 0 <= s.find(p)]
        lead = _LEAD_IN.match(s[: _first_part_end(s)])
        if prov:
            start = min(prov)
        elif lead:
            start = lead.end()
        if not _ADDR_CHAIN.fullmatch(s[start:]) and not prov:
            return s  # what is left after the lead-in is not an address any more
        return s[:start] + "<地址>"

    text = _ADDR_CHAIN.sub(chain, text)

    def after_trigger(m: re.Match[str]) -> str:
        tail = _ADDR_TAIL.match(text, m.end())
        if not tail:
            return m.group(0)
        last = None
        for part in _ADDR_LAST_PART.finditer(tail.group(0)):
            last = part
        if last is None or "<地址>" in tail.group(0)[: last.end()]:
            return m.group(0)
        cut[m.end()] = m.end() + last.end()
        return m.group(0)

    cut: dict[int, int] = {}
    for m in _ADDR_TRIGGER.finditer(text):
        after_trigger(m)
    for begin, end in sorted(cut.items(), reverse=True):
        text = text[:begin] + "<地址>" + text[end:]
    return text


def _first_part_end(s: str) -> int:
    m = re.match(_PART, s)
    return m.end() if m else len(s)


def _mask_names(text: str) -> str:
    def name(m: re.Match[str]) -> str:
        label, who = m.group(1), m.group(2)
        if _NOT_A_NAME.match(who):
            return m.group(0)
        end = _NAME_END.search(who, 1)
        rest = ""
        if end:
            who, rest = who[: end.start()], who[end.start():]
        return f"{label}<姓名>{rest}"

    return _NAME.sub(name, text)


def mask(text: str) -> str:
    """The message with personal data replaced by placeholders (see the module doc)."""
    text = text.translate(_HALF)
    text = _URL.sub("<链接>", text)
    text = _EMAIL.sub("<邮箱>", text)
    text = _HANDLE.sub(lambda m: m.group(1) + "<账号>", text)
    text = _ID_CONTEXT.sub(lambda m: m.group(1) + "<身份证号>", text)
    text = _ID18.sub(lambda m: "<身份证号>" if _id_valid(m.group(1)) else m.group(0), text)
    text = _PHONE.sub("<手机号>", text)
    text = _TRACKING.sub("<运单号>", text)
    text = _ORDER.sub("<订单号>", text)
    text = _LONG.sub("<号码>", text)
    text = _mask_names(text)
    text = _mask_address(text)
    text = _AMOUNT.sub("<金额>", text)
    return text


def has_personal_data(text: str) -> bool:
    """True when masking would change the text (a check for what must never be stored)."""
    return mask(text) != text.translate(_HALF)


def strip_placeholders(text: str) -> str:
    """The text without kb's placeholders (what search sees of a masked message)."""
    for p in PLACEHOLDERS:
        text = text.replace(p, " ")
    return " ".join(text.split())
