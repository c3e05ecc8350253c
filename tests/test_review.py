"""Review: semantic diff, version discipline, lint and retrieval regressions, bump, on real git repos."""

from __future__ import annotations

import json
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
    r = runner.invoke(cli, ["--bank", str(repo / "phrasebank"), "bump", "shipping", "patch"])
    assert r.exit_code == 0 and "1.0.0 → 1.0.1" in r.output
    r = rv(runner, repo)
    assert r.exit_code == 0, r.output
    assert "MERGEABLE" in r.output


def test_rename_detected_and_needs_major(runner, repo):
    edit(repo, "shipping", "id: shipping.hold_shipment", "id: shipping.delay_shipment")
    edit(repo, "shipping", "version: 1.0.0", "version: 1.1.0")
    r = rv(runner, repo)
    assert "renamed   shipping.delay_shipment (was shipping.hold_shipment)" in r.output
    assert r.exit_code == 1 and "without a major version bump" in r.output


def test_removed_id_requires_major(runner, repo):
    text = (repo / "phrasebank" / "presales.yaml").read_text(encoding="utf-8")
    start = text.index("  - id: presales.closing")
    (repo / "phrasebank" / "presales.yaml").write_text(text[:start].rstrip() + "\n", encoding="utf-8")
    edit(repo, "presales", "version: 1.0.0", "version: 2.0.0")
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
    edit(repo, "promo", "version: 1.0.0", "version: 1.0.1")
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
    for q in ["可以开票吗", "发票怎么开", "发票信息填错了能重开吗", "开的发票在哪里下载", "公司报销要发票",
              "发票抬头写公司名称", "没收到发票", "开个专票", "能开普票吗", "发票在哪里看", "需要增值税专用发票"]:
        text = text.replace(f"      - {q}\n", "", 1)
    text = text.replace("    title: 发票\n", "    title: 票据\n")
    text = text.replace("version: 1.0.0", "version: 2.0.0")
    (repo / "phrasebank" / "aftersales.yaml").write_text(
        text.replace("    questions:\n    reply: |-\n      亲，本店支持开具",
                     "    questions:\n      - 收据\n    reply: |-\n      亲，本店支持开具"), encoding="utf-8")
    r = rv(runner, repo)
    assert "'发票怎么开呀' (expect aftersales.invoice): aftersales.invoice →" in r.output
    assert "top-1 on tests.yaml dropped from 1.000" in r.output
    assert r.exit_code == 1


def test_markdown_snapshot(runner, repo):
    edit(repo, "bargain", "我们的价格是公司统一设定的", "我们的价格是店铺统一设定的")
    edit(repo, "bargain", "version: 1.0.0", "version: 1.0.1")
    r = rv(runner, repo, "--format", "markdown")
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert lines[0] == "### Phrase changes"
    assert lines[1] == "- **reply** `bargain.ask_discount`"
    assert lines[2].startswith("    亲，非常理解您想买得更实惠～我们的价格是~~公司~~**店铺**统一设定的")
    assert "| bargain | 1.0.0 | 1.0.1 | patch | patch | ok |" in lines
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
    r = runner.invoke(cli, ["--bank", str(repo / "phrasebank"), "bump", "shipping", "minor", "--changelog", "新增"])
    assert r.exit_code == 0
    assert p.read_text(encoding="utf-8") == before.replace("version: 1.0.0", "version: 1.1.0")
    log = (repo / "phrasebank" / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## shipping 1.1.0" in log and "- 新增" in log


def test_inline_diff():
    assert inline_diff("预计3天内发货", "预计5天内发货") == "预计[-3-]{+5+}天内发货"
    assert inline_diff("ab", "ac", "markdown") == "a~~b~~**c**"
