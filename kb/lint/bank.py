"""Linting a bank: everything a buyer can receive.

* every reply text (a reply or each flow step), rendered with the base variables and with every
  campaign's variables (a finding only a campaign produces names the campaign); a finding is placed
  on the reply's own characters, and names the variable whose value it runs through;
* every variable in bank.yaml (base and campaign), with bank.yaml:line:col;
* titles, groups and book titles (the default group): formula-leading text, control/bidi characters;
* undefined variables and the phrase's lint suppressions (reason required, unused ones reported).
"""

from __future__ import annotations

from pathlib import Path

from ..model import Bank, BookFile, Phrase
from ..template import template_vars
from . import hygiene as hy
from .engine import Finding, RuleSet, lint_text
from .hygiene import GROUP, TITLE, VAR, check_text


def _text_position(bf: BookFile, lines: list[str], index: int, keys: tuple, text: str, offset: int) -> tuple[int, int]:
    """File line/column of character `offset` of a phrase's text value."""
    line, col = bf.phrase_loc(index, *keys)
    return _position(lines, line, col, text, offset)


def _position(lines: list[str], line: int, col: int, text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    row = before.count("\n")
    col_in = len(before) - (before.rfind("\n") + 1)
    first = lines[line - 1] if 0 < line <= len(lines) else ""
    rest = first[col - 1:].lstrip()
    if rest[:1] in ("|", ">"):  # block scalar: content starts on the next line, indented
        target = line + 1 + row
        if target - 1 < len(lines):
            raw = lines[target - 1]
            return target, len(raw) - len(raw.lstrip(" ")) + col_in + 1
        return line, col
    quote = 1 if rest[:1] in ("'", '"') else 0
    if row == 0:
        return line, col + quote + col_in
    return line + row, col_in + 1


def render_map(text: str, values: dict[str, str]) -> tuple[str, list[int], list[str | None]]:
    """(rendered text, raw offset of each rendered character, the variable each character came from).

    Unknown variables stay as {name}; {{ and }} become one brace."""
    out: list[str] = []
    src: list[int] = []
    var_of: list[str | None] = []

    def literal(lo: int, hi: int) -> None:
        i = lo
        while i < hi:
            if text[i] in "{}" and text[i:i + 2] in ("{{", "}}"):
                out.append(text[i])
                src.append(i)
                var_of.append(None)
                i += 2
            else:
                out.append(text[i])
                src.append(i)
                var_of.append(None)
                i += 1

    pos = 0
    for name, off in template_vars(text):
        literal(pos, off)
        end = off + len(name) + 2
        value = values.get(name)
        if value is None:
            literal_chars = text[off:end]
            out.extend(literal_chars)
            src.extend(range(off, end))
            var_of.extend([None] * len(literal_chars))
        else:
            out.extend(value)
            src.extend([off] * len(value))
            var_of.extend([name] * len(value))
        pos = end
    literal(pos, len(text))
    return "".join(out), src, var_of


def _variants(bank: Bank) -> list[tuple[str | None, dict[str, str]]]:
    from ..template import bank_variables

    return [(None, bank_variables(bank))] + [(c, bank_variables(bank, c)) for c in bank.manifest.campaigns]


_VAR_CHECKED = {"hygiene.control_char"}  # also run on each variable in bank.yaml


def lint_reply(text: str, ruleset: RuleSet, variants: list[tuple[str | None, dict[str, str]]],
               ) -> list[tuple[Finding, int, int]]:
    """Findings of one reply text as rendered for each variant (campaign, variables), deduplicated:
    (finding with campaign set when only that campaign produces it, raw start, raw end)."""
    from ..template import TemplateError

    out: list[tuple[Finding, int, int]] = []
    seen: set[tuple] = set()
    content = {r.id for r in ruleset.rules} | _VAR_CHECKED
    done: set[str] = set()
    for campaign, values in variants:
        try:
            rendered, src, var_of = render_map(text, values)
        except TemplateError:
            rendered, src, var_of = text, list(range(len(text))), [None] * len(text)
        if rendered in done:
            continue  # this campaign changes nothing in this reply
        done.add(rendered)
        for f in lint_text(rendered, ruleset):
            span = range(f.start, max(f.end, f.start + 1))
            names = sorted({v for i in span if i < len(var_of) and (v := var_of[i]) is not None})
            inside_one_var = bool(names) and all(var_of[i] is not None for i in span if i < len(var_of))
            if inside_one_var and len(names) == 1 and f.rule in content:
                continue  # the variable itself is linted (and reported) in bank.yaml
            raw_s = src[f.start] if f.start < len(src) else 0
            raw_e = src[f.end - 1] + 1 if 0 < f.end <= len(src) else raw_s + 1
            key = (f.rule, raw_s, tuple((n, values[n]) for n in names))
            if key in seen or (f.rule, raw_s, ()) in seen:
                continue  # the same finding with the base variables (or without any)
            seen.add(key)
            if names:
                f.message += " (" + ", ".join(f"{{{n}}} = {values[n]!r}" for n in names) + ")"
            f.campaign = campaign
            out.append((f, raw_s, raw_e))
    return out


def lint_phrase(bank: Bank, bf: BookFile, index: int, p: Phrase, ruleset: RuleSet, lines: list[str],
                variants: list[tuple[str | None, dict[str, str]]] | None = None) -> list[Finding]:
    found: list[Finding] = []
    variants = variants if variants is not None else _variants(bank)
    defined = set(bank.manifest.vars)

    def place(f: Finding, keys: tuple, text: str, s: int, e: int) -> None:
        f.line, f.col = _text_position(bf, lines, index, keys, text, s)
        f.path, f.phrase_id, f.field = bf.display, p.id, ".".join(map(str, keys))
        f.start, f.end = s, e
        f.excerpt = text[s:e] if e > s else f.excerpt
        found.append(f)

    for st in p.steps():
        for f, s, e in lint_reply(st.text, ruleset, variants):
            place(f, st.key, st.text, s, e)
        for f in hy.run("hygiene.undefined_variable", ruleset, st.text, defined, text=st.text):
            place(f, st.key, st.text, f.start, f.end)
    for key, value, field in (("title", p.title, TITLE), ("group", p.group, GROUP)):
        if value is not None:
            for f in check_text(value, ruleset, field):
                place(f, (key,), value, f.start, f.end)
    return _apply_suppression(bf, index, p, found, ruleset)


def _apply_suppression(bf: BookFile, index: int, p: Phrase, found: list[Finding], ruleset: RuleSet) -> list[Finding]:
    if p.lint is None:
        return found
    line, col = bf.phrase_loc(index, "lint")

    def at_lint(fs: list[Finding]) -> list[Finding]:
        for f in fs:
            f.path, f.line, f.col, f.phrase_id, f.field = bf.display, line, col, p.id, "lint"
        return fs

    missing = at_lint(hy.run("lint.suppression_reason", ruleset, p.lint.allow, p.lint.reason, set()))
    if not (p.lint.reason or "").strip():
        return missing + found  # without a reason nothing is suppressed
    out = []
    used = set()
    for f in found:
        allowed = next((a for a in p.lint.allow if f.rule == a or f.rule.startswith(a + ".")), None)
        if allowed is None:
            out.append(f)
        else:
            used.add(allowed)
    return out + at_lint(hy.run("lint.unused_suppression", ruleset, p.lint.allow, p.lint.reason, used))


def _manifest_locs(bank: Bank) -> tuple[dict, list[str]]:
    from ..bank.yamlio import YamlProblem, load_document

    try:
        data = (Path(bank.root) / "bank.yaml").read_bytes()
        _, locs = load_document(data)
        return locs, data.decode("utf-8", "replace").splitlines()
    except (OSError, YamlProblem):
        return {}, []


def lint_manifest(bank: Bank, ruleset: RuleSet) -> list[Finding]:
    """Findings in bank.yaml's variables (base and every campaign's), with bank.yaml:line:col."""
    from ..model import nearest_loc

    locs, lines = _manifest_locs(bank)
    out: list[Finding] = []
    items = [(None, ("vars", n), n, v) for n, v in bank.manifest.vars.items()]
    items += [(c, ("campaigns", c, "vars", n), n, v) for c, camp in bank.manifest.campaigns.items()
              for n, v in camp.vars.items()]
    for campaign, path, name, value in items:
        # a variable is a fragment: a second opinion judges it inside every reply it renders into (lint_reply)
        fs = lint_text(value, ruleset, hygiene=False, fragment=True) + check_text(value, ruleset, VAR)
        line, col = nearest_loc(locs, path)
        for f in sorted(fs, key=lambda f: (f.start, f.rule)):
            f.line, f.col = _position(lines, line, col, value, f.start)
            f.path, f.field, f.campaign = bank.manifest_display, ".".join(path), campaign
            f.message = f"variable {name}: {f.message}"
            out.append(f)
    return out


def lint_bank(bank: Bank, ruleset: RuleSet, books: list[str] | None = None,
              only: set[str] | None = None, *, manifest: bool | None = None) -> list[Finding]:
    """Findings for every phrase (or the named books, or the phrase ids in only), in file order, and for
    bank.yaml's variables and the book titles (by default only when the whole bank is linted)."""
    out: list[Finding] = []
    variants = _variants(bank)
    whole = books is None and only is None
    if manifest if manifest is not None else whole:
        out.extend(lint_manifest(bank, ruleset))
    for bf in bank.books:
        if books and bf.book.name not in books and str(bf.path) not in books:
            continue
        try:
            lines = Path(bf.path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            lines = []
        if only is None:
            line, col = bf.loc("title")
            for f in check_text(bf.book.title, ruleset, GROUP):
                f.line, f.col = _position(lines, line, col, bf.book.title, f.start)
                f.path, f.field = bf.display, "title"
                out.append(f)
        for i, p in enumerate(bf.book.phrases):
            if only is not None and p.id not in only:
                continue
            out.extend(lint_phrase(bank, bf, i, p, ruleset, lines, variants))
    return out


LOAD_RULE = "bank.load"


def load_findings(problems) -> list[Finding]:
    """The bank's load problems (kb.model.Problem: a book that did not load, a bad value …) as
    findings: a linted bank with a broken book is never clean, whatever its other books say."""
    return [Finding(rule=LOAD_RULE, severity=p.severity if p.severity in ("error", "warning") else "error",
                    start=0, end=0, message=p.message, path=p.path, line=p.line, col=p.col, phrase_id=p.phrase_id)
            for p in problems]
