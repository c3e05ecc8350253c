"""The on-disk index cache: an SQLite file of data (never code), one per bank content
(kb/search/store.py reads it lazily).

The only search module that opens a bank. The key hashes the bytes of every bank file, kb's
version, the word lists and the search code; a file is written only when the bank's bytes
were the same before and after the build, so an edit made during a build is never cached
under the old key. The folder is created 0700; a file or folder not owned by the user is
ignored; the folder is pruned to the newest MAX_FILES indexes.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

from .. import __version__
from ..bank.files import bank_files
from ..dirs import user_dir
from .index import FORMAT, Index
from .normalize import data_fingerprint

MAX_FILES = 8
_notice_shown = False


def cache_dir() -> Path:
    return user_dir("cache", "KB_CACHE_DIR")


def search_code() -> list[Path]:
    """Every module of kb.search: what it computes may be stored in the index (the scope table and the
    gram vocabulary come from scope.py and likelihood.py), so a change to any of them is another index."""
    return sorted(Path(__file__).parent.glob("*.py"))


def bank_key(root: Path) -> str:
    """A hash of everything the index of the bank at root depends on."""
    h = hashlib.sha256()
    h.update(f"kb {__version__} index {FORMAT}\n".encode())
    h.update(data_fingerprint().encode("utf-8"))
    for code in search_code():  # an index built by other code is another index
        h.update(code.name.encode("utf-8") + b"\0" + code.read_bytes())
    for p in bank_files(Path(root)):
        h.update(b"\0" + str(p.relative_to(root)).encode("utf-8", "surrogateescape") + b"\0")
        try:
            if p.is_file():
                h.update(p.read_bytes())
            else:
                h.update(b"<not a regular file>")
        except OSError:
            h.update(b"<unreadable>")
    return h.hexdigest()[:32]


def _notice(msg: str) -> None:
    global _notice_shown
    if not _notice_shown:
        _notice_shown = True
        print(f"kb: {msg}", file=sys.stderr)


def _mine(path: Path) -> bool:
    """The path exists, is owned by this user and (for a folder) writable by nobody else."""
    try:
        st = path.lstat()
    except OSError:
        return False
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return False
    return not (path.is_dir() and st.st_mode & 0o022)


def build_index(root: Path) -> Index:
    from ..bank.load import load_bank
    from ..errors import KbError

    bank, problems = load_bank(root)
    if bank is None:
        shown = "\n".join(str(p) for p in problems[:20])
        raise KbError(f"{shown}\nkb: the bank cannot be used: run 'kb validate'")
    return Index.build(bank, problems)


def _cached(folder: Path, key: str) -> Path | None:
    """The cache file for key: named index-KEY-SIZE.sqlite, so a truncated file is never read."""
    for p in folder.glob(f"index-{key}-*.sqlite"):
        try:
            if _mine(p) and p.stat().st_size == int(p.stem.rsplit("-", 1)[1]):
                return p
        except (OSError, ValueError):
            continue
    return None


def load_index(root: Path, *, use_cache: bool = True) -> Index:
    """The search index of a bank: from the cache when the bank is unchanged, else built."""
    from . import store

    root = Path(root)
    key = bank_key(root)
    folder = cache_dir()
    if use_cache and _mine(folder):
        path = _cached(folder, key)
        if path is not None:
            try:
                index = store.read(path, FORMAT)
                index.key = key
                return index
            except ValueError:
                _notice("search index cache was unreadable; rebuilt it")
        elif any(folder.glob(f"index-{key}-*.sqlite")):
            _notice("search index cache was unreadable; rebuilt it")
    index = build_index(root)
    index.key = key
    if use_cache and bank_key(root) == key:  # the bank did not change while it was indexed
        _save(folder, key, index)
    return index


def _save(folder: Path, key: str, index: Index) -> None:
    from . import store

    tmp = None
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _mine(folder):
            _notice(f"cache folder {folder} is not yours alone: searching without a cache")
            return
        fd, tmp = tempfile.mkstemp(prefix=".index-", suffix=".tmp", dir=folder)
        os.close(fd)  # an empty file is an empty SQLite database
        store.write(Path(tmp), index, FORMAT)
        path = folder / f"index-{key}-{Path(tmp).stat().st_size}.sqlite"
        os.replace(tmp, path)
        tmp = None
        _prune(folder, keep=path)
    except OSError as e:
        _notice(f"cannot write the search index cache ({e.strerror}): searching without it")
    except Exception as e:  # sqlite3.Error: a full disk, a read-only folder …
        _notice(f"cannot write the search index cache ({e}): searching without it")
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _prune(folder: Path, keep: Path) -> None:
    """Keep the newest MAX_FILES indexes; remove stale temp files of interrupted builds."""
    import time

    files = []
    for p in folder.iterdir():
        try:
            st = p.stat()
        except OSError:
            continue
        if p.name.startswith(".index-") and st.st_mtime < time.time() - 3600:
            p.unlink(missing_ok=True)
        elif p.name.startswith("index-") and p != keep:
            files.append((st.st_mtime, p))
    files.sort(reverse=True)
    for _, p in files[MAX_FILES - 1:]:
        p.unlink(missing_ok=True)


def reloader(root: Path, index: Index):
    """A function that returns a fresh index when the bank's files changed since index was
    loaded (else None): for long-running searches (kb ui, kb search --jsonl)."""
    current = {"key": index.key or bank_key(Path(root))}

    def check() -> Index | None:
        key = bank_key(Path(root))
        if key == current["key"]:
            return None
        new = load_index(Path(root))
        current["key"] = new.key or key
        return new

    return check
