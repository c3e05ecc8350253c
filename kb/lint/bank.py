"""Linting a bank: every reply text of every phrase, plus phrasebook hygiene and suppressions."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from ..model import Bank, BookFile, Phrase
from ..template import TemplateError, template_vars
from .engine import Finding, RuleSet, lint_text

HYGIENE = {
    "hygiene.formula_injection": ("error", "reply starts with '{ch}': a spreadsheet opening the export runs it "
                                  "as a formula", "start the reply with text, e.g. 亲，…"),
    "hygiene.undefined_variable": ("error", "variable {{{name}}} is not defined in bank.yaml",
                                   "define it under vars: in bank.yaml or fix the name"),
    "hygiene.too_long": ("warning", "reply is {n} characters, over the limit of {limit}",
                         "split it into a flow or shorten it; agents and buyers read it on a phone"),
    "hygiene.emoji": ("warning", "'{ch}' cannot be encoded in GBK: the Qianniu export will refuse it",
                      "remove the emoji or export with --encoding utf-8-sig"),
    "lint.suppression_reason": ("error", "lint: allow needs a reason (why is this wording acceptable?)",
                                "add reason: \"…\" to the phrase's lint: mapping"),
    "lint.unused_suppression": ("warning", "lint: allow lists {rule}, which finds nothing in this phrase",
                                "remove it from allow"),
}


def _text_position(bf: BookFile, lines: list[str], index: int, keys: tuple, text: str, offset: int) -> tuple[int, int]:
    """File line/column of character `offset` of a reply text."""
    line, col = bf.phrase_loc(index, *keys)
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


def _hygiene(ruleset: RuleSet, rid: str, **kw) -> tuple[str, str, str] | None:
    if rid in ruleset.options.get("disabled", []):
        return None
    sev, msg, sug = HYGIENE[rid]
    sev = ruleset.options.get("severity", {}).get(rid, sev)
    return sev, msg.format(**kw), sug


def lint_phrase(bank: Bank, bf: BookFile, index: int, p: Phrase, ruleset: RuleSet,
                lines: list[str]) -> list[Finding]:
    found: list[Finding] = []
    defined = set(bank.manifest.vars)
    limit = ruleset.options.get("max_reply_chars", 500)

    def add(rule: str, sev: str, msg: str, sug: str, keys: tuple, text: str, s: int, e: int) -> None:
        line, col = _text_position(bf, lines, index, keys, text, s)
        found.append(Finding(rule=rule, severity=sev, start=s, end=e, message=msg, suggestion=sug,
                             excerpt=text[s:e], path=bf.display, line=line, col=col, phrase_id=p.id,
                             field=".".join(map(str, keys))))

    for st in p.steps():
        keys, text = st.key, st.text
        for f in lint_text(text, ruleset):
            add(f.rule, f.severity, f.message, f.suggestion, keys, text, f.start, f.end)
        stripped = text.lstrip()
        if stripped[:1] in ("=", "+", "-", "@") and (h := _hygiene(ruleset, "hygiene.formula_injection",
                                                                  ch=stripped[0])):
            s = len(text) - len(stripped)
            add("hygiene.formula_injection", *h, keys, text, s, s + 1)
        try:
            for name, off in template_vars(text):
                if name not in defined and (h := _hygiene(ruleset, "hygiene.undefined_variable", name=name)):
                    add("hygiene.undefined_variable", *h, keys, text, off, off + len(name) + 2)
        except TemplateError:
            pass  # kb validate reports malformed braces
        if len(text) > limit and (h := _hygiene(ruleset, "hygiene.too_long", n=len(text), limit=limit)):
            add("hygiene.too_long", *h, keys, text, 0, 1)
        for i, ch in enumerate(text):
            if ord(ch) > 0xFFFF or unicodedata.category(ch) == "So":
                try:
                    ch.encode("gbk")
                except UnicodeEncodeError:
                    if h := _hygiene(ruleset, "hygiene.emoji", ch=ch):
                        add("hygiene.emoji", *h, keys, text, i, i + 1)
                    break
    return _apply_suppression(bf, index, p, found, ruleset)


def _apply_suppression(bf: BookFile, index: int, p: Phrase, found: list[Finding], ruleset: RuleSet) -> list[Finding]:
    if p.lint is None:
        return found
    line, col = bf.phrase_loc(index, "lint")
    out = []
    if not (p.lint.reason or "").strip() and (h := _hygiene(ruleset, "lint.suppression_reason")):
        out.append(Finding(rule="lint.suppression_reason", severity=h[0], start=0, end=0, message=h[1],
                           suggestion=h[2], path=bf.display, line=line, col=col, phrase_id=p.id, field="lint"))
        return out + found  # without a reason nothing is suppressed
    used = set()
    for f in found:
        allowed = next((a for a in p.lint.allow if f.rule == a or f.rule.startswith(a + ".")), None)
        if allowed is None:
            out.append(f)
        else:
            used.add(allowed)
    for a in p.lint.allow:
        if a not in used and (h := _hygiene(ruleset, "lint.unused_suppression", rule=a)):
            out.append(Finding(rule="lint.unused_suppression", severity=h[0], start=0, end=0, message=h[1],
                               suggestion=h[2], path=bf.display, line=line, col=col, phrase_id=p.id, field="lint"))
    return out


def lint_bank(bank: Bank, ruleset: RuleSet, books: list[str] | None = None,
              only: set[str] | None = None) -> list[Finding]:
    """Findings for every phrase (or the named books, or the phrase ids in only), in file order."""
    out: list[Finding] = []
    for bf in bank.books:
        if books and bf.book.name not in books and str(bf.path) not in books:
            continue
        try:
            lines = Path(bf.path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            lines = []
        for i, p in enumerate(bf.book.phrases):
            if only is not None and p.id not in only:
                continue
            out.extend(lint_phrase(bank, bf, i, p, ruleset, lines))
    return out
