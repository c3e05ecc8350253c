"""Trust (issue 16), the bank wing: bounded reading, partial banks, discovery that never serves a
planted bank, full-match ids, invisible characters reported with their position."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kb.bank import files
from kb.bank.files import locate_bank
from kb.bank.load import load_bank
from kb.bank.yamlio import YamlProblem, load_document
from tests.conftest import MINI_BOOK, MINI_MANIFEST

ROOT = Path(__file__).resolve().parent.parent


def messages(root) -> list[str]:
    return [str(p) for p in load_bank(root)[1]]


def load_in_subprocess(root: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    """load_bank in a child with 1 GB of address space and a time limit: a hang or a memory blow-up
    fails the test instead of taking the machine down."""
    code = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        sys.path.insert(0, {str(ROOT)!r})
        from kb.bank.load import load_bank
        bank, problems = load_bank({str(root)!r})
        print("books", sorted(bf.book.name for bf in bank.books))
        for p in problems:
            print(p)
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)


# --- regular files only, bounded work ----------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_book_is_a_problem_not_a_hang(mini_bank):
    os.mkfifo(mini_bank / "pipe.yaml")
    r = load_in_subprocess(mini_bank, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "books ['shipping']" in r.stdout
    assert "pipe.yaml:1:1: a named pipe (FIFO), not a regular file" in r.stdout


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_symlink_to_dev_zero_is_refused_without_reading(mini_bank):
    (mini_bank / "zero.yaml").symlink_to("/dev/zero")
    r = load_in_subprocess(mini_bank, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "zero.yaml:1:1: a character device, not a regular file" in r.stdout
    assert "books ['shipping']" in r.stdout


def test_a_long_scalar_aliased_30000_times_is_refused(mini_bank):
    # the 426 KB book: one long text anchored once and aliased 30,000 times
    long = "亲" * 2_000
    body = "".join("      - *long\n" for _ in range(30_000))
    text = MINI_BOOK.replace("      - 几天能发出\n", f"      - &long {long}\n{body}")
    (mini_bank / "shipping.yaml").write_text(text, encoding="utf-8")
    assert 400_000 < (mini_bank / "shipping.yaml").stat().st_size < 500_000
    r = load_in_subprocess(mini_bank, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "too many alias expansions: aliases repeat more than 1,000,000 characters" in r.stdout
    assert len(r.stdout) < 5_000  # one problem, not gigabytes of output


def test_alias_size_cap_counts_collections_and_scalars():
    doc = "a: &x " + "y" * 2000 + "\nb: [" + ", ".join(["*x"] * 600) + "]\n"
    with pytest.raises(YamlProblem, match="1,000,000 characters"):
        load_document(doc.encode())
    small = "a: &x " + "y" * 20 + "\nb: [" + ", ".join(["*x"] * 600) + "]\n"
    value, _ = load_document(small.encode())  # a few short aliases stay fine
    assert len(value["b"]) == 600


def test_recursive_alias_still_reported():
    with pytest.raises(YamlProblem, match="recursive alias"):
        load_document(b"a: &x\n  b: *x\n")


def test_problem_messages_never_quote_a_huge_value(mini_bank):
    (mini_bank / "shipping.yaml").write_text(
        MINI_BOOK.replace("id: shipping.when_ship", "id: " + "X" * 200_000), encoding="utf-8")
    found = messages(mini_bank)
    assert any("must be dotted lower-case words" in m or "…" in m for m in found)
    assert all(len(m) < 500 for m in found)


# --- full-match ids, shortcuts, versions -----------------------------------------------------------


@pytest.mark.parametrize("old, new, expected", [
    ("id: shipping.when_ship", 'id: "shipping.when_ship\\n"', "must be dotted lower-case words"),
    ("shortcut: fhsj", 'shortcut: "fhsj\\n"', "must be lower-case letters/digits"),
    ("version: 1.0.0", 'version: "1.0.0\\n"', "is not semver"),
])
def test_trailing_newline_never_passes(mini_bank, old, new, expected):
    (mini_bank / "shipping.yaml").write_text(MINI_BOOK.replace(old, new), encoding="utf-8")
    found = messages(mini_bank)
    assert any(expected in m for m in found), found


# --- a partial bank ---------------------------------------------------------------------------------


@pytest.mark.parametrize("broken", [
    MINI_BOOK.replace("title: 发货时间", "title: '发货时间"),  # a stray quote
    MINI_BOOK.replace("    reply: |-", "    replay: |-"),  # a misspelled key
    "<<<<<<< HEAD\n" + MINI_BOOK + "=======\n>>>>>>> branch\n",  # merge-conflict markers
])
def test_a_broken_book_is_left_out_with_its_problems_never_the_bank(mini_bank, broken):
    (mini_bank / "other.yaml").write_text(MINI_BOOK.replace("name: shipping", "name: other")
                                          .replace("shipping.when_ship", "other.when_ship")
                                          .replace("fhsj", "qtsj"), encoding="utf-8")
    (mini_bank / "shipping.yaml").write_text(broken, encoding="utf-8")
    bank, problems = load_bank(mini_bank)
    assert bank is not None
    assert bank.find("other.when_ship") is not None
    assert bank.find("shipping.when_ship") is None
    assert problems and all(p.path.endswith("shipping.yaml") and p.line >= 1 for p in problems)


def test_an_unusable_manifest_is_the_only_reason_for_no_bank(mini_bank):
    (mini_bank / "bank.yaml").write_text("schema: [\n", encoding="utf-8")
    bank, problems = load_bank(mini_bank)
    assert bank is None and any("bank.yaml" in str(p) for p in problems)


# --- invisible characters ---------------------------------------------------------------------------


@pytest.mark.parametrize("char, name", [("\\e", "ESC"), ("\\a", "BEL"), ("\\u202E", "RIGHT-TO-LEFT OVERRIDE"),
                                        ("\\u2066", "LEFT-TO-RIGHT ISOLATE"), ("\\u200B", "ZERO WIDTH SPACE"),
                                        ("\\u202D", "LEFT-TO-RIGHT OVERRIDE"), ("\\u2069", "POP DIRECTIONAL")])
def test_control_and_bidi_characters_reported_with_position(mini_bank, char, name):
    text = MINI_BOOK.replace("title: 发货时间", f'title: "发货{char}时间"')
    (mini_bank / "shipping.yaml").write_text(text, encoding="utf-8")
    found = messages(mini_bank)
    hit = [m for m in found if name in m]
    assert hit, found
    assert "shipping.yaml:7:12: shipping.when_ship: invisible control character" in hit[0]
    assert "at character 3 of the title" in hit[0]


def test_control_characters_in_replies_questions_and_variables(mini_bank):
    text = MINI_BOOK.replace("      亲，预计", "      第一行\n      亲，\u202e预计").replace("几天能发出", "几天\u200b能发出")
    (mini_bank / "shipping.yaml").write_text(text, encoding="utf-8")
    (mini_bank / "bank.yaml").write_text(MINI_MANIFEST.replace("ship_window: 3天", 'ship_window: "3\\e[2J天"'),
                                         encoding="utf-8")
    found = messages(mini_bank)
    assert any("U+202E" in m and "line 2, character 3 of the reply" in m for m in found), found
    assert any("U+200B" in m and "question 2" in m for m in found), found
    assert any("bank.yaml:4:16: " in m and "ESC" in m and "variable ship_window" in m for m in found), found


def test_newlines_and_tabs_are_text(mini_bank):
    (mini_bank / "shipping.yaml").write_text(MINI_BOOK.replace("      亲，预计", "      第一行\n      亲，\t预计"),
                                             encoding="utf-8")
    assert messages(mini_bank) == []


# --- discovery --------------------------------------------------------------------------------------


def _bank_at(folder: Path) -> Path:
    pb = folder / "phrasebank"
    pb.mkdir(parents=True)
    (pb / "bank.yaml").write_text(MINI_MANIFEST, encoding="utf-8")
    return pb


def _make_foreign(path: Path, monkeypatch) -> None:
    """Make path look owned by another user: chown as root, else pretend to be someone else."""
    if hasattr(os, "getuid") and os.getuid() == 0:
        for p in (path, *path.iterdir()):
            os.chown(p, 4242, 4242)
    else:
        monkeypatch.setattr(files, "_uid", lambda: 4243)


def test_a_planted_parent_bank_of_another_user_is_not_served(tmp_path, monkeypatch):
    shared = tmp_path / "shared"  # like /tmp: a parent folder where anyone can create phrasebank/
    planted = _bank_at(shared)
    work = shared / "me" / "work"
    work.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path / "elsewhere"))
    monkeypatch.chdir(work)
    assert locate_bank().path == planted.resolve()  # control: a bank of one's own is found
    _make_foreign(planted, monkeypatch)
    loc = locate_bank()
    assert loc.source == "bundled"
    assert any(str(planted) in msg and "another user" in msg for msg in loc.ignored)
    assert "ignoring" in loc.note() and "bundled" in loc.note()


def test_a_world_writable_parent_bank_is_not_served(tmp_path, monkeypatch):
    planted = _bank_at(tmp_path / "shared")
    (tmp_path / "shared" / "me").mkdir()
    planted.chmod(0o777)
    monkeypatch.setenv("HOME", str(tmp_path / "elsewhere"))
    monkeypatch.chdir(tmp_path / "shared" / "me")
    loc = locate_bank()
    assert loc.source == "bundled" and "anyone on this machine can write" in loc.note()


def test_discovery_stops_at_the_repository_root_and_at_home(tmp_path, monkeypatch):
    above = _bank_at(tmp_path)
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "elsewhere"))
    monkeypatch.chdir(repo / "src")
    assert locate_bank().source == "bundled"
    own = _bank_at(repo)
    loc = locate_bank()
    assert loc.path == own.resolve() and loc.source == "parent"
    assert "using the bank at" in loc.note()
    home = tmp_path / "home"
    (home / "a").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(home / "a")
    assert locate_bank().source == "bundled", above  # the bank above home is someone else's


def test_the_bank_here_says_nothing(tmp_path, monkeypatch):
    _bank_at(tmp_path)
    monkeypatch.chdir(tmp_path)
    loc = locate_bank()
    assert loc.source == "here" and loc.note() is None


def test_symlinked_folders_are_not_walked(mini_bank, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "other.yaml").write_text(MINI_BOOK.replace("name: shipping", "name: other"), encoding="utf-8")
    (mini_bank / "link").symlink_to(elsewhere, target_is_directory=True)
    assert [p.name for p in files.book_files(mini_bank)] == ["shipping.yaml"]


def test_a_file_of_thousands_of_problems_lists_a_hundred_and_counts_the_rest(mini_bank):
    text = MINI_BOOK + "".join(f"junk{i}: x\n" for i in range(5000))
    (mini_bank / "shipping.yaml").write_text(text, encoding="utf-8")
    found = messages(mini_bank)
    assert len(found) == 101
    assert found[-1].endswith("… and 4900 more problem(s) in this file")


def test_a_file_of_more_lines_than_values_allowed_is_refused_before_parsing(mini_bank):
    (mini_bank / "shipping.yaml").write_text("# x\n" * 60_000, encoding="utf-8")
    assert any("more than 50,000 lines" in m for m in messages(mini_bank))


def test_a_text_over_10000_characters_is_no_quick_reply(mini_bank):
    (mini_bank / "shipping.yaml").write_text(
        MINI_BOOK.replace("      亲，预计{ship_window}内发货，具体以物流信息为准哦～", "      " + "亲" * 10_001), encoding="utf-8")
    bank, problems = load_bank(mini_bank)
    assert bank.find("shipping.when_ship") is None
    assert any("reply is 10,001 characters: over 10,000" in str(p) and "shipping.yaml:12:" in str(p)
               for p in problems), problems


def test_a_flow_of_more_than_50_steps_is_refused(mini_bank):
    steps = "".join(f"      - step: s{i}\n        reply: 好的{i}\n" for i in range(51))
    text = MINI_BOOK.replace("    reply: |-\n      亲，预计{ship_window}内发货，具体以物流信息为准哦～\n", f"    flow:\n{steps}")
    (mini_bank / "shipping.yaml").write_text(text, encoding="utf-8")
    assert any("flow has 51 steps: over 50" in m for m in messages(mini_bank))
