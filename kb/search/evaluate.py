"""kb eval: run a case file (cases: [{q, expect}]) through search and measure it.

Definitions (in-scope = cases with an expect; out-of-scope = expect: null):
  top-1            in-scope cases whose top match is confident and right
  top-3            in-scope cases with the right phrase among the 3 shown (confident or nearest)
  MRR              mean reciprocal rank of the right phrase among the 3 shown
  oos rejected     out-of-scope cases answered with "no confident match"
  false rejection  in-scope cases answered with "no confident match"
A phrase is right when its id equals expect or starts with expect + "." (a flow step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import KbError
from .index import Index, Result


@dataclass
class Case:
    q: str
    expect: str | None
    line: int


@dataclass
class Report:
    total: int
    in_scope: int
    out_of_scope: int
    top1: float
    top3: float
    mrr: float
    oos_rejected: float
    false_rejection: float
    misses: list[dict] = field(default_factory=list)
    results: list[tuple[Case, Result]] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("total", "in_scope", "out_of_scope", "top1", "top3", "mrr",
                                              "oos_rejected", "false_rejection", "misses")}


def read_cases(path: Path) -> list[Case]:
    from ..bank.yamlio import YamlProblem, load_document

    try:
        data, locs = load_document(Path(path).read_bytes())
    except OSError as e:
        raise KbError(f"{path}: cannot read: {e.strerror}", 2) from None
    except YamlProblem as e:
        raise KbError(f"{path}:{e.line}:{e.col}: {e.message}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise KbError(f"{path}: a case file is a mapping with 'cases: [{{q: ..., expect: ...}}]'")
    out = []
    for i, c in enumerate(data["cases"]):
        line = locs.get(("cases", i), (1, 1))[0]
        if not isinstance(c, dict) or not isinstance(c.get("q"), str) or "expect" not in c:
            raise KbError(f"{path}:{line}: case {i + 1} needs q (text) and expect (phrase id or null)")
        if c["expect"] is not None and not isinstance(c["expect"], str):
            raise KbError(f"{path}:{line}: case {i + 1}: expect must be a phrase id or null")
        out.append(Case(c["q"], c["expect"], line))
    return out


def _hit(pid: str, expect: str) -> bool:
    return pid == expect or pid.startswith(expect + ".")


def evaluate(index: Index, cases: list[Case]) -> Report:
    if not cases:
        raise KbError("the case file has no cases")
    ins = oos = top1 = top3 = rejected = false_rej = 0
    rr = 0.0
    misses = []
    results = []
    for c in cases:
        r = index.search(c.q, k=3)
        results.append((c, r))
        ids = [m.id for m in r.matches]
        if c.expect is None:
            oos += 1
            if not r.confident:
                rejected += 1
            else:
                misses.append({"q": c.q, "expect": None, "got": ids[0], "score": r.matches[0].score,
                               "line": c.line})
            continue
        ins += 1
        rank = next((i + 1 for i, pid in enumerate(ids) if _hit(pid, c.expect)), None)
        if rank:
            top3 += 1
            rr += 1 / rank
        if not r.confident:
            false_rej += 1
        if r.confident and rank == 1:
            top1 += 1
        else:
            misses.append({"q": c.q, "expect": c.expect, "got": ids[0] if ids else None,
                           "score": r.matches[0].score if r.matches else 0.0,
                           "confident": r.confident, "line": c.line})
    div = max(ins, 1)
    return Report(total=len(cases), in_scope=ins, out_of_scope=oos, top1=top1 / div, top3=top3 / div,
                  mrr=rr / div, oos_rejected=rejected / max(oos, 1) if oos else 1.0,
                  false_rejection=false_rej / div, misses=misses, results=results)


def format_report(rep: Report) -> str:
    lines = [
        f"cases: {rep.total} ({rep.in_scope} in scope, {rep.out_of_scope} out of scope)",
        f"top-1: {rep.top1:.3f}",
        f"top-3: {rep.top3:.3f}",
        f"MRR: {rep.mrr:.3f}",
        f"out-of-scope rejected: {rep.oos_rejected:.3f}",
        f"in-scope false rejection: {rep.false_rejection:.3f}",
    ]
    if rep.misses:
        lines.append(f"misses ({len(rep.misses)}):")
        for m in rep.misses:
            got = m["got"] or "(no match)"
            why = "" if m.get("confident", True) else " [not confident]"
            lines.append(f"  line {m['line']}: {m['q']!r}: expected {m['expect']}, got {got} "
                         f"({m['score']:.2f}){why}")
    return "\n".join(lines)
