"""Phrase overlap: questions that two phrases share, as search sees them (issue: a bank where two
phrases carry the same question cannot tell them apart)."""

from __future__ import annotations

from ..model import Problem
from .index import Index

NEAR = 92  # rapidfuzz ratio (0-100) at or above which two questions count as near-identical
NEAR_LIMIT = 5_000  # above this many questions only identical ones are compared (near ones are O(n²))


def overlaps(index: Index) -> list[tuple[str, str, str, str, str]]:
    """(kind, phrase a, question a, phrase b, question b) for every question that stands in two
    phrases, identical ('same') or near-identical ('near') after kb's normalization."""
    owner: list[int] = []
    texts: list[str] = []
    for pi, qs in enumerate(index.questions):
        for q in qs:
            if q:
                owner.append(pi)
                texts.append(q)
    out = []
    seen: dict[str, int] = {}
    for i, t in enumerate(texts):
        j = seen.setdefault(t, i)
        if j != i and owner[j] != owner[i]:
            out.append(("same", index.phrases[owner[j]]["id"], texts[j], index.phrases[owner[i]]["id"], t))
    if len(texts) <= NEAR_LIMIT and texts:
        from rapidfuzz import fuzz, process

        for i, t in enumerate(texts):
            if len(t) < 4:
                continue
            for _, _, j in process.extract(t, texts, scorer=fuzz.ratio, score_cutoff=NEAR, limit=None):
                if j > i and owner[i] != owner[j] and texts[j] != t:
                    out.append(("near", index.phrases[owner[i]]["id"], t, index.phrases[owner[j]]["id"], texts[j]))
    return out


def overlap_problems(bank, index: Index) -> list[Problem]:
    """Warnings (file:line, phrase id) for every question that two phrases of the bank share,
    compared the way search compares them (index: the bank's search index, for its tokenizer)."""
    from .normalize import normalize

    tk = index.tokenizer
    where: dict[str, tuple] = {}
    compact: list[tuple[str, object, int, object, int]] = []
    for bf, i, p in bank.phrases():
        for qi, q in enumerate(p.questions):
            c = tk.compact(normalize(q))
            if c:
                compact.append((c, bf, i, p, qi))
                where.setdefault(c, (bf, i, p, qi))
    pseudo = Index.__new__(Index)
    pseudo.phrases = [{"id": p.id} for _, _, p in bank.phrases()]
    by_id = {p.id: n for n, (_, _, p) in enumerate(bank.phrases())}
    pseudo.questions = [[] for _ in pseudo.phrases]
    for c, _, _, p, _ in compact:
        pseudo.questions[by_id[p.id]].append(c)
    out = []
    for kind, a, qa, b, qb in overlaps(pseudo):
        bf, i, p, qi = next((bf, i, p, qi) for c, bf, i, p, qi in compact if c == qb and p.id == b)
        what = "the same question as" if kind == "same" else "a near-identical question to"
        out.append(Problem(bf.display, *bf.phrase_loc(i, "questions", qi),
                           f"question '{p.questions[qi]}' is {what} {a} ('{qa}'): search cannot tell the two "
                           "phrases apart; keep it in one of them or make the difference explicit",
                           p.id, severity="warning"))
    return out
