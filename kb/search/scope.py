"""How much a message reads like the bank's own questions rather than like out-of-scope buyer chat.

A naive-Bayes log-odds over character 1-3-grams (of kb's compact form: normalized, filler dropped):
the index's questions against out-of-scope buyer messages written for kb (kb/data/oos_messages.txt:
platform and account questions, chit-chat, other shops, spec-sheet questions, the bank's words in
another sense). Built with the index, so cross-validation folds never see their held-out questions.
It is one input of the confidence model (scoring.Signals.scope), weighed by scripts/calibrate.py.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable

MAX_QUESTIONS = 20_000  # questions sampled (evenly) for the in-scope counts of a very large bank
ALPHA = 1.0  # add-one smoothing


def grams(compact: str) -> set[str]:
    return {compact[i:i + n] for n in (1, 2, 3) for i in range(len(compact) - n + 1)}


def sample(questions: Iterable[str]) -> list[str]:
    """The questions, or an even sample of MAX_QUESTIONS of them for a very large bank."""
    qs = list(questions)
    if len(qs) > MAX_QUESTIONS:
        step = len(qs) / MAX_QUESTIONS
        qs = [qs[int(i * step)] for i in range(MAX_QUESTIONS)]
    return qs


def table(questions: Iterable[str], negatives: list[str]) -> dict[str, float]:
    """{gram: log P(gram | a question) - log P(gram | an out-of-scope message)} (presence per text)."""
    qs = sample(questions)
    pos, neg = Counter(), Counter()
    for q in qs:
        pos.update(grams(q))
    for m in negatives:
        neg.update(grams(m))
    p, n = max(len(qs), 1), max(len(negatives), 1)
    return {g: round(math.log((pos[g] + ALPHA) / (p + 2 * ALPHA)) - math.log((neg[g] + ALPHA) / (n + 2 * ALPHA)), 4)
            for g in set(pos) | set(neg)}


def score(weights: Callable[[list[str]], dict[str, float]], compact: str) -> float:
    """0-1: how much the message (compact form) reads like the bank's questions; 0.5 when it has no gram."""
    gs = sorted(grams(compact))
    if not gs:
        return 0.5
    w = weights(gs)
    z = sum(w.get(g, 0.0) for g in gs) / math.sqrt(len(gs))
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))
