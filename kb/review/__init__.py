"""Review of a phrasebook change: semantic diff, version discipline, lint and retrieval regressions."""

from __future__ import annotations

import difflib
import json
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ..bank.files import MANIFEST
from ..bank.load import load_bank
from ..errors import KbError
from ..model import SEMVER_RE, Bank

BUMPS = ("none", "patch", "minor", "major")


# --- getting a bank at a revision ----------------------------------------------------------


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise KbError("git is not installed: give two bank folders instead of revisions", 2) from None


def bank_at(spec: str, bank_root: Path, workdir: Path) -> Path:
    """A folder holding the bank as it is at spec: a bank folder, or a git revision of bank_root's repo."""
    p = Path(spec)
    if p.is_dir() and (p / MANIFEST).is_file():
        return p
    top = _git(bank_root, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise KbError(f"{spec}: not a bank folder, and {bank_root} is not in a git repository", 2)
    repo = Path(top.stdout.decode().strip())
    rel = bank_root.resolve().relative_to(repo.resolve()).as_posix()
    if _git(repo, "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}").returncode != 0:
        shallow = _git(repo, "rev-parse", "--is-shallow-repository").stdout.decode().strip() == "true"
        hint = (" This is a shallow clone: fetch the base too (actions/checkout with fetch-depth: 0, or "
                f"git fetch --deepen=50 / git fetch origin {spec})." if shallow else
                f" Fetch it first (git fetch origin {spec}).")
        raise KbError(f"revision '{spec}' is not in this repository.{hint}", 2)
    ls = _git(repo, "ls-tree", "-r", "--name-only", spec, "--", rel)
    names = [n for n in ls.stdout.decode("utf-8").splitlines() if n.endswith(".yaml")]
    if f"{rel}/{MANIFEST}" not in names:
        raise KbError(f"revision '{spec}' has no {rel}/{MANIFEST}", 1)
    dest = workdir / re.sub(r"[^A-Za-z0-9_.-]", "_", spec)
    for n in names:
        blob = _git(repo, "show", f"{spec}:{n}")
        target = dest / Path(n).relative_to(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob.stdout)
    return dest


# --- semantic diff -------------------------------------------------------------------------


@dataclass
class Change:
    kind: str  # added removed renamed moved shortcut questions reply title
    id: str
    book: str
    detail: dict = field(default_factory=dict)


def _snapshot(bank: Bank) -> dict[str, dict]:
    out = {}
    for bf, _, p in bank.phrases():
        out[p.id] = {"book": bf.book.name, "group": p.group_of(bf.book), "title": p.title,
                     "shortcut": p.shortcut, "questions": list(p.questions),
                     "texts": [(st.name, st.text) for st in p.steps()]}
    return out


def inline_diff(old: str, new: str, fmt: str = "text") -> str:
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
    a, b = _snapshot(old), _snapshot(new)
    removed = [i for i in a if i not in b]
    added = [i for i in b if i not in a]
    changes: list[Change] = []
    for rid in list(removed):
        twin = next((x for x in added if b[x]["texts"] == a[rid]["texts"]), None)
        if twin:
            changes.append(Change("renamed", twin, b[twin]["book"], {"from": rid}))
            removed.remove(rid)
            added.remove(twin)
    changes += [Change("removed", i, a[i]["book"]) for i in removed]
    changes += [Change("added", i, b[i]["book"], {"title": b[i]["title"]}) for i in added]
    for pid in [i for i in b if i in a]:
        o, n = a[pid], b[pid]
        if (o["book"], o["group"]) != (n["book"], n["group"]):
            changes.append(Change("moved", pid, n["book"], {"from": f"{o['book']}/{o['group']}",
                                                             "to": f"{n['book']}/{n['group']}"}))
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
    return changes


def format_diff(changes: list[Change], fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps([c.__dict__ for c in changes], ensure_ascii=False, indent=2)
    md = fmt == "markdown"
    lines = []
    for c in changes:
        head = f"- **{c.kind}** `{c.id}`" if md else f"{c.kind:<9} {c.id}"
        d = c.detail
        if c.kind == "renamed":
            head += f" (was `{d['from']}`)" if md else f" (was {d['from']})"
        elif c.kind in ("moved", "shortcut", "title"):
            head += f": {d['from']} → {d['to']}"
        elif c.kind == "added":
            head += f": {d['title']}"
        lines.append(head)
        if c.kind == "questions":
            lines += [f"    + {q}" for q in d["added"]] + [f"    - {q}" for q in d["removed"]]
        if c.kind == "reply":
            olds = dict((s or "", t) for s, t in d["old"])
            for s, t in d["new"]:
                label = f"【{s}】" if s else ""
                lines.append(f"    {label}{inline_diff(olds.get(s or '', ''), t, fmt)}")
    return "\n".join(lines) if lines else "no phrase changes"


# --- version discipline --------------------------------------------------------------------


def required_bumps(changes: list[Change], old: Bank, new: Bank) -> dict[str, str]:
    need: dict[str, str] = {}

    def want(book: str, level: str) -> None:
        if BUMPS.index(level) > BUMPS.index(need.get(book, "none")):
            need[book] = level

    old_books = {b.book.name for b in old.books}
    for c in changes:
        if c.kind in ("removed",):
            want(c.book, "major")
        elif c.kind == "renamed":
            want(c.book, "major")
        elif c.kind == "shortcut":
            want(c.book, "major")
        elif c.kind == "moved":
            want(c.book, "minor")
            src = c.detail["from"].split("/")[0]
            if src != c.book and src in old_books:
                want(src, "major")
        elif c.kind == "added":
            want(c.book, "minor")
        else:
            want(c.book, "patch")
    return need


def bump_made(old: str | None, new: str) -> str:
    if old is None:
        return "major"
    o = tuple(map(int, old.split("."))) if SEMVER_RE.match(old) else (0, 0, 0)
    n = tuple(map(int, new.split("."))) if SEMVER_RE.match(new) else (0, 0, 0)
    if n <= o:
        return "none"
    if n[0] > o[0]:
        return "major"
    if n[1] > o[1]:
        return "minor"
    return "patch"


# --- the review ----------------------------------------------------------------------------


@dataclass
class Review:
    changes: list[Change]
    versions: list[dict]
    lint_new: list
    lint_old: list
    eval_changed: list[dict]
    top1: tuple[float, float] | None
    problems: list[str]

    @property
    def blocking(self) -> bool:
        return bool(self.problems)


def review(base_root: Path, head_root: Path, rules) -> Review:
    from ..lint.bank import lint_bank
    from ..search.evaluate import evaluate, read_cases
    from ..search.index import Index

    old, oprob = load_bank(base_root)
    new, nprob = load_bank(head_root)
    if old is None:
        raise KbError("the base bank cannot be loaded:\n" + "\n".join(map(str, oprob)))
    problems = [f"validate: {p}" for p in nprob]
    if new is None:
        return Review([], [], [], [], [], None, problems)
    changes = semantic_diff(old, new)
    need = required_bumps(changes, old, new)
    versions = []
    oldv = {b.book.name: b.book.version for b in old.books}
    for bf in new.books:
        name = bf.book.name
        req = need.get(name, "none")
        made = bump_made(oldv.get(name), bf.book.version) if name in oldv else "new book"
        ok = made == "new book" or BUMPS.index(made if made in BUMPS else "none") >= BUMPS.index(req)
        versions.append({"book": name, "old": oldv.get(name), "new": bf.book.version, "required": req,
                         "made": made, "ok": ok})
        if not ok:
            problems.append(f"{bf.display}: book {name} changed without a {req} version bump "
                            f"({oldv.get(name)} → {bf.book.version}; run: kb bump {name} {req})")
    changed_ids = {c.id for c in changes if c.kind != "removed"}
    head_f = lint_bank(new, rules, only=changed_ids)
    base_f = lint_bank(old, rules, only=changed_ids)
    seen = {(f.phrase_id, f.rule, f.excerpt) for f in base_f}
    lint_new = [f for f in head_f if (f.phrase_id, f.rule, f.excerpt) not in seen]
    lint_old = [f for f in head_f if (f.phrase_id, f.rule, f.excerpt) in seen]
    for f in lint_new:
        if f.severity == "error":
            problems.append(f"lint: {f.path}:{f.line}:{f.col}: {f.rule}: {f.phrase_id}: {f.message}")
    eval_changed, top1 = [], None
    tests = head_root / "tests.yaml"
    if tests.is_file():
        cases = read_cases(tests)
        ro, rn = evaluate(Index.build(old), cases), evaluate(Index.build(new), cases)
        top1 = (ro.top1, rn.top1)
        for (c, a), (_, b) in zip(ro.results, rn.results, strict=True):
            ta = a.top.id if a.confident and a.top else None
            tb = b.top.id if b.confident and b.top else None
            if ta != tb:
                eval_changed.append({"q": c.q, "expect": c.expect, "base": ta, "head": tb, "line": c.line})
        if rn.top1 < ro.top1:
            problems.append(f"retrieval: top-1 on tests.yaml dropped from {ro.top1:.3f} to {rn.top1:.3f}")
    return Review(changes, versions, lint_new, lint_old, eval_changed, top1, problems)


def format_review(r: Review, fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps({"changes": [c.__dict__ for c in r.changes], "versions": r.versions,
                           "lint_new": [f.as_dict() for f in r.lint_new], "lint_preexisting": len(r.lint_old),
                           "retrieval_changed": r.eval_changed, "top1": r.top1, "problems": r.problems,
                           "mergeable": not r.blocking}, ensure_ascii=False, indent=2)
    if fmt == "github":
        out = [f"::error title=kb review::{p}" for p in r.problems]
        out.append(f"::notice title=kb review::{verdict(r)}")
        return "\n".join(out)
    md = fmt == "markdown"
    h = (lambda s: f"### {s}") if md else (lambda s: f"== {s} ==")
    lines = [h("Phrase changes"), format_diff(r.changes, "markdown" if md else "text"), "", h("Versions")]
    if md:
        lines += ["| book | base | head | required | made | |", "|---|---|---|---|---|---|"]
    for v in r.versions:
        mark = "ok" if v["ok"] else "MISSING BUMP"
        if md:
            lines.append(f"| {v['book']} | {v['old']} | {v['new']} | {v['required']} | {v['made']} | {mark} |")
        else:
            lines.append(f"{v['book']}: {v['old']} → {v['new']} (required {v['required']}, made {v['made']}) {mark}")
    lines += ["", h("Lint on changed phrases"),
              f"{len(r.lint_new)} new finding(s), {len(r.lint_old)} pre-existing"]
    for f in r.lint_new:
        lines.append(f"- {f.path}:{f.line}:{f.col} {f.severity} {f.rule} `{f.phrase_id}`: {f.message}" if md else
                     f"  {f.path}:{f.line}:{f.col}: {f.severity} {f.rule}: {f.phrase_id}: {f.message}")
    lines += ["", h("Retrieval (phrasebank/tests.yaml)")]
    if r.top1 is None:
        lines.append("no tests.yaml in the bank: retrieval not checked")
    else:
        lines.append(f"top-1 {r.top1[0]:.3f} → {r.top1[1]:.3f}; {len(r.eval_changed)} case(s) changed answer")
        for c in r.eval_changed:
            lines.append(f"- line {c['line']}: {c['q']!r} (expect {c['expect']}): {c['base']} → {c['head']}")
    lines += ["", h("Verdict"), verdict(r)]
    lines += [f"- {p}" for p in r.problems]
    return "\n".join(lines)


def verdict(r: Review) -> str:
    if r.blocking:
        return f"BLOCKED: {len(r.problems)} blocking problem(s)"
    return f"MERGEABLE: {len(r.changes)} phrase change(s), versions bumped, no new lint errors, no retrieval drop"


def run_review(bank_root: Path, base: str, head: str | None, rules) -> Review:
    with tempfile.TemporaryDirectory(prefix="kb-review-") as tmp:
        b = bank_at(base, bank_root, Path(tmp))
        h = bank_at(head, bank_root, Path(tmp)) if head else bank_root
        return review(b, h, rules)


def run_diff(bank_root: Path, old: str, new: str | None) -> list[Change]:
    with tempfile.TemporaryDirectory(prefix="kb-diff-") as tmp:
        o = bank_at(old, bank_root, Path(tmp))
        n = bank_at(new, bank_root, Path(tmp)) if new else bank_root
        ob, op = load_bank(o)
        nb, np_ = load_bank(n)
        if ob is None or nb is None:
            raise KbError("cannot load a side of the diff:\n" + "\n".join(map(str, op + np_)))
        return semantic_diff(ob, nb)


# --- bump ----------------------------------------------------------------------------------


def bump(bank_root: Path, book: str, level: str, changelog: str | None = None) -> tuple[str, str]:
    from ..bank.files import book_files
    from ..bank.yamlio import atomic_write, rt_dump, rt_load

    path = next((p for p in book_files(bank_root) if p.stem == book), None)
    if path is None:
        raise KbError(f"no book '{book}' in {bank_root}", 2)
    data = rt_load(path)
    old = str(data.get("version", ""))
    if not SEMVER_RE.match(old):
        raise KbError(f"{path}: version {old!r} is not semver: fix it by hand first")
    ma, mi, pa = map(int, old.split("."))
    new = {"major": f"{ma + 1}.0.0", "minor": f"{ma}.{mi + 1}.0", "patch": f"{ma}.{mi}.{pa + 1}"}[level]
    data["version"] = new
    atomic_write(path, rt_dump(data))
    if changelog is not None:
        log = bank_root / "CHANGELOG.md"
        prev = log.read_text(encoding="utf-8") if log.exists() else "# Phrasebank changelog\n"
        head, _, rest = prev.partition("\n")
        entry = f"\n## {book} {new} — {date.today().isoformat()}\n\n- {changelog or level + ' release'}\n"
        atomic_write(log, head + "\n" + entry + rest)
    return old, new
