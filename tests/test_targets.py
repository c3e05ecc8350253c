"""The targets registry and what every export shares: declared limits, lint errors and formula cells
refused (naming each phrase), no binary bytes on a terminal, clear errors for books and limits."""

from __future__ import annotations

import pytest

import kb.cli
from kb.cli import cli
from kb.errors import KbError
from kb.targets import declared_limits, get, names
from tests.conftest import BANK, MINI_MANIFEST

RISKY_BOOK = """schema: 1
name: risky
version: 1.0.0
title: 测试
phrases:
  - id: risky.wechat
    title: 微信
    shortcut: wx
    questions: [能加微信吗]
    reply: 亲，加我微信私聊给您优惠哦
  - id: risky.fine
    title: 发货
    shortcut: fh
    questions: [什么时候发货]
    reply: 亲，预计{ship_window}内发货，具体以物流信息为准哦～
"""


def bank_with(tmp_path, book: str, name: str = "risky"):
    root = tmp_path / "bank"
    root.mkdir(exist_ok=True)
    (root / "bank.yaml").write_text(MINI_MANIFEST, encoding="utf-8")
    (root / f"{name}.yaml").write_text(book, encoding="utf-8")
    return root


def test_registry_lists_every_target_and_refuses_unknown_ones():
    assert names() == ["qianniu", "faq-xlsx", "espanso"]
    assert get("espanso").name == "espanso"
    with pytest.raises(KbError) as e:
        get("qianiu")
    assert e.value.exit_code == 2 and "did you mean qianniu" in e.value.message


def test_declared_limits_come_from_the_profiles():
    lim = declared_limits()
    q = lim["qianniu"]["qianniu"]
    assert (q.encoding, q.max_chars, q.code_re) == ("gbk", 500, "^[a-z][a-z0-9]*$")
    assert q.formula_prefixes == ("=", "+", "-", "@")
    lke, cbs = lim["faq-xlsx"]["tencent-lke"], lim["faq-xlsx"]["huawei-cbs"]
    assert (lke.max_question_chars, lke.max_chars, lke.max_items) == (1000, 4000, 50000)
    assert (cbs.max_similar, cbs.max_question_chars) == (200, 512)
    assert "{{" in lim["espanso"]["espanso"].forbidden
    assert q.as_dict()["formula_prefixes"] == ["=", "+", "-", "@"]


def test_unknown_target_on_the_command_line(runner):
    r = runner.invoke(cli, ["export", "qianiu"])
    assert r.exit_code == 2 and "Did you mean qianniu" in r.output
    r = runner.invoke(cli, ["import", "espanso", "x.yml"])
    assert r.exit_code == 2 and "export only" in r.output


@pytest.mark.parametrize("target, extra", [("qianniu", []), ("faq-xlsx", []), ("espanso", ["--books", "risky"])])
def test_lint_errors_block_every_export_naming_the_phrase(runner, tmp_path, target, extra):
    bank = bank_with(tmp_path, RISKY_BOOK)
    out = tmp_path / "out"
    r = runner.invoke(cli, ["--bank", str(bank), "export", target, "-o", str(out), *extra])
    assert r.exit_code == 1, r.output
    assert "risky.wechat: lint error offplatform" in r.output and "risky.fine" not in r.output
    assert "--allow-lint-errors" in r.output and not out.exists()
    r = runner.invoke(cli, ["--bank", str(bank), "export", target, "-o", str(out), *extra, "--allow-lint-errors"])
    assert r.exit_code == 0, r.output
    assert "exported despite --allow-lint-errors: risky.wechat" in r.stderr


@pytest.mark.parametrize("field, value", [
    ("group", "=HYPERLINK(\"http://x\")"),  # the group column, which lint never looked at
    ("group", "  +cmd"),
    ("reply", "@SUM(1)"),
])
def test_formula_cells_never_pass(runner, tmp_path, field, value):
    book = RISKY_BOOK.replace("    reply: 亲，加我微信私聊给您优惠哦\n", "    reply: 亲，您好\n")
    if field == "group":
        book = book.replace("    title: 发货\n", f"    title: 发货\n    group: '{value}'\n")
    else:
        book = book.replace("reply: 亲，预计{ship_window}内发货，具体以物流信息为准哦～", f"reply: '{value}'")
    bank = bank_with(tmp_path, book)
    for target in ("qianniu", "faq-xlsx"):
        r = runner.invoke(cli, ["--bank", str(bank), "export", target, "-o", str(tmp_path / "o"),
                                "--allow-lint-errors"])
        assert r.exit_code == 1, (target, r.output)
        assert "risky.fine: " in r.output and "formula" in r.output
        assert not (tmp_path / "o").exists()


def test_qianniu_to_a_terminal_warns_instead_of_printing_gbk(runner, monkeypatch):
    monkeypatch.setattr(kb.cli, "_stdout_is_terminal", lambda: True)
    r = runner.invoke(cli, ["--bank", str(BANK), "export", "qianniu"])
    assert r.exit_code == 2 and "terminal" in r.stderr and "-o FILE" in r.stderr
    assert r.stdout_bytes == b""
    r = runner.invoke(cli, ["--bank", str(BANK), "export", "qianniu", "--encoding", "utf-8-sig"])
    assert r.exit_code == 0 and "快捷短语编码" in r.stdout


def test_max_chars_names_the_phrase_and_step(runner, tmp_path):
    book = RISKY_BOOK.replace("    reply: 亲，加我微信私聊给您优惠哦\n",
                              "    flow:\n      - step: 道歉\n        reply: 亲，非常抱歉\n"
                              "      - step: 处理\n        reply: 亲，我们马上为您核实处理，请稍等片刻\n")
    r = runner.invoke(cli, ["--bank", str(bank_with(tmp_path, book)), "export", "qianniu", "--max-chars", "12"])
    assert r.exit_code == 1
    assert "risky.wechat: step 2 「处理」 is 22 characters (code wx2), over the limit of 12" in r.output
    assert "risky.fine: reply is" in r.output


def test_unknown_book_has_a_did_you_mean(runner):
    r = runner.invoke(cli, ["--bank", str(BANK), "export", "qianniu", "--books", "shiping", "-o", "x.csv"])
    assert r.exit_code == 2 and "did you mean shipping?" in r.output


def test_export_never_overwrites_without_force(runner, tmp_path):
    out = tmp_path / "faq.xlsx"
    out.write_bytes(b"keep")
    r = runner.invoke(cli, ["--bank", str(BANK), "export", "faq-xlsx", "-o", str(out)])
    assert r.exit_code == 1 and "--force" in r.output and out.read_bytes() == b"keep"
    r = runner.invoke(cli, ["--bank", str(BANK), "export", "faq-xlsx", "-o", str(out), "--force"])
    assert r.exit_code == 0 and out.read_bytes().startswith(b"PK")


def test_every_target_command_has_help_with_examples(runner):
    for group in ("export", "import"):
        r = runner.invoke(cli, [group, "--help"])
        assert r.exit_code == 0 and "Examples:" in r.output
    for target in names():
        r = runner.invoke(cli, ["export", target, "--help"])
        assert r.exit_code == 0 and "Examples:" in r.output and "--allow-lint-errors" in r.output
