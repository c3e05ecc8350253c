"""The search word lists in kb/data/ (codespell-style): each file is read, sorted where its header
says so, without duplicates, and no word is mapped two ways."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from kb.search.normalize import DATA_FILES, _data_lines

DATA = resources.files("kb").joinpath("data")


def test_every_word_list_in_kb_data_is_read():
    on_disk = {p.name for p in DATA.iterdir() if p.name.endswith((".txt", ".tsv"))}
    assert on_disk == set(DATA_FILES)


@pytest.mark.parametrize("name", ["lexicon.txt", "typos.tsv", "synonyms.tsv"])
def test_sorted_and_unique(name):
    lines = _data_lines(name)
    assert lines == sorted(lines), f"{name} is not sorted"
    keys = [ln.split("\t")[0] for ln in lines]
    assert len(keys) == len(set(keys)), f"{name} has a duplicate"


@pytest.mark.parametrize("name", DATA_FILES)
def test_no_blank_or_padded_entries(name):
    for ln in _data_lines(name):
        assert ln == ln.strip() and all(part == part.strip() and part for part in ln.split("\t")), (name, ln)


def test_no_variant_mapped_twice_and_no_chain():
    seen: dict[str, str] = {}
    canon = set()
    for ln in _data_lines("synonyms.tsv"):
        head, variants = ln.split("\t")
        canon.add(head)
        for v in variants.split():
            assert v not in seen, f"{v} is a variant of {seen[v]} and of {head}"
            seen[v] = head
    assert not canon & set(seen), "a canonical word is also someone's variant"
    typos = dict(ln.split("\t") for ln in _data_lines("typos.tsv"))
    assert not set(typos) & set(typos.values()), "a typo fix maps to another typo"


def test_filler_has_no_duplicate():
    words = _data_lines("filler.txt")
    assert len(words) == len(set(words))


@pytest.mark.parametrize("name", ["promo_names.tsv", "boilerplate.txt"])
def test_patterns_compile(name):
    for ln in _data_lines(name):
        re.compile(ln.split("\t")[0])


def test_out_of_scope_corpus_is_out_of_scope_data():
    """tests/data/oos_corpus: out-of-scope buyer messages written independently of the bank, in two corpora of
    different kinds (each a set-aside fifth first, then the rest): every case expects no phrase, no message twice
    (messages that clean to nothing, such as a lone emoji, aside), none is one of the bank's questions."""
    from pathlib import Path

    from kb.bank.load import load_bank
    from kb.search.evaluate import read_cases
    from kb.search.normalize import normalize
    from tests.conftest import BANK

    folder = Path(__file__).parent / "data" / "oos_corpus"
    parts = {n: read_cases(folder / n) for n in ("holdout.yaml", "train.yaml", "holdout2.yaml", "train2.yaml")}
    assert [len(v) for v in parts.values()] == [100, 400, 100, 400]
    texts = [c.q for cases in parts.values() for c in cases]
    assert all(c.expect is None for cases in parts.values() for c in cases)
    kept = [normalize(t) for t in texts if normalize(t)]
    assert len(set(kept)) == len(kept)
    bank, _ = load_bank(BANK)
    questions = {normalize(q) for _, _, p in bank.phrases() for q in p.questions}
    assert not questions & {normalize(t) for t in texts}


def test_messy_corpus_labels_every_phrase_and_copies_no_question():
    """tests/data/messy_corpus: chat-style in-scope messages written without the bank's questions (a set-aside
    part of 2 per phrase first, then 6 per phrase): every label names phrases of the bank, every phrase is
    covered as written, no message twice, none of 8 or more characters is one of the bank's questions (short
    ones such as 在吗 or 包邮吗 are what every buyer types: 7 of the tuning part's coincide with a question)."""
    from collections import Counter
    from pathlib import Path

    from kb.bank.load import load_bank
    from kb.search.evaluate import read_cases
    from kb.search.normalize import normalize
    from tests.conftest import BANK

    bank, _ = load_bank(BANK)
    ids = [p.id for _, _, p in bank.phrases()]
    folder = Path(__file__).parent / "data" / "messy_corpus"
    for name, per in (("holdout.yaml", 2), ("tune.yaml", 6)):
        cases = read_cases(folder / name)
        assert all(c.expect and set(c.expect) <= set(ids) for c in cases), name
        first = Counter(c.expect[0] for c in cases)
        assert set(first) == set(ids) and set(first.values()) == {per}, name
    texts = [normalize(c.q) for n in ("holdout.yaml", "tune.yaml") for c in read_cases(folder / n)]
    assert len(set(texts)) == len(texts)
    questions = {normalize(q) for _, _, p in bank.phrases() for q in p.questions}
    assert not questions & {t for t in texts if len(t) >= 8}
    assert len(questions & set(texts)) <= 7
