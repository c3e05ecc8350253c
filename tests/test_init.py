"""kb init: a new bank that validates, lints and evaluates clean at once, with CI and pre-commit files
a team can use from its own repository; never over a non-empty folder without --force, never into
the installed package."""

from __future__ import annotations

from datetime import date

import pytest
from ruamel.yaml import YAML

from kb.bank.scaffold import campaign_year, init_bank
from kb.cli import cli
from kb.errors import KbError

FILES = {"bank.yaml", "example.yaml", "tests.yaml", "kb-lint.yaml", "README.md",
         ".github/workflows/phrasebank.yml", ".pre-commit-config.yaml"}


def rel_files(root) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_init_then_validate_lint_eval_from_inside_the_folder(runner, tmp_path, monkeypatch):
    target = tmp_path / "x"
    r = runner.invoke(cli, ["init", str(target)])
    assert r.exit_code == 0, r.output
    assert rel_files(target) == FILES
    monkeypatch.chdir(target)  # cd /tmp/x: the bank is found without --bank
    v = runner.invoke(cli, ["validate"])
    assert v.exit_code == 0 and "1 books, 3 phrases" in v.output, v.output
    lint = runner.invoke(cli, ["lint"])
    assert lint.exit_code == 0 and "0 error(s), 0 warning(s)" in lint.output, lint.output
    ev = runner.invoke(cli, ["eval", "tests.yaml", "--min-top1", "1.0"])
    assert ev.exit_code == 0, ev.output
    assert "out-of-scope rejected: 1.000" in ev.output
    show = runner.invoke(cli, ["show", "fhsj"])
    assert show.exit_code == 0 and "付款后72小时" in show.output


def test_the_campaign_is_dated_and_has_aliases(runner, tmp_path, monkeypatch):
    target = tmp_path / "x"
    init_bank(target, today=date(2027, 3, 1))
    monkeypatch.setenv("KB_TODAY", "2027-11-01")
    r = runner.invoke(cli, ["--bank", str(target), "show", "fhsj"])
    assert "campaign: double11" in r.output and "后7天" in r.output
    r = runner.invoke(cli, ["--bank", str(target), "show", "fhsj", "--campaign", "双十一"])
    assert r.exit_code == 0 and "后7天" in r.output
    assert campaign_year(date(2027, 11, 11)) == 2027 and campaign_year(date(2027, 11, 12)) == 2028


def test_ci_and_pre_commit_files_are_usable(tmp_path):
    made = init_bank(tmp_path / "x", kb_source="git+https://git.example.com/cs/kb.git@abc123")
    y = YAML(typ="safe", pure=True)
    wf = y.load((made.root / ".github/workflows/phrasebank.yml").read_text(encoding="utf-8"))
    assert wf["env"]["KB_SOURCE"] == "git+https://git.example.com/cs/kb.git@abc123"
    runs = "\n".join(s.get("run", "") for s in wf["jobs"]["kb"]["steps"])
    assert 'pip install "$KB_SOURCE"' in runs
    for cmd in ("kb --bank . validate", "kb --bank . lint", "kb --bank . eval ./tests.yaml", "review --base"):
        assert cmd in runs
    assert any(s.get("with", {}).get("fetch-depth") == 0 for s in wf["jobs"]["kb"]["steps"])
    pc = y.load((made.root / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = pc["repos"][0]["hooks"]
    assert {h["id"] for h in hooks} == {"kb-validate", "kb-lint"}
    for h in hooks:
        assert {"id", "name", "entry", "language"} <= set(h) and h["entry"].startswith("kb ")


def test_a_folder_named_phrasebank_is_the_bank_of_the_repository_around_it(runner, tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".pre-commit-config.yaml").write_text("repos: []\n", encoding="utf-8")
    made = init_bank(repo / "phrasebank")
    assert rel_files(repo / "phrasebank") == {"bank.yaml", "example.yaml", "tests.yaml", "kb-lint.yaml", "README.md"}
    assert (repo / ".pre-commit-config.yaml").read_text(encoding="utf-8") == "repos: []\n"  # kept
    assert made.kept == [repo / ".pre-commit-config.yaml"]
    wf = (repo / ".github/workflows/phrasebank.yml").read_text(encoding="utf-8")
    assert "kb --bank phrasebank validate" in wf and "phrasebank/**" in wf
    monkeypatch.chdir(repo)
    assert runner.invoke(cli, ["validate"]).exit_code == 0


def test_non_empty_folder_needs_force_and_only_kbs_files_are_replaced(runner, tmp_path):
    target = tmp_path / "x"
    target.mkdir()
    (target / "notes.txt").write_text("mine", encoding="utf-8")
    r = runner.invoke(cli, ["init", str(target)])
    assert r.exit_code == 1 and "not empty (notes.txt)" in r.output and "--force" in r.output
    assert rel_files(target) == {"notes.txt"}
    r = runner.invoke(cli, ["init", str(target), "--force"])
    assert r.exit_code == 0
    assert rel_files(target) == FILES | {"notes.txt"}
    assert (target / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_a_folder_with_only_git_counts_as_empty(tmp_path):
    (tmp_path / "x" / ".git").mkdir(parents=True)
    assert (init_bank(tmp_path / "x").root / "bank.yaml").is_file()


def test_init_refuses_the_installed_package(tmp_path):
    from kb.bank.files import BUNDLED

    with pytest.raises(KbError) as e:
        init_bank(BUNDLED.parent / "data" / "newbank")
    assert e.value.exit_code == 2 and "kb init" in e.value.message
    assert not (BUNDLED.parent / "data" / "newbank").exists()


def test_bad_name_is_refused(tmp_path):
    with pytest.raises(KbError, match="one-line bank name"):
        init_bank(tmp_path / "x", name="a\nb")
