"""The two operations the CLI runs for any target: write an export's files, and import a file into
books of a bank (checked, split, clash-free, atomically written, never into the installed package)."""

from __future__ import annotations

from pathlib import Path

from ..bank.scaffold import refuse_package_write
from ..errors import KbError
from .base import ExportResult, ImportRequest
from .bookio import Planned, check_name, clashes, plan_books, rename_codes


def write_export(result: ExportResult, output: Path, *, force: bool, multi_file: bool) -> list[Path]:
    """Write an export's files: one file to output, or (multi_file) one per book inside the folder output.
    Nothing is replaced without force; every existing target is named before anything is written."""
    from ..bank.yamlio import atomic_write

    if multi_file:
        if output.exists() and not output.is_dir():
            raise KbError(f"{output} is a file: this target writes one file per book, give -o FOLDER", 2)
        paths = [output / f.name for f in result.files if f.name]
    else:
        if len(result.files) != 1:
            raise KbError("internal: a single-file target produced several files", 3)
        paths = [output]
    for p in paths:
        refuse_package_write(p, "export to")
    if not force:
        existing = [str(p) for p in paths if p.exists()]
        if existing:
            raise KbError(f"{', '.join(existing)} exist(s): pass --force to replace")
    if multi_file:
        output.mkdir(parents=True, exist_ok=True)
    for p, f in zip(paths, result.files, strict=True):
        if p.exists() and not p.is_file():
            raise KbError(f"{p} is not a regular file: refusing to replace it", 2)
        atomic_write(p, f.data, force=True)
    return paths


def import_into(target, file: Path, root: Path, output: Path | None, name: str, *, force: bool,
                prefix: str | None = None, split: bool = True, options: dict | None = None):
    """Read file with target, check everything, then write the books. Returns (imported, planned).

    Refused before anything is written: a bad --name, an unreadable/malformed file, an empty one, a
    book kb could not load (unless split), row counts that do not add up, codes/ids/book names the
    bank already uses (--prefix renames the codes), existing files without force, and any path inside
    the installed kb package."""
    from ..bank.yamlio import atomic_write

    check_name(name)
    if prefix is not None and not prefix:
        raise KbError("--prefix is empty", 2)
    out = Path(output) if output else root / f"{name}.yaml"
    refuse_package_write(out, "import into")
    try:
        data = file.read_bytes()
    except OSError as e:
        raise KbError(f"{file}: cannot read: {e.strerror}") from None
    try:
        imported = target.read(data, ImportRequest(name=name, source=file.name, options=options or {}))
    except KbError as e:
        raise KbError(f"{file}: {e.message}", e.exit_code) from None
    if imported.phrases == 0:
        raise KbError(f"{file}: no phrases in it (empty, or only a header): nothing written")
    if prefix:
        problems = rename_codes(imported, prefix, target.limits({}).code_re)
        if problems:
            raise KbError("import refused:\n  " + "\n  ".join(problems), 2)
    planned: list[Planned] = plan_books(imported, out, split=split)
    written = sum(pl.texts for pl in planned)
    if written != imported.rows:
        raise KbError(f"{file}: read {imported.rows} rows but the book(s) would hold {written}: nothing written "
                      "(please report it)")
    bank = _bank_at(root, planned)
    if bank is not None:
        found = clashes(bank, planned, imported.lines)
        if found:
            hint = "" if prefix else "\n(rename the imported codes with --prefix, e.g. --prefix lg)"
            raise KbError(f"{file}: import refused: the bank at {root} already uses:\n  " + "\n  ".join(found) + hint)
    for pl in planned:
        refuse_package_write(pl.path, "import into")
        if pl.path.exists() and not force:
            raise KbError(f"{pl.path} exists: pass --force to replace it")
    for pl in planned:
        atomic_write(pl.path, pl.text, force=True)
    return imported, planned


def _bank_at(root: Path, planned: list[Planned]):
    """The bank the new books land in (None when they are written outside it or it does not load)."""
    from ..bank.files import MANIFEST

    try:
        r = root.resolve()
        inside = all(r == pl.path.resolve().parent or r in pl.path.resolve().parents for pl in planned)
    except OSError:
        return None
    if not inside or not (root / MANIFEST).is_file():
        return None
    from ..bank.load import load_bank

    bank, _ = load_bank(root)
    return bank
