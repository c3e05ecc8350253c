"""kb learn (report, --apply, markdown) and kb eval on an unlabelled message list, on temporary banks."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from kb.bank.load import load_bank
from kb.cli import cli
from kb.learn import log as usage
from kb.learn.learn import learn
from kb.learn.sources import read_source
from kb.search.cache import load_index

MANIFEST = """schema: 1
name: learnbank
vars:
  ship_window: 3天
"""

SHIPPING = """# 发货：不承诺具体日期
schema: 1
name: shipping
version: 1.2.0
title: 发货物流
phrases:
  - id: shipping.when_ship   # 最常用
    title: 发货时间
    shortcut: fhsj
    questions:
      - 什么时候发货
      - 几天能发出  # 买家常这么问
    # 回复不承诺具体日期
    reply: 亲，预计{ship_window}内发货哦～
  # 改地址只在发货前
  - id: shipping.change_address
    title: 修改地址
    questions: [怎么修改收货地址, 地址填错了]
    reply: 亲，发货前可以在订单页修改地址哦～
"""

PROMO = """schema: 1
name: promo
version: 2.0.0
title: 活动
phrases:
  - id: promo.coupon
    title: 优惠券
    questions:
      - 优惠券怎么用
      - 领券在哪里
    reply: 亲，领券后下单自动抵扣哦～
"""

PHONE = "13812345678"


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "kb-data"
    monkeypatch.setenv("KB_DATA_DIR", str(d))
    monkeypatch.delenv("KB_LOG", raising=False)
    return d


@pytest.fixture
def bank(tmp_path) -> Path:
    root = tmp_path / "bank"
    root.mkdir()
    (root / "bank.yaml").write_text(MANIFEST, encoding="utf-8")
    (root / "shipping.yaml").write_text(SHIPPING, encoding="utf-8")
    (root / "promo.yaml").write_text(PROMO, encoding="utf-8")
    return root


def _copies(bank: Path, pairs: list[tuple[str, str | None]], monkeypatch) -> None:
    """Simulate kb ui: search each message, record the copy of the given phrase (None: no copy)."""
    monkeypatch.setenv("KB_LOG", "1")
    index = load_index(bank, use_cache=False)
    for text, pid in pairs:
        r = index.search(text, k=3)
        assert usage.record(index, r, copied=pid, rank=1 if pid else None)
    monkeypatch.delenv("KB_LOG")


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _not_confident_for(bank: Path, text: str, pid: str) -> None:
    """The premise of a new question: search does not answer pid confidently for text."""
    r = load_index(bank, use_cache=False).search(text, k=3)
    assert not (r.confident and r.matches[0].id == pid), (text, r.outcome, [m.id for m in r.matches])


MISSES = [
    ("哪天能动身呀", "shipping.when_ship"),
    (f"哪天能动身呀 {PHONE}", "shipping.when_ship"),  # the same wording once masked: one question
    ("人在外地 收件人张三 要换成浙江省杭州市西湖区文三路123号", "shipping.change_address"),
    ("满减的红包咋抵扣", "promo.coupon"),
    ("优惠券怎么用呀", "shipping.when_ship"),  # normalises to a question of promo.coupon: not added
    ("宝贝能走顺丰吗", "shipping.when_ship"),  # copied for two phrases, no clear majority: not added
    ("宝贝能走顺丰吗", "shipping.change_address"),
    ("今天天气怎么样", None),  # nobody copied anything: what to write next
    ("今天天气好不好", None),
    ("你们老板是谁", None),
]


def test_report_only_writes_nothing(runner, bank, monkeypatch, tmp_path) -> None:
    _copies(bank, MISSES, monkeypatch)
    before = _digest(tmp_path)
    r = runner.invoke(cli, ["--bank", str(bank), "learn"])
    assert r.exit_code == 0, r.output
    assert "shipping.when_ship" in r.stdout and "哪天能动身呀" in r.stdout
    assert "kb learn --apply writes them" in r.stdout
    assert _digest(tmp_path) == before


def test_apply_adds_questions_masked_deduplicated_once(runner, bank, monkeypatch, tmp_path) -> None:
    for text, pid in MISSES:
        if pid and text != "优惠券怎么用呀":
            _not_confident_for(bank, text, pid)
    _copies(bank, MISSES, monkeypatch)
    outside = _digest(tmp_path / "kb-data")
    cache = tmp_path / "cache-learn"
    monkeypatch.setenv("KB_CACHE_DIR", str(cache))
    r = runner.invoke(cli, ["--bank", str(bank), "learn", "--apply"])
    assert r.exit_code == 0, r.output
    assert _digest(tmp_path / "kb-data") == outside and not cache.exists()  # nothing outside the bank
    loaded, problems = load_bank(bank)
    assert not problems
    qs = {p.id: p.questions for _, _, p in loaded.phrases()}
    assert qs["shipping.when_ship"] == ["什么时候发货", "几天能发出", "哪天能动身呀"]
    assert qs["shipping.change_address"][2:] == ["人在外地 收件人<姓名> 要换成<地址>"]
    assert qs["promo.coupon"][2:] == ["满减的红包咋抵扣"]
    every = [q for v in qs.values() for q in v]
    assert not any("顺丰" in q for q in every)  # conflict: never added to two phrases (nor one)
    assert "优惠券怎么用呀" not in every
    text = "\n".join((bank / f).read_text(encoding="utf-8") for f in ("shipping.yaml", "promo.yaml"))
    for secret in (PHONE, "张三", "文三路", "杭州"):
        assert secret not in text  # nothing unmasked reaches the bank
    # comments, order and flow style kept: only lines were added
    new = (bank / "shipping.yaml").read_text(encoding="utf-8")
    assert new.startswith("# 发货：不承诺具体日期\n") and "  # 改地址只在发货前\n" in new
    assert "  - id: shipping.when_ship   # 最常用\n" in new
    assert "      - 几天能发出  # 买家常这么问\n      - 哪天能动身呀\n    # 回复不承诺具体日期\n    reply:" in new
    old_lines = SHIPPING.splitlines()
    new_lines = new.splitlines()
    assert [ln for ln in new_lines if ln not in old_lines] == [
        "      - 哪天能动身呀",
        "    questions: [怎么修改收货地址, 地址填错了, 人在外地 收件人<姓名> 要换成<地址>]",
    ]
    assert "version: 1.2.0" in new  # versions are suggested, not changed
    assert "kb bump shipping" in r.stdout and "kb bump promo" in r.stdout
    # run again: everything is now answered or already a question, nothing more is written
    again = runner.invoke(cli, ["--bank", str(bank), "learn", "--apply", "--format", "json"])
    data = json.loads(again.stdout)
    assert data["new_questions"] == [] and data["written"] == []


def test_markdown_is_the_pull_request_description(runner, bank, monkeypatch) -> None:
    _copies(bank, MISSES, monkeypatch)
    r = runner.invoke(cli, ["--bank", str(bank), "learn", "--format", "markdown"])
    assert r.exit_code == 0, r.output
    md = r.stdout
    assert md.startswith("## kb learn: buyers' wording for 3 phrase(s)")
    assert "| `shipping.when_ship` | 发货时间 | 哪天能动身呀 | 2 |" in md
    assert "\\<姓名\\>" in md and PHONE not in md
    assert "### Versions" in md and "| shipping | 1.2.0 |" in md and "kb bump promo" in md
    assert "conflict" in md and "duplicate" in md
    assert "### What to write next" in md and "今天天气" in md
    assert "### Usage" in md


def test_unanswered_messages_are_grouped_largest_first(bank) -> None:
    src = bank.parent / "day.txt"
    src.write_text("今天天气怎么样\n今天天气好不好\n今天天气怎么样呀\n你们老板是谁\n\n", encoding="utf-8")
    loaded, problems = load_bank(bank)
    rep = learn(loaded, [read_source(str(src))], problems=problems)
    assert rep.messages == 4 and rep.unanswered == 4
    assert [c.size for c in rep.clusters] == [3, 1]
    assert "今天天气怎么样" in rep.clusters[0].examples
    assert rep.clusters[0].nearest is not None


def test_usage_most_least_and_never_used_since(bank, tmp_path) -> None:
    log = tmp_path / "agent1.jsonl"
    rows = []
    for day, pid, n in (("2026-09-01", "promo.coupon", 1), ("2026-10-05", "shipping.when_ship", 3),
                        ("2026-10-06", "shipping.change_address", 1)):
        for _ in range(n):
            rows.append({"v": 1, "time": f"{day}T10:00:00+08:00", "event": "copy", "via": "ui", "bank": "learnbank",
                         "versions": {}, "query": "x问题", "outcome": "none", "ids": [], "scores": [],
                         "copied": pid, "rank": 1})
    rows.append({**rows[-1], "bank": "another-shop", "copied": "promo.coupon"})  # a log shared by two banks
    log.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    from datetime import datetime

    loaded, _ = load_bank(bank)
    src = read_source(str(log))
    assert src.kind == "log"
    rep = learn(loaded, [src], since=datetime.fromisoformat("2026-10-01T00:00:00+08:00"))
    use = {u.id: u for u in rep.usage}
    assert use["shipping.when_ship"].copied == 3 and use["shipping.change_address"].copied == 1
    assert use["promo.coupon"].total == 0  # used only before --since, and in another bank
    assert rep.other_banks == {"another-shop": 1}
    from kb.learn.report import format_text

    out = format_text(rep)
    assert "never used since 2026-10-01: 1" in out and "promo.coupon" in out.split("never used")[1]
    assert out.index("shipping.when_ship") < out.index("shipping.change_address")


def test_chat_export_csv_gbk_with_column_label_and_filter(bank, tmp_path) -> None:
    path = tmp_path / "chats.csv"
    with open(path, "w", encoding="gbk", newline="") as f:
        w = csv.writer(f)
        w.writerow(["时间", "角色", "消息", "话术"])
        w.writerow(["1", "买家", f"哪天能动身呀 {PHONE}", "shipping.when_ship"])
        w.writerow(["2", "客服", "亲，马上给您发", ""])
        w.writerow(["3", "买家", "今天天气怎么样", ""])
    src = read_source(str(path), column="消息", label_column="话术", only="角色=买家")
    assert [m.text for m in src.messages] == ["哪天能动身呀 <手机号>", "今天天气怎么样"]
    assert [m.copied for m in src.messages] == ["shipping.when_ship", None]
    assert src.skipped == 1


def test_jsonl_export_and_missing_column_errors(runner, bank, tmp_path) -> None:
    path = tmp_path / "chats.jsonl"
    path.write_text('{"content": "满减的红包咋抵扣", "who": "buyer"}\n{"content": "在吗", "who": "buyer"}\n',
                    encoding="utf-8")
    src = read_source(str(path))  # "content" is guessed
    assert [m.text for m in src.messages] == ["满减的红包咋抵扣", "在吗"]
    path.write_text('{"body": "满减的红包咋抵扣", "who": "buyer"}\n', encoding="utf-8")
    r = runner.invoke(cli, ["--bank", str(bank), "learn", str(path)])
    assert r.exit_code == 2 and "--column" in r.output and "body" in r.output
    r = runner.invoke(cli, ["--bank", str(bank), "learn", str(path), "--column", "bdy"])
    assert r.exit_code == 2 and "did you mean body" in r.output


def test_no_log_and_no_source_says_how_to_turn_it_on(runner, bank) -> None:
    r = runner.invoke(cli, ["--bank", str(bank), "learn"])
    assert r.exit_code == 1 and "no usage log" in r.output and "log: true" in r.output


def test_apply_never_writes_into_the_bundled_bank(runner, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no phrasebank/ here: the bank in use is the bundled one
    src = tmp_path / "m.txt"
    src.write_text("哪天能动身呀\n", encoding="utf-8")
    r = runner.invoke(cli, ["learn", str(src), "--apply"])
    assert r.exit_code == 2 and "bundled" in r.output


def test_apply_refuses_a_bank_with_problems(runner, bank, monkeypatch) -> None:
    _copies(bank, MISSES[:1], monkeypatch)
    (bank / "broken.yaml").write_text("schema: 1\nname: broken\n", encoding="utf-8")
    before = (bank / "shipping.yaml").read_bytes()
    r = runner.invoke(cli, ["--bank", str(bank), "learn", "--apply"])
    assert r.exit_code == 1 and "kb validate" in r.output
    assert (bank / "shipping.yaml").read_bytes() == before


def test_learn_help_has_examples(runner) -> None:
    r = runner.invoke(cli, ["learn", "--help"])
    assert r.exit_code == 0
    assert "Examples:" in r.output and "kb learn --apply --format markdown" in r.output


# --- kb eval on a plain list of messages ---------------------------------------------------


def test_eval_hit_tests_a_plain_message_list(runner, bank, tmp_path) -> None:
    day = tmp_path / "day.txt"
    day.write_text(f"什么时候发货\n优惠券怎么用 {PHONE}\n今天天气怎么样\n", encoding="utf-8")
    r = runner.invoke(cli, ["--bank", str(bank), "eval", str(day), "--format", "markdown"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].startswith("**3 messages:")
    assert "| # | message | outcome | top answers |" in lines
    assert any(ln.startswith("| 1 | 什么时候发货 | ✅ confident | `shipping.when_ship`") for ln in lines)
    assert PHONE not in r.stdout and "优惠券怎么用 \\<手机号\\>" in r.stdout
    r = runner.invoke(cli, ["--bank", str(bank), "eval", str(day), "--format", "csv"])
    rows = list(csv.reader(r.stdout.splitlines()))
    assert rows[0][:5] == ["n", "line", "message", "outcome", "top1"]
    assert rows[1][2:5] == ["什么时候发货", "confident", "shipping.when_ship"]
    assert len(rows) == 4


def test_eval_still_scores_a_labelled_case_file(runner, bank, tmp_path) -> None:
    cases = tmp_path / "cases.tsv"
    cases.write_text("text\texpect\n什么时候发货\tshipping.when_ship\n", encoding="utf-8")
    r = runner.invoke(cli, ["--bank", str(bank), "eval", str(cases)])
    assert r.exit_code == 0 and "top-1: 1.000" in r.stdout
    r = runner.invoke(cli, ["--bank", str(bank), "eval", str(cases), "--format", "markdown"])
    assert r.exit_code == 2 and "labelled case file" in r.output


def test_eval_csv_export_with_column(runner, bank, tmp_path) -> None:
    path = tmp_path / "chats.csv"
    path.write_text("角色,消息\n买家,什么时候发货\n客服,亲在的\n", encoding="utf-8")
    r = runner.invoke(cli, ["--bank", str(bank), "eval", str(path), "--column", "消息", "--only", "角色=买家"])
    assert r.exit_code == 0, r.output
    assert "1 messages: 1 confident" in r.stdout and "亲在的" not in r.stdout


def test_sharing_only_a_common_word_does_not_group_messages() -> None:
    from kb.learn.learn import _clusters, _Forms
    from kb.learn.sources import Message
    from kb.search.index import Index, Result

    bundled, problems = load_bank(Path(__file__).resolve().parent.parent / "phrasebank")
    index = Index.build(bundled, problems)
    msgs = [Message(t, "day.txt", n) for n, t in enumerate(
        ["我要", "我要退货", "手机现在充不进去电", "现在还是充不进去"], 1)]
    assert index.idf.get("要", 99) < max(index.idf.values())  # 要 is a common word of the bank
    clusters = _clusters(msgs, _Forms(index), lambda m: Result(m.text, []), index)
    groups = sorted(sorted(c.examples) for c in clusters)
    assert groups == [["我要"], ["我要退货"], ["手机现在充不进去电", "现在还是充不进去"]]


def test_hostile_sources_give_a_message_not_a_traceback(runner, bank, tmp_path) -> None:
    big = tmp_path / "big.csv"
    big.write_text('消息\n"' + "很" * 200_000 + '"\n', encoding="utf-8")
    r = runner.invoke(cli, ["--bank", str(bank), "learn", str(big)])
    assert r.exit_code == 1 and "big.csv:" in r.output and "internal error" not in r.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "在吗"}\n[1, 2]\n', encoding="utf-8")
    r = runner.invoke(cli, ["--bank", str(bank), "learn", str(bad), "--column", "text"])
    assert r.exit_code == 1 and "bad.jsonl:2" in r.output
    odd = tmp_path / "odd.txt"
    odd.write_bytes("在吗\x00\u202e发货了吗\x1b[31m\n".encode())
    r = runner.invoke(cli, ["--bank", str(bank), "learn", str(odd)])
    assert r.exit_code == 0 and "\x1b" not in r.output and "\u202e" not in r.output
