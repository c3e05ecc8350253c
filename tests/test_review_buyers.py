"""kb review shows everything that changes what buyers get: bank.yaml variables and campaigns (with the
lint of the rendered replies), lint suppressions, books and bank folders with non-ASCII names, a base
without a bank, and GitHub annotations nobody can forge. Each test runs on a throwaway git repo."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kb.cli import cli
from kb.review import gh_command, render_spans
from tests.conftest import BANK
from tests.test_review import git

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")

MANIFEST = """schema: 1
name: mini
vars:
  ship_window: 付款后72小时
  courier: 中通或圆通
campaigns:
  double11:
    title: 双11
    start: 2026-10-20
    end: 2026-11-11
    vars:
      ship_window: 付款后7天
"""

SHIPPING = """schema: 1
name: {name}
version: 1.0.0
title: 发货物流
phrases:
  - id: shipping.when_ship
    title: 发货时间
    shortcut: fhsj
    questions:
      - 什么时候发货
      - 几天能发出
    reply: |-
      亲，大促期间订单较多，我们会在{{ship_window}}内为您发货哦～
  - id: shipping.courier
    title: 快递公司
    shortcut: kdgs
    questions:
      - 发什么快递
    reply: 亲，默认发{{courier}}，系统按地区自动分配哦～
"""

PROMO = """schema: 1
name: promo
version: 1.0.0
title: 活动
phrases:
  - id: promo.lowest
    title: 价格
    shortcut: jg
    questions:
      - 是最低价吗
    reply: 亲，这款是全网最低价哦
    lint:
      allow: [adlaw.absolute]
      reason: 平台价格力活动页面已核实
  - id: promo.gift
    title: 赠品
    shortcut: zp
    questions:
      - 有赠品吗
    reply: 亲，赠品随主商品一起发出，送完即止～
"""


def make_repo(tmp_path: Path, folder: str = "phrasebank", book: str = "shipping") -> tuple[Path, Path]:
    repo = tmp_path / "shop"
    bank = repo / folder if folder else repo
    bank.mkdir(parents=True)
    git(repo, "init", "-q")
    (bank / "bank.yaml").write_text(MANIFEST, encoding="utf-8")
    (bank / f"{book}.yaml").write_text(SHIPPING.format(name=book), encoding="utf-8")
    (bank / "promo.yaml").write_text(PROMO, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    return repo, bank


@pytest.fixture
def shop(tmp_path) -> Path:
    return make_repo(tmp_path)[1]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def review(runner, bank: Path, *args: str):
    return runner.invoke(cli, ["--bank", str(bank), "review", "--base", "HEAD", *args])


def review_json(runner, bank: Path) -> tuple[int, dict]:
    r = review(runner, bank, "--format", "json")
    return r.exit_code, json.loads(r.stdout)


# --- bank.yaml: variables and campaigns -----------------------------------------------------


def test_risky_variable_is_shown_linted_where_it_renders_and_blocks(runner, shop):
    edit(shop / "bank.yaml", "ship_window: 付款后72小时", "ship_window: 保证明天")
    r = review(runner, shop)
    assert r.exit_code == 1, r.output
    assert "vars.ship_window changed: 付款后72小时 → 保证明天" in r.output
    assert "1 new finding(s)" in r.output
    assert "promise.ship_date: shipping.when_ship" in r.output and "{ship_window} = 保证明天" in r.output
    assert "normal time" in r.output  # where it renders: not in double11, which sets its own value
    assert r.output.rstrip().splitlines()[-2].startswith("BLOCKED")


def test_issue_example_on_the_real_bank_blocks(runner, tmp_path):
    """The road named in the issue: `ship_window: 保证明天` renders into shipping.when_ship."""
    shop = tmp_path / "shop"
    shutil.copytree(BANK, shop / "phrasebank")
    git(shop, "init", "-q")
    git(shop, "add", "-A")
    git(shop, "commit", "-qm", "base")
    edit(shop / "phrasebank" / "bank.yaml", "ship_window: 付款后72小时", "ship_window: 保证明天")
    code, data = review_json(runner, shop / "phrasebank")
    assert code == 1, data["problems"]
    assert any(f["phrase_id"] == "shipping.when_ship" and f["new"] and f["severity"] == "error"
               for f in data["variable_findings"])


def test_a_hedge_before_the_value_does_not_take_its_promise_back(runner, shop):
    edit(shop / "shipping.yaml", "我们会在{ship_window}内为您发货哦～", "预计{ship_window}内发货，具体以物流为准～")
    edit(shop / "shipping.yaml", "version: 1.0.0", "version: 1.0.1")
    assert review(runner, shop).exit_code == 0
    git(shop.parent, "commit", "-qam", "hedged reply")
    edit(shop / "bank.yaml", "ship_window: 付款后72小时", "ship_window: 保证明天")
    code, data = review_json(runner, shop)
    assert code == 1 and [(f["phrase_id"], f["rule"]) for f in data["variable_findings"]] == [
        ("shipping.when_ship", "promise.ship_date")]


def test_a_negation_in_the_reply_still_covers_a_plain_value(runner, shop):
    edit(shop / "shipping.yaml", "我们会在{ship_window}内为您发货哦～", "我们没法保证{ship_window}内一定发货，会尽快安排～")
    edit(shop / "shipping.yaml", "version: 1.0.0", "version: 1.0.1")
    edit(shop / "bank.yaml", "ship_window: 付款后72小时", "ship_window: 明天")
    code, data = review_json(runner, shop)
    assert code == 0 and data["variable_findings"] == [], data["problems"]


def test_risky_campaign_variable_is_linted_in_that_campaign(runner, shop):
    edit(shop / "bank.yaml", "ship_window: 付款后7天", "ship_window: 保证明天")
    code, data = review_json(runner, shop)
    assert code == 1 and data["mergeable"] is False
    assert {"key": "campaigns.double11.vars.ship_window", "kind": "changed", "old": "付款后7天", "new": "保证明天",
            "campaign": "double11", "var": "ship_window"} in data["settings"]
    [f] = [f for f in data["variable_findings"] if f["new"]]
    assert (f["phrase_id"], f["rule"], f["contexts"], f["variables"]) == (
        "shipping.when_ship", "promise.ship_date", ["double11"], ["ship_window"])
    assert f["path"].endswith("shipping.yaml") and f["line"] == 13
    assert any(p.startswith("vars: ") and "double11" in p for p in data["problems"])


def test_risky_variable_already_in_the_base_is_preexisting_not_blocking(runner, shop):
    edit(shop / "bank.yaml", "ship_window: 付款后72小时", "ship_window: 保证明天")
    git(shop.parent, "commit", "-qam", "risky base")
    edit(shop / "bank.yaml", "courier: 中通或圆通", "courier: 中通、圆通或韵达")
    edit(shop / "shipping.yaml", "亲，大促期间订单较多", "亲，大促期间订单很多")
    edit(shop / "shipping.yaml", "version: 1.0.0", "version: 1.0.1")
    code, data = review_json(runner, shop)
    assert code == 0, data["problems"]
    assert [s["key"] for s in data["settings"]] == ["vars.courier"]
    # found again, as pre-existing (by the rendered-reply scan here, or by lint itself when it renders)
    assert [(f["phrase_id"], f["new"]) for f in data["variable_findings"]] in ([("shipping.when_ship", False)], [])
    assert data["variable_findings"] or data["lint_preexisting"] == 1


def test_new_phrase_using_a_risky_existing_variable_is_caught(runner, shop):
    edit(shop / "bank.yaml", "courier: 中通或圆通", "courier: 中通或圆通\n  speed: 保证明天")
    git(shop.parent, "commit", "-qam", "unused risky variable")
    edit(shop / "promo.yaml", "phrases:\n", "phrases:\n  - id: promo.fast\n    title: 快\n    questions: [多久发]\n"
         "    reply: 亲，{speed}发货哦\n")
    edit(shop / "promo.yaml", "version: 1.0.0", "version: 1.1.0")
    code, data = review_json(runner, shop)
    assert code == 1
    assert [(f["phrase_id"], f["rule"], f["new"]) for f in data["variable_findings"]] == [
        ("promo.fast", "promise.ship_date", True)]


def test_safe_variable_change_is_listed_and_mergeable(runner, shop):
    edit(shop / "bank.yaml", "courier: 中通或圆通", "courier: 中通、圆通或韵达")
    r = review(runner, shop)
    assert r.exit_code == 0, r.output
    assert "vars.courier changed: 中通或圆通 → 中通、圆通或韵达" in r.output
    assert "MERGEABLE" in r.output


def test_campaign_added_and_changed_fields_are_listed(runner, shop):
    edit(shop / "bank.yaml", "    end: 2026-11-11", "    end: 2026-11-12")
    edit(shop / "bank.yaml", "campaigns:\n", "campaigns:\n  \"618\":\n    title: 618大促\n    start: 2026-05-20\n"
         "    end: 2026-06-20\n    vars:\n      ship_window: 保证明天\n")
    code, data = review_json(runner, shop)
    keys = {(s["key"], s["kind"]) for s in data["settings"]}
    assert {("campaigns.double11.end", "changed"), ("campaigns.618", "added"),
            ("campaigns.618.vars.ship_window", "added")} <= keys
    assert code == 1 and any(f["contexts"] == ["618"] for f in data["variable_findings"])


def test_misspelled_campaign_variable_blocks_with_did_you_mean(runner, shop):
    edit(shop / "bank.yaml", "      ship_window: 付款后7天", "      ship_windw: 付款后3天")
    r = review(runner, shop)
    assert r.exit_code == 1
    assert "campaign double11 sets 'ship_windw', which vars: does not define" in r.output
    assert "did you mean ship_window?" in r.output


def test_render_spans_marks_each_value():
    text, spans = render_spans("{{x}} 预计{a}内{b}发货{{", {"a": "3天", "b": ""})
    assert text == "{x} 预计3天内发货{"
    assert spans == [(6, 8, "a"), (9, 9, "b")]
    assert render_spans("{missing}!", {}) == ("{missing}!", [])


# --- lint: allow suppressions ----------------------------------------------------------------


def test_new_suppression_without_reason_is_listed_and_blocks(runner, shop):
    edit(shop / "promo.yaml", "reply: 亲，赠品随主商品一起发出，送完即止～",
         "reply: 亲，赠品随主商品一起发出，送完即止～\n    lint:\n      allow: [promise.outcome]")
    edit(shop / "promo.yaml", "version: 1.0.0", "version: 1.0.1")
    r = review(runner, shop)
    assert r.exit_code == 1, r.output
    assert "added promo.gift: none → allow [promise.outcome] (no reason)  BLOCKING: no reason" in r.output
    assert "suppression: " in r.output and "promo.gift: lint: allow [promise.outcome] has no reason" in r.output


def test_suppression_with_reason_is_listed_needs_a_patch_and_passes(runner, shop):
    sup = "\n    lint:\n      allow: [promise.outcome]\n      reason: 赠品规则由平台活动页公示"
    edit(shop / "promo.yaml", "reply: 亲，赠品随主商品一起发出，送完即止～", "reply: 亲，赠品随主商品一起发出，送完即止～" + sup)
    code, data = review_json(runner, shop)
    assert code == 1 and [v["required"] for v in data["versions"] if v["book"] == "promo"] == ["patch"]
    edit(shop / "promo.yaml", "version: 1.0.0", "version: 1.0.1")
    code, data = review_json(runner, shop)
    assert code == 0, data["problems"]
    [s] = data["suppressions"]
    assert (s["id"], s["kind"], s["new"]["allow"], s["has_reason"]) == ("promo.gift", "added", ["promise.outcome"], True)


def test_changed_and_removed_suppressions_are_listed(runner, shop):
    edit(shop / "promo.yaml", "reason: 平台价格力活动页面已核实", "reason: ''")
    r = review(runner, shop)
    assert "changed promo.lowest: allow [adlaw.absolute] reason: 平台价格力活动页面已核实 → allow [adlaw.absolute]" \
        in r.output and r.exit_code == 1
    text = (shop / "promo.yaml").read_text(encoding="utf-8")
    start = text.index("  - id: promo.lowest")
    (shop / "promo.yaml").write_text(text[:start] + text[text.index("  - id: promo.gift"):], encoding="utf-8")
    code, data = review_json(runner, shop)
    assert [(s["id"], s["kind"]) for s in data["suppressions"]] == [("promo.lowest", "removed")]


def test_lint_configuration_change_is_shown(runner, shop):
    (shop / "kb-lint.yaml").write_text("extends: default\n", encoding="utf-8")
    git(shop.parent, "add", "-A")
    git(shop.parent, "commit", "-qm", "lint config")
    edit(shop / "kb-lint.yaml", "extends: default\n", "extends: default\ndisable: [promise.ship_date]\n")
    r = review(runner, shop)
    assert "== Lint configuration (kb-lint.yaml) changed ==" in r.output and "  +disable: [promise.ship_date]" in r.output
    r = review(runner, shop, "--format", "github")
    assert "::warning title=kb review%3A lint configuration::kb-lint.yaml changed" in r.output
    assert "%0A+disable: [promise.ship_date]" in r.output


# --- git: non-ASCII names, a base without a bank, a bank at the top of the repository ---------


def test_chinese_book_name_shortcut_change_without_bump_is_blocked(runner, tmp_path):
    _, bank = make_repo(tmp_path, book="发货")
    edit(bank / "发货.yaml", "shortcut: fhsj", "shortcut: fh")
    r = review(runner, bank)
    assert r.exit_code == 1, r.output
    assert "shortcut  shipping.when_ship: fhsj → fh" in r.output
    assert "book 发货 changed without a major version bump" in r.output and "kb bump 发货 major" in r.output
    r = runner.invoke(cli, ["--bank", str(bank), "bump", "发货", "major"])
    assert r.exit_code == 0 and review(runner, bank).exit_code == 0


def test_chinese_bank_folder_is_seen(runner, tmp_path):
    _, bank = make_repo(tmp_path, folder="客服 话术库/phrasebank")
    edit(bank / "shipping.yaml", "shortcut: fhsj", "shortcut: fh")
    r = review(runner, bank)
    assert r.exit_code == 1 and "book shipping changed without a major version bump" in r.output
    code, data = review_json(runner, bank)
    assert [c["kind"] for c in data["changes"]] == ["shortcut"]


def test_bank_at_the_top_of_the_repository(runner, tmp_path):
    _, bank = make_repo(tmp_path, folder="")
    edit(bank / "shipping.yaml", "shortcut: fhsj", "shortcut: fh")
    r = review(runner, bank)
    assert r.exit_code == 1 and "book shipping changed without a major version bump" in r.output


def test_base_without_a_bank_is_reviewed_as_all_new(runner, tmp_path):
    repo = tmp_path / "shop"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "README.md").write_text("shop\n", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "before the bank")
    shutil.copytree(BANK, repo / "phrasebank")
    bank = repo / "phrasebank"
    r = review(runner, bank)
    assert r.exit_code == 0, r.output
    assert "the base revision has no bank: everything is reviewed as new" in r.output
    code, data = review_json(runner, bank)
    assert {c["kind"] for c in data["changes"]} == {"added"} and data["base_has_bank"] is False
    assert all(v["made"] == "new book" for v in data["versions"])
    assert any(s["key"] == "vars.ship_window" and s["kind"] == "added" for s in data["settings"])
    r = runner.invoke(cli, ["--bank", str(bank), "diff", "HEAD"])
    assert r.exit_code == 0 and "added     shipping.when_ship" in r.output
    # ... and what is new is linted: a risky value in the first bank.yaml blocks
    edit(bank / "bank.yaml", "shop_name: 本店", "shop_name: 本店（加我微信领券）")
    code, data = review_json(runner, bank)
    assert code == 1 and any("offplatform" in p for p in data["problems"])


# --- GitHub annotations ----------------------------------------------------------------------


def test_github_annotations_cannot_be_forged_by_a_phrase_key(runner, shop):
    edit(shop / "promo.yaml", "    title: 赠品\n",
         '    title: 赠品\n    "x\\n::error file=README.md,title=forged::pwned": 1\n')
    r = review(runner, shop, "--format", "github")
    assert r.exit_code == 1
    lines = r.stdout.splitlines()
    assert all(line.startswith(("::error ", "::notice ")) for line in lines), lines
    assert not any(line.startswith("::error file=README.md") for line in lines)
    assert all("title=kb review" in line.split("::")[1] for line in lines)
    assert any("%0A::error file=README.md" in line for line in lines)


def test_gh_command_escapes_message_and_properties():
    line = gh_command("error", "100% a\r\nb", "t:1,2", "书/a,b:c.yaml", 3, 4)
    assert line == "::error file=书/a%2Cb%3Ac.yaml,line=3,col=4,title=t%3A1%2C2::100%25 a%0D%0Ab"
