"""Where a bank is and which files it is made of (no heavy imports: the search fast path uses it)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import KbError

MANIFEST = "bank.yaml"
# files at the bank root that are not phrasebooks
RESERVED = {MANIFEST, "kb-lint.yaml", "tests.yaml"}
BUNDLED = Path(__file__).resolve().parent.parent / "bundled"


def find_bank(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--bank, else $KB_BANK, else phrasebank/ in the cwd or a parent, else the bundled bank."""
    for source, value in (("--bank", explicit), ("KB_BANK", os.environ.get("KB_BANK"))):
        if value:
            p = Path(value)
            if not p.is_dir():
                raise KbError(f"{source}: {p} is not a folder", exit_code=2)
            if not (p / MANIFEST).is_file():
                raise KbError(f"{source}: {p} has no {MANIFEST}: not a kb bank", exit_code=2)
            return p
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        cand = folder / "phrasebank"
        if (cand / MANIFEST).is_file():
            return cand
    return BUNDLED


def book_files(root: Path) -> list[Path]:
    """Every phrasebook file of a bank: *.yaml below root, except the reserved root files."""
    out = []
    for p in sorted(root.rglob("*.yaml")):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if len(rel.parts) == 1 and rel.name in RESERVED:
            continue
        out.append(p)
    return out


def bank_files(root: Path) -> list[Path]:
    """The manifest and every book: what the bank's content (and its search index) depends on."""
    return [root / MANIFEST, *book_files(root)]


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)
