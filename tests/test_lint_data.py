"""The rule pack as data (kb/data/rules/default.yaml), checked like a word list: no duplicate alternatives,
no duplicate or contradictory examples, every fragment used, enough examples per family."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from kb.bank.yamlio import load_document
from kb.lint.config import COMMON_KEYS, _need_pattern, default_defs
from kb.lint.hygiene import HYGIENE

PACK = load_document(resources.files("kb").joinpath("data", "rules", "default.yaml").read_bytes())[0]
FAMILIES = ["promise.ship_date", "promise.outcome", "promise.compensation", "price.unauthorized", "offplatform",
            "review.incentive", "adlaw.absolute", "service.rude"]


def top_level_alternatives(pattern: str) -> list[str]:
    """The | alternatives of a pattern outside any group or class."""
    out, depth, cls, cur, i = [], 0, False, "", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            cur += pattern[i:i + 2]
            i += 2
            continue
        if cls:
            cls = ch != "]"
        elif ch == "[":
            cls = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            out.append(cur)
            cur = ""
            i += 1
            continue
        cur += ch
        i += 1
    return [*out, cur]


def patterns():
    for name, value in PACK["defs"].items():
        yield f"defs.{name}", value
    for r in PACK["rules"]:
        for key in ("pattern", "anchor", "negation", "hedge", "cancel", "unless_before", "negation_after", "refusal"):
            if isinstance(r.get(key), str):
                yield f"{r['id']}.{key}", r[key]


@pytest.mark.parametrize("where,pattern", list(patterns()), ids=lambda x: x if "." in str(x)[:40] else "")
def test_no_duplicate_alternatives(where, pattern):
    alts = top_level_alternatives(re.sub(r"\s+", "", pattern))
    dups = sorted({a for a in alts if alts.count(a) > 1})
    assert dups == [], f"{where} lists {dups} twice"


def test_every_def_is_used_and_defined():
    text = "\n".join(v for _, v in patterns() if True) + "\n" + str(PACK["rules"])
    for name in PACK["defs"]:
        assert f"%{{{name}}}" in text, f"defs.{name} is never used"
    assert set(default_defs()) == set(PACK["defs"])
    with pytest.raises(Exception, match="not defined"):
        _need_pattern("%{nope}", "test", default_defs())


@pytest.mark.parametrize("rule", PACK["rules"], ids=lambda r: r["id"])
def test_examples_are_distinct_and_not_contradictory(rule):
    fail, passed = rule["examples"].get("fail", []), rule["examples"].get("pass", [])
    assert fail and passed, f"{rule['id']} needs fail and pass examples"
    assert len(set(fail)) == len(fail) and len(set(passed)) == len(passed)
    assert not set(fail) & set(passed)
    assert rule["id"] not in HYGIENE and set(rule) <= COMMON_KEYS | {"anchor", "with", "scope", "pattern", "terms",
                                                                    "near", "window", "model",
                                                                    "threshold"}


def test_each_family_has_own_examples():
    by_family: dict[str, int] = {}
    for r in PACK["rules"]:
        fam = next((f for f in FAMILIES if r["id"] == f or r["id"].startswith(f + ".")), None)
        fam = fam or ("service.rude" if r["id"].startswith("service.") else None)
        if fam:
            by_family[fam] = by_family.get(fam, 0) + len(r["examples"]["fail"]) + len(r["examples"]["pass"])
    assert {f: n for f, n in by_family.items() if n < 20} == {}
    assert set(by_family) == set(FAMILIES)


@pytest.mark.parametrize("name", ["tune.yaml", "tune2.yaml", "tune3.yaml", "tune4.yaml", "tune5.yaml",
                                  "tune6.yaml", "tune7.yaml", "holdout.yaml", "holdout2.yaml"])
def test_no_example_is_copied_from_the_corpus(name):
    from pathlib import Path

    corpus = Path(__file__).parent / "data" / "lint_corpus" / name
    if not corpus.exists():
        pytest.skip("no corpus")
    texts = {c["text"] for c in load_document(corpus.read_bytes())[0]["cases"]}
    examples = {t for r in PACK["rules"] for t in r["examples"]["fail"] + r["examples"]["pass"]}
    copied = len(examples & texts)  # a count: the set-aside holdout cases are never printed
    assert copied == 0, f"{copied} rule examples are cases of {name}"
