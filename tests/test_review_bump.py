"""kb bump under pressure: concurrent bumps all count, a broken book is refused with file:line and left
untouched, the bundled bank is never edited, quoting and comments survive."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kb.bank.files import BUNDLED
from kb.cli import cli
from kb.review import bank_lock
from tests.conftest import ROOT

HOSTILE = ROOT / "tests" / "fixtures" / "hostile"
EXPECTED = dict(line.split("\t", 1) for line in (HOSTILE / "EXPECTED.tsv").read_text(encoding="utf-8").splitlines()
                if line and not line.startswith("#"))


def kb_process(bank: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-c", "from kb.cli import main; main()", "--bank", str(bank), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=bank)


def test_twenty_concurrent_bumps_all_count(mini_bank):
    procs = [kb_process(mini_bank, "bump", "shipping", "patch", "--changelog", f"第{i}次") for i in range(20)]
    results = [(p.wait(timeout=120), p.stderr.read().decode()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert [code for code, _ in results] == [0] * 20, results
    assert "version: 1.0.20\n" in (mini_bank / "shipping.yaml").read_text(encoding="utf-8")
    log = (mini_bank / "CHANGELOG.md").read_text(encoding="utf-8")
    assert log.count("\n## shipping 1.0.") == 20
    assert {f"- 第{i}次" for i in range(20)} <= set(log.splitlines())
    assert [f"## shipping 1.0.{n}" for n in range(20, 0, -1)] == [
        line.split(" — ")[0] for line in log.splitlines() if line.startswith("## ")]
    assert not [p.name for p in mini_bank.iterdir() if p.name.startswith(".")]  # no temp or lock file left


def test_bank_lock_excludes_a_second_holder(tmp_path):
    order: list[str] = []
    with bank_lock(tmp_path):
        t = threading.Thread(target=lambda: (bank_lock(tmp_path).__enter__(), order.append("second")))
        t.start()
        t.join(0.3)
        order.append("first")
    t.join(10)
    assert order == ["first", "second"]


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_bump_on_a_broken_book_says_where_and_changes_nothing(runner, mini_bank, fixture):
    book = mini_bank / "shipping.yaml"
    book.write_bytes((HOSTILE / fixture).read_bytes())
    before = book.read_bytes()
    r = runner.invoke(cli, ["--bank", str(mini_bank), "bump", "shipping", "patch", "--changelog", "x"])
    assert r.exit_code == 1, r.output
    assert "internal error" not in r.output and "Traceback" not in r.output
    assert EXPECTED[fixture] in r.output
    first = r.output.splitlines()[0]
    assert "shipping.yaml:" in first and first.split("shipping.yaml:")[1].split(":")[0].isdigit(), first
    assert "fix them (kb validate) before bumping" in r.output
    assert book.read_bytes() == before and not (mini_bank / "CHANGELOG.md").exists()


def test_bump_refuses_the_bundled_bank(runner):
    before = sorted((p.name, p.read_bytes()) for p in BUNDLED.iterdir())
    r = runner.invoke(cli, ["--bank", str(BUNDLED), "bump", "shipping", "patch"])
    assert r.exit_code == 2 and "inside the installed kb package" in r.output
    assert sorted((p.name, p.read_bytes()) for p in BUNDLED.iterdir()) == before


def test_bump_keeps_quotes_and_names_unknown_books(runner, mini_bank):
    book = mini_bank / "shipping.yaml"
    book.write_text(book.read_text(encoding="utf-8").replace("version: 1.0.0", 'version: "1.0.0"  # 版本'),
                    encoding="utf-8")
    r = runner.invoke(cli, ["--bank", str(mini_bank), "bump", "shipping", "minor"])
    assert r.exit_code == 0 and 'version: "1.1.0"  # 版本\n' in book.read_text(encoding="utf-8")
    r = runner.invoke(cli, ["--bank", str(mini_bank), "bump", "shiping", "minor"])
    assert r.exit_code == 2 and "did you mean 'shipping'?" in r.output
