"""Prefilters for kb's own patterns: speed, same matches.

* A first-character prefilter. Python's re tries every alternative of a long alternation at every
  position of the text. Prefixing a pattern with a lookahead over the characters any match can start
  with, ``(?=[保一肯…])(?:pattern)``, lets the engine skip most positions with one set test. The set is
  computed from the parsed pattern (a superset is always safe); when a match could start with any
  character or be empty, the pattern is kept.
* A screen for long texts (``Screen``). Every pattern of the pack is translated into an RE2 pattern that
  matches a superset of it (lookarounds and anchors dropped, groups made non-capturing), and all of them go
  into one RE2 set, which reads the text once, in linear time, and says which of them match somewhere. A
  pattern whose superset matches nowhere cannot match either, so Python's re never runs it over the text.
  A pattern that cannot be translated is always run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

try:  # Python >= 3.11
    from re import _constants as sc
    from re import _parser as sp
except ImportError:  # pragma: no cover
    import sre_constants as sc  # type: ignore[no-redef]
    import sre_parse as sp  # type: ignore[no-redef]

_MAX_RANGE = 2000  # a wider class is treated as "any character"


def _first_seq(items: list[Any]) -> tuple[set[str] | None, bool]:
    """(characters a match of the sequence can start with, can it match empty); None = any character."""
    chars: set[str] = set()
    for op, av in items:
        c, nullable = _first_op(op, av)
        if c is None:
            return None, False
        chars |= c
        if not nullable:
            return chars, False
    return chars, True


def _first_op(op: Any, av: Any) -> tuple[set[str] | None, bool]:
    if op is sc.LITERAL:
        return {chr(av)}, False
    if op is sc.IN:
        out: set[str] = set()
        for o, a in av:
            if o is sc.LITERAL:
                out.add(chr(a))
            elif o is sc.RANGE and a[1] - a[0] <= _MAX_RANGE:
                out |= {chr(x) for x in range(a[0], a[1] + 1)}
            else:
                return None, False
        return out, False
    if op is sc.BRANCH:
        out, nullable = set(), False
        for alt in av[1]:
            c, n = _first_seq(list(alt))
            if c is None:
                return None, False
            out |= c
            nullable = nullable or n
        return out, nullable
    if op is sc.SUBPATTERN:
        return _first_seq(list(av[-1]))
    if op in (sc.MAX_REPEAT, sc.MIN_REPEAT):
        c, n = _first_seq(list(av[2]))
        return (None, False) if c is None else (c, n or av[0] == 0)
    if op in (sc.AT, sc.ASSERT, sc.ASSERT_NOT):
        return set(), True  # zero-width: the next item decides
    return None, False


def with_prefilter(pattern: str) -> str:
    """pattern, prefixed with a lookahead over its possible first characters when that is known."""
    try:
        chars, nullable = _first_seq(list(sp.parse(pattern)))
    except Exception:  # an unusual construct: leave the pattern alone
        return pattern
    if not chars or nullable:
        return pattern
    return f"(?=[{''.join(re.escape(c) for c in sorted(chars))}])(?:{pattern})"


# --- the RE2 screen for long texts -------------------------------------------------------------------


class _Untranslatable(Exception):
    pass


def _re2_char(c: int) -> str:
    return f"\\x{{{c:x}}}"


def _re2_class(av: list[Any]) -> str:
    out, neg = [], False
    for o, a in av:
        if o is sc.NEGATE:
            neg = True
        elif o is sc.LITERAL:
            out.append(_re2_char(a))
        elif o is sc.RANGE:
            out.append(f"{_re2_char(a[0])}-{_re2_char(a[1])}")
        else:  # a category (\d, \w …): the engines' Unicode rules differ
            raise _Untranslatable(o)
    return "[" + ("^" if neg else "") + "".join(out) + "]"


def _re2_seq(items: list[Any]) -> str:
    return "".join(_re2_op(op, av) for op, av in items)


def _re2_op(op: Any, av: Any) -> str:
    if op is sc.LITERAL:
        return _re2_char(av)
    if op is sc.NOT_LITERAL:
        return "[^" + _re2_char(av) + "]"
    if op is sc.ANY:  # without DOTALL both engines take any character but a newline
        return "."
    if op is sc.IN:
        return _re2_class(av)
    if op is sc.BRANCH:
        return "(?:" + "|".join(_re2_seq(list(alt)) for alt in av[1]) + ")"
    if op is sc.SUBPATTERN:
        if av[1] or av[2]:  # inline flags
            raise _Untranslatable(op)
        return "(?:" + _re2_seq(list(av[3])) + ")"
    if op in (sc.MAX_REPEAT, sc.MIN_REPEAT):
        lo, hi, item = av
        body = "(?:" + _re2_seq(list(item)) + ")"
        if hi is sc.MAXREPEAT or hi > 1000:  # RE2 counts to 1000; an open upper bound is a superset
            return body + f"{{{min(lo, 1000)},}}"
        return body + f"{{{lo},{hi}}}"
    if op in (sc.AT, sc.ASSERT, sc.ASSERT_NOT):  # zero-width: dropping it only widens the matches
        return ""
    raise _Untranslatable(op)  # backreferences and the like


def re2_superset(pattern: re.Pattern[str]) -> str | None:
    """An RE2 pattern that matches wherever pattern matches (and maybe elsewhere); None if none is known."""
    if pattern.flags & ~re.UNICODE:
        return None
    try:
        return _re2_seq(list(sp.parse(pattern.pattern)))
    except (_Untranslatable, RecursionError):
        return None


class Screen:
    """Which of a pack's patterns can match somewhere in a long text: one linear RE2 pass for all of them."""

    def __init__(self, patterns: Iterable[re.Pattern[str]]):
        import re2

        opts = re2.Options()
        opts.log_errors = False
        opts.max_mem = 64 << 20
        self._set = re2.Set.SearchSet(opts)
        self._set.Add("(?:)")  # a sentinel that matches every text: its absence means RE2 gave up
        self._screened: dict[int, int] = {}  # set index -> id(pattern)
        self._patterns = {id(p): p for p in patterns}  # each once, kept alive: their ids must stay theirs
        for p in self._patterns.values():
            sup = re2_superset(p)
            if sup is None:
                continue
            try:
                self._screened[self._set.Add(sup)] = id(p)
            except re2.error:
                continue
        self._set.Compile()

    def __len__(self) -> int:
        return len(self._screened)

    def impossible(self, norm: str) -> set[int]:
        """ids of the screened patterns that match nowhere in norm."""
        try:
            data = norm.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: screen nothing
            return set()
        hits = set(self._set.Match(data) or ())
        if 0 not in hits:
            return set()
        return {pid for i, pid in self._screened.items() if i not in hits}
