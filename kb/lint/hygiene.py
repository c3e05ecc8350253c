"""Hygiene checks: ONE registry of what kb checks besides the rule pack (id, severity, message, suggestion,
where it applies and its check function).

Text checks run on every text a buyer (or a spreadsheet) receives: replies as rendered for the base
variables and every campaign, titles, groups, and variables in bank.yaml (``field`` says which). The
suppression checks run on a phrase's ``lint: {allow, reason}``. kb check runs the text checks too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..bank.chars import char_name, is_unsafe, unsafe_chars
from .engine import Finding, RuleSet


@lru_cache(maxsize=1)
def export_limits() -> dict[str, Any]:
    """The limits of the default export target (kb/data/targets/qianniu.yaml, the data the Qianniu
    target itself enforces): encoding, max_chars, formula_prefixes (a tuple). Lint warns before export
    refuses. Read by the targets' own profile loader, which imports no models (kb check stays light)."""
    from ..targets.base import load_profile_file

    data = load_profile_file("qianniu")
    limits = dict(data["profiles"][data["default"]]["limits"])
    limits["formula_prefixes"] = tuple(limits["formula_prefixes"])
    return limits


REPLY, TITLE, GROUP, VAR = "reply", "title", "group", "var"

Hit = tuple[int, int, dict[str, Any]]  # start, end, values for the message


@dataclass(frozen=True)
class Check:
    id: str
    severity: str
    message: str  # str.format template over the hit's values
    suggestion: str
    applies: frozenset[str]  # REPLY, TITLE, GROUP, VAR for text checks; "phrase" for suppressions
    check: Callable[..., Iterable[Hit]]


HYGIENE: dict[str, Check] = {}


def hygiene(id: str, severity: str, message: str, suggestion: str, applies: Iterable[str]):
    """Register a check function under its id (each id once)."""

    def deco(fn: Callable[..., Iterable[Hit]]) -> Callable[..., Iterable[Hit]]:
        if id in HYGIENE:
            raise ValueError(f"hygiene check {id} is registered twice")
        HYGIENE[id] = Check(id, severity, message, suggestion, frozenset(applies), fn)
        return fn

    return deco


@hygiene("hygiene.formula_injection", "error",
         "{what} starts with '{ch}': a spreadsheet opening the export runs it as a formula",
         "start with text, e.g. 亲，…", (REPLY, TITLE, GROUP))
def _formula(text: str, options: dict) -> Iterable[Hit]:
    stripped = text.lstrip()
    if stripped[:1] in export_limits()["formula_prefixes"]:  # a spreadsheet runs such a cell as a formula
        s = len(text) - len(stripped)
        yield s, s + 1, {"ch": stripped[0]}


@hygiene("hygiene.control_char", "error",
         "invisible control character U+{code:04X} ({name}) at character {pos}: it can hide, reorder or "
         "forge what the buyer or the agent sees",
         "delete it (retype the text around it)", (REPLY, TITLE, GROUP, VAR))
def _control(text: str, options: dict) -> Iterable[Hit]:
    for i, ch in unsafe_chars(text):  # kb.bank.chars: the one definition validate and output use too
        yield i, i + 1, {"code": ord(ch), "name": char_name(ch), "pos": i + 1}


@hygiene("hygiene.too_long", "warning", "{what} is {n} characters, over the limit of {limit}",
         "split it into a flow or shorten it; agents and buyers read it on a phone", (REPLY,))
def _too_long(text: str, options: dict) -> Iterable[Hit]:
    limit = options.get("max_reply_chars") or export_limits()["max_chars"]
    if len(text) > limit:
        yield 0, 1, {"n": len(text), "limit": limit}


@hygiene("hygiene.emoji", "warning", "'{ch}' cannot be encoded in GBK: the Qianniu export will refuse it",
         "remove it or export with --encoding utf-8-sig", (REPLY, GROUP))
def _gbk(text: str, options: dict) -> Iterable[Hit]:
    try:
        text.encode(export_limits()["encoding"])
    except UnicodeEncodeError as e:
        ch = text[e.start]
        if not is_unsafe(ch):  # those are control_char's
            yield e.start, e.start + 1, {"ch": ch}


@hygiene("hygiene.undefined_variable", "error", "variable {{{name}}} is not defined in bank.yaml",
         "define it under vars: in bank.yaml or fix the name", ("phrase",))
def _undefined(text: str, defined: set[str]) -> Iterable[Hit]:
    from ..template import TemplateError, template_vars

    try:
        used = template_vars(text)
    except TemplateError:
        return  # kb validate reports malformed braces
    for name, off in used:
        if name not in defined:
            yield off, off + len(name) + 2, {"name": name}


@hygiene("lint.suppression_reason", "error", "lint: allow needs a reason (why is this wording acceptable?)",
         "add reason: \"…\" to the phrase's lint: mapping", ("phrase",))
def _no_reason(allow: list[str], reason: str | None, used: set[str]) -> Iterable[Hit]:
    if not (reason or "").strip():
        yield 0, 0, {}


@hygiene("lint.unused_suppression", "warning", "lint: allow lists {rule}, which finds nothing in this phrase",
         "remove it from allow", ("phrase",))
def _unused(allow: list[str], reason: str | None, used: set[str]) -> Iterable[Hit]:
    for a in allow:
        if a not in used:
            yield 0, 0, {"rule": a}


_WHAT = {REPLY: "reply", TITLE: "title", GROUP: "group", VAR: "variable"}


def severity_of(ruleset: RuleSet, check_id: str) -> str | None:
    """The check's severity under a ruleset's config, or None when the config disables it."""
    if check_id in ruleset.disabled:
        return None
    return ruleset.severity.get(check_id, HYGIENE[check_id].severity)


def run(check_id: str, ruleset: RuleSet, *args: Any, text: str = "", what: str = "") -> list[Finding]:
    """Findings of one registered check (none when disabled); start/end index text."""
    sev = severity_of(ruleset, check_id)
    if sev is None:
        return []
    c = HYGIENE[check_id]
    return [Finding(rule=c.id, severity=sev, start=s, end=e, message=c.message.format(what=what, **kw),
                    suggestion=c.suggestion, excerpt=text[s:e]) for s, e, kw in c.check(*args)]


def check_text(text: str, ruleset: RuleSet, field: str = REPLY) -> list[Finding]:
    """The text checks that apply to a field (reply, title, group, var) on one text."""
    out: list[Finding] = []
    for c in HYGIENE.values():
        if field in c.applies:
            out.extend(run(c.id, ruleset, text, ruleset.options, text=text, what=_WHAT[field]))
    return out
