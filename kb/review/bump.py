"""kb bump: raise a book's version in place (ruamel round trip: comments and key order kept) and log it.

The read-modify-write of the book and of CHANGELOG.md runs under an exclusive lock on the bank
folder, so concurrent bumps each count (20 patch bumps of 1.0.0 end at 1.0.20 with 20 entries).
A book that does not load cleanly is refused with its problems (file:line:col), never edited; the
installed package's bundled bank is never written (atomic_write refuses it).
"""

from __future__ import annotations

import difflib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from ..errors import KbError

LEVELS = ("major", "minor", "patch")
LOCK_FILE = ".kb.lock"  # only where a folder cannot be locked itself (Windows, some network file systems)
LOCK_TIMEOUT = 30.0
CHANGELOG = "CHANGELOG.md"


@contextmanager
def bank_lock(root: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold an exclusive lock on the bank folder: POSIX flock on the folder itself (no file left behind),
    else a lock on ``.kb.lock`` in it. Waits up to timeout seconds, then raises KbError."""
    try:
        import fcntl
    except ImportError:  # Windows
        fcntl = None  # type: ignore[assignment]
    fd = -1
    try:
        if fcntl is not None:
            try:
                fd = os.open(root, os.O_RDONLY)
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # can this folder be locked at all?
                fcntl.flock(fd, fcntl.LOCK_UN)
            except BlockingIOError:
                pass  # it can: someone holds it
            except OSError:
                if fd >= 0:
                    os.close(fd)
                fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        else:
            fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise KbError(f"cannot lock the bank at {root}: {e.strerror}") from None
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                else:
                    import msvcrt

                    msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise KbError(f"another kb is writing the bank at {root} (waited {timeout:.0f} s): "
                                  "try again when it is done") from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def next_version(version: str, level: str) -> str:
    ma, mi, pa = (int(x) for x in version.split("."))
    return {"major": f"{ma + 1}.0.0", "minor": f"{ma}.{mi + 1}.0", "patch": f"{ma}.{mi}.{pa + 1}"}[level]


def _find_book(bank_root: Path, book: str) -> Path:
    from ..bank.files import book_files

    name = Path(book).stem if book.endswith(".yaml") else book
    files = book_files(bank_root)
    path = next((p for p in files if p.stem == name), None)
    if path is None:
        close = difflib.get_close_matches(name, [p.stem for p in files], n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f" (books: {', '.join(p.stem for p in files) or 'none'})"
        raise KbError(f"no book '{name}' in {bank_root}{hint}", 2)
    return path


def _checked_book(path: Path):
    """The book loaded and validated; KbError listing every problem (file:line:col) otherwise."""
    from ..bank.load import load_book

    problems: list = []
    bf = load_book(path, problems)
    errors = [p for p in problems if getattr(p, "severity", "error") == "error"]
    if bf is None or errors:
        shown = "\n".join(str(p) for p in errors[:20]) or f"{path}: cannot be read as a phrasebook"
        raise KbError(f"{shown}\nkb: {path.name} has problems: fix them (kb validate) before bumping its version")
    return bf


def _edited(path: Path, text: str, new: str) -> str:
    """The book's text with only its version changed (ruamel round trip), checked value for value."""
    from ruamel.yaml.error import YAMLError

    from ..bank.yamlio import YamlProblem, load_document, rt_dump, rt_yaml

    try:
        data = rt_yaml().load(text)
        data["version"] = type(data["version"])(new) if isinstance(data["version"], str) else new
        out = rt_dump(data)
        before, _ = load_document(text.encode("utf-8"))
        after, _ = load_document(out.encode("utf-8"))
    except (YAMLError, YamlProblem, TypeError, KeyError) as e:
        raise KbError(f"{path}: kb cannot rewrite this book safely ({e}): change its version by hand") from None
    if after != {**before, "version": new}:
        raise KbError(f"{path}: rewriting it would change more than its version: change the version by hand")
    return out


def _changelog(bank_root: Path, book: str, new: str, level: str, text: str) -> tuple[Path, str]:
    log = bank_root / CHANGELOG
    try:
        prev = log.read_text(encoding="utf-8") if log.exists() else "# Phrasebank changelog\n"
    except (OSError, UnicodeDecodeError) as e:
        raise KbError(f"{log}: cannot read it ({e}): the version was not changed") from None
    head, _, rest = prev.partition("\n")
    body = (text or f"{level} release").strip().replace("\r\n", "\n").replace("\n", "\n  ")
    entry = f"\n## {book} {new} — {date.today().isoformat()}\n\n- {body}\n"
    return log, head + "\n" + entry + rest


def bump(bank_root: Path, book: str, level: str, changelog: str | None = None) -> tuple[str, str]:
    """Raise book's version by level; with changelog, add a dated entry to the bank's CHANGELOG.md.
    Returns (old version, new version)."""
    from ..bank.yamlio import atomic_write

    if level not in LEVELS:
        raise KbError(f"level must be one of {', '.join(LEVELS)}, not '{level}'", 2)
    bank_root = Path(bank_root)  # the installed package's bundled bank is refused by atomic_write
    path = _find_book(bank_root, book)
    with bank_lock(bank_root):
        bf = _checked_book(path)
        old = bf.book.version
        new = next_version(old, level)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise KbError(f"{path}: cannot read it: {e}") from None
        out = _edited(path, text, new)
        log = _changelog(bank_root, bf.book.name, new, level, changelog) if changelog is not None else None
        atomic_write(path, out)
        if log is not None:
            atomic_write(*log)
    return old, new
