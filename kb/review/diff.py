"""Semantic diff of two banks: phrases by id, the manifest's variables and campaigns, suppressions.

Phrase changes (``Change``) drive version policy; setting changes (``SettingChange``: ``bank.yaml``
vars and campaigns) and suppression changes (``SuppressionChange``: ``lint: allow``) are what a
reviewer must see because they change what buyers get, or what lint lets through, without any
reply text changing.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from ..model import Bank, Phrase


@dataclass
class Change:
    kind: str  # added removed renamed moved shortcut questions reply title suppression
    id: str
    book: str
    detail: dict = field(default_factory=dict)


@dataclass
class SettingChange:
    """One change in bank.yaml: a variable (base or campaign) or a campaign's own fields."""

    key: str  # vars.ship_window | campaigns.double11.vars.ship_window | campaigns.double11.end | campaigns.x
    kind: str  # added removed changed
    old: str | None
    new: str | None
    campaign: str | None = None
    var: str | None = None


@dataclass
class SuppressionChange:
    """A ``lint: allow`` added, changed or removed (with the phrase it belongs to)."""

    id: str
    book: str
    kind: str  # added changed removed
    old: dict | None  # {"allow": [...], "reason": str | None}
    new: dict | None
    path: str | None = None
    line: int | None = None

    @property
    def has_reason(self) -> bool:
        return bool(self.new and (self.new.get("reason") or "").strip())


def suppression_of(p: Phrase) -> dict | None:
    if p.lint is None:
        return None
    return {"allow": list(p.lint.allow), "reason": p.lint.reason}


def _snapshot(bank: Bank) -> dict[str, dict]:
    out = {}
    for bf, _, p in bank.phrases():
        out[p.id] = {"book": bf.book.name, "group": p.group_of(bf.book), "title": p.title,
                     "shortcut": p.shortcut, "questions": list(p.questions),
                     "texts": [(st.name, st.text) for st in p.steps()], "lint": suppression_of(p)}
    return out


def inline_diff(old: str, new: str, fmt: str = "text") -> str:
    """Character-level diff: [-old-]{+new+} (text) or ~~old~~**new** (markdown)."""
    out = []
    sm = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, a1, a2, b1, b2 in sm.get_opcodes():
        if op == "equal":
            out.append(old[a1:a2])
            continue
        if a2 > a1:
            out.append(f"~~{old[a1:a2]}~~" if fmt == "markdown" else f"[-{old[a1:a2]}-]")
        if b2 > b1:
            out.append(f"**{new[b1:b2]}**" if fmt == "markdown" else f"{{+{new[b1:b2]}+}}")
    return "".join(out)


def semantic_diff(old: Bank, new: Bank) -> list[Change]:
    """Phrase changes by id; a removed and an added phrase with the same texts are one rename."""
    a, b = _snapshot(old), _snapshot(new)
    removed = [i for i in a if i not in b]
    added = [i for i in b if i not in a]
    changes: list[Change] = []
    pairs = [(i, i) for i in b if i in a]
    for rid in list(removed):
        twin = next((x for x in added if b[x]["texts"] == a[rid]["texts"]), None)
        if twin:
            changes.append(Change("renamed", twin, b[twin]["book"], {"from": rid}))
            removed.remove(rid)
            added.remove(twin)
            pairs.append((rid, twin))
    changes += [Change("removed", i, a[i]["book"]) for i in removed]
    changes += [Change("added", i, b[i]["book"], {"title": b[i]["title"]}) for i in added]
    for oid, pid in pairs:
        o, n = a[oid], b[pid]
        if (o["book"], o["group"]) != (n["book"], n["group"]):
            changes.append(Change("moved", pid, n["book"], {"from": f"{o['book']}/{o['group']}",
                                                             "to": f"{n['book']}/{n['group']}",
                                                             "from_book": o["book"]}))
        if o["shortcut"] != n["shortcut"]:
            changes.append(Change("shortcut", pid, n["book"], {"from": o["shortcut"], "to": n["shortcut"]}))
        if o["title"] != n["title"]:
            changes.append(Change("title", pid, n["book"], {"from": o["title"], "to": n["title"]}))
        qa, qb = set(o["questions"]), set(n["questions"])
        if qa != qb:
            changes.append(Change("questions", pid, n["book"], {"added": [q for q in n["questions"] if q not in qa],
                                                                 "removed": [q for q in o["questions"] if q not in qb]}))
        if o["texts"] != n["texts"]:
            changes.append(Change("reply", pid, n["book"], {"old": o["texts"], "new": n["texts"]}))
        if o["lint"] != n["lint"]:
            changes.append(Change("suppression", pid, n["book"], {"old": o["lint"], "new": n["lint"]}))
    return changes


def renames(changes: list[Change]) -> dict[str, str]:
    """{old id: new id} for every rename."""
    return {c.detail["from"]: c.id for c in changes if c.kind == "renamed"}


def suppression_changes(old: Bank, new: Bank, changes: list[Change]) -> list[SuppressionChange]:
    """Every ``lint: allow`` that a change adds, edits or removes (new phrases and removed ones included)."""
    back = {v: k for k, v in renames(changes).items()}
    before = {p.id: (bf.book.name, suppression_of(p)) for bf, _, p in old.phrases()}
    out: list[SuppressionChange] = []
    seen: set[str] = set()
    for bf, i, p in new.phrases():
        oid = back.get(p.id, p.id)
        seen.add(oid)
        was = before.get(oid, (None, None))[1]
        now = suppression_of(p)
        if was == now:
            continue
        kind = "added" if was is None else "removed" if now is None else "changed"
        line = bf.phrase_loc(i, "lint" if now is not None else "id")[0]
        out.append(SuppressionChange(p.id, bf.book.name, kind, was, now, bf.display, line))
    for oid, (book, was) in before.items():
        if oid not in seen and was is not None:
            out.append(SuppressionChange(oid, book, "removed", was, None))
    return out


def _campaign_fields(c) -> dict[str, str]:
    return {"title": c.title, "start": c.start.isoformat(), "end": c.end.isoformat()}


def setting_changes(old: Bank, new: Bank) -> list[SettingChange]:
    """What bank.yaml changes: base variables, campaigns added/removed, their fields and variables."""
    out: list[SettingChange] = []

    def compare(prefix: str, a: dict[str, str], b: dict[str, str], campaign: str | None, is_var: bool) -> None:
        for name in [*a, *(k for k in b if k not in a)]:
            x, y = a.get(name), b.get(name)
            if x == y:
                continue
            kind = "added" if x is None else "removed" if y is None else "changed"
            out.append(SettingChange(f"{prefix}.{name}", kind, x, y, campaign, name if is_var else None))

    compare("vars", dict(old.manifest.vars), dict(new.manifest.vars), None, True)
    oc, nc = old.manifest.campaigns, new.manifest.campaigns
    for name in [*oc, *(k for k in nc if k not in oc)]:
        key = f"campaigns.{name}"
        if name not in nc:
            out.append(SettingChange(key, "removed", oc[name].title, None, name))
            continue
        if name not in oc:
            out.append(SettingChange(key, "added", None, nc[name].title, name))
            compare(f"{key}.vars", {}, dict(nc[name].vars), name, True)
            continue
        compare(key, _campaign_fields(oc[name]), _campaign_fields(nc[name]), name, False)
        compare(f"{key}.vars", dict(oc[name].vars), dict(nc[name].vars), name, True)
    return out
