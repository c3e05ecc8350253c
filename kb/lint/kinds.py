"""The rule kinds a rule pack can name. Each is one class registered by name; a new kind is one class here
(its own keys, how it is parsed, where its candidate hits are) plus examples in a pack.

* ``terms``: any of a list of words (normalized like the text).
* ``regex``: one pattern.
* ``family``: an anchor (e.g. a certainty word) that needs every pattern of ``with`` (e.g. a future time
  and a ship verb) in the same clause, sentence or window: "certainty + future/outcome + actor". A ``with``
  match negated in its own clause (…，实在不敢跟您承诺) does not count.
* ``proximity``: the older spelling of ``family`` with a character window (anchor, near, window).
* ``model``: a learned model of kb's pack (kb/lint/learned.py) over the reply's character n-grams.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ..errors import KbError
from .engine import Pattern, Rule, Text, normalize_for_lint, register

Compile = Callable[[Any, str], Pattern]


@register("terms")
@dataclass
class TermsRule(Rule):
    pattern: Pattern | None = None
    keys = frozenset({"terms"})

    @classmethod
    def build(cls, raw: dict, where: str, compile: Compile, literal: Callable[[list[str]], Pattern],
              **common: Any) -> TermsRule:
        terms = raw.get("terms")
        if not isinstance(terms, list) or not terms or not all(isinstance(t, str) and t for t in terms):
            raise KbError(f"{where}: terms must be a non-empty list of words")
        words = sorted({w for t in terms if (w := normalize_for_lint(t)[0])}, key=len, reverse=True)
        if not words:
            raise KbError(f"{where}: terms are all punctuation or spaces")
        return cls(pattern=literal(words), **common)

    def candidates(self, text: Text) -> list[tuple[int, int]]:
        assert self.pattern is not None
        return text.spans(self.pattern)


@register("regex")
@dataclass
class RegexRule(Rule):
    pattern: Pattern | None = None
    keys = frozenset({"pattern"})

    @classmethod
    def build(cls, raw: dict, where: str, compile: Compile, literal: Any, **common: Any) -> RegexRule:
        return cls(pattern=compile(raw.get("pattern"), where), **common)

    def candidates(self, text: Text) -> list[tuple[int, int]]:
        assert self.pattern is not None
        return text.spans(self.pattern)


SCOPES = ("clause", "sentence", "text")
WITH_LOOKS = 16  # matches of a `with` pattern checked one by one for a negation before them


@register("family")
@dataclass
class FamilyRule(Rule):
    anchor: Pattern | None = None
    with_: list[Pattern] = field(default_factory=list)
    scope: str | int = "clause"  # clause, sentence or a window of N characters around the anchor
    keys = frozenset({"anchor", "with", "scope"})

    @classmethod
    def build(cls, raw: dict, where: str, compile: Compile, literal: Any, **common: Any) -> FamilyRule:
        anchor = compile(raw.get("anchor"), where)
        with_ = raw.get("with", [])
        if isinstance(with_, str):
            with_ = [with_]
        if not isinstance(with_, list):
            raise KbError(f"{where}: with is a list of patterns that must occur in the anchor's scope")
        scope = raw.get("scope", "clause")
        if not (scope in SCOPES or (isinstance(scope, int) and not isinstance(scope, bool) and 1 <= scope <= 200)):
            raise KbError(f"{where}: scope must be clause, sentence, text or a number of characters from 1 to 200")
        return cls(anchor=anchor, with_=[compile(p, where) for p in with_], scope=scope, **common)

    def _area(self, text: Text, s: int, e: int) -> tuple[int, int]:
        if self.scope == "clause":
            return text.clause(s)
        if self.scope == "sentence":
            return text.sentence(s)
        if self.scope == "text":
            return 0, len(text.norm)
        assert isinstance(self.scope, int)
        return max(0, s - self.scope), min(len(text.norm), e + self.scope)

    def _present(self, text: Text, pattern: Pattern, lo: int, hi: int) -> bool:
        """Does pattern occur in [lo, hi) without a negation before it in its own clause? A certainty word
        negated where it stands (…，实在不敢跟您承诺) does not make the anchor a promise."""
        if self.negation is None:
            return text.any_in(pattern, lo, hi)
        spans = text.spans(pattern)
        i = bisect.bisect_left(spans, (lo, -1))
        for ws, we in spans[i:i + WITH_LOOKS]:
            if we > hi:
                return False
            if not text.negated_in(self.negation, text.clause(ws)[0], we):
                return True
        # more matches than are worth checking one by one: present (a rule errs towards flagging)
        return i + WITH_LOOKS < len(spans) and spans[i + WITH_LOOKS][1] <= hi

    def candidates(self, text: Text) -> list[tuple[int, int]]:
        assert self.anchor is not None
        out = []
        for s, e in text.spans(self.anchor):
            lo, hi = self._area(text, s, e)
            if all(self._present(text, p, lo, hi) for p in self.with_):
                out.append((s, e))
        return out


@register("proximity")
@dataclass
class ProximityRule(FamilyRule):
    keys = frozenset({"anchor", "near", "window"})

    @classmethod
    def build(cls, raw: dict, where: str, compile: Compile, literal: Any, **common: Any) -> ProximityRule:
        near = raw.get("near")
        if not isinstance(near, list) or not near:
            raise KbError(f"{where}: a proximity rule needs near: [patterns that must occur close to the anchor]")
        window = raw.get("window", 12)
        if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= 200:
            raise KbError(f"{where}: window must be a number of characters from 1 to 200")
        return cls(anchor=compile(raw.get("anchor"), where), with_=[compile(p, where) for p in near],
                   scope=window, **common)


@register("model")
@dataclass
class ModelRule(Rule):
    """A learned model of kb's pack (kb/lint/learned.py), a second opinion: a unit of a reply it scores at
    or above the threshold is flagged, at its most probable sentence."""

    model_name: str = ""
    threshold: float | None = None  # None: the model file's own, chosen by scripts/train_risk_model.py
    keys = frozenset({"model", "threshold"})
    second_opinion = True

    @classmethod
    def build(cls, raw: dict, where: str, compile: Compile, literal: Any, **common: Any) -> ModelRule:
        name = raw.get("model")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]+\.json", name) or \
                not resources.files("kb").joinpath("data", "rules", name).is_file():
            raise KbError(f"{where}: model must name a model file of kb's rule pack (risk_model.json)")
        t = raw.get("threshold")
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t < 1):
            raise KbError(f"{where}: threshold must be a number between 0 and 1")
        return cls(model_name=name, threshold=None if t is None else float(t), **common)

    def candidates(self, text: Text) -> list[tuple[int, int]]:
        from .learned import load, probability, sentences, units

        spans = units(text.norm, text.sentence_marks)
        if not spans:
            return []
        model = load(self.model_name)
        t = model["threshold"] if self.threshold is None else self.threshold

        def p(sp: tuple[int, int]) -> float:
            return probability(model, text.norm[sp[0]:sp[1]])

        out: set[tuple[int, int]] = set()
        for sp in spans:
            if p(sp) >= t:  # reported at its most probable sentence
                out.add(max(sentences(text.sentence_marks, *sp), key=p))
        return sorted(out)
