"""The review of a bank change, start to end: load both sides, diff them, check versions, lint what
changed (texts, variables, suppressions), measure retrieval, and collect what blocks the merge."""

from __future__ import annotations

import difflib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..bank.load import load_bank
from ..errors import KbError
from ..model import Bank, Manifest
from .diff import (
    Change,
    SettingChange,
    SuppressionChange,
    renames,
    semantic_diff,
    setting_changes,
    suppression_changes,
)
from .git import bank_at
from .rendered import NORMAL, RenderedFinding, variable_findings
from .versions import VersionRow, check_versions

LINT_CONFIG = "kb-lint.yaml"
TESTS = "tests.yaml"


@dataclass
class Blocker:
    """One reason the change is not mergeable, with where it is when that is known."""

    kind: str  # validate version lint vars suppression retrieval
    message: str
    path: str | None = None
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        where = ":".join(str(x) for x in (self.path, self.line, self.col) if x is not None)
        return f"{self.kind}: {where + ': ' if where else ''}{self.message}"


@dataclass
class Review:
    changes: list[Change]
    versions: list[VersionRow]
    lint_new: list
    lint_old: list
    eval_changed: list[dict]
    top1: tuple[float | None, float] | None
    problems: list[Blocker]
    settings: list[SettingChange] = field(default_factory=list)
    suppressions: list[SuppressionChange] = field(default_factory=list)
    var_findings: list[RenderedFinding] = field(default_factory=list)
    base_note: str | None = None  # set when the base has no (loadable) bank: everything is reviewed as new
    lint_config_diff: list[str] = field(default_factory=list)

    @property
    def blocking(self) -> bool:
        return bool(self.problems)


def empty_bank(root: Path) -> Bank:
    """A bank with nothing in it: the base of the pull request that adds the bank."""
    return Bank(root=root, manifest=Manifest.model_validate({"schema": 1, "name": "(no bank)"}), books=[])


def _config_diff(base_root: Path | None, head_root: Path) -> list[str]:
    def read(root: Path | None) -> list[str]:
        p = root / LINT_CONFIG if root is not None else None
        try:
            return p.read_text(encoding="utf-8").splitlines() if p is not None and p.is_file() else []
        except (OSError, UnicodeDecodeError):
            return ["(unreadable)"]

    a, b = read(base_root), read(head_root)
    if a == b:
        return []
    return list(difflib.unified_diff(a, b, f"base/{LINT_CONFIG}", f"head/{LINT_CONFIG}", lineterm="", n=1))


def _lint(old: Bank, new: Bank, rules, changes: list[Change]) -> tuple[list, list]:
    """Findings on the changed phrases (and bank-level ones): (new in this change, already in the base)."""
    from ..lint.bank import lint_bank

    changed_ids = {c.id for c in changes if c.kind != "removed"}
    rename = renames(changes)
    head_f = [f for f in lint_bank(new, rules) if f.phrase_id is None or f.phrase_id in changed_ids]
    base_f = lint_bank(old, rules) if old.books else []
    seen = {(rename.get(f.phrase_id, f.phrase_id), f.rule, f.excerpt) for f in base_f}
    lint_new = [f for f in head_f if (f.phrase_id, f.rule, f.excerpt) not in seen]
    lint_old = [f for f in head_f if (f.phrase_id, f.rule, f.excerpt) in seen]
    return lint_new, lint_old


def _expect(expect) -> str | None:
    """A case's expected answer as text: one id, several ids joined by ' | ', or None (out of scope)."""
    if expect is None or isinstance(expect, str):
        return expect
    return " | ".join(map(str, expect))


def _retrieval(old: Bank, new: Bank, head_root: Path, problems: list[Blocker]):
    from ..search.evaluate import evaluate, read_cases
    from ..search.index import Index

    tests = head_root / TESTS
    if not tests.is_file():
        return [], None
    try:
        cases = read_cases(tests)
        rn = evaluate(Index.build(new), cases)
        ro = evaluate(Index.build(old), cases) if old.books else None
    except KbError as e:
        problems.append(Blocker("retrieval", e.message))
        return [], None
    if ro is None:
        return [], (None, rn.top1)
    changed = []
    for (c, a), (_, b) in zip(ro.results, rn.results, strict=True):
        ta = a.top.id if a.confident and a.top else None
        tb = b.top.id if b.confident and b.top else None
        if ta != tb:
            changed.append({"q": c.q, "expect": _expect(c.expect), "base": ta, "head": tb, "line": c.line})
    if rn.top1 < ro.top1:
        problems.append(Blocker("retrieval", f"top-1 on {TESTS} dropped from {ro.top1:.3f} to {rn.top1:.3f}"))
    return changed, (ro.top1, rn.top1)


def review(base_root: Path | None, head_root: Path, rules) -> Review:
    """Review head against base (None: the base has no bank, so everything in head is new)."""
    note = None
    if base_root is None:
        old, note = empty_bank(head_root), "the base revision has no bank: everything is reviewed as new"
    else:
        loaded, oprob = load_bank(base_root)
        if loaded is None:
            first = str(oprob[0]) if oprob else "unknown problem"
            old, note = empty_bank(base_root), f"the base bank cannot be loaded ({first}): everything is reviewed as new"
        else:
            old = loaded
    new, nprob = load_bank(head_root)
    problems = [Blocker("validate", f"{p.phrase_id}: {p.message}" if p.phrase_id else p.message, p.path, p.line, p.col)
                for p in nprob if getattr(p, "severity", "error") == "error"]
    if new is None:
        return Review([], [], [], [], [], None, problems, base_note=note)
    changes = semantic_diff(old, new)
    versions = check_versions(old, new, changes)
    problems += [Blocker("version", v.message, v.path) for v in versions if not v.ok and v.message]

    settings = setting_changes(old, new)
    defined = set(new.manifest.vars)
    for s in settings:
        if s.campaign and s.var and s.new is not None and s.var not in defined:
            close = difflib.get_close_matches(s.var, sorted(defined), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(Blocker("vars", f"campaign {s.campaign} sets '{s.var}', which vars: does not define, so "
                                    f"no reply uses it and the normal-time value is sent instead{hint}",
                                    new.manifest_display))

    suppressions = suppression_changes(old, new, changes)
    for s in suppressions:
        if s.kind != "removed" and not s.has_reason:
            rules_ = ", ".join(s.new["allow"]) if s.new else ""
            problems.append(Blocker("suppression", f"{s.id}: lint: allow [{rules_}] has no reason: add reason: \"…\" "
                                    "saying why this wording is acceptable", s.path, s.line))

    lint_new, lint_old = _lint(old, new, rules, changes)
    reasonless = {s.id for s in suppressions if s.kind != "removed" and not s.has_reason}
    problems += [Blocker("lint", f"{f.rule}: {f.phrase_id}: {f.message}", f.path, f.line, f.col)
                 for f in lint_new if f.severity == "error"
                 and not (f.rule == "lint.suppression_reason" and f.phrase_id in reasonless)]  # said above

    changed_ids = {c.id for c in changes if c.kind != "removed"}
    shown = {(f.phrase_id, f.rule, f.excerpt) for f in lint_new + lint_old}
    var_findings = [v for v in variable_findings(old, new, rules, changed_ids, renames(changes))
                    if (v.phrase_id, v.rule, v.excerpt) not in shown]
    for v in var_findings:
        if v.new and v.severity == "error":
            values = ", ".join(f"{{{k}}} = {val!r}" for k, val in v.values.items())
            where = ", ".join(v.contexts)
            problems.append(Blocker("vars", f"{v.rule}: {v.phrase_id}: {v.message} (rendered with {values}; "
                                    f"{where})", v.path, v.line))

    eval_changed, top1 = _retrieval(old, new, head_root, problems)
    return Review(changes, versions, lint_new, lint_old, eval_changed, top1, problems, settings, suppressions,
                  var_findings, note, _config_diff(base_root, head_root))


def run_review(bank_root: Path, base: str, head: str | None, rules) -> Review:
    """kb review: base and head are git revisions of bank_root's repository or bank folders."""
    with tempfile.TemporaryDirectory(prefix="kb-review-") as tmp:
        b = bank_at(base, bank_root, Path(tmp))
        h = bank_at(head, bank_root, Path(tmp)) if head else bank_root
        if h is None:
            raise KbError(f"revision '{head}' has no bank at {bank_root.name}/", 1)
        return review(b, h, rules)


def run_diff(bank_root: Path, old: str, new: str | None) -> list[Change]:
    """kb diff: the phrase changes between two revisions or folders (a side without a bank is empty)."""
    with tempfile.TemporaryDirectory(prefix="kb-diff-") as tmp:
        o = bank_at(old, bank_root, Path(tmp))
        n = bank_at(new, bank_root, Path(tmp)) if new else bank_root
        banks, problems = [], []
        for root in (o, n):
            if root is None:
                banks.append(empty_bank(Path(tmp)))
                continue
            bank, probs = load_bank(root)
            # a book that does not load would show as all its phrases removed: refuse instead
            problems += [p for p in probs if p.severity == "error"]
            banks.append(bank)
        if problems:
            raise KbError("cannot diff: a side has books that do not load (the diff would show their phrases "
                          "as removed):\n" + "\n".join(map(str, problems[:20])))
        return semantic_diff(banks[0], banks[1])


__all__ = ["NORMAL", "Blocker", "Review", "empty_bank", "review", "run_diff", "run_review"]
