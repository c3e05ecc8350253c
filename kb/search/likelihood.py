"""How well each candidate phrase's own questions explain a message, as a whole.

A multinomial naive Bayes over character 1-3-grams (of kb's compact form: normalized, filler
dropped, synonyms mapped): a phrase's grams are counted over its questions (a gram counts once per
question), smoothed by ``ALPHA`` over the bank's gram vocabulary, and a message's log-likelihood
under each candidate is summed over those of its grams that some candidate uses. A softmax over the
candidates (temperature ``TEMP`` x sqrt(grams), so that long messages are not more certain for being
long) gives each a posterior, one share of the rank score (scoring.NB_WEIGHT).

What it adds to BM25F: BM25F only rewards the message's words a phrase has; this also weighs the
message's grams a phrase lacks, so the phrase whose questions explain more of the message wins a
close call. Tables are built per phrase when a search first needs them (from ``Index.questions``,
so cross-validation folds never see their held-out questions) and kept on the index.
"""

from __future__ import annotations

import math
from collections import Counter

from .scope import grams, sample

ALPHA = 0.03  # additive smoothing (chosen by scripts/tune_ranking.py with NB_WEIGHT and TEMP)
TEMP = 3.0  # softmax temperature per sqrt(grams of the message)

Table = tuple[dict[str, float], float]  # {gram: log P(gram | phrase)}, log P(an unseen gram | phrase)


def vocabulary(questions: list[str]) -> int:
    """How many distinct grams the bank's questions use (counted on an even sample of a very large bank)."""
    seen: set[str] = set()
    for q in sample(questions):
        seen.update(grams(q))
    return max(len(seen), 1)


def table(questions: list[str], vocab: int) -> Table:
    """One phrase's smoothed log-probabilities of grams, from its questions."""
    counts: Counter[str] = Counter()
    for q in questions:
        counts.update(grams(q))
    den = sum(counts.values()) + ALPHA * vocab
    return {g: math.log((n + ALPHA) / den) for g, n in counts.items()}, math.log(ALPHA / den)


def posteriors(tables: list[Table], compact: str) -> list[float]:
    """Per candidate, the share of the message it explains best (sums to 1; equal shares when no
    gram of the message is used by any candidate)."""
    if not tables:
        return []
    gs = sorted(grams(compact))
    hits = [list(filter(t.__contains__, gs)) for t, _ in tables]  # per candidate, the grams it uses (C loops)
    n = len(set().union(*hits))  # grams some candidate uses; each candidate lacks n - len(its hits)
    if not n:
        return [1.0 / len(tables)] * len(tables)
    scores = [sum(map(t.__getitem__, h)) + floor * (n - len(h)) for (t, floor), h in zip(tables, hits, strict=True)]
    top = max(scores)
    temp = TEMP * math.sqrt(n)
    exps = [math.exp((s - top) / temp) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]
