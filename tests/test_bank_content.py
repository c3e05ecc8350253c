"""The bundled phrasebank: covers every scenario of the public intents, and is well formed."""

from __future__ import annotations

import json

import pytest

from kb.bank.load import load_bank
from kb.bank.yamlio import load_document
from kb.cli import cli
from tests.conftest import BANK, SHARED

BOOKS = {"presales", "promo", "shipping", "bargain", "oversell", "aftersales"}


def test_books_present():
    bank, _ = load_bank(BANK)
    assert {bf.book.name for bf in bank.books} == BOOKS
    for bf in bank.books:
        assert bf.book.title and bf.book.description and bf.book.version


@pytest.mark.skipif(not (SHARED / "eval" / "intents.yaml").exists(), reason="shared/eval not beside the repo")
def test_every_intent_is_a_phrase(runner):
    intents = load_document((SHARED / "eval" / "intents.yaml").read_bytes())[0]["intents"]
    r = runner.invoke(cli, ["--bank", str(BANK), "list", "--json"])
    ids = {p["id"] for p in json.loads(r.output)}
    missing = [i for i in intents if i not in ids and not any(x.startswith(i + ".") for x in ids)]
    assert missing == []


def test_every_phrase_has_six_questions_and_a_shortcut():
    bank, _ = load_bank(BANK)
    for _, _, p in bank.phrases():
        assert len(p.questions) >= 6, p.id
        assert p.shortcut, p.id


def test_campaigns_and_flows():
    bank, _ = load_bank(BANK)
    assert {"618", "double11"} <= set(bank.manifest.campaigns)
    for c in bank.manifest.campaigns.values():
        assert "ship_window" in c.vars
    flows = {p.id for _, _, p in bank.phrases() if p.flow}
    assert {"aftersales.general", "aftersales.complaint", "oversell.out_of_stock_after_payment"} <= flows


def test_bank_lints_clean(runner):
    r = runner.invoke(cli, ["--bank", str(BANK), "lint", "--strict"])
    assert r.exit_code == 0, r.output


def test_no_eval_case_copied_into_questions():
    path = SHARED / "eval" / "dev.yaml"
    if not path.exists():
        pytest.skip("shared/eval not beside the repo")
    cases = {c["q"].strip() for c in load_document(path.read_bytes())[0]["cases"]}
    bank, _ = load_bank(BANK)
    copied = [q for _, _, p in bank.phrases() for q in p.questions if q.strip() in cases]
    assert copied == []
