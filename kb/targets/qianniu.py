"""Qianniu (千牛) quick phrases: the profile (kb/data/targets/qianniu.yaml) and the row mapping.

Export: one row per phrase (code = shortcut), a flow as one row per step (code1, code2 … with
【step】 kept in the phrase). Import: the rows back into one phrasebook through the model; a file kb
exported comes back byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from ..errors import KbError
from . import csvio
from .base import (
    ExportRequest,
    ExportResult,
    Imported,
    ImportRequest,
    Limits,
    Option,
    OutFile,
    Target,
    limits_from,
    pick_profile,
)
from .export import collect, formula_problem, gate, refuse

detect_encoding = csvio.detect_encoding  # kept here: tests and scripts import it from this module


@dataclass(frozen=True)
class Profile:
    name: str
    header: tuple[str, str, str]  # code, phrase, group
    encoding: str
    max_chars: int
    code_re: str = r"^[a-z][a-z0-9]*$"
    line_terminator: str = "\r\n"
    step_format: str = "【{step}】{text}"
    step_re: str = r"^【([^】\n]+)】"
    header_variants: tuple[tuple[str, ...], ...] = ()
    encodings: tuple[str, ...] = ("gbk", "utf-8-sig")
    default_group: str = "导入"
    formula_prefixes: tuple[str, ...] = ("=", "+", "-", "@")

    @property
    def limits(self) -> Limits:
        return Limits(encoding=self.encoding, max_chars=self.max_chars, code_re=self.code_re,
                      formula_prefixes=self.formula_prefixes)


def load_profile(name: str | None = None) -> Profile:
    pname, data = pick_profile("qianniu", name)
    lim = limits_from(data)
    return Profile(name=pname, header=tuple(data["header"]), encoding=lim.encoding or "utf-8",
                   max_chars=lim.max_chars or 0, code_re=lim.code_re or r"^.+$",
                   line_terminator=data.get("line_terminator", "\r\n"),
                   step_format=data.get("step_format", "【{step}】{text}"),
                   step_re=data.get("step_re", r"^【([^】\n]+)】"),
                   header_variants=tuple(tuple(h) for h in data.get("header_variants", [])),
                   encodings=tuple(data.get("encodings", [lim.encoding])),
                   default_group=data.get("default_group", "导入"),
                   formula_prefixes=lim.formula_prefixes)


QIANNIU = load_profile()
PROFILES = {QIANNIU.name: QIANNIU}
ENCODINGS = QIANNIU.encodings


@dataclass
class Row:
    code: str
    text: str
    group: str
    phrase_id: str
    step: str | None = None
    step_no: int = 0


# --- export --------------------------------------------------------------------------------


def export_rows(bank, profile: Profile, campaign: str | None = None, books=None, *,
                allow_lint_errors: bool = False, notes: list[str] | None = None) -> list[Row]:
    problems: list[str] = []
    items = collect(bank, campaign, books, problems)
    rows = []
    for it in items:
        p = it.phrase
        if not p.shortcut:
            problems.append(f"{p.id}: no shortcut (the Qianniu code): add shortcut: to the phrase")
            continue
        for i, (step, out) in enumerate(it.texts, 1):
            if step is not None:
                rows.append(Row(f"{p.shortcut}{i}", profile.step_format.format(step=step, text=out), it.group,
                                p.id, step, i))
            else:
                rows.append(Row(p.shortcut, out, it.group, p.id))
    seen: dict[str, str] = {}
    code_re = re.compile(profile.code_re)
    for r in rows:
        if not code_re.fullmatch(r.code):
            problems.append(f"{r.phrase_id}: code {r.code!r} is not valid for {profile.name} ({profile.code_re})")
        if r.code in seen and seen[r.code] != r.phrase_id:
            problems.append(f"{r.phrase_id}: code '{r.code}' is also the code of {seen[r.code]}")
        seen.setdefault(r.code, r.phrase_id)
        if len(r.text) > profile.max_chars:
            where = f"step {r.step_no} 「{r.step}」 " if r.step is not None else "reply "
            problems.append(f"{r.phrase_id}: {where}is {len(r.text)} characters (code {r.code}), over the "
                            f"limit of {profile.max_chars} (--max-chars)")
        for column, value in (("phrase", r.text), ("group", r.group)):
            if msg := formula_problem(r.phrase_id, column, value, profile.formula_prefixes):
                problems.append(msg)
    gate(bank, items, allow_lint_errors, problems, notes if notes is not None else [])
    refuse(problems)
    return rows


def encode_rows(rows: list[Row], profile: Profile, replace_unencodable: bool = False) -> tuple[bytes, list[str]]:
    """The file's bytes, and a note for every character replaced (with replace_unencodable)."""
    return csvio.encode_rows(profile.header, [(f"{r.phrase_id} ({r.code})", [r.code, r.text, r.group]) for r in rows],
                             profile.encoding, profile.line_terminator, replace_unencodable)


def export_bank(bank, *, encoding: str = "gbk", campaign: str | None = None, books=None,
                replace_unencodable: bool = False, max_chars: int | None = None,
                profile: Profile = QIANNIU, allow_lint_errors: bool = False) -> tuple[bytes, list[str], int]:
    prof = replace(profile, encoding=encoding, max_chars=max_chars or profile.max_chars)
    notes: list[str] = []
    rows = export_rows(bank, prof, campaign, books, allow_lint_errors=allow_lint_errors, notes=notes)
    data, enc_notes = encode_rows(rows, prof, replace_unencodable)
    return data, notes + enc_notes, len(rows)


# --- import --------------------------------------------------------------------------------


def _slug(code: str) -> str:
    s = re.sub(r"[^a-z0-9_]", "_", code.lower()).strip("_")
    return s or "phrase"


def _title_of(text: str) -> str:
    first = re.split(r"[，。！？,.!?\n～~]", text.strip(), maxsplit=1)[0].strip()
    first = re.sub(r"^(亲爱的|亲亲|亲)", "", first).strip() or text.strip()
    return first[:20] or "未命名"


def parse_rows(text: str, profile: Profile) -> tuple[list[tuple[int, str, str, str]], list[str]]:
    """(line, code, phrase, group) rows and warnings. Raises KbError for what cannot be repaired."""
    warnings = []
    records = csvio.read_records(text)
    if not records:
        raise KbError("the file is empty: expected the header " + ",".join(profile.header))
    line, header = records[0]
    got = tuple(h.strip() for h in header)
    if got != profile.header:
        if got not in profile.header_variants:
            raise KbError(f"line {line}: wrong header {','.join(header)!r}: a Qianniu quick-phrase file starts with "
                          f"{','.join(profile.header)}")
        warnings.append(f"line {line}: header {','.join(got)} (a 飞牛-style variant) read as "
                        f"{','.join(profile.header)}")
    rows = []
    for start, rec in records[1:]:
        if not any(x.strip() for x in rec):
            warnings.append(f"line {start}: empty row skipped")
            continue
        if len(rec) > 3:
            if any(x.strip() for x in rec[3:]):
                raise KbError(f"line {start}: {len(rec)} fields, expected 3 (code, phrase, group): "
                              "quote fields that contain commas")
            warnings.append(f"line {start}: {len(rec) - 3} empty extra field(s) dropped")
            rec = rec[:3]
        if len(rec) == 2:
            warnings.append(f"line {start}: no group: put in group '{profile.default_group}'")
            rec = [*rec, profile.default_group]
        if len(rec) < 2:
            raise KbError(f"line {start}: only {len(rec)} field, expected 3 (code, phrase, group)")
        code, phrase, group = rec
        if not phrase.strip():
            warnings.append(f"line {start}: code {code!r} has an empty phrase: skipped")
            continue
        if phrase.lstrip()[:1] in profile.formula_prefixes:
            warnings.append(f"line {start}: phrase starts with {phrase.lstrip()[0]!r} (formula-like): kept as "
                            "text; kb lint will flag it")
        if not group.strip():
            warnings.append(f"line {start}: empty group: put in group '{profile.default_group}'")
            group = profile.default_group
        rows.append((start, code, phrase, group))
    return rows, warnings


def _items(rows: list[tuple[int, str, str, str]], profile: Profile) -> list[dict[str, Any]]:
    """Consecutive flow steps (code1, code2 … whose phrases start with 【step】) become one flow."""
    step_re = re.compile(profile.step_re)

    def step_of(phrase: str):
        m = step_re.match(phrase)
        return m if m and phrase[m.end():].strip() else None

    items: list[dict[str, Any]] = []
    i = 0
    while i < len(rows):
        line, code, phrase, group = rows[i]
        m = re.fullmatch(r"(.*?)(\d+)", code)
        if m and m.group(2) == "1" and step_of(phrase):
            base, steps, j = m.group(1), [], i
            while j < len(rows) and rows[j][1] == f"{base}{len(steps) + 1}" and step_of(rows[j][2]) \
                    and rows[j][3] == group:
                sm = step_of(rows[j][2])
                steps.append((sm.group(1), rows[j][2][sm.end():]))
                j += 1
            items.append({"line": line, "code": base, "group": group, "flow": steps})
            i = j
            continue
        items.append({"line": line, "code": code, "group": group, "reply": phrase})
        i += 1
    return items


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def import_file(data: bytes, name: str, profile: Profile = QIANNIU, source: str = "") -> Imported:
    """Read a Qianniu CSV into one Book (kb.model). Raises KbError naming the line of what is wrong."""

    from ..model import ID_RE, Book
    from .bookio import check_name, make_phrase

    check_name(name)
    text, enc = csvio.detect_encoding(data)
    rows, warnings = parse_rows(text, profile)
    code_ok = re.compile(profile.code_re)
    items = _items(rows, profile)
    phrases = []
    lines: dict[str, int] = {}
    used_codes: set[str] = set()
    ids: set[str] = set()
    for n, it in enumerate(items, 1):
        code = it["code"].strip()
        if not code_ok.fullmatch(code):
            fixed = re.sub(r"[^a-z0-9]", "", code.lower())
            if not fixed or not fixed[0].isalpha():
                fixed = f"q{fixed or n}"
            warnings.append(f"line {it['line']}: code {code!r} is not a valid code: using {fixed!r}")
            code = fixed
        if code in used_codes:
            k = 2
            while f"{code}x{k}" in used_codes:
                k += 1
            warnings.append(f"line {it['line']}: code {code!r} is used twice: this one becomes {code}x{k}")
            code = f"{code}x{k}"
        used_codes.add(code)
        pid = f"{name}.{_slug(code)}"
        while pid in ids or not ID_RE.fullmatch(pid):
            pid += "_"
        ids.add(pid)
        sample = it.get("reply") or (it["flow"][0][1] if it["flow"] else "")
        title = _title_of(sample)
        questions = [title]  # the group is the phrase's group: as a question it would be shared by many
        steps = None if "reply" in it else [(st, _escape(b)) for st, b in it["flow"]]
        phrases.append(make_phrase(f"line {it['line']}", steps=steps, reply=_escape(it.get("reply", "")), id=pid,
                                   title=title, group=it["group"], shortcut=code, questions=questions,
                                   tags=["待完善问题"]))
        lines[pid] = it["line"]
    book = Book(schema=1, name=name, version="1.0.0", title=items[0]["group"] if items else name,
                description=f"从千牛快捷短语导入（{source or 'CSV'}，{enc}）", phrases=phrases)
    head = (f"# Imported by kb from {source or 'a Qianniu export'} ({enc}) on {date.today().isoformat()}.\n"
            "# questions are seeded from each phrase's title (tag 待完善问题):\n"
            "# add the ways buyers really ask before relying on search.\n")
    return Imported(books=[book], encoding=enc, rows=len(rows),
                    warnings=warnings, header=head, lines=lines)


# --- the target ------------------------------------------------------------------------------


class QianniuTarget(Target):
    name = "qianniu"
    summary = "Qianniu (千牛) quick-phrase CSV: 快捷短语编码,快捷短语,快捷短语分组"
    export_help = """Export quick phrases for import into Qianniu (千牛): CSV 快捷短语编码,快捷短语,快捷短语分组.

    \b
    Variables are rendered; a flow becomes one row per step (codes shkc1, shkc2 ...).
    Refuses (naming every phrase) on emoji in GBK, missing/duplicate/invalid codes,
    over-long phrases, unresolved {variables}, formula-leading cells and lint errors.
    GBK bytes are never printed to a terminal: use -o FILE or redirect.
    Examples:
      kb export qianniu -o quick-phrases.csv --campaign double11
      kb export qianniu --books shipping,aftersales --encoding utf-8-sig > out.csv
    """
    import_help = """Import a Qianniu quick-phrase CSV (GBK or UTF-8, with or without BOM) as a phrasebook.

    \b
    Ids come from the codes; questions are seeded from the titles (tagged 待完善问题).
    Every repaired row is reported; nothing is written on failure (unterminated quotes,
    codes the bank already uses, an empty file ...). A file too large for one book is
    split into NAME, NAME_2 ... The 飞牛 header 快捷编码,快捷短语,快捷短语分组 is accepted.
    Examples:
      kb import qianniu 快捷短语.csv --name legacy
      kb import qianniu export.csv --name legacy --prefix lg
      kb import qianniu export.csv -o phrasebank/legacy.yaml --name legacy --force
    """
    export_options = (
        Option("--encoding", "File encoding.", "choice", QIANNIU.encodings, QIANNIU.encodings[0]),
        Option("--replace-unencodable", "Drop characters the encoding cannot hold (each one is named) instead "
               "of refusing.", "flag", default=False),
        Option("--max-chars", f"Longest phrase allowed (default: the profile's {QIANNIU.max_chars}).", "int"),
    )
    can_import = True
    binary = True

    def describe_output(self, options: dict[str, Any]) -> str:
        return options.get("encoding") or QIANNIU.encodings[0]

    def limits(self, options: dict[str, Any] | None = None) -> Limits:
        options = options or {}
        lim = QIANNIU.limits
        return replace(lim, encoding=options.get("encoding") or lim.encoding,
                       max_chars=options.get("max_chars") or lim.max_chars)

    def export(self, bank, req: ExportRequest) -> ExportResult:
        o = req.options
        enc = o.get("encoding") or QIANNIU.encodings[0]
        data, notes, n = export_bank(bank, encoding=enc, campaign=req.campaign, books=req.books,
                                     replace_unencodable=bool(o.get("replace_unencodable")),
                                     max_chars=o.get("max_chars"), allow_lint_errors=req.allow_lint_errors)
        return ExportResult([OutFile(None, data, n)], notes, binary=not enc.lower().startswith("utf-8"), unit="quick phrases")

    def read(self, data: bytes, req: ImportRequest) -> Imported:
        return import_file(data, req.name, source=req.source)


TARGET = QianniuTarget()
