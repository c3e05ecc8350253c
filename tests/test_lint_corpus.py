"""How well the rules generalize: error recall on risky replies and false errors on safe near-misses.

tests/data/lint_corpus/tune.yaml is what the rules were tuned on; tune2.yaml (lint round 2), tune3.yaml (round 3),
tune4.yaml (round 4), tune5.yaml (round 6), tune6.yaml (round 7) and tune7.yaml (round 8) are further tuning sets of everyday safe near-misses and risky replies,
each written before reading the rule pack; holdout.yaml (a fifth of the first corpus, written first and set aside)
was measured once per tuning round until round 4, then retired into tuning; holdout2.yaml (another author, before
round 5) is the set-aside set since, measured once per round: its thresholds are the figures reached then, not
goals. ../shared/eval/lint_cases.yaml is the public check set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.bank.yamlio import load_document
from kb.lint import lint_text, load_rules
from tests.conftest import SHARED

CORPUS = Path(__file__).parent / "data" / "lint_corpus"
RULES = load_rules()


def has_error(text: str) -> bool:
    return any(f.severity == "error" for f in lint_text(text, RULES))


def figures(risky: list[str], safe: list[str]) -> tuple[float, float, list[str], list[str]]:
    missed = [t for t in risky if not has_error(t)]
    false = [t for t in safe if has_error(t)]
    return 1 - len(missed) / len(risky), len(false) / len(safe), missed, false


def corpus(name: str) -> tuple[list[str], list[str]]:
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"{path} is not there")
    cases = load_document(path.read_bytes())[0]["cases"]
    return [c["text"] for c in cases if c["risky"]], [c["text"] for c in cases if not c["risky"]]


# file, least recall, most false errors. The goal is recall >= 0.95 with false errors <= 0.03.
# holdout.yaml (the first corpus's set-aside fifth) was measured once per tuning round, after it: round 1 (rules at
# d1920d6) 93/98 risky replies got an error, 6/73 safe ones did; round 2 (b8f332a) 94/98 and 5/73; round 3 (95c1ee7)
# and round 4 (d63cf06) 95/98 and 4/73. After round 4 it was retired: its failures were read and fixed in round 5,
# so it is a tuning set now. holdout2.yaml, written by another author before round 5 without seeing the rules, is
# the set-aside set from then on, measured once per round: round 5 (rules at the commit "lint round 5") 107/118 and
# 2/120 (two of its risky texts turned out to be holdout.yaml cases already tuned on: removed before counting);
# round 6 (tuned on tune5.yaml) the same; rounds 7 and 8 (tuned on tune6.yaml, tune7.yaml) 109/118 and 2/120.
# holdout3.yaml, written by a third author before round 7 without seeing the rules, is a second set-aside set from
# round 7 on (one of its risky texts was a holdout.yaml case already tuned on: removed before counting): round 7
# 106/119 and 2/120; round 8 (a promise/price recall round) 107/119 and 3/120.
# Round 9 added the learned second opinion (rule risk.model, kb/lint/learned.py; its threshold chosen by leave-one-
# file-out over the tuning files, never on these): reading each reply in chunks, holdout2 116/118 and 2/120, holdout3
# 116/119 and 3/120; then reading each sentence of a chunk too (a risk buried in warm text, which a test of
# tests/test_lint_learned.py showed diluted; chosen on that test and leave-one-file-out), measured a second time:
# holdout2 117/118 and 2/120, holdout3 117/119 and 3/120; then judging only units of 8 or more distinct Chinese
# characters (an export test's odd mixed-language line was flagged; checked on leave-one-file-out), measured a third
# time: holdout2 116/118 and 2/120, holdout3 117/119 and 3/120. Asserted as measured.
SET_ASIDE = {"holdout2.yaml": (116 / 118, 2 / 120), "holdout3.yaml": (117 / 119, 3 / 120)}
GOALS = [("tune.yaml", 0.95, 0.03), ("tune2.yaml", 0.95, 0.03), ("tune3.yaml", 0.95, 0.03), ("tune4.yaml", 0.95, 0.03),
         ("tune5.yaml", 0.95, 0.03), ("tune6.yaml", 0.95, 0.03), ("tune7.yaml", 0.95, 0.03),
         ("holdout.yaml", 0.95, 0.03),
         *((name, r - 1e-9, f + 1e-9) for name, (r, f) in SET_ASIDE.items())]


@pytest.mark.parametrize("name,recall_min,false_max", GOALS, ids=[g[0] for g in GOALS])
def test_corpus(name, recall_min, false_max):
    recall, false, missed, flagged = figures(*corpus(name))
    if name in SET_ASIDE:  # the set-aside cases are never printed: counts only
        missed, flagged = [f"{len(missed)} cases"], [f"{len(flagged)} cases"]
    assert recall >= recall_min, f"{name}: recall {recall:.3f}; missed: {missed}"
    assert false <= false_max, f"{name}: false errors {false:.3f}; flagged: {flagged}"


# Each tuning set after the first is a new set: written before its round's rules were read, none of its texts in an
# earlier set. (file, earlier files, least safe, least risky, least safe per family, least risky per family, families
# with more risky ones). The first figures on each new set are the honest estimate of the previous round's rules on
# unseen text: tune3 0.809 / 0.055 (round 2's rules), tune4 0.853 / 0.040 (round 3's), tune5 0.858 (182/212) /
# 0.019 (4/208) (round 5's; tune5 is round 6's recall round), tune6 0.858 (182/212) / 0.029 (6/208) (round 6's;
# tune6 is round 7's recall round), tune7 0.877 (193/220) / 0.016 (2/128) (round 7's; tune7 is round 8's recall
# round on promises and price).
NEW_SETS = [
    ("tune2.yaml", ("tune.yaml",), 200, 100, 0, 0, {}),
    ("tune3.yaml", ("tune.yaml", "tune2.yaml"), 260, 130, 25, 12, {}),
    ("tune4.yaml", ("tune.yaml", "tune2.yaml", "tune3.yaml"), 260, 130, 25, 12, {}),
    ("tune5.yaml", ("tune.yaml", "tune2.yaml", "tune3.yaml", "tune4.yaml", "holdout.yaml"), 200, 190, 20, 20,
     {"review.incentive": 35, "service.rude": 35}),
    ("tune6.yaml", ("tune.yaml", "tune2.yaml", "tune3.yaml", "tune4.yaml", "tune5.yaml", "holdout.yaml"), 200, 190, 20,
     20, {"review.incentive": 35, "service.rude": 35}),
    ("tune7.yaml", ("tune.yaml", "tune2.yaml", "tune3.yaml", "tune4.yaml", "tune5.yaml", "tune6.yaml", "holdout.yaml"),
     120, 200, 15, 20, {"promise.ship_date": 35, "promise.outcome": 35, "promise.compensation": 35,
                        "price.unauthorized": 35}),
]


@pytest.mark.parametrize("name,earlier,safe_min,risky_min,fam_safe,fam_risky,more", NEW_SETS, ids=[n[0] for n in NEW_SETS])
def test_tuning_set_is_a_new_set(name, earlier, safe_min, risky_min, fam_safe, fam_risky, more):
    risky, safe = corpus(name)
    before = set()
    for other in earlier:
        before |= set(sum(corpus(other), []))
    cases = load_document((CORPUS / name).read_bytes())[0]["cases"]
    families = {c["family"] for c in cases}
    assert len(safe) >= safe_min and len(risky) >= risky_min
    assert len(families) == 8 and all(sum(c["family"] == f for c in cases) >= 20 for f in families)
    for f in families:
        assert sum(c["family"] == f and not c["risky"] for c in cases) >= fam_safe, f
        assert sum(c["family"] == f and c["risky"] for c in cases) >= more.get(f, fam_risky), f
    assert before & set(risky + safe) == set()


@pytest.mark.skipif(not (SHARED / "eval" / "lint_cases.yaml").exists(), reason="shared/eval not beside the repo")
def test_public_lint_cases():
    data = load_document((SHARED / "eval" / "lint_cases.yaml").read_bytes())[0]
    recall, false, missed, flagged = figures([c["text"] for c in data["flag"]], list(data["pass"]))
    assert recall >= 0.95 and false <= 0.03, (missed, flagged)
