"""The CI and pre-commit files teams copy: valid for their tools, usable when the bank lives in a team's
own repository, and the README never names a tag that does not exist."""

from __future__ import annotations

import re
import subprocess

import pytest
from ruamel.yaml import YAML

from tests.conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "phrasebank.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"


def load(path):
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def steps():
    wf = load(WORKFLOW)
    [job] = wf["jobs"].values()
    return wf, job["steps"]


def test_pre_commit_hooks_are_valid_manifest_entries():
    hooks = load(HOOKS)
    assert [h["id"] for h in hooks] == ["kb-validate", "kb-lint"]
    allowed = {"id", "name", "entry", "language", "files", "exclude", "types", "types_or", "args",
               "pass_filenames", "always_run", "require_serial", "description", "stages", "verbose",
               "minimum_pre_commit_version", "additional_dependencies", "language_version", "alias"}
    for h in hooks:
        assert {"id", "name", "entry", "language", "files"} <= set(h) and set(h) <= allowed, h
        assert h["language"] == "python" and h["pass_filenames"] is False
        assert h["entry"] == "kb"  # the console script kb's package installs
        files = re.compile(h["files"])
        assert files.search("phrasebank/shipping.yaml") and files.search("phrasebank/发货.yaml")
        assert files.search("phrasebank/bank.yaml") and not files.search("src/app.py")
    assert [h["args"] for h in hooks] == [["validate"], ["lint"]]


def _readme_revs() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^\s*rev:\s*(\S+)", text, flags=re.M) + re.findall(r"^#\s+rev:\s*(\S+)",
                                                                          HOOKS.read_text(encoding="utf-8"), flags=re.M)


def test_pre_commit_examples_name_no_missing_tag():
    revs = _readme_revs()
    assert revs
    tags = subprocess.run(["git", "-C", str(ROOT), "tag", "--list"], capture_output=True, text=True).stdout.split()
    for rev in revs:
        assert rev == "main" or re.fullmatch(r"[0-9a-f]{40}", rev) or rev in tags, rev


def test_workflow_runs_validate_lint_and_review_against_the_base_branch():
    wf, st = steps()
    assert wf["on"]["pull_request"]["paths"] == ["phrasebank/**"]
    checkout = next(s for s in st if str(s.get("uses", "")).startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    runs = "\n".join(s.get("run", "") for s in st)
    assert "kb validate" in runs and "kb lint --format github" in runs
    review = next(s for s in st if s.get("name") == "review")
    assert review["env"]["BASE_REF"] == "${{ github.base_ref }}"
    assert 'kb review --base "origin/$BASE_REF" --format markdown' in review["run"]
    assert '"$GITHUB_STEP_SUMMARY"' in review["run"] and 'exit "$status"' in review["run"]
    assert "${{" not in review["run"]  # nothing from the event pasted into the script


def _install_script() -> str:
    _, st = steps()
    return next(s for s in st if s.get("name") == "install kb")["run"]


@pytest.mark.parametrize("package, pyproject, expect", [
    ("git+https://your.git.host/your-team/kb@main", None, "pip install git+https://your.git.host/your-team/kb@main"),
    ("", 'name = "kb"\n', "pip install ."),
    ("", None, "::error title=kb::set KB_PACKAGE"),
    ("", 'name = "shop-site"\n', "::error title=kb::set KB_PACKAGE"),
])
def test_workflow_installs_kb_as_a_package_in_a_team_repository(tmp_path, package, pyproject, expect):
    """Run the install step with fake pip and kb: a team repo installs KB_PACKAGE, kb's repo itself."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for tool in ("pip", "kb"):
        (bin_ / tool).write_text(f'#!/bin/sh\necho "{tool} $*"\n', encoding="utf-8")
        (bin_ / tool).chmod(0o755)
    repo = tmp_path / "repo"
    repo.mkdir()
    if pyproject:
        (repo / "pyproject.toml").write_text(f"[project]\n{pyproject}", encoding="utf-8")
    r = subprocess.run(["bash", "-e", "-c", _install_script()], cwd=repo, capture_output=True, text=True,
                       env={"PATH": f"{bin_}:/usr/bin:/bin", "KB_PACKAGE": package})
    assert expect in r.stdout
    assert (r.returncode == 0) == (not expect.startswith("::error"))
    wf, _ = steps()
    assert set(wf["env"]) == {"KB_PACKAGE", "KB_BANK"} and wf["env"]["KB_BANK"] == "phrasebank"
