"""Lint of what buyers actually receive: replies rendered with the bank's variables, in normal time
and in every campaign, keeping only the findings that a variable's value brings in.

A risky value in ``bank.yaml`` (``ship_window: 保证明天``) never appears in a reply's own text, so
linting phrase texts cannot see it; rendering each reply that uses it and linting the result can.
Each value is also read with the rest of its clause only: a hedge the reply writes before it
(``预计{ship_window}内发货``) does not take back a promise the value itself makes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..model import Bank, BookFile, Phrase
from ..template import TemplateError, bank_variables, render, template_vars

NORMAL = "normal time"  # how the context without a campaign is named in reports


@dataclass
class RenderedFinding:
    """A lint finding in a rendered reply that overlaps a variable's value."""

    phrase_id: str
    book: str
    field: str
    rule: str
    severity: str
    message: str
    excerpt: str
    variables: list[str]
    contexts: list[str]  # NORMAL and/or campaign names where it is found (new ones only when new)
    values: dict[str, str] = field(default_factory=dict)
    path: str | None = None
    line: int | None = None
    new: bool = True

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def render_spans(text: str, variables: dict[str, str]) -> tuple[str, list[tuple[int, int, str]]]:
    """text rendered with variables, and the (start, end, name) span of every substituted value.

    A variable without a value stays as {name}; malformed braces leave the text as it is.
    """
    try:
        used = template_vars(text)
    except TemplateError:
        return text, []
    out: list[str] = []
    spans: list[tuple[int, int, str]] = []
    pos = length = 0
    for name, off in used:
        chunk = render(text[pos:off], {}, keep_missing=True)
        out.append(chunk)
        length += len(chunk)
        value = variables.get(name)
        piece = str(value) if value is not None else "{" + name + "}"
        if value is not None:
            spans.append((length, length + len(piece), name))
        out.append(piece)
        length += len(piece)
        pos = off + len(name) + 2
    out.append(render(text[pos:], {}, keep_missing=True))
    return "".join(out), spans


def contexts(bank: Bank) -> dict[str, dict[str, str]]:
    """{context name: variables} for normal time and every campaign."""
    out = {NORMAL: bank_variables(bank, None)}
    for name in bank.manifest.campaigns:
        out[name] = bank_variables(bank, name)
    return out


def changed_variables(old: Bank, new: Bank) -> set[str]:
    """Names whose value, in any context of the new bank, differs from the old bank's."""
    a, b = contexts(old), contexts(new)
    out: set[str] = set()
    for ctx, values in b.items():
        before = a.get(ctx, {})
        out |= {k for k in set(values) | set(before) if values.get(k) != before.get(k)}
    return out


def _uses(p: Phrase) -> set[str]:
    names: set[str] = set()
    for st in p.steps():
        try:
            names |= {n for n, _ in template_vars(st.text)}
        except TemplateError:
            pass
    return names


def _line_of(bf: BookFile, index: int, key: tuple, text: str, offset: int, lines: list[str]) -> int:
    """The file line of character offset of a reply text (block scalars start on the next line)."""
    line, col = bf.phrase_loc(index, *key)
    rest = lines[line - 1][col - 1:].lstrip() if 0 < line <= len(lines) else ""
    return line + (1 if rest[:1] in ("|", ">") else 0) + text.count("\n", 0, offset)


_CLAUSE_END = re.compile(r"[，,。！!？?；;\n]")
NEUTRAL = "3天"  # a plain value: a time, with no certainty, no contact, no claim


def _findings(text: str, spans: list[tuple[int, int, str]], ruleset) -> list[tuple[object, list[int]]]:
    """(finding, indexes of the spans it overlaps) for every finding a variable's value is part of.

    Two readings: the whole rendered reply; and each value followed by the rest of its clause, so the
    reply's own words before a value (预计, 尽量) cannot take back a promise the value itself makes.
    The second counts only what the value brings: a rule that also fires with a plain value in its
    place (没法保证{v}内一定发货) is the reply's own wording, judged by the first reading."""
    from ..lint import lint_text

    out, seen = [], set()

    def keep(f, base: int) -> None:
        start, end = f.start + base, f.end + base
        hit = [k for k, (s, e, _) in enumerate(spans) if start < e and end > s]
        if hit and (f.rule, start) not in seen:
            seen.add((f.rule, start))
            out.append((f, hit))

    for f in lint_text(text, ruleset):
        keep(f, 0)
    for s, e, _ in spans:
        m = _CLAUSE_END.search(text, e)
        stop = m.start() if m else len(text)
        if e == s:
            continue
        plain = {f.rule for f in lint_text(NEUTRAL + text[e:stop], ruleset, fragment=True)}
        for f in lint_text(text[s:stop], ruleset, fragment=True):
            if f.rule not in plain:
                keep(f, s)
    return out


def _scan(bank: Bank, ruleset, ids: set[str], rename: dict[str, str]) -> dict[tuple, dict]:
    """{(id, field, rule, excerpt, context): details} for variable-induced findings of the phrases in ids."""
    ctxs = contexts(bank)
    out: dict[tuple, dict] = {}
    files: dict[Path, list[str]] = {}
    for bf, i, p in bank.phrases():
        pid = rename.get(p.id, p.id)
        if pid not in ids:
            continue
        for st in p.steps():
            for ctx, values in ctxs.items():
                text, spans = render_spans(st.text, values)
                if not spans:
                    continue
                raw = [off for name, off in template_vars(st.text) if name in values]
                for f, hit in _findings(text, spans, ruleset):
                    key = (pid, st.field, f.rule, f.excerpt, ctx)
                    if key in out:
                        continue
                    if bf.path not in files:
                        try:
                            files[bf.path] = Path(bf.path).read_text(encoding="utf-8").splitlines()
                        except (OSError, UnicodeDecodeError):
                            files[bf.path] = []
                    names = sorted({spans[k][2] for k in hit})
                    out[key] = {"book": bf.book.name, "severity": f.severity, "message": f.message,
                                "variables": names, "path": bf.display,
                                "line": _line_of(bf, i, st.key, st.text, raw[hit[0]], files[bf.path]),
                                "values": {n: values[n] for n in names}}
    return out


def variable_findings(old: Bank, new: Bank, ruleset, changed_ids: set[str],
                      rename: dict[str, str] | None = None) -> list[RenderedFinding]:
    """Findings that variables bring into the rendered replies of the new bank: for every phrase that
    changed or uses a variable whose value changed, in every context; new = not so in the old bank."""
    rename = rename or {}
    touched = changed_variables(old, new)
    ids = set(changed_ids) | {p.id for _, _, p in new.phrases() if _uses(p) & touched}
    head = _scan(new, ruleset, ids, {})
    base = _scan(old, ruleset, ids, rename)
    grouped: dict[tuple, RenderedFinding] = {}
    for key, d in head.items():
        *k, ctx = key
        gk = tuple(k)
        is_new = key not in base
        rf = grouped.get(gk)
        if rf is None:
            rf = grouped[gk] = RenderedFinding(k[0], d["book"], k[1], k[2], d["severity"], d["message"], k[3],
                                               d["variables"], [], d["values"], d["path"], d["line"], False)
        if is_new and not rf.new:  # report the contexts where it is new, not those where it was already
            rf.new, rf.contexts, rf.values = True, [], d["values"]
        if is_new or not rf.new:
            rf.contexts.append(ctx)
    return list(grouped.values())
