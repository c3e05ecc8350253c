"""Phrase overlap: questions that two phrases share, as search sees them (issue: a bank where two
phrases carry the same question cannot tell them apart)."""

from __future__ import annotations

from ..model import Problem
from .index import Index

NEAR = 92  # rapidfuzz ratio (0-100) at or above which two questions count as near-identical
NEAR_LIMIT = 5_000  # above this many questions only identical ones are compared (near ones are O(n²))


def overlaps(ids: list[str], questions: list[list[str]]) -> list[tuple[str, str, str, str, str]]:
    """(kind, phrase a, question a, phrase b, question b) for every question that stands in two
    phrases, identical ('same') or near-identical ('near'); questions[i] are phrase ids[i]'s
    questions in kb's compact normalized form."""
    owner: list[int] = []
    texts: list[str] = []
    for pi, qs in enumerate(questions):
        for q in qs:
            if q:
                owner.append(pi)
                texts.append(q)
    out = []
    seen: dict[str, int] = {}
    for i, t in enumerate(texts):
        j = seen.setdefault(t, i)
        if j != i and owner[j] != owner[i]:
            out.append(("same", ids[owner[j]], texts[j], ids[owner[i]], t))
    if len(texts) <= NEAR_LIMIT and texts:
        from rapidfuzz import fuzz, process

        for i, t in enumerate(texts):
            if len(t) < 4:
                continue
            for _, _, j in process.extract(t, texts, scorer=fuzz.ratio, score_cutoff=NEAR, limit=None):
                if j > i and owner[i] != owner[j] and texts[j] != t:
                    out.append(("near", ids[owner[i]], t, ids[owner[j]], texts[j]))
    return out


def overlap_problems(bank, index: Index) -> list[Problem]:
    """Warnings (file:line, phrase id) for every question that two phrases of the bank share,
    compared the way search compares them (index: the bank's search index, for its tokenizer)."""
    from .normalize import normalize

    tk = index.tokenizer
    ids: list[str] = []
    questions: list[list[str]] = []
    place: dict[tuple[str, str], tuple] = {}  # (phrase id, compact question) -> where it stands
    for bf, i, p in bank.phrases():
        ids.append(p.id)
        questions.append([])
        for qi, q in enumerate(p.questions):
            c = tk.compact(normalize(q))
            if c:
                questions[-1].append(c)
                place.setdefault((p.id, c), (bf, i, p, qi))
    out = []
    for kind, a, qa, b, qb in overlaps(ids, questions):
        bf, i, p, qi = place[(b, qb)]
        what = "the same question as" if kind == "same" else "a near-identical question to"
        out.append(Problem(bf.display, *bf.phrase_loc(i, "questions", qi),
                           f"question '{p.questions[qi]}' is {what} {a} ('{qa}'): search cannot tell the two "
                           "phrases apart; keep it in one of them or make the difference explicit",
                           p.id, severity="warning"))
    return out
