"""espanso: one match file per book that loads as YAML with espanso's documented fields
(matches: trigger / replace / label), flows as one match per step, refusals naming phrases."""

from __future__ import annotations

from ruamel.yaml import YAML

from kb.bank.load import load_bank
from kb.cli import cli
from tests.conftest import BANK, MINI_BOOK, MINI_MANIFEST


def load(path):
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def test_one_match_file_per_book_with_espansos_fields(runner, tmp_path):
    out = tmp_path / "match"
    r = runner.invoke(cli, ["--bank", str(BANK), "export", "espanso", "-o", str(out)])
    assert r.exit_code == 0, r.output
    bank, _ = load_bank(BANK)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{bf.book.name}.yml" for bf in bank.books)
    doc = load(out / "shipping.yml")
    assert set(doc) == {"matches"}
    for m in doc["matches"]:
        assert set(m) <= {"trigger", "replace", "label", "word"}
        assert isinstance(m["trigger"], str) and m["trigger"].startswith(":")
        assert isinstance(m["replace"], str) and m["replace"] and "{" not in m["replace"]
        assert isinstance(m["label"], str) and m["word"] is True
    ship = next(m for m in doc["matches"] if m["trigger"] == ":fhsj")
    when = bank.find("shipping.when_ship")[2]
    assert ship["label"] == when.title and "72小时" in ship["replace"]


def test_flow_is_one_match_per_step(runner, tmp_path):
    out = tmp_path / "m"
    assert runner.invoke(cli, ["--bank", str(BANK), "export", "espanso", "-o", str(out)]).exit_code == 0
    bank, _ = load_bank(BANK)
    flow = bank.find("aftersales.general")[2]
    ms = [m for m in load(out / "aftersales.yml")["matches"] if m["trigger"].startswith(":shkc")]
    assert [m["trigger"] for m in ms] == [f":shkc{i}" for i in range(1, len(flow.flow) + 1)]
    assert ms[0]["replace"] == flow.flow[0].reply and flow.flow[0].step in ms[0]["label"]


def test_trigger_prefix_and_single_book_to_stdout(runner):
    r = runner.invoke(cli, ["--bank", str(BANK), "export", "espanso", "--books", "shipping", "--trigger-prefix", ";"])
    assert r.exit_code == 0, r.output
    doc = YAML(typ="safe", pure=True).load(r.stdout)
    assert all(m["trigger"].startswith(";") for m in doc["matches"])
    r = runner.invoke(cli, ["--bank", str(BANK), "export", "espanso"])
    assert r.exit_code == 2 and "-o FOLDER" in r.output


def mini(tmp_path, book: str):
    root = tmp_path / "b"
    root.mkdir()
    (root / "bank.yaml").write_text(MINI_MANIFEST, encoding="utf-8")
    (root / "shipping.yaml").write_text(book, encoding="utf-8")
    return root


def test_espanso_syntax_in_a_reply_is_refused(runner, tmp_path):
    root = mini(tmp_path, MINI_BOOK.replace("具体以物流信息为准哦～", "模板写法是{{{{name}}}}哦～"))
    r = runner.invoke(cli, ["--bank", str(root), "export", "espanso", "-o", str(tmp_path / "o")])
    assert r.exit_code == 1 and "shipping.when_ship: reply contains '{{'" in r.output


def test_no_word_refuses_triggers_that_shadow_others(runner, tmp_path):
    book = MINI_BOOK + """  - id: shipping.fast
    title: 加急
    shortcut: fh
    questions: [能加急吗]
    reply: 亲，已为您备注加急～
"""
    root = mini(tmp_path, book)
    r = runner.invoke(cli, ["--bank", str(root), "export", "espanso", "-o", str(tmp_path / "o"), "--no-word"])
    assert r.exit_code == 1
    assert "shipping.when_ship: trigger :fhsj can never be typed: :fh (shipping.fast) expands first" in r.output
    r = runner.invoke(cli, ["--bank", str(root), "export", "espanso", "-o", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output


def test_missing_shortcut_is_refused(runner, tmp_path):
    root = mini(tmp_path, MINI_BOOK.replace("    shortcut: fhsj\n", ""))
    r = runner.invoke(cli, ["--bank", str(root), "export", "espanso", "-o", str(tmp_path / "o")])
    assert r.exit_code == 1 and "shipping.when_ship: no shortcut" in r.output
