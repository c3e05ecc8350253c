"""Lint: every rule's own examples, the public cases, negation, evasion, suppression, formats, config."""

from __future__ import annotations

import json

import pytest

from kb.bank.yamlio import load_document
from kb.cli import cli
from kb.errors import KbError
from kb.lint.engine import default_rules, lint_text, load_rules
from tests.conftest import MINI_BOOK, SHARED

RULES = load_rules()


def errors(text, ruleset=RULES):
    return [f.rule for f in lint_text(text, ruleset) if f.severity == "error"]


@pytest.mark.parametrize("rule", default_rules(), ids=lambda r: r.id)
def test_rule_examples(rule):
    assert rule.examples_fail, f"{rule.id} has no fail example"
    family = ".".join(rule.id.split(".")[:2])  # price.unauthorized.offer belongs to price.unauthorized
    for text in rule.examples_fail:
        found = [f.rule for f in lint_text(text, RULES)]
        assert any(r == family or r.startswith(family + ".") for r in found), f"{rule.id} misses {text!r}"
    for text in rule.examples_pass:
        # a pass example is acceptable text: no rule may report an error on it (the learned model is held to
        # a rate over all of them instead: test_learned_model_false_errors_on_pass_examples)
        assert [r for r in errors(text) if r != "risk.model"] == [], f"{rule.id}'s pass example {text!r} gets errors"


def test_learned_model_false_errors_on_pass_examples():
    # the rules' pass examples are hard near-misses written around each rule's words. The model trains on them
    # (scripts/train_risk_model.py; left out of its training it flags 0.025 of them), so here it must flag
    # almost none: at most 1 in 100.
    passes = [t for r in RULES.rules if r.kind != "model" for t in r.examples_pass]
    flagged = [t for t in passes if "risk.model" in errors(t)]
    assert len(passes) > 500 and len(flagged) <= len(passes) / 100, flagged


@pytest.mark.skipif(not (SHARED / "eval" / "lint_cases.yaml").exists(), reason="shared/eval not beside the repo")
def test_public_lint_cases():
    data = load_document((SHARED / "eval" / "lint_cases.yaml").read_bytes())[0]
    missed = [c["text"] for c in data["flag"] if not errors(c["text"])]
    false = [t for t in data["pass"] if errors(t)]
    assert missed == [] and false == []


@pytest.mark.parametrize("text", [
    "保證今天發貨",              # Traditional
    "我们百分百４８小时内发货",   # full-width digits
    "两天内一定发出",             # 两
    "加 微 信 详聊", "加V：abc", "有事加vx", "薇信联系我", "加 Q Q 123",
    "好 评 返 现 5元",
])
def test_evasion_variants_flagged(text):
    assert errors(text), text


@pytest.mark.parametrize("text", [
    "我们不能保证几号到",
    "无法承诺明天一定能到，还请谅解",
    "不敢打包票今天能发出",
    "预计3天内发货，具体以物流信息为准",
    "一般付款后48小时内发出，大约2到5天到货，以物流为准",
    "到货后第一时间通知您",
    "最近快递比较多",
    "正品保证，支持验货",
    "店铺已交保证金",
    "全店满99元包邮",
])
def test_negation_and_hedges_pass(text):
    assert errors(text) == [], text


def test_finding_offsets_point_at_original_text():
    text = "亲～加 微 信吧"
    (f,) = [f for f in lint_text(text, RULES) if f.rule == "offplatform"]
    assert text[f.start:f.end] == "加 微 信"


def family_rule(**raw):
    from kb.lint.config import parse_rule

    return parse_rule({"id": "t.rule", "kind": "family", "message": "m", **raw}, "test", trusted=True)


def flagged(rule, text: str) -> bool:
    from kb.lint.engine import Text, normalize_for_lint

    return bool(rule.find(Text(normalize_for_lint(text)[0])))


def test_negation_inside_the_hit_scopes_over_it():
    rule = family_rule(anchor="(明天|后天)[^,。]{0,8}?(发出|寄到)", negation="没办法|不能")
    assert flagged(rule, "后天一定寄到")
    assert not flagged(rule, "后天实在没办法保证寄到")  # the negation stands between the time and the verb
    assert errors("后天实在没办法保证寄到") == []


def test_a_not_a_question_does_not_negate():
    rule = family_rule(anchor="改", negation="不能", cancel="不会")
    assert flagged(rule, "中评能不能改一下")
    assert flagged(rule, "您会不会改一下评价")
    assert not flagged(rule, "中评不能改")
    assert not flagged(rule, "我们不会让您改")
    assert "review.incentive" in errors("您的中评能不能改改，改完我补您一张券")


def test_a_with_match_negated_in_its_own_clause_does_not_count():
    rule = family_rule(anchor="周末前收到", **{"with": ["承诺|保证"]}, scope="sentence", negation="不敢|没法")
    assert flagged(rule, "周末前收到，这个我跟您保证")
    assert not flagged(rule, "很想让您周末前收到，但实在不敢跟您承诺")
    assert flagged(rule, "很想让您周末前收到，不敢说别的，但我保证")  # one certainty word is not negated
    assert errors("我们很想让您周末前收到，可快递的时效我们控制不了，实在不敢跟您承诺哪天到") == []


def test_a_refusal_later_in_the_clause_cancels_the_hit():
    rule = family_rule(anchor="现金补偿|改价", refusal="(这个|的要求)[^,。]{0,6}(没办法|没法)")
    assert flagged(rule, "现金补偿这个我可以做主")
    assert not flagged(rule, "现金补偿这个我真的没办法做主")
    assert not flagged(rule, "改价的要求我这边没法答应")
    assert flagged(rule, "改价，这个我没法不答应您")  # the refusal is in another clause: it does not cancel
    assert errors("您说的保证长头发这种效果我们做不到，洗发水主要是清洁头皮") == []
    assert errors("补偿金额这块我没有权限答应您，已经转给主管") == []


@pytest.mark.parametrize("text", [
    "您把中评改了，我给您点佣金",              # review.incentive: a commission is an incentive too
    "这瓶面霜用两周保证淡斑",                  # promise.outcome.effect
    "头发稳稳地长回来，这个我可以跟您打包票",  # promise.outcome.vouch: a vouch clause backing an effect
    "耽误您用了，送您一张20元的券当作补偿",    # promise.compensation.gesture
    "周六前收不到，这件算我白送您的",          # promise.ship_date.forfeit
    "后天周二，稳稳寄到",                      # a clause that only names the time, then the promise
    "您别在淘宝退了，我支付宝退您",            # offplatform: refund outside the platform
])
def test_families_said_another_way(text):
    assert errors(text), text


@pytest.mark.parametrize("text", [
    "退款有一定的延迟，到账以银行为准",         # 有一定的: a certain amount, not certainty
    "明天有一定几率能送到",
    "这是店里唯一一款防水的，其他都不防水",     # comparing the shop's own products
    "这条围巾是100%纯羊毛的",                   # a fibre content label
    "我们会一直努力做到最好",                   # effort, not a product claim
    "不知道您平时穿多大码呢？",                 # the polite indirect question
    "刷新一下页面，优惠券就出来了",             # 刷新 is not 刷单
    "粉丝群是淘宝群，入口在店铺首页",           # the platform's own group chat
    "平台不支持私下转账，请在订单里付款",       # the platform's rule stated
    "抱歉，我们没有内部价，也不会私下打折",     # the shop denying it
    "看到您评价说包装压扁了，已经给您补发了",   # answering a review, no incentive
    "刚刚没说清楚，我重新给您讲一遍",           # offering to explain again
    "这已经是我们能给的最低价了，页面还能领券",  # the shop's own floor, not a market claim
])
def test_look_alikes_get_no_error(text):
    assert errors(text) == [], text


def book_with(reply: str, extra: str = "") -> str:
    return MINI_BOOK.replace("      亲，预计{ship_window}内发货，具体以物流信息为准哦～\n", f"      {reply}\n") + extra


def run_lint(runner, bank, *args):
    return runner.invoke(cli, ["--bank", str(bank), "lint", *args])


def test_lint_bank_location_and_exit(runner, mini_bank):
    (mini_bank / "shipping.yaml").write_text(book_with("亲，今天下单保证今天发货哦"), encoding="utf-8")
    r = run_lint(runner, mini_bank)
    assert r.exit_code == 1
    assert "shipping.yaml:13:9: error promise.ship_date: [shipping.when_ship]" in r.output


def test_hygiene_rules(runner, mini_bank):
    (mini_bank / "shipping.yaml").write_text(book_with("=HYPERLINK(\"x\") 好的😀"), encoding="utf-8")
    r = run_lint(runner, mini_bank, "--format", "json")
    rules = {f["rule"] for f in json.loads(r.stdout)}
    assert {"hygiene.formula_injection", "hygiene.emoji"} <= rules


def test_too_long_is_configurable(runner, mini_bank):
    (mini_bank / "kb-lint.yaml").write_text("extends: default\noptions:\n  max_reply_chars: 10\n", encoding="utf-8")
    r = run_lint(runner, mini_bank)
    assert "hygiene.too_long" in r.output and r.exit_code == 0
    r = run_lint(runner, mini_bank, "--strict")
    assert r.exit_code == 1


def test_suppression_with_and_without_reason(runner, mini_bank):
    risky = "亲，这是全网最低价哦"
    (mini_bank / "shipping.yaml").write_text(
        book_with(risky, "    lint: {allow: [adlaw.absolute], reason: 品牌注册名含“最低价”}\n"), encoding="utf-8")
    assert run_lint(runner, mini_bank).exit_code == 0
    (mini_bank / "shipping.yaml").write_text(book_with(risky, "    lint: {allow: [adlaw.absolute]}\n"),
                                             encoding="utf-8")
    r = run_lint(runner, mini_bank)
    assert r.exit_code == 1 and "lint.suppression_reason" in r.output and "adlaw.absolute" in r.output
    (mini_bank / "shipping.yaml").write_text(
        book_with("亲，好的", "    lint: {allow: [offplatform], reason: 测试}\n"), encoding="utf-8")
    r = run_lint(runner, mini_bank)
    assert "lint.unused_suppression" in r.output


def test_config_disable_severity_and_custom_rule(runner, mini_bank):
    (mini_bank / "shipping.yaml").write_text(book_with("亲，这是全网最低价，顺丰包邮"), encoding="utf-8")
    (mini_bank / "kb-lint.yaml").write_text(
        "extends: default\n"
        "severity:\n  adlaw.absolute: warning\n"
        "rules:\n"
        "  - id: team.no_sf\n    severity: error\n    kind: terms\n    terms: [顺丰]\n"
        "    message: 本店不发顺丰\n    examples: {fail: [发顺丰], pass: [发中通]}\n",
        encoding="utf-8")
    r = run_lint(runner, mini_bank, "--format", "json")
    found = {f["rule"]: f["severity"] for f in json.loads(r.stdout)}
    assert found == {"adlaw.absolute": "warning", "team.no_sf": "error"}
    # the learned model knows no families: a team that wants none of a family's wording flagged disables it too
    (mini_bank / "kb-lint.yaml").write_text("disable: [adlaw]\n", encoding="utf-8")
    r = run_lint(runner, mini_bank, "--format", "json")
    assert [f["rule"] for f in json.loads(r.stdout)] == ["risk.model"] and r.exit_code == 1
    (mini_bank / "kb-lint.yaml").write_text("disable: [adlaw, risk.model]\n", encoding="utf-8")
    r = run_lint(runner, mini_bank, "--format", "json")
    assert json.loads(r.stdout) == [] and r.exit_code == 0


def test_bad_config_is_a_clear_error(runner, mini_bank):
    (mini_bank / "kb-lint.yaml").write_text("disable: [no.such.rule]\n", encoding="utf-8")
    r = run_lint(runner, mini_bank)
    assert r.exit_code == 1 and "no rule 'no.such.rule'" in r.output and "Traceback" not in r.output
    with pytest.raises(KbError, match="bad regular expression"):
        from kb.lint.engine import parse_rule

        parse_rule({"id": "x", "kind": "regex", "pattern": "(", "message": "m"}, "test")


def test_github_and_sarif_formats(runner, mini_bank):
    (mini_bank / "shipping.yaml").write_text(book_with("加我微信"), encoding="utf-8")
    r = run_lint(runner, mini_bank, "--format", "github")
    assert r.output.startswith("::error file=")
    assert ",line=13,col=7,title=offplatform::" in r.output
    r = run_lint(runner, mini_bank, "--format", "sarif")
    doc = json.loads(r.stdout)
    # the SARIF 2.1.0 schema's required fields
    assert doc["version"] == "2.1.0" and isinstance(doc["runs"], list)
    run = doc["runs"][0]
    assert run["tool"]["driver"]["name"] == "kb"
    for res in run["results"]:
        assert "message" in res and "text" in res["message"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"].endswith("shipping.yaml")
        assert loc["region"]["startLine"] >= 1
        assert run["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == res["ruleId"]


def test_check_free_text_and_jsonl(runner):
    r = runner.invoke(cli, ["check", "亲，今天下单保证今天发货哦"])
    assert r.exit_code == 1 and "promise.ship_date" in r.output
    r = runner.invoke(cli, ["check", "预计3天内发货，具体以物流信息为准"])
    assert r.exit_code == 0
    r = runner.invoke(cli, ["check", "--jsonl"], input="加我微信\n\n预计3天内发出\n")
    out = [json.loads(x) for x in r.output.splitlines()]
    assert [o["text"] for o in out] == ["加我微信", "", "预计3天内发出"]
    assert out[0]["findings"][0]["rule"] == "offplatform" and out[0]["findings"][0]["start"] == 0
    assert out[1]["findings"] == [] and out[2]["findings"] == []


# Everyday replies with no risk, many with words the rules look for (保证, 一定, 送, 包退, 最后, 电话 …)
EVERYDAY = [
    '亲，您好，欢迎光临本店，有什么可以帮您的吗？',
    '这款衣服是纯棉的，洗后可能会轻微缩水，建议选大一码',
    '亲，收到货后请先检查外包装，如有破损请拒收',
    '您的订单已经发货了，快递单号是YT1234567890',
    '退货地址：浙江省杭州市余杭区XX路88号，收件人：售后部，电话：0571-88888888',
    '亲，我们的营业时间是每天9点到24点',
    '您好，这款有黑白两色可选，库存都充足',
    '满99包邮，不满的话运费是8元',
    '这边已经帮您备注了，仓库会按备注发货',
    '亲，七天无理由退换货，不影响二次销售就可以',
    '发票可以开电子发票，确认收货后在订单页申请',
    '我们会在24小时内回复您的售后申请',
    '这款今天有秒杀活动，限量100件，先到先得',
    '亲，尺码建议：身高165体重110斤选M码',
    '这款防水等级是IPX7，日常洗手没问题',
    '优惠券在商品页领取，满200可用',
    '亲，您的退款已经同意，请留意支付宝到账通知',
    '非常抱歉让您久等了，现在咨询量比较大',
    '我帮您查了一下，您的包裹目前在转运中心',
    '这款手机壳有送钢化膜，随包裹一起发',
    '亲，预售商品需要先付定金，尾款在双11当天支付',
    '您可以在“我的淘宝-已买到的宝贝”里查看订单',
    '质量问题我们包退包换，运费我们承担',
    '亲，我们家的赠品数量有限，送完为止',
    '这款是新疆长绒棉，手感非常柔软',
    '请您拍一下商品问题的照片，我们核实后尽快处理',
    '亲，双11当天零点开抢，记得提前加购',
    '快递默认中通，需要顺丰请补邮费差价',
    '您好，目前这款缺货，预计下周补货',
    '亲，这边帮您申请了加急，仓库会优先处理',
    '您收到的是我们发错的颜色，非常抱歉，我们马上给您换',
    '定金不退哦，这是预售规则，下单前页面有提示',
    '我们的客服工作时间是早9晚12，其他时间可以留言',
    '这个价格已经包含了运费',
    '您好，已经帮您修改了收货地址',
    '化妆品拆封后不支持七天无理由，还请谅解',
    '商品详情页有详细的安装视频，您可以先看一下',
    '亲，订单已经拆分成两个包裹发出，请注意查收',
    '亲，拼单成功后48小时内发货，具体以实际为准',
    '这款保质期是18个月，生产日期是今年3月',
    '您好，我是售后客服小美，很高兴为您服务',
    '亲，您可以先申请退款，我们这边马上同意',
    '这是我们家的爆款，回购率很高',
    '这款已经卖出一万多件了，评价都不错',
    '麻烦您提供一下订单号，我帮您查询',
    '如果您对商品不满意，可以申请退货',
    '收货后如有任何问题，欢迎随时联系我们',
    '亲，今天是活动最后一天，明天恢复原价',
    '这款是限定款，卖完就不补货了',
    '亲，您说的情况我们已经记录，会尽快给您答复',
]


@pytest.mark.parametrize("text", EVERYDAY)
def test_everyday_replies_get_no_error(text):
    assert errors(text) == [], text


@pytest.mark.parametrize("text", [
    "今天保证发货",  # character for character
    "加 我 微❤信 abc123～",  # characters squeezed out
    "５㎏装，加我ＶＸ",  # NFKC expands ㎏ to kg
    "親，保證明天發貨",  # Traditional -> Simplified
])
def test_normalized_text_maps_back_to_the_original(text):
    from kb.lint.engine import _norm_char, normalize_for_lint

    norm, offsets = normalize_for_lint(text)
    assert len(offsets) == len(norm)
    assert offsets == sorted(offsets) and all(0 <= i < len(text) for i in offsets)
    rebuilt = "".join(_norm_char(ch) for ch in text)
    assert len(rebuilt) == len(norm)  # every normalized character came from one original character
    for k, i in enumerate(offsets):
        assert rebuilt[k] in _norm_char(text[i])
