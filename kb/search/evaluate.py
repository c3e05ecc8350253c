"""kb eval: measure search on labelled messages, or on the bank's own questions (--cross).

Case files: YAML (``cases: [{q, expect}]``) or TSV (``text<TAB>expect`` with a header line;
``a|b`` means either phrase is right; ``null`` means no phrase fits).

Definitions (in-scope = cases with an expect; out-of-scope = expect null):
  top-1            in-scope cases answered confidently with a right phrase
  top-3            in-scope cases with a right phrase among the first 3 matches
  MRR              mean reciprocal rank of the first right phrase among the first 3
  false rejection  in-scope cases answered "none" (no confident match)
  ambiguous        in-scope cases answered "ambiguous" (candidates shown, none picked)
  oos rejected     out-of-scope cases not answered confidently
  first            in-scope cases whose first match is right, whatever the outcome (ranking alone:
                   top-1 is at most this; the gap is confidence, the rest is the bank's wording)
A phrase is right when its id equals an expected id or starts with it + "." (a flow step).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import KbError
from .index import Index, Result


@dataclass
class Case:
    q: str
    expect: tuple[str, ...] | None  # None: out of scope
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
    ambiguous: float
    first: float = 0.0  # the first candidate is right, whatever the outcome (ranking alone)
    misses: list[dict] = field(default_factory=list)
    results: list[tuple[Case, Result]] = field(default_factory=list, repr=False)
    per_phrase: dict[str, dict] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("total", "in_scope", "out_of_scope", "top1", "top3", "mrr",
                                              "oos_rejected", "false_rejection", "ambiguous", "first", "misses",
                                              "per_phrase")}


def _expect(value: str | None) -> tuple[str, ...] | None:
    if value is None or value.strip() in ("", "null", "None", "~"):
        return None
    return tuple(x.strip() for x in value.split("|") if x.strip())


def read_cases(path: Path) -> list[Case]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise KbError(f"{path}: cannot read: {e.strerror}", 2) from None
    if path.suffix.lower() in (".tsv", ".txt") or (b"\t" in data.split(b"\n", 1)[0]):
        return _read_tsv(path, data)
    return _read_yaml(path, data)


def _read_tsv(path: Path, data: bytes) -> list[Case]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise KbError(f"{path}: not UTF-8 (byte {e.start})") from None
    lines = text.splitlines()
    if not lines or lines[0].split("\t")[0].strip().lower() not in ("text", "q", "query", "message"):
        raise KbError(f"{path}:1: a TSV case file starts with the header 'text<TAB>expect'")
    out = []
    for n, ln in enumerate(lines[1:], 2):
        if not ln.strip():
            continue
        parts = ln.split("\t")
        if len(parts) != 2:
            raise KbError(f"{path}:{n}: expected 'text<TAB>expect', got {len(parts)} column(s)")
        out.append(Case(parts[0], _expect(parts[1]), n))
    return out


def _read_yaml(path: Path, data: bytes) -> list[Case]:
    from ..bank.yamlio import YamlProblem, load_document

    try:
        doc, locs = load_document(data)
    except YamlProblem as e:
        raise KbError(f"{path}:{e.line}:{e.col}: {e.message}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
        raise KbError(f"{path}: a case file is a mapping with 'cases: [{{q: ..., expect: ...}}]'")
    out = []
    for i, c in enumerate(doc["cases"]):
        line = locs.get(("cases", i), (1, 1))[0]
        if not isinstance(c, dict) or not isinstance(c.get("q"), str) or "expect" not in c:
            raise KbError(f"{path}:{line}: case {i + 1} needs q (text) and expect (phrase id or null)")
        if c["expect"] is not None and not isinstance(c["expect"], str):
            raise KbError(f"{path}:{line}: case {i + 1}: expect must be a phrase id or null")
        out.append(Case(c["q"], _expect(c["expect"]), line))
    return out


def _hit(pid: str, expect: tuple[str, ...]) -> bool:
    return any(pid == e or pid.startswith(e + ".") for e in expect)


def check_ids(index: Index, cases: list[Case], source: str) -> None:
    """Every expected id must name a phrase (or a flow) of the bank."""
    ids = [p["id"] for p in index.phrases]
    for c in cases:
        for e in c.expect or ():
            if not any(_hit(pid, (e,)) for pid in ids):
                import difflib

                close = difflib.get_close_matches(e, ids, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise KbError(f"{source}:{c.line}: expect '{e}' is no phrase of the bank{hint}")


def score(cases_results: list[tuple[Case, Result]]) -> Report:
    if not cases_results:
        raise KbError("the case file has no cases")
    ins = oos = top1 = top3 = rejected = false_rej = amb = first = 0
    rr = 0.0
    misses = []
    per: dict[str, dict] = {}
    for c, r in cases_results:
        ids = [m.id for m in r.matches]
        if c.expect is None:
            oos += 1
            if not r.confident:
                rejected += 1
            else:
                misses.append({"q": c.q, "expect": None, "got": ids[0], "score": r.matches[0].score,
                               "outcome": r.outcome, "line": c.line})
            continue
        ins += 1
        rank = next((i + 1 for i, pid in enumerate(ids[:3]) if _hit(pid, c.expect)), None)
        pp = per.setdefault(c.expect[0], {"n": 0, "top1": 0, "top3": 0})
        pp["n"] += 1
        if rank:
            top3 += 1
            pp["top3"] += 1
            rr += 1 / rank
            first += rank == 1
        false_rej += r.outcome == "none"
        amb += r.outcome == "ambiguous"
        if r.confident and rank == 1:
            top1 += 1
            pp["top1"] += 1
        else:
            misses.append({"q": c.q, "expect": "|".join(c.expect), "got": ids[0] if ids else None,
                           "score": r.matches[0].score if r.matches else 0.0, "outcome": r.outcome,
                           "line": c.line})
    div = max(ins, 1)
    return Report(total=len(cases_results), in_scope=ins, out_of_scope=oos, top1=top1 / div, top3=top3 / div,
                  mrr=rr / div, oos_rejected=rejected / oos if oos else 1.0,
                  false_rejection=false_rej / div, ambiguous=amb / div, first=first / div, misses=misses,
                  results=list(cases_results), per_phrase=per)


def evaluate(index: Index, cases: list[Case]) -> Report:
    return score([(c, index.search(c.q, k=3)) for c in cases])


def _fold(phrase_id: str, qi: int, k: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{phrase_id}\0{qi}".encode()).digest()[:4], "big") % k


def folds(bank, k: int = 5):
    """Cross-validation over the bank's own questions, shared by ``kb eval --cross`` and the scripts
    that choose kb's parameters: yields (index built without the fold, [Case of each held-out
    question]) for each of k folds; one tokenizer over the whole bank serves every fold."""
    from .normalize import Tokenizer, normalize

    items = [(p.id, qi, q) for _, _, p in bank.phrases() for qi, q in enumerate(p.questions)]
    if not items:
        raise KbError("the bank has no questions to cross-validate")
    texts = [normalize(x) for _, _, p in bank.phrases()
             for x in (*p.questions, p.title, *(st.text for st in p.steps()))]
    tk = Tokenizer(*Tokenizer.build_freq(texts))
    for fold in range(k):
        held = [(pid, qi, q) for pid, qi, q in items if _fold(pid, qi, k) == fold]
        if held:
            index = Index.build(bank, tokenizer=tk, skip=frozenset((pid, qi) for pid, qi, _ in held))
            yield index, [Case(q, (pid,), n) for n, (pid, _qi, q) in enumerate(held)]


def cross_validate(bank, k: int = 5, progress=None) -> Report:
    """k-fold over the bank's own questions: each question is searched in an index built
    without its fold. Per-phrase figures show which phrases need more questions."""
    results = []
    for fold, (index, cases) in enumerate(folds(bank, k)):
        results.extend((c, index.search(c.q, k=3)) for c in cases)
        if progress:
            progress(fold + 1, k)
    return score(results)


def format_report(rep: Report, *, per_phrase: bool = False, misses: bool = True) -> str:
    lines = [
        f"cases: {rep.total} ({rep.in_scope} in scope, {rep.out_of_scope} out of scope)",
        f"top-1: {rep.top1:.3f}",
        f"top-3: {rep.top3:.3f}",
        f"MRR: {rep.mrr:.3f}",
        f"out-of-scope rejected: {rep.oos_rejected:.3f}",
        f"in-scope false rejection: {rep.false_rejection:.3f}",
        f"in-scope ambiguous: {rep.ambiguous:.3f}",
        f"first candidate right, any outcome: {rep.first:.3f} (ranking alone: what more questions can raise; "
        "top-1 also needs a confident outcome)",
    ]
    if per_phrase and rep.per_phrase:
        lines.append("per phrase (weakest first):")
        rows = sorted(rep.per_phrase.items(), key=lambda kv: (kv[1]["top1"] / kv[1]["n"], kv[0]))
        for pid, pp in rows:
            lines.append(f"  {pid:40s} top-1 {pp['top1'] / pp['n']:.2f}  top-3 {pp['top3'] / pp['n']:.2f}"
                         f"  ({pp['n']} questions)")
    if misses and rep.misses:
        lines.append(f"misses ({len(rep.misses)}):")
        for m in rep.misses:
            got = m["got"] or "(no match)"
            lines.append(f"  line {m['line']}: {m['q']!r}: expected {m['expect']}, got {got} "
                         f"({m['score']:.2f}, {m['outcome']})")
    return "\n".join(lines)
