"""A learned second opinion for lint: a logistic model over the character 1-3-grams of a reply,
trained on the lint corpus (scripts/train_risk_model.py) and kept as data (kb/data/rules/*.json).

The rules name families by their words; a new author always finds a wording no rule names yet
(each fresh corpus set scored 0.81-0.88 recall on the rules of its day). The model reads the
whole reply instead: on a corpus file left out of its training it flags 0.63 of the risky replies
and 0.008 of the safe ones (threshold 0.80 chosen by that figure, see the script), and what it
flags and the rules miss is the wording no list holds. It never replaces a rule: it is one rule
(`kind: model`) of the pack, with examples, that a team can disable or lower like any other.

Scoring is linear: a reply is read in chunks of whole sentences (CHUNK characters or fewer, as the
corpus replies it learned from) and, where a chunk holds several sentences, sentence by sentence
too (``units``: a risk buried among warm sentences is not diluted by them); each unit's distinct
n-grams are looked up once, and only the first MAX_CHARS characters of a reply are read by the
model (a quick reply is a few hundred; the rules read everything).
"""

from __future__ import annotations

import bisect
import json
import math
from functools import lru_cache
from importlib import resources

N = (1, 2, 3)
CHUNK = 200  # characters of whole sentences scored together (a long reply is read in such chunks)
MAX_CHARS = 20_000  # the model reads this much of a reply (a Qianniu quick reply holds 500)
MIN_DISTINCT = 8  # a unit of fewer distinct Chinese characters is not judged: short replies (给您发顺丰),
# repetitions (亲亲亲…) and mostly non-Chinese text give the model too few of the n-grams it learned; the rules
# still read them


def ngrams(norm: str) -> set[str]:
    """The distinct character 1-, 2- and 3-grams of a normalized text (kb.lint.engine.normalize_for_lint)."""
    return {norm[i:i + n] for n in N for i in range(len(norm) - n + 1)}


@lru_cache(maxsize=4)
def load(name: str) -> dict:
    """A model file of kb's rule pack: {"bias", "threshold", "weights": {ngram: weight}, ...}."""
    text = resources.files("kb").joinpath("data", "rules", name).read_text(encoding="utf-8")
    return json.loads(text)


def probability(model: dict, norm: str) -> float:
    """How likely the text is a risky reply, by the model (0-1)."""
    grams = ngrams(norm)
    if not grams:
        return 0.0
    w = model["weights"]
    z = model["bias"] + sum(w.get(g, 0.0) for g in grams) / math.sqrt(len(grams))
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


def chunks(norm: str, sentence_marks: list[int]) -> list[tuple[int, int]]:
    """[start, end) spans of whole sentences, each CHUNK characters or fewer where a sentence allows,
    covering the first MAX_CHARS characters of norm."""
    limit = min(len(norm), MAX_CHARS)
    ends = [m + 1 for m in marks_within(sentence_marks, 0, limit)] + [limit]
    out: list[tuple[int, int]] = []
    start = prev = 0
    for end in ends:
        if end <= prev:
            continue
        if end - start > CHUNK and prev > start:
            out.append((start, prev))
            start = prev
        prev = end
    if prev > start:
        out.append((start, prev))
    return [(s, e) for s, e in out if _enough(norm[s:e])]


def marks_within(marks: list[int], lo: int, hi: int) -> list[int]:
    """The sentence marks m with lo <= m < hi (marks in order)."""
    return marks[bisect.bisect_left(marks, lo):bisect.bisect_left(marks, hi)]


def _enough(unit: str) -> bool:
    return sum(1 for c in set(unit) if "\u4e00" <= c <= "\u9fff") >= MIN_DISTINCT


def units(norm: str, sentence_marks: list[int]) -> list[tuple[int, int]]:
    """What the model judges: each chunk (chunks) and, in a chunk of several sentences, each sentence
    too, so a risk buried among warm sentences is not diluted by them."""
    out = []
    for s, e in chunks(norm, sentence_marks):
        out.append((s, e))
        inner = sentences(sentence_marks, s, e)
        if len(inner) > 1:
            out.extend((a, b) for a, b in inner if _enough(norm[a:b]))
    return out


def sentences(sentence_marks: list[int], s: int, e: int) -> list[tuple[int, int]]:
    """[start, end) of each sentence within [s, e) (a sentence ends after its mark)."""
    bounds = [s, *(m + 1 for m in marks_within(sentence_marks, s, e - 1)), e]
    return [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def score(model: dict, norm: str, sentence_marks: list[int]) -> tuple[float, tuple[int, int] | None]:
    """The highest probability over the units of a text, and that unit."""
    best, where = 0.0, None
    for s, e in units(norm, sentence_marks):
        p = probability(model, norm[s:e])
        if p > best:
            best, where = p, (s, e)
    return best, where


def sentence_marks(norm: str) -> list[int]:
    """Positions of sentence ends in a normalized text (kb.lint.engine.Text does the same for a rule)."""
    from .engine import Text

    return Text(norm).sentence_marks
