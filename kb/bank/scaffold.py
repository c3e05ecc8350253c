"""kb init: a new team bank from the templates in kb/data/init/ — a manifest with variables and one
campaign, an example book, the bank's own search tests, a lint configuration, a CI workflow that
installs kb as a package, a pre-commit configuration and a short README. It validates, lints and
evaluates clean as written."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..errors import KbError

TEMPLATES = Path(__file__).resolve().parent.parent / "data" / "init"
# template file -> (where it goes, relative to the bank or to the repository root)
LAYOUT = {
    "bank.yaml": ("bank", "bank.yaml"),
    "example.yaml": ("bank", "example.yaml"),
    "tests.yaml": ("bank", "tests.yaml"),
    "kb-lint.yaml": ("bank", "kb-lint.yaml"),
    "README.md": ("bank", "README.md"),
    "github-workflow.yml": ("repo", ".github/workflows/phrasebank.yml"),
    "pre-commit-config.yaml": ("repo", ".pre-commit-config.yaml"),
}
KB_SOURCE = "git+https://your.git.host/your-team/kb.git@main"  # placeholder: the team sets its own
IGNORABLE = {".git", ".DS_Store"}  # a folder holding only these counts as empty


@dataclass
class Created:
    root: Path
    files: list[Path]
    replaced: list[Path]
    kept: list[Path]  # existing repository files left alone (a nested phrasebank/ without --force)


def package_dir() -> Path:
    return Path(__file__).resolve().parent.parent


def refuse_package_write(path: Path, what: str = "write") -> None:
    """Refuse to write into the installed kb package (its bundled bank): say how to start one's own."""
    import os

    pkg = package_dir()
    candidates = {Path(os.path.abspath(path))}
    try:
        candidates.add(Path(path).resolve())
    except OSError:
        pass
    for cand in candidates:
        if cand == pkg or pkg in cand.parents:
            raise KbError(f"refusing to {what} {path}: it is inside the installed kb package (its bundled "
                          "example bank), which the next upgrade replaces. Start a bank of your own with "
                          "`kb init my-bank` (then run kb inside it or pass --bank my-bank)", 2)


def campaign_year(today: date) -> int:
    """The year of the next 双11 window (this year's until Nov 11, then next year's)."""
    return today.year if (today.month, today.day) <= (11, 11) else today.year + 1


def bank_name(folder: Path) -> str:
    raw = folder.resolve().name
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", raw).strip("-.")
    return name or "my-bank"


def render(text: str, values: dict[str, str]) -> str:
    for k, v in values.items():
        text = text.replace(f"@@{k}@@", v)
    left = re.search(r"@@[A-Z_]+@@", text)
    if left:
        raise KbError(f"internal: template placeholder {left.group()} has no value", 3)
    return text


def init_bank(folder: Path, *, name: str | None = None, force: bool = False, kb_source: str | None = None,
              today: date | None = None) -> Created:
    """Write a new bank into folder.

    folder is the bank and the repository root (CI and pre-commit files beside bank.yaml), except a
    folder named phrasebank/: the bank of the repository that holds it, whose CI and pre-commit
    files go to that parent (an existing one is left alone without force). Refuses a non-empty
    folder without force (then only kb's own files are replaced, nothing else is touched) and any
    folder inside the installed package."""
    from .yamlio import atomic_write

    folder = Path(folder)
    refuse_package_write(folder / "bank.yaml", "create a bank in")
    if folder.exists() and not folder.is_dir():
        raise KbError(f"{folder} is a file, not a folder", 2)
    if folder.exists():
        present = [p.name for p in folder.iterdir() if p.name not in IGNORABLE]
        if present and not force:
            shown = ", ".join(sorted(present)[:8]) + (" …" if len(present) > 8 else "")
            raise KbError(f"{folder} is not empty ({shown}): pass --force to write the bank files into it "
                          "(kb's files are replaced, nothing else is touched)", 1)
    if name is not None and (not name.strip() or any(ch in name for ch in "\n\r\t")):
        raise KbError(f"--name {name!r}: give a one-line bank name", 2)
    nested = folder.resolve().name == "phrasebank"
    repo = folder.parent if nested else folder
    values = {"NAME": name or bank_name(repo if nested else folder),
              "YEAR": str(campaign_year(today or date.today())),
              "KB_SOURCE": kb_source or KB_SOURCE,
              "BANK": "phrasebank" if nested else ".",
              "PATHS": "phrasebank/**" if nested else "**",
              "FILES": "^phrasebank/" if nested else r"\.ya?ml$"}
    files, replaced, kept = [], [], []
    for tpl, (base, rel) in LAYOUT.items():
        dest = (folder if base == "bank" else repo) / rel
        text = render((TEMPLATES / tpl).read_text(encoding="utf-8"), values)
        if dest.exists():
            if not dest.is_file():
                raise KbError(f"{dest} exists and is not a regular file", 1)
            if base == "repo" and nested and not force:
                kept.append(dest)
                continue
            replaced.append(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(dest, text, force=True)
        files.append(dest)
    return Created(folder, files, replaced, kept)
