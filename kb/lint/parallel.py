"""The pack's rules over one long text, on two processors.

Each rule reads the text on its own, so the rules of a pack can run side by side. For a text of
PARALLEL_MIN characters or more, on Linux with two or more processors and no other thread running, the
pack is split in two by the length of the rules' patterns (a rough share of the work); a forked child
process runs one half while this process runs the other, and the child sends its spans back through a
pipe (marshal: lists of number pairs only). The findings are the same as one process gives, in the same
order; if the child fails in any way, this process runs its half too. ``KB_LINT_JOBS=1`` turns it off.
Python's re holds the interpreter lock, so threads would not help.
"""

from __future__ import annotations

import marshal
import os
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine import Rule, Text

PARALLEL_MIN = 200_000  # characters: below this a fork costs more than it saves

Spans = list[tuple[int, int]]


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    return (sys.platform.startswith("linux") and os.environ.get("KB_LINT_JOBS") != "1"
            and _cpus() > 1 and threading.active_count() == 1)


def _weight(rule: Rule) -> int:
    return 1 + sum(len(p.pattern) for p in rule.patterns())


def split(rules: list[Rule]) -> tuple[list[int], list[int]]:
    """Indices of rules in two shares of about equal pattern length (this process, the child)."""
    shares: tuple[list[int], list[int]] = ([], [])
    load = [0, 0]
    for i in sorted(range(len(rules)), key=lambda i: -_weight(rules[i])):
        k = 0 if load[0] <= load[1] else 1
        shares[k].append(i)
        load[k] += _weight(rules[i])
    return shares


def _child_share(rules: list[Rule], text: Text, indices: list[int]) -> bytes:
    return marshal.dumps([rules[i].find(text) for i in indices])


def find_all(rules: list[Rule], text: Text) -> list[Spans]:
    """rule.find(text) for every rule, in order."""
    if len(text.norm) < PARALLEL_MIN or len(rules) < 2 or not can_fork():
        return [r.find(text) for r in rules]
    mine, theirs = split(rules)
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return [r.find(text) for r in rules]
    if pid == 0:  # the child: its share, then exit without running any of the parent's exit handlers
        code = 1
        try:
            os.close(read_fd)
            data = _child_share(rules, text, theirs)
            with os.fdopen(write_fd, "wb") as f:
                f.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    results: dict[int, Spans] = {}
    try:
        results = {i: rules[i].find(text) for i in mine}
    finally:
        with os.fdopen(read_fd, "rb") as f:
            data = f.read()
        _, status = os.waitpid(pid, 0)
    got = None
    if status == 0:
        try:
            got = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            got = None
    if not isinstance(got, list) or len(got) != len(theirs):
        got = [rules[i].find(text) for i in theirs]  # the child failed: its share is run here
    results.update(zip(theirs, got, strict=True))  # (marshal gives tuples back as tuples)
    return [results[i] for i in range(len(rules))]
