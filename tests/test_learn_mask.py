"""Personal data never leaves a buyer message unmasked (kb.learn.mask)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.learn.mask import has_personal_data, mask, strip_placeholders

# (message, what must be gone, what must be there after masking)
REALISTIC = [
    ("我的手机号是13812345678麻烦改一下", ["13812345678"], ["我的手机号是<手机号>麻烦改一下"]),
    ("电话 138 1234 5678 有事打这个", ["138 1234 5678", "5678"], ["电话 <手机号> 有事打这个"]),
    ("联系方式138-1234-5678", ["1234"], ["<手机号>"]),
    ("+86 139-1234-5678 这是我电话", ["139", "5678", "+86"], ["<手机号> 这是我电话"]),
    ("+8613912345678有事打这个", ["13912345678"], ["<手机号>有事打这个"]),
    ("手机１３８１２３４５６７８", ["１３８"], ["手机<手机号>"]),  # full-width digits
    ("座机0571-88886666找我", ["88886666"], ["座机<手机号>找我"]),
    ("订单号123456789012345怎么还没发货", ["123456789012345"], ["订单号<订单号>怎么还没发货"]),
    ("我的订单 4012345678901234567 退款呢", ["4012345678901234567"], ["<订单号> 退款呢"]),
    ("订单2512345678901234还没到", ["2512345678901234"], ["订单<订单号>还没到"]),
    ("身份证号11010519491231002X 清关要用", ["11010519491231002X", "002X"], ["身份证号<身份证号> 清关要用"]),
    ("我的身份证号码是 110105194912310021", ["110105194912310021"], ["<身份证号>"]),
    ("身份证：11010519491231002x", ["11010519491231002x"], ["<身份证号>"]),
    ("收件人张三电话13800001111", ["张三", "13800001111"], ["收件人<姓名>电话<手机号>"]),
    ("收件人：李小明，地址不变", ["李小明"], ["收件人：<姓名>，地址不变"]),
    ("联系人王五", ["王五"], ["联系人<姓名>"]),
    ("收货人是欧阳娜娜", ["欧阳娜娜"], ["收货人是<姓名>"]),
    ("帮我把地址改成浙江省杭州市西湖区文三路123号5栋2单元301室",
     ["浙江", "杭州", "西湖区", "文三路", "123号", "301"], ["帮我把地址改成<地址>"]),
    ("收货地址：北京市朝阳区建国路88号", ["北京", "朝阳", "建国路", "88"], ["收货地址：<地址>"]),
    ("寄到上海浦东新区世纪大道100号可以吗", ["浦东", "世纪大道", "100"], ["寄到<地址>可以吗"]),
    ("地址改成湖南长沙岳麓区麓山南路2号", ["长沙", "岳麓", "麓山"], ["地址改成<地址>"]),
    ("我住在幸福小区5栋302", ["幸福", "5栋", "302"], ["我住在<地址>"]),
    ("广州市天河区体育西路103号维多利广场B座2201", ["天河", "体育西路", "2201", "B座"], ["<地址>"]),
    ("江苏南京市鼓楼区中山路1号，能送吗", ["南京", "鼓楼", "中山路"], ["<地址>，能送吗"]),
    ("地址是广东深圳南山科技园5栋", ["深圳", "南山", "科技园"], ["地址是<地址>"]),
    ("能发到四川成都市武侯区吗", ["成都", "武侯"], ["能发到<地址>吗"]),
    ("河北省保定市涞水县永阳镇北村", ["保定", "涞水", "永阳", "北村"], ["<地址>"]),
    ("送到上城区解放街100号3单元502室谢谢", ["上城", "解放街", "100", "502"], ["送到<地址>谢谢"]),
    ("上门取件到浙江嘉兴桐乡市梧桐街道", ["嘉兴", "桐乡", "梧桐"], ["上门取件到<地址>"]),
    ("满299元包邮吗", ["299"], ["满<金额>包邮吗"]),
    ("便宜50块行不行", ["50"], ["便宜<金额>行不行"]),
    ("五十块钱能卖吗", ["五十"], ["<金额>能卖吗"]),
    ("¥199.9 太贵了", ["199"], ["<金额> 太贵了"]),
    ("退我20.5元", ["20.5"], ["退我<金额>"]),
    ("快递单号SF1234567890123查不到", ["SF1234567890123"], ["快递单号<运单号>查不到"]),
    ("加我微信号 abc_12345", ["abc_12345"], ["加我微信号 <账号>"]),
    ("我的qq是12345678", ["12345678"], ["<账号>"]),
    ("邮箱 someone.x@qq.com 发我", ["someone"], ["邮箱 <邮箱> 发我"]),
    ("https://item.taobao.com/item.htm?id=6543217890 这个有货吗", ["6543217890", "taobao"], ["<链接> 这个有货吗"]),
    ("QQ号8765432", ["8765432"], ["<账号>"]),
    ("卡号6222021234567890123", ["6222021234567890123"], ["卡号<订单号>"]),
    ("这个号码1234567是什么", ["1234567"], ["<号码>"]),
]


@pytest.mark.parametrize("msg,gone,kept", REALISTIC, ids=[r[0][:16] for r in REALISTIC])
def test_realistic_messages_are_masked(msg: str, gone: list[str], kept: list[str]) -> None:
    out = mask(msg)
    for g in gone:
        assert g not in out, (msg, out)
    for k in kept:
        assert k in out, (msg, out)
    assert has_personal_data(msg)


NOT_PERSONAL = [
    "能一块发吗",
    "两件一块儿寄",
    "明天几号到",
    "这个型号的尺码号是多少",
    "偏远地区的县城能发吗",
    "杭州市区能到吗",
    "新疆西藏包邮吗",
    "双11的时候买的能保价吗",
    "我这边是县城，能送货上门吗",
    "999-300能用吗",
    "买2件打几折",
    "收件人能改吗",
    "11.11几点开始",
    "尺码偏大还是偏小",
]


@pytest.mark.parametrize("msg", NOT_PERSONAL)
def test_the_buyers_question_is_left_alone(msg: str) -> None:
    assert mask(msg) == msg
    assert not has_personal_data(msg)


def test_an_18_digit_number_that_is_no_valid_id_is_an_order_number() -> None:
    assert mask("单号 110105194912310022") == "单号 <订单号>"  # wrong checksum
    assert mask("11010519491231002X") == "<身份证号>"  # valid date and checksum


def test_masking_is_idempotent_and_placeholders_can_be_stripped() -> None:
    once = mask("收件人张三 13812345678 满299元 地址改成浙江省杭州市西湖区文三路1号")
    assert mask(once) == once
    assert strip_placeholders(once) == "收件人 满 地址改成"


_digits = st.text(alphabet="0123456789", min_size=7, max_size=19)
_cjk = st.text(alphabet="在吗我的订单号手机电话怎么还没发货呢帮查一下", max_size=8)


@settings(max_examples=300, deadline=None)
@given(before=_cjk, number=_digits, after=_cjk)
def test_no_run_of_seven_digits_survives(before: str, number: str, after: str) -> None:
    out = mask(before + number + after)
    assert not re.search(r"\d{7,}", out), out


@settings(max_examples=200, deadline=None)
@given(before=_cjk, head=st.sampled_from(["13", "15", "18", "19"]), rest=st.text("0123456789", min_size=9, max_size=9),
       sep=st.sampled_from(["", " ", "-"]), prefix=st.sampled_from(["", "+86", "+86 ", "86-"]), after=_cjk)
def test_phones_with_spaces_dashes_and_country_code(before, head, rest, sep, prefix, after) -> None:
    number = f"{prefix}{head}{rest[0]}{sep}{rest[1:5]}{sep}{rest[5:]}"
    out = mask(before + number + after)
    assert "<手机号>" in out, (number, out)
    assert rest[1:5] not in out.replace("<手机号>", "") or rest[1:5] in before + after
