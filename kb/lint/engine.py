"""The lint engine: Finding, the Rule base class with its registry of kinds, RuleSet, and lint_text.

A text is normalized for matching (NFKC, lower case, Traditional -> Simplified, spaces, symbols,
emoji and invisible characters between characters removed) while keeping a map back to the
original offsets, so findings point at the characters the author wrote. The normalized text is cut
into sentences (。！？；newline) and clauses (sentences cut again at ，、), the units in which a rule
looks for its parts, its negations, its hedges and the contexts that cancel it.

Every rule kind is one class registered by name (``@register("family")``, see kinds.py); the rule
pack (kb/data/rules/default.yaml) and a team's kb-lint.yaml only name kinds. Every step is linear in
the length of the text: each pattern runs once over the whole text, and each candidate hit is then
checked against precomputed, sorted match positions. A long text is first screened by RE2 (patterns that
cannot match in it are not run, prefilter.Screen), and its rules may run in two processes (parallel.py).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from itertools import compress
from typing import Any, ClassVar, Protocol

from .parallel import find_all

SEVERITIES = ("error", "warning", "info")
SENTENCE_MARKS = "。!?;\n"  # after NFKC: ！？； are ! ? ;
CLAUSE_MARKS = SENTENCE_MARKS + ",、"
NEG_WINDOW = 6  # characters before a match searched by the short-range `unless_before`
# a text this long is first screened by RE2 (prefilter.Screen): the pack's patterns that cannot match in it
# are never run. Building the screen costs about 0.08 s once per process and saves about 1.1-1.3 us per
# character (measured on the 1 MB texts of scripts/bench_lint.py), so a one-off check breaks even near
# 60-70k characters; 50k errs towards screening, which later long texts of the same process then reuse.
SCREEN_MIN = 50_000


class Pattern(Protocol):  # re.Pattern or an re2 pattern (teams' own rules)
    def finditer(self, string: str, pos: int = ..., endpos: int = ...) -> Any: ...
    def match(self, string: str, pos: int = ..., endpos: int = ...) -> Any: ...
    def search(self, string: str, pos: int = ..., endpos: int = ...) -> Any: ...


@dataclass
class Finding:
    rule: str
    severity: str
    start: int
    end: int
    message: str
    suggestion: str = ""
    excerpt: str = ""
    # set for phrasebook findings
    path: str | None = None
    line: int | None = None
    col: int | None = None
    phrase_id: str | None = None
    field: str | None = None
    campaign: str | None = None  # the campaign whose variables produced the finding

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


# --- normalized text and its units ------------------------------------------------------------


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=4096)
def _norm_char(ch: str) -> str:
    """What one character becomes in the normalized text ('' when it is squeezed out)."""
    out = []
    for c in unicodedata.normalize("NFKC", ch).lower():
        if c in CLAUSE_MARKS:
            out.append(c)
            continue
        cat = unicodedata.category(c)
        if cat[0] in "ZSC" or (cat[0] == "P" and c not in "%."):
            continue  # spaces, symbols, emoji, punctuation, control and format characters
        out.append(c)
    return "".join(out)


_CHAR_CACHE: dict[str, str] = {}


def _remember(ch: str) -> str:
    """_norm_char, cached; a squeezed character is "\\0" so that every entry is truthy."""
    n = _norm_char(ch) or "\0"
    if len(_CHAR_CACHE) < 100_000:
        _CHAR_CACHE[ch] = n
    return n


def normalize_for_lint(text: str) -> tuple[str, list[int]]:
    """(normalized text, offset map): norm[i] came from text[offsets[i]]."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    table = {ord(ch): (_CHAR_CACHE.get(ch) or _remember(ch)) for ch in set(text)}
    if all(len(v) == 1 and v != "\0" for v in table.values()):  # character for character
        norm, offsets = text.translate(table), list(range(len(text)))
    elif all(len(v) == 1 for v in table.values()):  # some characters squeezed out ("\0"), none expanded
        marked = text.translate(table)
        offsets = list(compress(range(len(text)), map("\0".__ne__, marked)))
        norm = marked.replace("\0", "")
    else:
        mapped = [table[ord(ch)] for ch in text]
        offsets = [i for i, n in enumerate(mapped) if n != "\0" for _ in n]
        norm = "".join(mapped).replace("\0", "")
    if not norm.isascii():
        conv = _t2s().convert(norm)
        if len(conv) == len(norm):  # t2s is character for character for almost all text
            norm = conv
    return norm, offsets


NOT_CHARS = "不没"


def _asks(norm: str, s: int, e: int) -> bool:
    """Is the 不/没 of norm[s:e] the middle of an A-not-A question (能不能, 是不是, 有没有, 可不可以)?"""
    for k in range(s, e):
        if norm[k] in NOT_CHARS and 0 < k < len(norm) - 1 and norm[k - 1] == norm[k + 1] != norm[k]:
            return True
    return False


class Text:
    """A normalized text with its sentence and clause boundaries, shared by every rule."""

    def __init__(self, norm: str, impossible: set[int] | None = None):
        self.norm = norm
        self.clause_marks = [i for i, c in enumerate(norm) if c in CLAUSE_MARKS]
        self.sentence_marks = [i for i in self.clause_marks if norm[i] in SENTENCE_MARKS]
        self._spans: dict[object, list[tuple[int, int]]] = {}
        self.impossible = impossible or set()  # ids of patterns known to match nowhere in norm

    @staticmethod
    def _unit(marks: list[int], pos: int, n: int) -> tuple[int, int]:
        i = bisect.bisect_left(marks, pos)
        start = marks[i - 1] + 1 if i > 0 else 0
        end = marks[i] if i < len(marks) else n
        return start, end

    def clause(self, pos: int) -> tuple[int, int]:
        """[start, end) of the clause holding position pos."""
        return self._unit(self.clause_marks, pos, len(self.norm))

    def sentence(self, pos: int) -> tuple[int, int]:
        return self._unit(self.sentence_marks, pos, len(self.norm))

    def spans(self, pattern: Pattern) -> list[tuple[int, int]]:
        """Every match of pattern in the text (computed once per text and pattern)."""
        key = id(pattern)
        if key not in self._spans:
            self._spans[key] = [] if key in self.impossible else \
                [sp for m in pattern.finditer(self.norm) if (sp := m.span())[1] > sp[0]]
        return self._spans[key]

    def negations(self, pattern: Pattern) -> list[tuple[int, int]]:
        """Matches of a negation (or cancelling) pattern that really negate: the 不/没 of an A-not-A question
        (能不能, 会不会, 是不是, 有没有, 可不可以) asks, it does not negate."""
        key = ~id(pattern)
        if key not in self._spans:
            norm = self.norm
            self._spans[key] = [(s, e) for s, e in self.spans(pattern) if not _asks(norm, s, e)]
        return self._spans[key]

    def negated_in(self, pattern: Pattern, lo: int, hi: int) -> bool:
        """Does a real negation (see negations) of pattern lie within [lo, hi)?"""
        spans = self.negations(pattern)
        i = bisect.bisect_left(spans, (lo, -1))
        return i < len(spans) and spans[i][1] <= hi

    def negated_at(self, pattern: Pattern, lo: int, hi: int) -> bool:
        """Does a real negation of pattern start at lo (and end by hi)?"""
        m = pattern.match(self.norm, lo, hi)
        return m is not None and m.end() > m.start() and not _asks(self.norm, m.start(), m.end())

    def negated_before(self, pattern: Pattern, lo: int, hi: int) -> bool:
        """Does a real negation of pattern occur in norm[lo:hi] (a short window, searched directly)?"""
        return any(not _asks(self.norm, m.start(), m.end()) for m in pattern.finditer(self.norm, lo, hi)
                   if m.end() > m.start())

    def any_in(self, pattern: Pattern, lo: int, hi: int) -> bool:
        """Does a match of pattern lie within [lo, hi)?"""
        spans = self.spans(pattern)
        if not spans:
            return False
        i = bisect.bisect_left(spans, (lo, -1))
        return i < len(spans) and spans[i][1] <= hi

    def overlaps_any(self, patterns: tuple[Pattern, ...], lo: int, hi: int) -> bool:
        """Does a match of any of patterns overlap [lo, hi)? (their matches merged once per text)"""
        key = ("any", *map(id, patterns))
        merged = self._spans.get(key)
        if merged is None:
            merged = self._spans[key] = merge_spans(sp for p in patterns for sp in self.spans(p))
        return overlaps(merged, lo, hi)


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """[start, end) spans merged into disjoint ones, in order."""
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def overlaps(merged: list[tuple[int, int]], lo: int, hi: int) -> bool:
    """Does one of merged (disjoint, in order: merge_spans) overlap [lo, hi)?"""
    i = bisect.bisect_left(merged, (hi, -1))
    return i > 0 and merged[i - 1][1] > lo


# --- rules ---------------------------------------------------------------------------------------

KINDS: dict[str, type[Rule]] = {}


def register(name: str):
    """Class decorator: make a Rule subclass available as `kind: name` in rule packs."""

    def deco(cls: type[Rule]) -> type[Rule]:
        if name in KINDS:
            raise ValueError(f"lint rule kind {name!r} is registered twice")
        cls.kind = name
        KINDS[name] = cls
        return cls

    return deco


@dataclass
class Rule:
    """A rule of a pack. Subclasses (kinds) say where the candidate hits are; the filters shared by
    every kind (exceptions, scoped negation, hedges, cancelling contexts) are applied here."""

    id: str
    severity: str
    message: str
    suggestion: str = ""
    excepts: list[Pattern] = field(default_factory=list)
    unless_before: Pattern | None = None  # a negation in the few characters before the hit
    negation: Pattern | None = None  # a negation anywhere in the clause before the hit
    negation_after: Pattern | None = None  # a negation right after the hit (保证不了)
    refusal: Pattern | None = None  # a refusal later in the hit's clause (现金补偿这个我没办法做主)
    hedge: Pattern | None = None  # a hedge anywhere in the clause (尽量, 以…为准)
    cancel: Pattern | None = None  # a context anywhere in the sentence (warnings, quoting the buyer)
    examples_fail: list[str] = field(default_factory=list)
    examples_pass: list[str] = field(default_factory=list)
    source: str = ""

    kind: ClassVar[str] = ""
    keys: ClassVar[frozenset[str]] = frozenset()  # the kind's own keys in a rule pack
    # a second opinion (the learned model) reads whole replies and reports only where no rule did
    second_opinion: ClassVar[bool] = False

    def patterns(self) -> list[Pattern]:
        """Every compiled pattern of the rule (its kind's and the shared filters'), in field order."""
        out: list[Pattern] = []
        for f in fields(self):
            v = getattr(self, f.name)
            out += [p for p in (v if isinstance(v, (list, tuple)) else [v]) if hasattr(p, "finditer")]
        return out

    def candidates(self, text: Text) -> list[tuple[int, int]]:
        raise NotImplementedError

    def find(self, text: Text) -> list[tuple[int, int]]:
        """Spans (in the normalized text) this rule flags."""
        out = []
        excepts, negation, negation_after = self.excepts, self.negation, self.negation_after
        refusal, hedge, cancel, unless_before = self.refusal, self.hedge, self.cancel, self.unless_before
        overlaps_any, negated_in, clause = text.overlaps_any, text.negated_in, text.clause
        for s, e in self.candidates(text):
            if excepts and overlaps_any(excepts, s, e):
                continue
            cs, ce = clause(s)
            if unless_before is not None and text.negated_before(unless_before, max(cs, s - NEG_WINDOW), s):
                continue
            # a negation scopes over what follows it in the clause, also inside the hit (今天没办法保证一定发出)
            if negation is not None and negated_in(negation, cs, e):
                continue
            if negation_after is not None and text.negated_at(negation_after, e, min(ce, e + 8)):
                continue
            if refusal is not None and negated_in(refusal, e, ce):
                continue
            if hedge is not None and negated_in(hedge, cs, ce):
                continue
            if cancel is not None and negated_in(cancel, *text.sentence(s)):
                continue
            out.append((s, e))
        return out


@dataclass
class RuleSet:
    rules: list[Rule]
    options: dict[str, Any] = field(default_factory=dict)
    disabled: set[str] = field(default_factory=set)  # hygiene ids turned off by kb-lint.yaml
    severity: dict[str, str] = field(default_factory=dict)  # hygiene severity overrides
    _screen: Any = field(default=None, repr=False, compare=False)  # prefilter.Screen, built when first needed

    def ids(self) -> list[str]:
        return [r.id for r in self.rules]

    def patterns(self) -> list[re.Pattern[str]]:
        """Every Python re pattern of the rules (kb's own; a team's RE2 patterns are linear already)."""
        return [p for rule in self.rules for p in rule.patterns() if isinstance(p, re.Pattern)]

    def screen_out(self, norm: str) -> set[int]:
        """ids of the rules' patterns that cannot match in norm (a long text only, see SCREEN_MIN)."""
        if len(norm) < SCREEN_MIN:
            return set()
        if self._screen is None:
            from .prefilter import Screen

            self._screen = Screen(self.patterns())
        return self._screen.impossible(norm)

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


def lint_content(text: str, ruleset: RuleSet, *, fragment: bool = False) -> list[Finding]:
    """Findings of the pack's rules (no hygiene) in one text. fragment: a part of a reply (a variable's
    value, the rest of a clause), which rules that read whole replies (second opinions) do not judge."""
    norm, offsets = normalize_for_lint(text)
    unit = Text(norm, ruleset.screen_out(norm))
    out, second = [], []
    rules = [r for r in ruleset.rules if not (fragment and r.second_opinion)]
    for rule, spans in zip(rules, find_all(rules, unit), strict=True):
        for s, e in spans:
            os_, oe = offsets[s], offsets[e - 1] + 1
            f = Finding(rule=rule.id, severity=rule.severity, start=os_, end=oe, message=rule.message,
                        suggestion=rule.suggestion, excerpt=text[os_:oe])
            (second if rule.second_opinion else out).append(f)
    # a second opinion reports only what no rule reported there (a rule's own finding, and its suppression
    # or severity, stand for the sentence)
    if second:
        merged = merge_spans((g.start, g.end) for g in out)
        out += [f for f in second if not overlaps(merged, f.start, f.end)]
    out.sort(key=lambda f: (f.start, f.rule))
    return out


def lint_text(text: str, ruleset: RuleSet, *, hygiene: bool = True, fragment: bool = False) -> list[Finding]:
    """Every finding in a reply text: the pack's rules, plus the text-level hygiene checks
    (formula-leading text, control/bidi characters, length, GBK) unless hygiene=False. fragment: the text
    is a part of a reply (see lint_content)."""
    out = lint_content(text, ruleset, fragment=fragment)
    if hygiene:
        from .hygiene import check_text

        extra = check_text(text, ruleset)
        if extra:
            out.extend(extra)
            out.sort(key=lambda f: (f.start, f.rule))
    return out


def load_rules(config=None) -> RuleSet:
    """The default pack adjusted by a kb-lint.yaml (see kb.lint.config.load_rules)."""
    from .config import load_rules as _load

    return _load(config)


def default_rules() -> tuple[Rule, ...]:
    from .config import default_rules as _default

    return _default()


def parse_rule(raw: Any, where: str) -> Rule:
    from .config import parse_rule as _parse

    return _parse(raw, where)
