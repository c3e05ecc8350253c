"""Scoring: which phrase answers a message, and how sure search is.

Ranking is BM25F over phrase documents (``field_weights``): a feature's frequency in each
field (questions, title, reply, tags) is length-normalized per field, weighted, summed and
saturated, then multiplied by the feature's idf. Every (feature, phrase) contribution is
precomputed when the index is built. The rank score of a candidate mixes its BM25F score (relative to
the first's), the similarity of its closest question (``FUZZY_WEIGHT``) and its naive-Bayes posterior
among the candidates (``NB_WEIGHT``; kb.search.likelihood: how much of the message its questions
explain, the grams it lacks included).

Named signals of the best candidates (``Signals``):
  evidence   the BM25F score in units of one good word of this bank (``Index.unit``), so a bank
             of 60 or of 6,000 phrases gives comparable numbers; message words the bank never
             uses add nothing and take nothing away, so greetings, order details and chatter
             do not lower it;
  fuzzy      rapidfuzz similarity of the message to the phrase's closest question;
  cohesion   how alike the phrase's own questions are (``cohesions``): a phrase whose questions
             each name another product (quality_issue) is not held to the near-identical wording
             a phrase of near-identical questions (包邮吗 / 包不包邮) gets;
  margin     how far the runner-up is behind: 1 - second / first (rank scores);
  scope      how much the message reads like the bank's questions rather than out-of-scope buyer
             chat (kb.search.scope: naive Bayes, the index's questions against kb/data/oos_messages.txt).

The outcome (``decide``): a logistic model over the signals (weights and thresholds are data,
kb/data/confidence.json, chosen by scripts/calibrate.py on pooled data: cross-validation over
the bank's questions + dev.yaml + real_dev.tsv) gives the probability that the first candidate
is a right answer; ``confident`` at or above its threshold unless the runner-up ties;
``ambiguous`` when the runner-up is close and the evidence is not thin; else ``none``.

Readings (``read_message``, ``best_reading``): a message of several clauses (bubbles joined, a
greeting or chatter in front, two questions) is scored whole and clause by clause. A clause that
alone is a confident answer for the whole message's first candidate may answer for it (chatter
no longer hides a question); a clause confident about another phrase is a second answer (``also``).
"""

from __future__ import annotations

import heapq
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import chain

from rapidfuzz import fuzz, process

from .index import FIELDS, Index, Result, idf_of
from .likelihood import posteriors
from .normalize import clean_message, normalize
from .scope import score as scope_score

# BM25F parameters: field weights and length normalization, k1 saturation. K1, the feature shares and
# FUZZY_WEIGHT were chosen by scripts/tune_ranking.py (best mean top-1 of cross-validation, dev, real_dev).
FIELD_WEIGHT = {"questions": 1.0, "title": 2.0, "reply": 0.4, "tags": 0.5}
FIELD_B = {"questions": 0.75, "title": 0.3, "reply": 0.75, "tags": 0.3}
K1 = 2.0
BIGRAM_SHARE = 0.7  # a character bigram: a share of a word of the same rarity
UNIGRAM_SHARE = 0.5  # a single character: a share of a word of the same rarity
FUZZY_WEIGHT = 0.45  # share of the final rank score given to the closest question's similarity
NB_WEIGHT = 0.3  # share of the rank score given to the naive-Bayes posterior (kb.search.likelihood)

CLAUSE_MIN = 3  # characters a clause needs to be searched on its own (在吗 is not a question; 包邮吗 is)
CLAUSE_TOP = 1  # a clause may answer a message only with a phrase the whole message ranks this high
# (1: a clause only confirms the whole message's first candidate; chosen by scripts/calibrate.py's objective
# over 0 (no clause readings), 1 and 2: mean top-1 0.770 / 0.774 / 0.772)
MAX_CLAUSES = 6
TIE = 0.03  # a runner-up this close is a tie: never pick one of the two silently
AMBIGUOUS_MAX = 4  # candidates shown for an ambiguous answer
CANDIDATES = 12  # phrases scored in full (fuzzy similarity) per query
MAX_QUERY_CHARS = 2000
POSTINGS_BUDGET = 1500  # postings read per query (rarest features first); common ones only add to those read
RARE_DF = 50  # a feature in at most this many phrases is always read in full
_CLAUSE_SPLIT = re.compile(r"[\s,，;；。!！?？]+|(?:还有|另外|顺便问下|顺便问一下|顺便|然后|以及|再问一下|還有|另外)")


def field_weights(docs: list[dict[str, list[list[str]]]]) -> tuple[dict[str, list], dict[str, float], float]:
    """BM25F contributions: postings {feature: [(phrase, contribution), ...]}, idf, and the unit
    of evidence: what one good word of this bank contributes (the 75th percentile of word
    contributions), so that evidence reads alike in banks of any size.

    A feature's pseudo-frequency in a phrase is the sum over fields of weight x (units of the
    field that contain it) / (1 - b + b x field length / average field length)."""
    n = len(docs)
    lengths = [{f: sum(len(u) for u in d.get(f, [])) for f in FIELDS} for d in docs]
    avg = {f: (sum(ln[f] for ln in lengths) / n if n else 0.0) or 1.0 for f in FIELDS}
    tfs: list[dict[str, float]] = []
    for d, ln in zip(docs, lengths, strict=True):
        tf: dict[str, float] = {}
        for f in FIELDS:
            units = d.get(f)
            if not units:
                continue
            b = FIELD_B[f]
            step = FIELD_WEIGHT[f] / (1 - b + b * ln[f] / avg[f])
            for t, c in Counter(chain.from_iterable(units)).items():  # counted in C, weighted once per feature
                tf[t] = tf.get(t, 0.0) + c * step
        tfs.append(tf)
    df = Counter(chain.from_iterable(tfs))
    idf = {t: w for t, c in df.items() if (w := idf_of(c, n) * share(t)) > 0}  # a share of 0: no feature
    postings: dict[str, list] = {t: [] for t in idf}
    k1 = K1
    scale = {t: w * (k1 + 1) for t, w in idf.items()}
    for pi, tf in enumerate(tfs):
        for t, x in tf.items():
            a = scale.get(t)
            if a is not None:
                postings[t].append((pi, round(a * x / (k1 + x), 5)))
    words = sorted(c for t, ps in postings.items() if t[0] != "#" for _, c in ps)
    unit = words[int(len(words) * 0.75)] if words else 1.0
    return postings, idf, unit


def cohesions(questions: list[list[str]]) -> list[float]:
    """Per phrase, how alike its questions are: the median over its questions of the similarity
    (rapidfuzz ratio, 0-1) to the closest other question of the same phrase. A phrase with fewer
    than two questions gets the bank's median."""
    out: list[float | None] = []
    for qs in questions:
        if len(qs) < 2:
            out.append(None)
            continue
        best = []
        for i, q in enumerate(qs):
            others = qs[:i] + qs[i + 1:]
            best.append(process.extractOne(q, others, scorer=fuzz.ratio)[1] / 100.0)
        best.sort()
        out.append(round(best[len(best) // 2], 4))
    known = sorted(c for c in out if c is not None)
    fill = known[len(known) // 2] if known else 0.5
    return [fill if c is None else c for c in out]


def share(feature: str) -> float:
    """How much of a word's weight a feature carries: words 1, character bigrams and characters less."""
    if feature[0] != "#":
        return 1.0
    return BIGRAM_SHARE if len(feature) == 3 else UNIGRAM_SHARE


@dataclass
class Signals:
    """The named signals of one candidate phrase for one message."""

    phrase: int
    bm25: float  # BM25F score
    evidence: float  # bm25 in units of one good word of this bank
    fuzzy: float  # similarity of the message to the phrase's closest question
    cohesion: float  # how alike the phrase's own questions are (cohesions)
    question: str
    rank_score: float = 0.0
    margin: float = 1.0  # 1 - runner-up's rank score / this one's (set for the first candidate)
    scope: float = 0.5  # how much the message reads like the bank's questions (kb.search.scope)

    def vector(self) -> list[float]:
        """The inputs of the confidence model (kb/data/confidence.json), in its order."""
        return [math.log1p(self.evidence), self.fuzzy, self.margin, self.cohesion, self.scope]


@lru_cache(maxsize=1)
def confidence_model() -> dict:
    """Weights and thresholds of the confidence model: data written by scripts/calibrate.py."""
    text = resources.files("kb").joinpath("data", "confidence.json").read_text(encoding="utf-8")
    return json.loads(text)


def probability(sig: Signals, model: dict | None = None) -> float:
    """How likely the first candidate is a right, confident answer (logistic over the signals)."""
    m = model or confidence_model()
    z = m["bias"] + sum(w * x for w, x in zip(m["weights"], sig.vector(), strict=True))
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


def _scored(index: Index, feats: list[str], qstr: str) -> list[Signals]:
    """The best candidates for a message's features, by rank score."""
    fset = list(dict.fromkeys(feats))
    rows = {t: r for t in fset if (r := index.lookup(t)) is not None}  # feature -> (idf, postings)
    if not rows:
        return []
    known = sorted(rows, key=lambda t: len(rows[t][1]))
    acc: dict[int, float] = {}
    read = 0
    common = []
    for t in known:
        ps = rows[t][1]
        if read > POSTINGS_BUDGET and len(ps) > RARE_DF:
            common.append(t)  # a very common feature once the budget is spent: scored below
            continue
        read += len(ps)
        for pi, c in ps:
            acc[pi] = acc.get(pi, 0.0) + c
    if common:  # common features only add to the best phrases found by the rarer ones
        short = heapq.nlargest(CANDIDATES * 4, acc, key=acc.__getitem__)
        for t in common:
            contrib = _as_dict(index, t)
            for pi in short:
                c = contrib.get(pi)
                if c is not None:
                    acc[pi] += c
    cands = heapq.nlargest(CANDIDATES, acc, key=acc.__getitem__)
    top = acc[cands[0]]
    in_scope = scope_score(index.scope_weights, qstr)
    explained = posteriors([index.likelihood_table(pi) for pi in cands], qstr) if NB_WEIGHT else [0.0] * len(cands)
    out = []
    for pi, post in zip(cands, explained, strict=True):
        qs = index.questions[pi]
        hit = process.extractOne(qstr, qs, scorer=fuzz.ratio) if qs and qstr else None
        best, best_q = (hit[1] / 100.0, hit[0]) if hit else (0.0, "")
        lexical = (1 - FUZZY_WEIGHT) * acc[pi] / top + FUZZY_WEIGHT * best
        rank = (1 - NB_WEIGHT) * lexical + NB_WEIGHT * post
        out.append(Signals(pi, acc[pi], acc[pi] / index.unit, best, index.cohesion[pi],
                           best_q, rank, scope=in_scope))
    out.sort(key=lambda s: (-s.rank_score, s.phrase))
    if len(out) > 1:
        out[0].margin = 1 - out[1].rank_score / max(out[0].rank_score, 1e-9)
    return out


def _as_dict(index: Index, t: str) -> dict[int, float]:
    """A common feature's postings as {phrase: contribution}, kept on the index for the next queries."""
    d = index._common.get(t)
    if d is None:
        if len(index._common) > 2000:
            index._common.clear()
        d = index._common[t] = dict(index.lookup(t)[1])
    return d


def decide(sigs: list[Signals], model: dict | None = None) -> str:
    """confident / ambiguous / none from the named signals of the ranked candidates:
    confident when the message is one of the first phrase's own questions (after normalization: 在吗,
    亲在吗) or the model's probability reaches its threshold, and the runner-up is not a tie;
    otherwise ambiguous when the runner-up is close and the evidence is not thin (show the
    candidates); else none."""
    if not sigs:
        return "none"
    m = model or confidence_model()
    top = sigs[0]
    if top.margin >= TIE and (top.fuzzy >= 1.0 or probability(top, m) >= m["confident"]):
        return "confident"  # (fuzzy 1.0: the message is, after normalization, one of this phrase's questions)
    if len(sigs) > 1 and top.margin < m["margin"] and top.evidence >= m["evidence"]:
        return "ambiguous"
    return "none"


def clauses(query: str) -> list[str]:
    """The clauses of a message (bubbles joined, two questions, a greeting in front): the parts
    between punctuation and joining words (还有, 另外, 顺便 …) of at least CLAUSE_MIN characters;
    none when the message has only one part."""
    parts = [p.strip() for p in _CLAUSE_SPLIT.split(query[:MAX_QUERY_CHARS])]
    parts = [p for p in parts if p]
    if len(parts) < 2:
        return []
    return [p for p in parts if len(p) >= CLAUSE_MIN][:MAX_CLAUSES]


def best_reading(readings: list[list[Signals]], model: dict | None = None) -> int:
    """Which reading answers a message: the whole message (0), or one of its clauses when that
    clause alone is confident, has the evidence of a question (not chatter), names a phrase the
    whole message also ranks among its first CLAUSE_TOP, and is more probably right than the
    whole. So chatter around a question (好的谢谢，那什么时候发) does not hide the answer, and a
    clause never picks one the whole message does not support."""
    m = model or confidence_model()
    whole = readings[0] if readings else []
    if len(readings) < 2 or not whole:
        return 0
    best, best_p = 0, probability(whole[0], m) if decide(whole, m) == "confident" else -1.0
    near = {s.phrase for s in whole[:CLAUSE_TOP]}
    for i, sigs in enumerate(readings[1:], 1):
        if (sigs and sigs[0].phrase in near and sigs[0].evidence >= m["evidence"]
                and decide(sigs, m) == "confident" and (p := probability(sigs[0], m)) > best_p):
            best, best_p = i, p
    return best


def read_message(index: Index, query: str, norm: str | None = None) -> tuple[list[str], list[list[Signals]]]:
    """The clauses of a message and the scored candidates of each reading: [whole, clause 1, …]
    (``norm``: the whole message already normalized)."""
    parts = clauses(query)
    whole = norm if norm is not None else normalize(clean_message(query[:MAX_QUERY_CHARS]))
    norms = [whole, *(normalize(clean_message(t)) for t in parts)]
    return parts, [_scored(index, *index.tokenizer.analyze(n)) for n in norms]


def search(index: Index, query: str, k: int = 3) -> Result:
    norm = normalize(clean_message(query[:MAX_QUERY_CHARS]))
    compact = norm.replace(" ", "")
    if compact in index.shortcuts:  # an agent typed a Qianniu code
        return Result(query, [index.match(index.shortcuts[compact], 1.0)], "confident")
    parts, readings = read_message(index, query, norm)
    sigs = readings[best_reading(readings)]
    outcome = decide(sigs)
    close = min(AMBIGUOUS_MAX, _close(sigs)) if outcome == "ambiguous" else 0
    matches = [index.match(s.phrase, s.rank_score, s.question, evidence=s.evidence) for s in sigs[:max(k, close)]]
    result = Result(query, matches, outcome, close=close)
    if outcome != "none":
        result.also = _second_question(index, parts, readings[1:], sigs[0].phrase)
    return result


def _close(sigs: list[Signals]) -> int:
    top = max(sigs[0].rank_score, 1e-9)
    return sum(1 for s in sigs if 1 - s.rank_score / top < confidence_model()["margin"])


def _second_question(index: Index, parts: list[str], readings: list[list[Signals]], first: int) -> list:
    """A message that asks two things: the confident answer of each clause that differs from
    the answer to the whole message."""
    out, seen = [], {first}
    for part, sigs in zip(parts, readings, strict=True):
        if (sigs and decide(sigs) == "confident" and sigs[0].phrase not in seen
                and sigs[0].evidence >= confidence_model()["evidence"]):  # a second question, not chatter
            seen.add(sigs[0].phrase)
            out.append(index.match(sigs[0].phrase, sigs[0].rank_score, sigs[0].question, clause=part,
                                   evidence=sigs[0].evidence))
    return out
