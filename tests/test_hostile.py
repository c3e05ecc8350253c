"""Hostile and broken input: clear errors with locations, never a traceback, bounded time."""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.bank.load import load_bank
from kb.bank.yamlio import YamlProblem, load_document
from kb.cli import cli
from kb.errors import KbError
from kb.lint.engine import lint_text, load_rules
from kb.search.cache import load_index
from kb.search.index import OUTCOMES
from kb.search.normalize import normalize
from kb.targets.qianniu import import_file
from tests.conftest import BANK, MINI_BOOK, MINI_MANIFEST

FIXTURES = Path(__file__).parent / "fixtures" / "hostile"
EXPECTED = [ln.split("\t") for ln in (FIXTURES / "EXPECTED.tsv").read_text(encoding="utf-8").splitlines()
            if ln and not ln.startswith("#")]
RULES = load_rules()


@pytest.fixture(scope="module")
def index():
    return load_index(BANK, use_cache=False)


@pytest.mark.parametrize("name, message", EXPECTED, ids=[e[0] for e in EXPECTED])
def test_hostile_fixture(tmp_path, runner, name, message):
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "bank.yaml").write_text(MINI_MANIFEST, encoding="utf-8")
    shutil.copy(FIXTURES / name, bank / name)
    t = time.perf_counter()
    r = runner.invoke(cli, ["--bank", str(bank), "validate"])
    assert time.perf_counter() - t < 10
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    line = next(ln for ln in r.output.splitlines() if name in ln)
    assert message in line
    assert line.split(name + ":")[1].split(":")[0].isdigit()


def test_huge_file_rejected_fast(tmp_path, runner):
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "bank.yaml").write_text(MINI_MANIFEST, encoding="utf-8")
    (bank / "huge.yaml").write_bytes(b"# " + b"x" * (10 * 1024 * 1024) + b"\n")
    t = time.perf_counter()
    r = runner.invoke(cli, ["--bank", str(bank), "validate"])
    assert time.perf_counter() - t < 5
    assert r.exit_code == 1 and "too large" in r.output


def test_bank_with_no_books(tmp_path, runner):
    (tmp_path / "bank.yaml").write_text(MINI_MANIFEST, encoding="utf-8")
    r = runner.invoke(cli, ["--bank", str(tmp_path), "validate"])
    assert r.exit_code == 1 and "no phrasebooks" in r.output


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_loader_only_raises_its_own_error(data):
    try:
        load_document(data)
    except YamlProblem:
        pass


yaml_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                           max_leaves=20)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(yaml_values)
def test_generated_books_give_problems_not_exceptions(tmp_path_factory, value):
    bank = tmp_path_factory.mktemp("gen")
    (bank / "bank.yaml").write_text(MINI_MANIFEST, encoding="utf-8")
    (bank / "book.yaml").write_text(json.dumps({"schema": 1, "name": "book", "version": "1.0.0", "title": "t",
                                                "phrases": [value]}, ensure_ascii=False), encoding="utf-8")
    load_bank(bank)  # must not raise


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_normalize_search_lint_never_crash(index, text):
    normalize(text)
    r = index.search(text)
    assert r.outcome in OUTCOMES
    assert r.confident == (r.outcome == "confident") and (not r.confident or r.matches)
    assert len({m.id for m in r.matches}) == len(r.matches)
    for f in lint_text(text, RULES):
        assert 0 <= f.start <= f.end <= len(text)


@pytest.mark.parametrize("name", [e[0] for e in EXPECTED])
def test_a_bank_with_a_hostile_book_still_answers_and_says_so(tmp_path, runner, name):
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "bank.yaml").write_text(MINI_MANIFEST, encoding="utf-8")
    (bank / "shipping.yaml").write_text(MINI_BOOK, encoding="utf-8")
    shutil.copy(FIXTURES / name, bank / name)
    r = runner.invoke(cli, ["--bank", str(bank), "list", "--json"])
    out = json.loads(r.stdout)
    assert "shipping.when_ship" in [p["id"] for p in out["phrases"]]
    assert any(p["path"].endswith(name) for p in out["bank_problems"])
    assert name in r.stderr and "problem(s)" in r.stderr
    r = runner.invoke(cli, ["--bank", str(bank), "search", "--json", "--no-cache", "什么时候发货"])
    assert any(p["path"].endswith(name) for p in json.loads(r.stdout)["bank_problems"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.text(max_size=15), max_size=5), max_size=6))
def test_csv_import_only_kb_errors(rows):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["快捷短语编码", "快捷短语", "快捷短语分组"])
    w.writerows(rows)
    try:
        import_file(buf.getvalue().encode("utf-8", "surrogatepass"), "x")
    except KbError:
        pass


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)),
                        max_size=30), min_size=1, max_size=8))
def test_jsonl_one_line_per_input(runner, lines):
    data = ("\n".join(lines) + "\n").encode("utf-8")
    r = runner.invoke(cli, ["--bank", str(BANK), "search", "--jsonl"], input=data)
    out = r.output.splitlines()
    assert len(out) == len(lines)
    r = runner.invoke(cli, ["check", "--jsonl"], input=data)
    assert len(r.output.splitlines()) == len(lines)
