"""The reference a newcomer would build in an afternoon (issue 13), for side-by-side figures.

BM25 (bm25s) over ONE document per phrase: its questions x3, title x2, reply/flow text x1;
jieba words plus character bigrams; after NFKC, Traditional->Simplified and lower case. A
message is answered when the top score reaches a threshold chosen on dev.yaml: the lowest
threshold that rejects >= 80% of its out-of-scope cases.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


def _prep(text: str) -> list[str]:
    import jieba
    import opencc

    global _cc
    try:
        cc = _cc
    except NameError:
        cc = _cc = opencc.OpenCC("t2s")
    t = cc.convert(unicodedata.normalize("NFKC", text).lower())
    words = [w for w in jieba.lcut(t) if w.strip() and any(ch.isalnum() for ch in w)]
    chars = [ch for ch in t if ch.isalnum()]
    return words + [a + b for a, b in zip(chars, chars[1:], strict=False)]


def _plain(text: str) -> str:
    """NFKC, Traditional->Simplified, lower case, letters and digits only."""
    import opencc

    global _cc
    try:
        cc = _cc
    except NameError:
        cc = _cc = opencc.OpenCC("t2s")
    return "".join(ch for ch in cc.convert(unicodedata.normalize("NFKC", text).lower()) if ch.isalnum())


@dataclass
class Baseline:
    ids: list[str]
    model: object
    threshold: float = 0.0

    @classmethod
    def build(cls, bank, skip=frozenset()) -> Baseline:
        import bm25s

        ids, corpus = [], []
        for _, _, p in bank.phrases():
            qs = [q for qi, q in enumerate(p.questions) if (p.id, qi) not in skip]
            toks = []
            for q in qs:
                toks += _prep(q) * 3
            toks += _prep(p.title) * 2
            for st in p.steps():
                toks += _prep(st.text)
            ids.append(p.id)
            corpus.append(toks)
        model = bm25s.BM25()
        model.index(corpus, show_progress=False)
        return cls(ids, model)

    def ranked(self, text: str, k: int = 3) -> list[tuple[str, float]]:
        import numpy as np

        q = [t for t in _prep(text) if t in self.model.vocab_dict]
        if not q:
            return []
        scores = self.model.get_scores(q)
        top = np.argsort(-scores)[:k]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def calibrate(self, cases) -> float:
        """The lowest threshold that rejects >= 80% of the out-of-scope cases."""
        oos = sorted((r[0][1] if (r := self.ranked(c.q, 1)) else 0.0) for c in cases if c.expect is None)
        if not oos:
            return 0.0
        cut = int(len(oos) * 0.8 + 0.999999) - 1  # index of the case that must still be rejected
        self.threshold = oos[min(cut, len(oos) - 1)] + 1e-6
        return self.threshold


@dataclass
class FuzzyScan:
    """rapidfuzz WRatio of the message against every question (jieba words), best one wins."""

    ids: list[str]
    questions: list[str]
    threshold: float = 0.0

    @classmethod
    def build(cls, bank, skip=frozenset()) -> FuzzyScan:
        ids, qs = [], []
        for _, _, p in bank.phrases():
            for qi, q in enumerate(p.questions):
                if (p.id, qi) not in skip:
                    ids.append(p.id)
                    qs.append(_plain(q))
        return cls(ids, qs)

    def ranked(self, text: str, k: int = 3) -> list[tuple[str, float]]:
        from rapidfuzz import fuzz, process

        out: list[tuple[str, float]] = []
        for _, sc, i in process.extract(_plain(text), self.questions, scorer=fuzz.WRatio, limit=k * 8):
            if self.ids[i] not in (x for x, _ in out):
                out.append((self.ids[i], sc))
        return out[:k]

    calibrate = Baseline.calibrate


def as_result(engine, text: str):
    """An engine's answer as a kb search Result (confident when the top score reaches the threshold)."""
    from kb.search.index import Match, Result

    ranked = engine.ranked(text)
    matches = [Match(i, "", None, "", "", s, []) for i, s in ranked]
    return Result(text, matches, "confident" if ranked and ranked[0][1] >= engine.threshold else "none")
