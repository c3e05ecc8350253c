"""Qianniu (千牛) quick-phrase files: export a bank to them, import one into a phrasebook.

The file format lives in one Profile, so a corrected or additional profile (UTF-8 with BOM,
another platform's columns or limits) is a small change.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date

from ..errors import KbError
from ..model import Bank
from ..template import TemplateError, bank_variables, render


@dataclass(frozen=True)
class Profile:
    name: str
    header: tuple[str, str, str]  # code, phrase, group
    encoding: str
    max_chars: int
    code_re: str = r"^[a-z][a-z0-9]*$"
    line_terminator: str = "\r\n"  # RFC 4180
    step_format: str = "【{step}】{text}"  # how a flow step keeps its name in the phrase
    step_re: str = r"^【([^】\n]+)】"


QIANNIU = Profile(name="qianniu", header=("快捷短语编码", "快捷短语", "快捷短语分组"), encoding="gbk", max_chars=500)
PROFILES = {"qianniu": QIANNIU}
ENCODINGS = ("gbk", "utf-8-sig")


@dataclass
class Row:
    code: str
    text: str
    group: str
    phrase_id: str


# --- export --------------------------------------------------------------------------------


def export_rows(bank: Bank, profile: Profile, campaign: str | None = None,
                books: Iterable[str] | None = None) -> list[Row]:
    values = bank_variables(bank, campaign)
    wanted = set(books) if books else None
    if wanted:
        unknown = wanted - {bf.book.name for bf in bank.books}
        if unknown:
            raise KbError(f"no book named {', '.join(sorted(unknown))} "
                          f"(books: {', '.join(bf.book.name for bf in bank.books)})", 2)
    rows = []
    problems = []
    for bf, _, p in bank.phrases():
        if wanted and bf.book.name not in wanted:
            continue
        group = p.group_of(bf.book)
        if not p.shortcut:
            problems.append(f"{p.id}: no shortcut (the Qianniu code): add shortcut: to the phrase")
            continue
        parts = [(st.name, st.text) for st in p.steps()]
        for i, (step, text) in enumerate(parts, 1):
            try:
                out = render(text, values)
            except TemplateError as e:
                problems.append(f"{p.id}: {e} (unresolved variable)")
                continue
            if step is not None:
                rows.append(Row(f"{p.shortcut}{i}", profile.step_format.format(step=step, text=out), group, p.id))
            else:
                rows.append(Row(p.shortcut, out, group, p.id))
    seen: dict[str, str] = {}
    for r in rows:
        if not re.match(profile.code_re, r.code):
            problems.append(f"{r.phrase_id}: code '{r.code}' is not valid for {profile.name} ({profile.code_re})")
        if r.code in seen and seen[r.code] != r.phrase_id:
            problems.append(f"{r.phrase_id}: code '{r.code}' is also the code of {seen[r.code]}")
        seen.setdefault(r.code, r.phrase_id)
        if len(r.text) > profile.max_chars:
            problems.append(f"{r.phrase_id}: code {r.code} is {len(r.text)} characters, over the limit of "
                            f"{profile.max_chars} (--max-chars)")
    if problems:
        raise KbError("export refused:\n  " + "\n  ".join(problems))
    return rows


def encode_rows(rows: list[Row], profile: Profile, replace_unencodable: bool = False) -> tuple[bytes, list[str]]:
    """The file's bytes, and a note for every character replaced (with replace_unencodable)."""
    notes, problems = [], []
    clean = []
    for r in rows:
        fields = []
        for value in (r.code, r.text, r.group):
            bad = [ch for ch in dict.fromkeys(value) if not _encodable(ch, profile.encoding)]
            if bad and replace_unencodable:
                for ch in bad:
                    notes.append(f"{r.phrase_id} ({r.code}): removed {ch!r} (U+{ord(ch):04X}), "
                                 f"not encodable in {profile.encoding}")
                    value = value.replace(ch, "")
            elif bad:
                chars = " ".join(f"{ch!r} U+{ord(ch):04X}" for ch in bad)
                problems.append(f"{r.phrase_id} ({r.code}): {chars} cannot be encoded in {profile.encoding}")
            fields.append(value)
        clean.append(fields)
    if problems:
        raise KbError("export refused:\n  " + "\n  ".join(problems)
                      + "\n(use --encoding utf-8-sig, or --replace-unencodable to drop those characters)")
    buf = io.StringIO(newline="")
    w = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator=profile.line_terminator)
    w.writerow(profile.header)
    w.writerows(clean)
    return buf.getvalue().encode(profile.encoding), notes


def _encodable(ch: str, encoding: str) -> bool:
    try:
        ch.encode(encoding)
        return True
    except UnicodeEncodeError:
        return False


def export_bank(bank: Bank, *, encoding: str = "gbk", campaign: str | None = None, books=None,
                replace_unencodable: bool = False, max_chars: int | None = None,
                profile: Profile = QIANNIU) -> tuple[bytes, list[str], int]:
    prof = replace(profile, encoding=encoding, max_chars=max_chars or profile.max_chars)
    rows = export_rows(bank, prof, campaign, books)
    data, notes = encode_rows(rows, prof, replace_unencodable)
    return data, notes, len(rows)


# --- import --------------------------------------------------------------------------------


@dataclass
class Imported:
    yaml_text: str
    encoding: str
    warnings: list[str] = field(default_factory=list)
    phrases: int = 0


def detect_encoding(data: bytes) -> tuple[str, str]:
    """(text, encoding name). Raises KbError naming the row of the first undecodable byte."""
    if b"\x00" in data:
        row = data[: data.index(b"\x00")].count(b"\n") + 1
        raise KbError(f"line {row}: the file contains NUL bytes: not a text CSV (an .xlsx? save it as CSV)")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8 with BOM"
        except UnicodeDecodeError as e:
            row = data[: e.start + 3].count(b"\n") + 1
            raise KbError(f"line {row}: invalid UTF-8 after a UTF-8 BOM") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    utf8_lines = [i for i, ln in enumerate(data.split(b"\n"), 1) if not ln.isascii() and _is_utf8(ln)]
    if utf8_lines:
        raise KbError(f"mixed encodings: line(s) {', '.join(map(str, utf8_lines[:10]))} are UTF-8 but others "
                      "are not; re-save the whole file in one encoding")
    try:
        return data.decode("gbk"), "gbk"
    except UnicodeDecodeError as e:
        row = data[: e.start].count(b"\n") + 1
        raise KbError(f"line {row}: byte 0x{data[e.start]:02x} is neither UTF-8 nor GBK") from None


def _is_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


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
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        records = [(reader.line_num, rec) for rec in reader]
    except csv.Error as e:
        raise KbError(f"line {reader.line_num}: malformed CSV: {e}") from None
    if not records:
        raise KbError("the file is empty: expected the header " + ",".join(profile.header))
    line, header = records[0]
    if tuple(h.strip() for h in header) != profile.header:
        raise KbError(f"line {line}: wrong header {','.join(header)!r}: a Qianniu quick-phrase file starts with "
                      f"{','.join(profile.header)}")
    rows = []
    prev_line = line
    for line, rec in records[1:]:
        start = prev_line + 1
        prev_line = line
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
            warnings.append(f"line {start}: no group: put in group '导入'")
            rec = [*rec, "导入"]
        if len(rec) < 2:
            raise KbError(f"line {start}: only {len(rec)} field, expected 3 (code, phrase, group)")
        code, phrase, group = rec
        if not phrase.strip():
            warnings.append(f"line {start}: code {code!r} has an empty phrase: skipped")
            continue
        if phrase.lstrip()[:1] in ("=", "+", "-", "@"):
            warnings.append(f"line {start}: phrase starts with {phrase.lstrip()[0]!r} (formula-like): kept as "
                            "text; kb lint will flag it")
        if not group.strip():
            warnings.append(f"line {start}: empty group: put in group '导入'")
            group = "导入"
        rows.append((start, code, phrase, group))
    return rows, warnings


def import_file(data: bytes, name: str, profile: Profile = QIANNIU, source: str = "") -> Imported:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import LiteralScalarString

    from ..bank.yamlio import rt_dump
    from ..model import ID_RE

    if not re.match(r"^[a-z0-9_]+$", name):
        raise KbError(f"--name {name!r}: a book name is lower-case letters, digits and _", 2)
    text, enc = detect_encoding(data)
    rows, warnings = parse_rows(text, profile)
    code_ok = re.compile(profile.code_re)
    step_re = re.compile(profile.step_re)

    # group consecutive flow steps: code1, code2 ... whose phrases start with 【step】
    items: list[dict] = []
    used_codes: set[str] = set()
    i = 0
    while i < len(rows):
        line, code, phrase, group = rows[i]
        m = re.match(r"^(.*?)(\d+)$", code)
        if m and m.group(2) == "1" and step_re.match(phrase):
            base, steps, j = m.group(1), [], i
            while j < len(rows) and rows[j][1] == f"{base}{len(steps) + 1}" and step_re.match(rows[j][2]) \
                    and rows[j][3] == group:
                sm = step_re.match(rows[j][2])
                steps.append((sm.group(1), rows[j][2][sm.end():]))
                j += 1
            items.append({"line": line, "code": base, "group": group, "flow": steps})
            i = j
            continue
        items.append({"line": line, "code": code, "group": group, "reply": phrase})
        i += 1

    phrases = CommentedSeq()
    ids: set[str] = set()
    for n, it in enumerate(items, 1):
        code = it["code"].strip()
        if not code_ok.match(code):
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
        while pid in ids or not ID_RE.match(pid):
            pid += "_"
        ids.add(pid)
        sample = it.get("reply") or (it["flow"][0][1] if it["flow"] else "")
        title = _title_of(sample)
        p = CommentedMap()
        p["id"] = pid
        p["title"] = title
        p["group"] = it["group"]
        p["shortcut"] = code
        qs = list(dict.fromkeys(q for q in (title, it["group"]) if q.strip()))
        p["questions"] = CommentedSeq(qs)
        if "reply" in it:
            p["reply"] = _scalar(_escape(it["reply"]), LiteralScalarString)
        else:
            flow = CommentedSeq()
            for step, body in it["flow"]:
                s = CommentedMap()
                s["step"] = step
                s["reply"] = _scalar(_escape(body), LiteralScalarString)
                flow.append(s)
            p["flow"] = flow
        p["tags"] = CommentedSeq(["待完善问题"])
        phrases.append(p)
    book = CommentedMap()
    book["schema"] = 1
    book["name"] = name
    book["version"] = "1.0.0"
    book["title"] = items[0]["group"] if items else name
    book["description"] = f"从千牛快捷短语导入（{source or 'CSV'}，{enc}）"
    book["phrases"] = phrases
    head = (f"# Imported by kb from {source or 'a Qianniu export'} ({enc}) on {date.today().isoformat()}.\n"
            "# questions are seeded from each phrase's title and group (tag 待完善问题):\n"
            "# add the ways buyers really ask before relying on search.\n")
    return Imported(yaml_text=head + rt_dump(book), encoding=enc, warnings=warnings, phrases=len(items))


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _scalar(text: str, literal):
    if "\n" in text and not any(ln != ln.rstrip() for ln in text.split("\n")) and not text.startswith((" ", "\n")):
        return literal(text)
    return text
