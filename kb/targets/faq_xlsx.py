"""FAQ spreadsheets (XLSX) for FAQ knowledge bases: 分类, 标准问题, 相似问法, 答案.

group -> 分类, title -> 标准问题, questions -> 相似问法 (one per line in the cell, or one per row with
--similar-as-rows), rendered reply -> 答案; a flow is one answer with numbered steps
("1. 【道歉安抚】…"), read back as a flow. Profiles (kb/data/targets/faq-xlsx.yaml) carry each
platform's limits. A file kb wrote imports back to the same cells.
"""

from __future__ import annotations

import io
import re
from typing import Any

from ..errors import KbError
from . import base
from .export import collect, formula_problem, gate, refuse

FIELDS = ("category", "question", "similar", "answer")
# characters an XLSX cell cannot hold (XML 1.0): what openpyxl refuses with IllegalCharacterError
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _spec() -> dict[str, Any]:
    return base.load_profile_file("faq-xlsx")


def header() -> list[str]:
    cols = _spec()["columns"]
    return [cols[f][0] for f in FIELDS]


def answer_of(texts: list[tuple[str | None, str]]) -> str:
    """One answer cell: the reply, or a flow's steps numbered."""
    if len(texts) == 1 and texts[0][0] is None:
        return texts[0][1]
    fmt = _spec()["step_format"]
    return "\n".join(fmt.format(n=i, step=s, text=t) for i, (s, t) in enumerate(texts, 1))


def similar_of(title: str, questions: list[str]) -> list[str]:
    """The similar questions written for a phrase: its questions, none when its only one is the title."""
    return [] if list(questions) == [title] else list(questions)


def faq_rows(bank, req: base.ExportRequest, limits: base.Limits, notes: list[str]) -> list[tuple[str, list[str]]]:
    """(phrase id, cells) per FAQ row; refuses (naming every phrase) what the profile cannot hold."""
    problems: list[str] = []
    items = collect(bank, req.campaign, req.books, problems)
    as_rows = bool(req.options.get("similar_as_rows"))
    out = []
    for it in items:
        p = it.phrase
        similar = similar_of(p.title, p.questions)
        answer = answer_of(it.texts)
        cells = {"category": it.group, "question": p.title, "similar": "\n".join(similar), "answer": answer}
        if limits.max_chars and len(answer) > limits.max_chars:
            problems.append(f"{p.id}: answer is {len(answer)} characters, over the {limits.max_chars} this profile "
                            "accepts")
        if limits.max_question_chars:
            for label, q in [("standard question", p.title)] + [("similar question", q) for q in similar]:
                if len(q) > limits.max_question_chars:
                    problems.append(f"{p.id}: {label} {q[:20]!r}… is {len(q)} characters, over the "
                                    f"{limits.max_question_chars} this profile accepts")
        if limits.max_similar is not None and len(similar) > limits.max_similar:
            problems.append(f"{p.id}: {len(similar)} similar questions, over the {limits.max_similar} this profile "
                            "accepts")
        checked = [("分类", it.group), ("标准问题", p.title), ("答案", answer)]
        checked += [("相似问法", q) for q in similar]
        for column, value in checked:
            if msg := formula_problem(p.id, column, value, limits.formula_prefixes):
                problems.append(msg)
            if m := _ILLEGAL.search(value):
                problems.append(f"{p.id}: {column} holds control character U+{ord(m.group()):04X}, which an XLSX "
                                "cell cannot hold")
        if as_rows:
            for k, q in enumerate(similar or [""]):
                out.append((p.id, [cells["category"], cells["question"], q, answer if k == 0 else ""]))
        else:
            out.append((p.id, [cells[f] for f in FIELDS]))
    pairs = len(items)
    if limits.max_items is not None and pairs > limits.max_items:
        problems.append(f"{pairs} question/answer pairs, over the {limits.max_items} this profile accepts "
                        "(export fewer books with --books)")
    gate(bank, items, req.allow_lint_errors, problems, notes)
    refuse(problems)
    return out


def write_xlsx(rows: list[tuple[str, list[str]]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = _spec().get("sheet", "FAQ")
    ws.append(header())
    for cell in ws[1]:
        cell.font = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for _, cells in rows:
        ws.append(cells)
        for cell in ws[ws.max_row]:
            cell.data_type = "s"  # text, never a formula
            cell.alignment = wrap
    for col, width in zip("ABCD", (14, 24, 36, 60), strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- import --------------------------------------------------------------------------------


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def read_cells(data: bytes, sheet: str | None = None) -> tuple[list[str], list[tuple[int, list[Any]]], str]:
    """(header cells, (row number, values) per row, sheet name) of the FAQ sheet."""
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    if not data.startswith(b"PK"):
        raise KbError("not an .xlsx file (an XLSX is a zip archive; a CSV? use kb import qianniu)")
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (BadZipFile, KeyError, OSError, ValueError) as e:
        raise KbError(f"cannot read the workbook: {e}") from None
    if sheet is not None and sheet not in wb.sheetnames:
        raise KbError(f"no sheet named {sheet!r} (sheets: {', '.join(wb.sheetnames)})", 2)
    ws = wb[sheet] if sheet else wb.worksheets[0]
    rows = [(n, list(r)) for n, r in enumerate(ws.iter_rows(values_only=True), 1)]
    wb.close()
    if not rows:
        return [], [], ws.title
    return [_text(v).strip() for v in rows[0][1]], rows[1:], ws.title


def _columns(head: list[str]) -> tuple[dict[str, int], list[str]]:
    spec = _spec()["columns"]
    where: dict[str, int] = {}
    ignored = []
    for i, h in enumerate(head):
        field = next((f for f, names in spec.items() if h.casefold() in (n.casefold() for n in names)), None)
        if field and field not in where:
            where[field] = i
        elif h:
            ignored.append(h)
    missing = [spec[f][0] for f in ("question", "answer") if f not in where]
    if missing:
        raise KbError(f"row 1: no {' or '.join(missing)} column (header: {', '.join(h for h in head if h) or 'empty'}; "
                      f"expected {', '.join(header())})")
    return where, ignored


def _flow(answer: str) -> list[tuple[str, str]] | None:
    """A numbered-steps answer as kb writes a flow ("1. 【name】text\\n2. 【name】…"), else None."""
    step_re = re.compile(_spec()["step_re"], re.M)
    marks = list(step_re.finditer(answer))
    if not marks or marks[0].start() != 0:
        return None
    steps = []
    for k, m in enumerate(marks):
        if int(m.group(1)) != k + 1 or (k and answer[m.start() - 1] != "\n"):
            return None
        end = marks[k + 1].start() - 1 if k + 1 < len(marks) else len(answer)
        body = answer[m.end():end]
        if not body.strip():
            return None
        steps.append((m.group(2), body))
    return steps


def import_xlsx(data: bytes, name: str, source: str = "", sheet: str | None = None) -> base.Imported:

    from ..model import Book
    from .bookio import check_name, make_phrase

    check_name(name)
    head, rows, sheet_name = read_cells(data, sheet)
    if not head:
        raise KbError(f"sheet {sheet_name!r} is empty: expected the header {', '.join(header())}")
    where, ignored = _columns(head)
    warnings = [f"row 1: column(s) {', '.join(ignored)} ignored"] if ignored else []
    default_cat = _spec().get("default_category", "导入")
    faqs: list[dict[str, Any]] = []
    for n, values in rows:
        cell = {f: _text(values[i]) if i < len(values) else "" for f, i in where.items()}
        for f in FIELDS:
            cell.setdefault(f, "")
        if not any(v.strip() for v in cell.values()):
            continue
        for f, v in cell.items():
            if isinstance(v, str) and v.startswith("="):
                warnings.append(f"row {n}: {f} is a formula ({v[:30]!r}): kept as text; kb lint will flag it")
        last = faqs[-1] if faqs else None
        if last and cell["question"] in ("", last["question"]) and cell["category"] in ("", last["category"]) \
                and cell["answer"] in ("", last["answer"]):
            more = [q for q in cell["similar"].split("\n") if q.strip()]
            if not more:
                warnings.append(f"row {n}: repeats the FAQ of row {last['row']}: skipped")
            last["similar"].extend(more)
            continue
        if not cell["question"].strip():
            raise KbError(f"row {n}: no standard question ({header()[1]}) for this answer")
        if not cell["answer"].strip():
            raise KbError(f"row {n}: standard question {cell['question'][:30]!r} has no answer ({header()[3]})")
        if not cell["category"].strip():
            warnings.append(f"row {n}: empty category: put in '{default_cat}'")
            cell["category"] = default_cat
        faqs.append({"row": n, "category": cell["category"], "question": cell["question"],
                     "similar": [q for q in cell["similar"].split("\n") if q.strip()], "answer": cell["answer"]})
    phrases = []
    lines: dict[str, int] = {}
    texts = 0  # answer texts read: one per FAQ, one per step of a numbered-steps answer
    width = max(3, len(str(len(faqs))))
    for k, faq in enumerate(faqs, 1):
        pid = f"{name}.q{k:0{width}d}"
        esc = faq["answer"].replace("{", "{{").replace("}", "}}")
        steps = _flow(esc)
        texts += len(steps) if steps else 1
        title = faq["question"]
        phrases.append(make_phrase(f"row {faq['row']}", steps=steps, reply=esc, id=pid, title=title,
                                   group=faq["category"], questions=faq["similar"] or [title]))
        lines[pid] = faq["row"]
    book = Book(schema=1, name=name, version="1.0.0", title=faqs[0]["category"] if faqs else name,
                description=f"从FAQ表格导入（{source or 'XLSX'}，工作表 {sheet_name}）", phrases=phrases)
    head_comment = (f"# Imported by kb from {source or 'an FAQ spreadsheet'} (sheet {sheet_name}).\n"
                    "# 标准问题 -> title, 相似问法 -> questions, 答案 -> reply, 分类 -> group.\n")
    return base.Imported(books=[book], encoding="xlsx", rows=texts, warnings=warnings, header=head_comment,
                    lines=lines)


class FaqXlsxTarget(base.Target):
    name = "faq-xlsx"
    summary = "FAQ spreadsheet (XLSX): 分类, 标准问题, 相似问法, 答案"
    export_help = """Export an FAQ spreadsheet for FAQ knowledge bases (店小蜜, 企点/LKE, 华为CBS …).

    \b
    Columns 分类 (group), 标准问题 (title), 相似问法 (questions, one per line in the
    cell; --similar-as-rows: one per row), 答案 (rendered reply; a flow as numbered
    steps). --profile checks a platform's limits: generic, tencent-lke (question <= 1000,
    answer <= 4000 characters, <= 50,000 pairs), huawei-cbs (<= 200 similar questions,
    question <= 512). Refuses, naming every phrase, what the profile cannot hold,
    formula-leading cells and lint errors.
    Examples:
      kb export faq-xlsx -o faq.xlsx
      kb export faq-xlsx -o lke.xlsx --profile tencent-lke --campaign double11
      kb export faq-xlsx -o rows.xlsx --similar-as-rows
    """
    import_help = """Import an FAQ spreadsheet (分类, 标准问题, 相似问法, 答案) as a phrasebook.

    \b
    Similar questions may be one per line in the cell or one per row (rows with the
    same 标准问题 and no other answer continue the FAQ above). Header spellings such
    as 问题/相似问题/扩展问/回答 are accepted. Nothing is written on failure.
    Examples:
      kb import faq-xlsx faq.xlsx --name faq
      kb import faq-xlsx export.xlsx --sheet 问答 --name legacy_faq
    """
    export_options = (
        base.Option("--profile", "Platform limits to check.", "choice",
               tuple(base.load_profile_file("faq-xlsx")["profiles"]), base.load_profile_file("faq-xlsx")["default"]),
        base.Option("--similar-as-rows", "One similar question per row (分类 and 标准问题 repeated, 答案 on the "
               "first row) instead of one per line in the cell.", "flag", default=False),
    )
    import_options = (base.Option("--sheet", "Sheet to read (default: the first).", metavar="NAME"),)
    can_import = True
    binary = True

    def limits(self, options: dict[str, Any] | None = None) -> base.Limits:
        _, prof = base.pick_profile(self.name, (options or {}).get("profile"))
        return base.limits_from(prof)

    def declared_limits(self) -> dict[str, base.Limits]:
        return {n: base.limits_from(p) for n, p in _spec()["profiles"].items()}

    def describe_output(self, options: dict[str, Any]) -> str:
        return f"xlsx, profile {options.get('profile') or _spec()['default']}"

    def export(self, bank, req: base.ExportRequest) -> base.ExportResult:
        limits = self.limits(req.options)
        notes: list[str] = []
        rows = faq_rows(bank, req, limits, notes)
        pairs = len(dict.fromkeys(pid for pid, _ in rows))
        return base.ExportResult([base.OutFile(None, write_xlsx(rows), pairs)], notes, binary=True, unit="FAQ pairs")

    def read(self, data: bytes, req: base.ImportRequest) -> base.Imported:
        return import_xlsx(data, req.name, req.source, req.options.get("sheet"))


TARGET = FaqXlsxTarget()
