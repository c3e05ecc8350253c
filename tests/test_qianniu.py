"""Qianniu export/import: format, refusals, encodings, round trip, malformed files."""

from __future__ import annotations

import csv
import io

import pytest

from kb.cli import cli
from kb.errors import KbError
from kb.targets.qianniu import QIANNIU, detect_encoding, import_file
from tests.conftest import BANK, MINI_MANIFEST

TRICKY = MINI_MANIFEST + ""
TRICKY_BOOK = """schema: 1
name: tricky
version: 1.0.0
title: 測試分組
phrases:
  - id: tricky.multi
    title: 多行
    group: 售后, "特殊"分组
    shortcut: dh
    questions: [多行, 多行回复]
    reply: |-
      第一行，含逗号, and "quotes"
      第二行：繁體字發貨{{不是变量}}
      第三行
  - id: tricky.flow
    title: 流程
    shortcut: lc
    questions: [流程, 步骤]
    flow:
      - step: 道歉
        reply: 抱歉，"亲"
      - step: 处理
        reply: |-
          预计{ship_window}内发货
          以物流为准
"""


def export(runner, bank, *args):
    return runner.invoke(cli, ["--bank", str(bank), "export", "qianniu", *args])


def test_bundled_bank_exports_as_gbk_with_exact_header(runner, tmp_path):
    out = tmp_path / "q.csv"
    r = export(runner, BANK, "-o", str(out))
    assert r.exit_code == 0, r.output
    text = out.read_bytes().decode("gbk")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["快捷短语编码", "快捷短语", "快捷短语分组"]
    codes = [r[0] for r in rows[1:]]
    assert len(codes) == len(set(codes)) and all(c.isalnum() and c.islower() for c in codes)
    assert {"shkc1", "shkc2", "shkc5"} <= set(codes) and "shkc" not in codes
    assert all(len(r) == 3 for r in rows)
    assert "{" not in text


def make_bank(tmp_path, book=TRICKY_BOOK, name="tricky"):
    root = tmp_path / "bank"
    root.mkdir(exist_ok=True)
    (root / "bank.yaml").write_text(MINI_MANIFEST, encoding="utf-8")
    (root / f"{name}.yaml").write_text(book, encoding="utf-8")
    return root


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_round_trip_byte_for_byte(runner, tmp_path, encoding):
    bank = make_bank(tmp_path)
    first = tmp_path / "first.csv"
    assert export(runner, bank, "-o", str(first), "--encoding", encoding).exit_code == 0
    raw = first.read_bytes()
    assert b'"' in raw and b"\r\n" in raw
    # import into a fresh bank, export again: same bytes
    other = tmp_path / "other"
    other.mkdir()
    (other / "bank.yaml").write_text(MINI_MANIFEST, encoding="utf-8")
    r = runner.invoke(cli, ["--bank", str(other), "import", "qianniu", str(first), "--name", "legacy"])
    assert r.exit_code == 0, r.output
    assert ("utf-8 with BOM" if encoding == "utf-8-sig" else "gbk") in r.output
    assert runner.invoke(cli, ["--bank", str(other), "validate"]).exit_code == 0
    second = tmp_path / "second.csv"
    assert export(runner, other, "-o", str(second), "--encoding", encoding).exit_code == 0
    assert second.read_bytes() == raw


def test_refusals_name_every_phrase(runner, tmp_path):
    book = TRICKY_BOOK.replace("第三行", "第三行😀").replace("    shortcut: lc\n", "")
    bank = make_bank(tmp_path, book)
    r = export(runner, bank)
    assert r.exit_code == 1
    assert "tricky.flow: no shortcut" in r.output
    r = export(runner, make_bank(tmp_path, book.replace("    title: 流程\n", "    title: 流程\n    shortcut: lc\n")))
    assert r.exit_code == 1 and "tricky.multi (dh): '😀' U+1F600 cannot be encoded in gbk" in r.output, r.output


def test_replace_unencodable_names_each_replacement(runner, tmp_path):
    bank = make_bank(tmp_path, TRICKY_BOOK.replace("第三行", "第三行😀"))
    r = export(runner, bank, "--replace-unencodable")
    assert r.exit_code == 0
    assert "tricky.multi (dh): removed '😀' (U+1F600)" in r.stderr
    assert export(runner, bank, "--encoding", "utf-8-sig").exit_code == 0


def test_duplicate_code_and_length_limit(runner, tmp_path):
    bank = make_bank(tmp_path, TRICKY_BOOK.replace("shortcut: dh", "shortcut: lc1"))
    r = export(runner, bank)
    assert r.exit_code == 1 and "tricky.flow: code 'lc1' is also the code of tricky.multi" in r.output
    r = export(runner, make_bank(tmp_path, TRICKY_BOOK), "--max-chars", "10")
    assert r.exit_code == 1 and "over the limit of 10" in r.output


def test_unresolved_variable_refused(runner, tmp_path):
    bank = make_bank(tmp_path)
    m = (bank / "bank.yaml").read_text(encoding="utf-8").replace("  ship_window: 3天\n", "  other: x\n")
    (bank / "bank.yaml").write_text(m, encoding="utf-8")
    r = export(runner, bank)
    assert r.exit_code == 1


def test_import_never_overwrites_without_force(runner, tmp_path):
    csv_file = tmp_path / "in.csv"
    csv_file.write_bytes("快捷短语编码,快捷短语,快捷短语分组\r\nabc,你好,欢迎\r\n".encode("gbk"))
    out = tmp_path / "book.yaml"
    out.write_text("keep", encoding="utf-8")
    r = runner.invoke(cli, ["import", "qianniu", str(csv_file), "-o", str(out)])
    assert r.exit_code == 1 and "--force" in r.output
    assert out.read_text(encoding="utf-8") == "keep"
    r = runner.invoke(cli, ["import", "qianniu", str(csv_file), "-o", str(out), "--force"])
    assert r.exit_code == 0 and "imported.abc" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("data, name", [
    (b"a,b\n", "utf-8"),
    ("\ufeff快捷".encode(), "utf-8 with BOM"),
    ("快捷".encode("gbk"), "gbk"),
])
def test_detect_encoding(data, name):
    assert detect_encoding(data)[1] == name


@pytest.mark.parametrize("data, message", [
    ("编码,短语,分组\r\n".encode(), "line 1: wrong header"),
    ("快捷短语编码,快捷短语,快捷短语分组\r\na,b,c,d\r\n".encode(), "line 2: 4 fields"),
    ("快捷短语编码,快捷短语,快捷短语分组\r\nab\r\n".encode(), "line 2: only 1 field"),
    (b"\xbf\xec\xbd\xdd,x,y\r\nabc,\xff\xff\xff,z\r\n", "byte 0xff is neither UTF-8 nor GBK"),
    ("快捷短语编码,快捷短语,快捷短语分组\r\n".encode("gbk") + "a,你好,组\r\n".encode(), "mixed encodings"),
    (b"\x00\x01PK", "NUL bytes"),
    (b"", "empty"),
])
def test_malformed_csv_clear_error(data, message, tmp_path, runner):
    with pytest.raises(KbError, match=message):
        import_file(data, "x")
    f = tmp_path / "bad.csv"
    f.write_bytes(data)
    r = runner.invoke(cli, ["import", "qianniu", str(f), "-o", str(tmp_path / "out.yaml")])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert not (tmp_path / "out.yaml").exists()


def test_repaired_rows_warned():
    data = ("快捷短语编码,快捷短语,快捷短语分组\r\n"
            "ab,=1+1,组\r\n"
            "cd,你好\r\n"
            "ef,再见,组,,\r\n"
            "AB-1,你好呀,组\r\n"
            "ab,重复,组\r\n").encode()
    res = import_file(data, "x")
    joined = "\n".join(res.warnings)
    assert "line 2: phrase starts with '='" in joined
    assert "line 3: no group" in joined
    assert "line 4: 2 empty extra field(s) dropped" in joined
    assert "line 5: code 'AB-1' is not a valid code: using 'ab1'" in joined
    assert "line 6: code 'ab' is used twice" in joined
    assert res.phrases == 5
    assert QIANNIU.header == ("快捷短语编码", "快捷短语", "快捷短语分组")
