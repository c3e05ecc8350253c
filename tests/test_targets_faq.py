"""faq-xlsx: cells written, profiles' limits refused naming every phrase, import (both layouts,
header spellings, malformed sheets) and the cell round trip import -> export."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from kb.bank.load import load_bank
from kb.cli import cli
from kb.errors import KbError
from kb.targets.base import ExportRequest, Limits
from kb.targets.faq_xlsx import faq_rows, import_xlsx
from tests.conftest import BANK, MINI_MANIFEST

HEADER = ("分类", "标准问题", "相似问法", "答案")


def cells(path) -> list[tuple]:
    return [tuple(r) for r in load_workbook(path).active.iter_rows(values_only=True)]


def xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def empty_bank(tmp_path, name="nb"):
    root = tmp_path / name
    root.mkdir()
    (root / "bank.yaml").write_text(MINI_MANIFEST, encoding="utf-8")
    return root


def test_export_bundled_bank_cells(runner, tmp_path):
    out = tmp_path / "faq.xlsx"
    r = runner.invoke(cli, ["--bank", str(BANK), "export", "faq-xlsx", "-o", str(out)])
    assert r.exit_code == 0, r.output
    rows = cells(out)
    bank, _ = load_bank(BANK)
    assert rows[0] == HEADER and len(rows) == 1 + len(bank.phrases())
    by_title = {r[1]: r for r in rows[1:]}
    ship = by_title["发货时间"]
    when_ship = bank.find("shipping.when_ship")[2]
    assert ship[0] == "发货物流" and ship[2].split("\n") == when_ship.questions
    assert "{" not in ship[3] and "72小时" in ship[3]
    flow = by_title["售后开场流程"][3]
    assert flow.startswith("1. 【道歉安抚】") and "\n2. 【" in flow


@pytest.mark.parametrize("layout", [[], ["--similar-as-rows"]])
def test_cell_round_trip_import_then_export(runner, tmp_path, layout):
    first = tmp_path / "first.xlsx"
    assert runner.invoke(cli, ["--bank", str(BANK), "export", "faq-xlsx", "-o", str(first), *layout]).exit_code == 0
    other = empty_bank(tmp_path)
    r = runner.invoke(cli, ["--bank", str(other), "import", "faq-xlsx", str(first), "--name", "faq"])
    assert r.exit_code == 0, r.output
    assert runner.invoke(cli, ["--bank", str(other), "validate"]).exit_code == 0
    bank, _ = load_bank(other)
    assert any(p.flow for _, _, p in bank.phrases())  # numbered-steps answers come back as flows
    second = tmp_path / "second.xlsx"
    assert runner.invoke(cli, ["--bank", str(other), "export", "faq-xlsx", "-o", str(second), *layout]).exit_code == 0
    assert cells(second) == cells(first)


def test_similar_as_rows_layout(runner, tmp_path):
    out = tmp_path / "rows.xlsx"
    assert runner.invoke(cli, ["--bank", str(BANK), "export", "faq-xlsx", "-o", str(out),
                               "--similar-as-rows"]).exit_code == 0
    rows = [r for r in cells(out)[1:] if r[1] == "发货时间"]
    assert len(rows) > 1 and all("\n" not in (r[2] or "") for r in rows)
    assert rows[0][3] and not any(r[3] for r in rows[1:])


def long_bank(tmp_path, answer_len=10, question_len=5, similar=1):
    qs = "\n".join(f"      - 问题{i}{'长' * question_len}" for i in range(similar))
    book = (f"schema: 1\nname: big\nversion: 1.0.0\ntitle: 大\nphrases:\n"
            f"  - id: big.one\n    title: 标题\n    questions:\n{qs}\n    reply: 亲{'好' * answer_len}\n"
            f"  - id: big.two\n    title: 标题二\n    questions: [短问题]\n    reply: 亲，好的\n")
    root = empty_bank(tmp_path, "big")
    (root / "big.yaml").write_text(book, encoding="utf-8")
    return root


@pytest.mark.parametrize("profile, kw, message", [
    ("tencent-lke", {"answer_len": 4001}, "big.one: answer is 4002 characters, over the 4000"),
    ("tencent-lke", {"question_len": 1000}, "big.one: similar question"),
    ("huawei-cbs", {"similar": 201}, "big.one: 201 similar questions, over the 200"),
    ("huawei-cbs", {"question_len": 512}, "over the 512 this profile accepts"),
])
def test_profile_limits_refuse_naming_the_phrase(runner, tmp_path, profile, kw, message):
    root = long_bank(tmp_path, **kw)
    out = tmp_path / "o.xlsx"
    r = runner.invoke(cli, ["--bank", str(root), "export", "faq-xlsx", "-o", str(out), "--profile", profile])
    assert r.exit_code == 1 and message in r.output, r.output
    assert "big.two" not in r.output and not out.exists()
    assert runner.invoke(cli, ["--bank", str(root), "export", "faq-xlsx", "-o", str(out)]).exit_code == 0


def test_pair_count_limit(tmp_path):
    bank, _ = load_bank(long_bank(tmp_path))
    with pytest.raises(KbError, match="2 question/answer pairs, over the 1"):
        faq_rows(bank, ExportRequest(), Limits(max_items=1), [])


def test_import_accepts_header_spellings_and_continuation_rows():
    data = xlsx([["问题", "相似问题", "回答", "分类", "备注"],
                 ["发货时间", "什么时候发货", "亲，48小时内发出", "物流", "x"],
                 ["发货时间", "几天发", None, None, None],
                 ["包邮吗", None, "亲，满99包邮", "", None],
                 [None, None, None, None, None]])
    res = import_xlsx(data, "faq")
    book = res.books[0]
    assert [p.title for p in book.phrases] == ["发货时间", "包邮吗"]
    assert book.phrases[0].questions == ["什么时候发货", "几天发"]
    assert book.phrases[1].questions == ["包邮吗"] and book.phrases[1].group == "导入"
    joined = "\n".join(res.warnings)
    assert "column(s) 备注 ignored" in joined and "row 4: empty category" in joined


@pytest.mark.parametrize("rows, message", [
    ([["分类", "相似问法"], ["a", "b"]], "row 1: no 标准问题 or 答案 column"),
    ([list(HEADER), ["物流", "发货时间", "", ""]], "row 2: standard question '发货时间' has no answer"),
    ([list(HEADER), ["物流", "", "几天发", "亲，好的"]], "row 2: no standard question"),
    ([], "is empty"),
])
def test_import_refusals_name_the_row(rows, message):
    with pytest.raises(KbError, match=message):
        import_xlsx(xlsx(rows), "faq")


def test_import_refuses_a_csv_and_writes_nothing(runner, tmp_path):
    f = tmp_path / "faq.xlsx"
    f.write_bytes("快捷短语编码,快捷短语,快捷短语分组\r\n".encode())
    root = empty_bank(tmp_path)
    r = runner.invoke(cli, ["--bank", str(root), "import", "faq-xlsx", str(f), "--name", "faq"])
    assert r.exit_code == 1 and "not an .xlsx file" in r.output
    assert not (root / "faq.yaml").exists()


def test_import_escapes_braces_and_warns_on_formulas():
    res = import_xlsx(xlsx([list(HEADER), ["物流", "运费", "", "=1+1 {不是变量}"]]), "faq")
    assert res.books[0].phrases[0].reply == "=1+1 {{不是变量}}"
    assert any("formula" in w for w in res.warnings)
