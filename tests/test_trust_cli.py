"""Trust (issue 16) at the command line: a bank with problems answers loudly, every read command says
which bank it uses, any stdout encoding works, and nothing a phrasebook holds reaches the terminal raw."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kb.cli import cli
from tests.conftest import BANK, MINI_BOOK

ROOT = Path(__file__).resolve().parent.parent

OTHER_BOOK = (MINI_BOOK.replace("name: shipping", "name: other").replace("shipping.when_ship", "other.refund")
              .replace("fhsj", "tk").replace("发货时间", "退款").replace("什么时候发货", "怎么退款")
              .replace("几天能发出", "退款多久到"))


@pytest.fixture
def partial_bank(mini_bank) -> Path:
    (mini_bank / "other.yaml").write_text(OTHER_BOOK.replace("    reply: |-", "    replay: |-"), encoding="utf-8")
    return mini_bank


# --- a bank with problems answers loudly -------------------------------------------------------------


def test_list_answers_from_the_valid_books_and_says_the_bank_is_partial(runner, partial_bank):
    r = runner.invoke(cli, ["--bank", str(partial_bank), "list"])
    assert r.exit_code == 0
    assert "shipping.when_ship" in r.stdout and "other.refund" not in r.stdout
    assert "the bank has 1 problem(s)" in r.stderr
    assert "other.yaml:12:5: other.refund: unknown key 'replay'; did you mean 'reply'?" in r.stderr


def test_list_json_carries_bank_and_bank_problems(runner, partial_bank):
    r = runner.invoke(cli, ["--bank", str(partial_bank), "list", "--json"])
    out = json.loads(r.stdout)
    assert out["bank"] == "mini" and out["bank_root"] == str(partial_bank) and out["bank_source"] == "--bank"
    assert [p["id"] for p in out["phrases"]] == ["shipping.when_ship"]
    assert any(p["path"].endswith("other.yaml") and p["line"] == 12 and "replay" in p["message"]
               for p in out["bank_problems"])


def test_show_says_the_bank_is_partial(runner, partial_bank):
    r = runner.invoke(cli, ["--bank", str(partial_bank), "show", "shipping.when_ship"])
    assert r.exit_code == 0 and "预计3天内发货" in r.stdout
    assert "the bank has 1 problem(s)" in r.stderr
    r = runner.invoke(cli, ["--bank", str(partial_bank), "show", "other.refund"])
    assert r.exit_code == 1
    assert "no phrase with id or shortcut 'other.refund'" in r.stderr
    assert "it may be in a book that did not load" in r.stderr


def test_validate_json_names_the_bank(runner, partial_bank):
    r = runner.invoke(cli, ["--bank", str(partial_bank), "validate", "--format", "json"])
    out = json.loads(r.stdout)
    assert r.exit_code == 1 and out["bank"] == "mini" and out["bank_root"] == str(partial_bank)
    assert any("replay" in p["message"] for p in out["problems"])


# --- which bank ------------------------------------------------------------------------------------


def test_bundled_bank_is_named_on_stderr_and_in_json(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    r = runner.invoke(cli, ["list", "--json"])
    assert "using the bank bundled with kb" in r.stderr and "kb init" in r.stderr
    assert json.loads(r.stdout)["bank_source"] == "bundled"


def test_kb_bank_env_and_parent_bank_are_named(runner, tmp_path, monkeypatch, mini_bank):
    monkeypatch.setenv("KB_BANK", str(mini_bank))
    r = runner.invoke(cli, ["list"])
    assert f"using the bank at {mini_bank} (from $KB_BANK)" in r.stderr
    monkeypatch.delenv("KB_BANK")
    (mini_bank.parent / "phrasebank").symlink_to(mini_bank)
    (mini_bank.parent / "sub").mkdir()
    monkeypatch.chdir(mini_bank.parent / "sub")
    r = runner.invoke(cli, ["show", "fhsj"])
    assert "(phrasebank/ in a parent folder)" in r.stderr and r.exit_code == 0
    monkeypatch.chdir(mini_bank.parent)
    r = runner.invoke(cli, ["list"])
    assert r.stderr == "" and "shipping.when_ship" in r.stdout  # the bank here: nothing to say


# --- invisible characters never reach the terminal raw -------------------------------------------------------


@pytest.fixture
def sneaky_bank(mini_bank) -> Path:
    text = MINI_BOOK.replace("title: 发货时间", 'title: "发货\\e[2J时间\\u202e"').replace(
        "      亲，预计", "      亲，\\u0007预计")
    (mini_bank / "shipping.yaml").write_text(text.replace("|-\n      亲，\\u0007预计{ship_window}内发货，具体以物流信息为准哦～",
                                                          '"亲，\\a预计{ship_window}内发货\\u2066，具体以物流信息为准哦～"'),
                                             encoding="utf-8")
    return mini_bank


RAW = ("\x1b", "\u202e", "\x07", "\u2066")


@pytest.mark.parametrize("args", [["list"], ["list", "--json"], ["show", "fhsj"], ["search", "什么时候发货"],
                                  ["search", "--json", "什么时候发货"], ["validate"]])
def test_control_and_bidi_characters_are_escaped(runner, sneaky_bank, args):
    r = runner.invoke(cli, ["--bank", str(sneaky_bank), *args])
    assert not any(ch in r.output for ch in RAW), repr(r.output)
    assert "\\u001b" in r.output or "U+001B" in r.output


def test_jsonl_escapes_them_and_stays_one_record_per_line(runner, sneaky_bank):
    r = runner.invoke(cli, ["--bank", str(sneaky_bank), "search", "--jsonl"],
                      input="什么时候发货\n包邮\u2028吗\n".encode())
    lines = r.stdout.splitlines()
    assert len(lines) == 2 and not any(ch in r.stdout for ch in RAW)
    assert json.loads(lines[1])["query"] == "包邮\u2028吗"


# --- any stdout encoding -----------------------------------------------------------------------------------


def kb(args: list[str], encoding: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONIOENCODING": encoding, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", "from kb.cli import main; main()", *args], input=stdin,
                          capture_output=True, env=env, timeout=120)


@pytest.mark.parametrize("encoding", ["gbk", "cp1252"])
def test_check_and_lint_never_crash_on_a_narrow_stdout(encoding):
    r = kb(["check", "亲，今天下单保证今天发货哦😀"], encoding)
    assert r.returncode == 1, r.stderr
    assert b"internal error" not in r.stderr and b"Traceback" not in r.stderr and r.stdout.strip()
    r = kb(["check", "--format", "json", "亲，保证今天发货😀"], encoding)
    assert r.returncode == 1 and b"internal error" not in r.stderr
    r = kb(["--bank", str(BANK), "lint", "--format", "json"], encoding)
    assert b"internal error" not in r.stderr and b"Traceback" not in r.stderr
    json.loads(r.stdout.decode(encoding))


@pytest.mark.parametrize("encoding", ["gbk", "cp1252"])
def test_search_jsonl_loses_no_line_on_a_narrow_stdout(encoding):
    queries = ["什么时候发货😀", "包邮吗", "€ 能便宜点吗 🎉", "退款\u2028多久", "在吗"]
    r = kb(["--bank", str(BANK), "search", "--jsonl"], encoding, "\n".join(queries).encode() + b"\n")
    assert b"internal error" not in r.stderr and b"Traceback" not in r.stderr
    lines = r.stdout.decode(encoding).splitlines()
    assert [json.loads(ln)["query"] for ln in lines] == queries  # lossless: escapes decode to the text


def test_text_output_on_cp1252_is_escaped_not_lost():
    r = kb(["--bank", str(BANK), "show", "shipping.when_ship"], "cp1252")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode("cp1252")
    assert "shipping.when_ship" in out and "\\u4eb2" in out  # 亲 as an escape


def test_error_messages_escape_what_the_user_or_a_book_typed(runner, mini_bank):
    r = runner.invoke(cli, ["--bank", str(mini_bank), "show", "x\x1b[2J\u202e"])
    assert r.exit_code == 1 and "\\u001b[2J\\u202e" in r.stderr and "\x1b" not in r.output
    (mini_bank / "shipping.yaml").write_text(MINI_BOOK.replace("    title: 发货时间\n",
                                                               '    title: 发货时间\n    "\\e[31mx": 1\n'),
                                             encoding="utf-8")
    r = runner.invoke(cli, ["--bank", str(mini_bank), "export", "qianniu"])
    assert r.exit_code != 0 and "\x1b" not in r.output and "\\u001b[31mx" in r.output
