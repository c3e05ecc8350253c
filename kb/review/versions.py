"""Version policy: which bump each book's changes require, which bump was made, whether that is enough.

Removing or renaming an id, changing a shortcut, or moving a phrase out of a book breaks what
agents and exports rely on: major. A new phrase (or one moved in, or to another group): minor.
Wording, titles, questions and suppressions: patch.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import SEMVER_RE, Bank
from .diff import Change

BUMPS = ("none", "patch", "minor", "major")
_LEVEL = {"removed": "major", "renamed": "major", "shortcut": "major", "added": "minor", "moved": "minor"}


def required_bumps(changes: list[Change], old: Bank, new: Bank | None = None) -> dict[str, str]:
    """{book: the smallest bump its changes require} (books without changes are absent)."""
    need: dict[str, str] = {}

    def want(book: str, level: str) -> None:
        if BUMPS.index(level) > BUMPS.index(need.get(book, "none")):
            need[book] = level

    old_books = {b.book.name for b in old.books}
    for c in changes:
        want(c.book, _LEVEL.get(c.kind, "patch"))
        if c.kind == "moved":
            src = c.detail.get("from_book") or c.detail["from"].split("/")[0]
            if src != c.book and src in old_books:
                want(src, "major")  # the source book lost an id
    return need


def parse(version: str | None) -> tuple[int, int, int] | None:
    if version is None or not SEMVER_RE.match(version):
        return None
    a, b, c = (int(x) for x in version.split("."))
    return a, b, c


def bump_made(old: str | None, new: str) -> str:
    """The bump from old to new: none (same or lower), patch, minor or major."""
    if old is None:
        return "major"
    o, n = parse(old) or (0, 0, 0), parse(new) or (0, 0, 0)
    if n <= o:
        return "none"
    if n[0] > o[0]:
        return "major"
    if n[1] > o[1]:
        return "minor"
    return "patch"


@dataclass
class VersionRow:
    book: str
    old: str | None
    new: str | None
    required: str
    made: str  # none patch minor major | "new book" | "removed book"
    ok: bool
    path: str | None = None
    message: str | None = None  # why it is not ok

    def as_dict(self) -> dict:
        return {"book": self.book, "old": self.old, "new": self.new, "required": self.required,
                "made": self.made, "ok": self.ok}


def check_versions(old: Bank, new: Bank, changes: list[Change]) -> list[VersionRow]:
    """One row per book of either side: required vs made, with the reason when it is not enough."""
    need = required_bumps(changes, old, new)
    oldv = {b.book.name: b.book.version for b in old.books}
    rows = []
    for bf in new.books:
        name = bf.book.name
        req = need.get(name, "none")
        if name not in oldv:
            rows.append(VersionRow(name, None, bf.book.version, req, "new book", True, bf.display))
            continue
        was, now = oldv[name], bf.book.version
        made = bump_made(was, now)
        ok, why = True, None
        if (parse(now) or (0, 0, 0)) < (parse(was) or (0, 0, 0)):
            ok, why = False, f"book {name}'s version went backwards ({was} → {now})"
        elif BUMPS.index(made) < BUMPS.index(req):
            ok, why = False, (f"book {name} changed without a {req} version bump ({was} → {now}; "
                              f"run: kb bump {name} {req})")
        rows.append(VersionRow(name, was, now, req, made, ok, bf.display, why))
    new_names = {b.book.name for b in new.books}
    for bf in old.books:
        if bf.book.name not in new_names:
            rows.append(VersionRow(bf.book.name, bf.book.version, None, "none", "removed book", True))
    return rows
