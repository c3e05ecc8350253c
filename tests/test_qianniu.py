"""Qianniu export/import: format, refusals, encodings, round trip, malformed files."""

from __future__ import annotations

import csv
import io

import pytest

from kb.cli import cli
from kb.errors import KbError
from kb.targets.qianniu import QIANNIU, detect_encoding, import_file
from tests.conftest import BANK, MINI_BOOK, MINI_MANIFEST

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


# --- import integrity (issue 16) -----------------------------------------------------------------

HEADER = "快捷短语编码,快捷短语,快捷短语分组\r\n"


def csv_rows(n: int, start: int = 0) -> str:
    return HEADER + "".join(f"c{i},亲，这是第{i}条回复，请放心,分组{i % 3}\r\n" for i in range(start, start + n))


def fresh_bank(tmp_path, name="nb"):
    root = tmp_path / name
    root.mkdir()
    (root / "bank.yaml").write_text(MINI_MANIFEST, encoding="utf-8")
    return root


def run_import(runner, bank, data: str | bytes, *args, fname="in.csv"):
    f = bank.parent / fname
    f.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return runner.invoke(cli, ["--bank", str(bank), "import", "qianniu", str(f), *args])


def test_unterminated_quote_is_an_error_with_its_line(runner, tmp_path):
    rows = csv_rows(1000).split("\r\n")
    rows[2] = rows[2].replace("亲，", '"亲，', 1)  # line 3: a quote that never closes
    bank = fresh_bank(tmp_path)
    r = run_import(runner, bank, "\r\n".join(rows), "--name", "legacy")
    assert r.exit_code == 1 and "line 3: a quoted field opens here and is never closed" in r.output
    assert not (bank / "legacy.yaml").exists()
    # a closed multi-line quoted field is fine
    ok = HEADER + 'a,"第一行\r\n第二行, ""引号""",组\r\nb,再见,组\r\n'
    r = run_import(runner, bank, ok, "--name", "legacy")
    assert r.exit_code == 0, r.output and "wrote 2 phrases" in r.output


def test_row_count_is_checked_against_what_would_be_written(runner, tmp_path, monkeypatch):
    import kb.targets.ops as ops

    real = ops.plan_books

    def lossy(imported, out, **kw):
        planned = real(imported, out, **kw)
        planned[0].texts -= 1  # a writer that lost a row
        return planned

    monkeypatch.setattr(ops, "plan_books", lossy)
    bank = fresh_bank(tmp_path)
    r = run_import(runner, bank, csv_rows(5), "--name", "legacy")
    assert r.exit_code == 1 and "read 5 rows but the book(s) would hold 4: nothing written" in r.output
    assert not (bank / "legacy.yaml").exists()


def test_large_import_is_split_into_books_kb_loads(runner, tmp_path, monkeypatch):
    import kb.targets.bookio as bookio

    monkeypatch.setattr(bookio, "loader_budget", lambda: 6000)  # as if kb loaded only ~6 KB per book
    bank = fresh_bank(tmp_path)
    r = run_import(runner, bank, csv_rows(120), "--name", "legacy", "--no-split")
    assert r.exit_code == 1 and "more than kb loads in one book" in r.output and "nothing written" in r.output
    assert list(bank.glob("legacy*.yaml")) == []
    r = run_import(runner, bank, csv_rows(120), "--name", "legacy")
    assert r.exit_code == 0, r.output
    files = sorted(bank.glob("legacy*.yaml"))
    assert len(files) > 1 and "split into" in r.output
    v = runner.invoke(cli, ["--bank", str(bank), "validate"])
    assert v.exit_code == 0, v.output
    from kb.bank.load import load_bank

    loaded, _ = load_bank(bank)
    assert len(loaded.phrases()) == 120 and {bf.book.name for bf in loaded.books} == {f.stem for f in files}
    out = tmp_path / "again.csv"
    assert export(runner, bank, "-o", str(out), "--encoding", "utf-8-sig").exit_code == 0
    assert out.read_bytes()[3:] == csv_rows(120).encode()  # split books export back to the same file


def test_code_clashes_with_the_bank_are_refused_or_renamed(runner, tmp_path):
    bank = fresh_bank(tmp_path)
    (bank / "shipping.yaml").write_text(MINI_BOOK, encoding="utf-8")
    data = HEADER + "fhsj,亲，别的发货说明,物流\r\nabc,你好,欢迎\r\n"
    r = run_import(runner, bank, data, "--name", "legacy")
    assert r.exit_code == 1
    assert "line 2: legacy.fhsj: code(s) fhsj already used by shipping.when_ship" in r.output
    assert "--prefix" in r.output and not (bank / "legacy.yaml").exists()
    r = run_import(runner, bank, data, "--name", "legacy", "--prefix", "lg")
    assert r.exit_code == 0, r.output
    assert "shortcut: lgfhsj" in (bank / "legacy.yaml").read_text(encoding="utf-8")
    assert runner.invoke(cli, ["--bank", str(bank), "validate"]).exit_code == 0
    r = run_import(runner, bank, data, "--name", "shipping", "--prefix", "zz", "-o", str(bank / "other.yaml"))
    assert r.exit_code == 1 and "book name 'shipping' is already the book" in r.output


@pytest.mark.parametrize("data", [HEADER, HEADER + "\r\n,,\r\n", HEADER + "abc,,组\r\n"])
def test_header_only_or_empty_imports_write_nothing(runner, tmp_path, data):
    bank = fresh_bank(tmp_path)
    r = run_import(runner, bank, data, "--name", "legacy")
    assert r.exit_code == 1 and "no phrases in it" in r.output and "nothing written" in r.output
    assert not (bank / "legacy.yaml").exists()


def test_feiniu_header_variant_is_accepted():
    res = import_file("快捷编码,快捷短语,快捷短语分组\r\nabc,你好,欢迎\r\n".encode("gbk"), "x")
    assert res.phrases == 1 and res.books[0].phrases[0].shortcut == "abc"
    assert any("飞牛" in w for w in res.warnings)


@pytest.mark.parametrize("name", ["legacy\n", "Legacy", "a.b", ""])
def test_bad_name_is_refused_at_once(runner, tmp_path, name):
    bank = fresh_bank(tmp_path)
    r = run_import(runner, bank, csv_rows(3), "--name", name)
    assert r.exit_code == 2 and "a book name is lower-case letters" in r.output
    with pytest.raises(KbError):
        import_file(csv_rows(3).encode(), name)


def test_import_and_bump_refuse_the_installed_package(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no bank here: the fallback is the bundled bank inside the package
    f = tmp_path / "in.csv"
    f.write_text(csv_rows(2), encoding="utf-8")
    r = runner.invoke(cli, ["import", "qianniu", str(f), "--name", "legacy"])
    assert r.exit_code == 2 and "installed kb package" in r.output and "kb init" in r.output
    from kb.bank.files import BUNDLED

    assert not (BUNDLED / "legacy.yaml").exists()
    r = runner.invoke(cli, ["bump", "shipping", "patch"])
    assert r.exit_code == 2 and "kb init" in r.output


def test_import_goes_through_the_model(tmp_path):
    from kb.model import Book

    res = import_file((HEADER + "ab,你好{name},组\r\n").encode(), "x")
    book = res.books[0]
    assert isinstance(book, Book) and book.phrases[0].reply == "你好{{name}}"
    assert book.phrases[0].questions == [book.phrases[0].title]
