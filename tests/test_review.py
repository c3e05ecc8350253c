"""Review: semantic diff, version discipline, lint and retrieval regressions, bump, on real git repos."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from kb.cli import cli
from kb.review import inline_diff
from tests.conftest import BANK

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@x", "PATH": "/usr/bin:/bin:/usr/local/bin"})


@pytest.fixture
def repo(tmp_path):
    r = tmp_path / "shop"
    r.mkdir()
    git(r, "init", "-q")
    shutil.copytree(BANK, r / "phrasebank", ignore=shutil.ignore_patterns("tests.yaml"))
    git(r, "add", "-A")
    git(r, "commit", "-qm", "base")
    return r


def edit(repo, book, old, new):
    p = repo / "phrasebank" / f"{book}.yaml"
    text = p.read_text(encoding="utf-8")
    assert old in text
    p.write_text(text.replace(old, new, 1), encoding="utf-8")


def version(repo, book):
    """The book's version as committed in the test repo's base (the bank's books move on)."""
    text = (repo / "phrasebank" / f"{book}.yaml").read_text(encoding="utf-8")
    return re.search(r"^version: (\S+)$", text, flags=re.M).group(1)


def set_version(repo, book, level):
    """Raise the book's version by level by hand (as a person editing the file would)."""
    old = version(repo, book)
    ma, mi, pa = map(int, old.split("."))
    new = {"major": f"{ma + 1}.0.0", "minor": f"{ma}.{mi + 1}.0", "patch": f"{ma}.{mi}.{pa + 1}"}[level]
    edit(repo, book, f"version: {old}", f"version: {new}")
    return old, new


def rv(runner, repo, *args):
    return runner.invoke(cli, ["--bank", str(repo / "phrasebank"), "review", "--base", "HEAD", *args])


def test_change_without_bump_fails_and_names_the_bump(runner, repo):
    edit(repo, "shipping", "真的非常抱歉！大促期间订单量", "实在抱歉！大促期间订单量")
    r = rv(runner, repo)
    assert r.exit_code == 1
    assert "book shipping changed without a patch version bump" in r.output
    assert "kb bump shipping patch" in r.output


def test_correct_bump_passes(runner, repo):
    edit(repo, "shipping", "真的非常抱歉！大促期间订单量", "实在抱歉！大促期间订单量")
    old = version(repo, "shipping")
    r = runner.invoke(cli, ["--bank", str(repo / "phrasebank"), "bump", "shipping", "patch"])
    ma, mi, pa = map(int, old.split("."))
    assert r.exit_code == 0 and f"{old} → {ma}.{mi}.{pa + 1}" in r.output
    r = rv(runner, repo)
    assert r.exit_code == 0, r.output
    assert "MERGEABLE" in r.output


def test_rename_detected_and_needs_major(runner, repo):
    edit(repo, "shipping", "id: shipping.hold_shipment", "id: shipping.delay_shipment")
    set_version(repo, "shipping", "minor")
    r = rv(runner, repo)
    assert "renamed   shipping.delay_shipment (was shipping.hold_shipment)" in r.output
    assert r.exit_code == 1 and "without a major version bump" in r.output


def test_removed_id_requires_major(runner, repo):
    text = (repo / "phrasebank" / "presales.yaml").read_text(encoding="utf-8")
    start = text.index("  - id: presales.closing")
    (repo / "phrasebank" / "presales.yaml").write_text(text[:start].rstrip() + "\n", encoding="utf-8")
    set_version(repo, "presales", "major")
    r = rv(runner, repo, "--format", "json")
    data = json.loads(r.stdout)
    assert {"kind": "removed", "id": "presales.closing", "book": "presales", "detail": {}} in data["changes"]
    assert [v for v in data["versions"] if v["book"] == "presales"][0]["required"] == "major"
    assert data["mergeable"] is True


def test_lint_new_vs_preexisting(runner, repo):
    # a pre-existing finding in the base ...
    edit(repo, "promo", "活动时间由平台统一设定", "活动时间由平台统一设定，全网最低价")
    git(repo, "commit", "-qam", "risky base")
    # ... and a new one in the same phrase
    edit(repo, "promo", "开始后尽早下单哦", "开始后加我微信下单哦")
    set_version(repo, "promo", "patch")
    r = rv(runner, repo)
    assert "1 new finding(s), 1 pre-existing" in r.output
    assert "offplatform" in r.output and r.exit_code == 1


def test_eval_regression_reported_case_by_case(runner, repo):
    (repo / "phrasebank" / "tests.yaml").write_text(
        "cases:\n  - {q: 发票怎么开呀, expect: aftersales.invoice}\n  - {q: 包邮吗亲, expect: promo.free_shipping}\n",
        encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "tests")
    text = (repo / "phrasebank" / "aftersales.yaml").read_text(encoding="utf-8")
    text = text.replace("id: aftersales.invoice", "id: aftersales.receipt")
    start = text.index("questions:", text.index("id: aftersales.receipt"))  # every question -> one
    text = text[:start] + "questions:\n      - 收据\n" + text[text.index("    reply:", start):]
    (repo / "phrasebank" / "aftersales.yaml").write_text(text.replace("    title: 发票\n", "    title: 票据\n"),
                                                          encoding="utf-8")
    set_version(repo, "aftersales", "major")
    r = rv(runner, repo)
    assert "'发票怎么开呀' (expect aftersales.invoice): aftersales.invoice →" in r.output
    assert "top-1 on tests.yaml dropped from 1.000" in r.output
    assert r.exit_code == 1


def test_markdown_snapshot(runner, repo):
    edit(repo, "bargain", "我们的价格是公司统一设定的", "我们的价格是店铺统一设定的")
    old, new = set_version(repo, "bargain", "patch")
    r = rv(runner, repo, "--format", "markdown")
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert lines[0] == "### Phrase changes"
    assert lines[1] == "- **reply** `bargain.ask_discount`"
    assert lines[2].startswith("    亲，非常理解您想买得更实惠～我们的价格是~~公司~~**店铺**统一设定的")
    assert f"| bargain | {old} | {new} | patch | patch | ok |" in lines
    assert lines[-1].startswith("MERGEABLE")


def test_missing_base_revision_clear_message(runner, repo):
    r = runner.invoke(cli, ["--bank", str(repo / "phrasebank"), "review", "--base", "origin/nope"])
    assert r.exit_code == 2
    assert "revision 'origin/nope' is not in this repository" in r.output and "git fetch" in r.output


def test_diff_between_folders(runner, tmp_path, repo):
    other = tmp_path / "other"
    shutil.copytree(repo / "phrasebank", other)
    edit(repo, "shipping", "shortcut: fhsj", "shortcut: fh")
    r = runner.invoke(cli, ["--bank", str(repo / "phrasebank"), "diff", str(other), str(repo / "phrasebank")])
    assert "shortcut  shipping.when_ship: fhsj → fh" in r.output


def test_bump_keeps_comments_and_order(runner, repo):
    p = repo / "phrasebank" / "shipping.yaml"
    before = p.read_text(encoding="utf-8")
    old = version(repo, "shipping")
    ma, mi, _ = map(int, old.split("."))
    r = runner.invoke(cli, ["--bank", str(repo / "phrasebank"), "bump", "shipping", "minor", "--changelog", "新增"])
    assert r.exit_code == 0
    assert p.read_text(encoding="utf-8") == before.replace(f"version: {old}", f"version: {ma}.{mi + 1}.0")
    log = (repo / "phrasebank" / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## shipping {ma}.{mi + 1}.0" in log and "- 新增" in log


def test_inline_diff():
    assert inline_diff("预计3天内发货", "预计5天内发货") == "预计[-3-]{+5+}天内发货"
    assert inline_diff("ab", "ac", "markdown") == "a~~b~~**c**"


def test_diff_refuses_a_side_with_a_book_that_does_not_load(runner, bank_copy, tmp_path):
    """A broken book must not show up as all its phrases removed (issue 16)."""
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(bank_copy, broken)
    (broken / "shipping.yaml").write_text("schema: 1\nname: shipping\nphrases: [oops\n", encoding="utf-8")
    r = runner.invoke(cli, ["diff", str(bank_copy), str(broken)])
    assert r.exit_code == 1
    assert "shipping.yaml:" in r.output and "cannot diff" in r.output
    assert not any(ln.startswith("removed") for ln in r.output.splitlines())
