"""Where a bank is and which files it is made of (no heavy imports: the search fast path uses it).

Discovery (``locate_bank``): ``--bank``, else ``$KB_BANK``, else the current folder when it holds
``bank.yaml``, else ``phrasebank/`` in the current folder or a parent, else the bank bundled with
kb. The walk up stops at the user's home folder and at the repository root (the folder holding
``.git``), never enters a folder owned by another user, and ignores (saying so) a ``phrasebank/``
that another user owns or that anyone may write to: a folder planted in ``/tmp`` or a shared
parent is never served silently.

Reading (``read_file``): regular files only (a FIFO, a device or a symlink to ``/dev/zero`` is a
problem, never a hang), and never more than ``MAX_FILE_BYTES``.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import KbError

MANIFEST = "bank.yaml"
# files at the bank root that are not phrasebooks
RESERVED = {MANIFEST, "kb-lint.yaml", "tests.yaml"}
BUNDLED = Path(__file__).resolve().parent.parent / "bundled"
MAX_FILE_BYTES = 512 * 1024  # a book over 512 KB (hundreds of phrases) is split: every load stays well under 2 s
MAX_BOOK_FILES = 200  # more *.yaml files than that below a bank is not a bank (a home folder?)

SOURCES = {
    "--bank": "given with --bank",
    "KB_BANK": "from $KB_BANK",
    "cwd": "the current folder (it holds bank.yaml)",
    "here": "phrasebank/ in the current folder",
    "parent": "phrasebank/ in a parent folder",
    "bundled": "the bank bundled with kb",
}


@dataclass(frozen=True)
class BankLocation:
    """The bank a command uses, how it was chosen, and candidates that were refused on the way."""

    path: Path
    source: str  # a key of SOURCES
    ignored: tuple[str, ...] = field(default=())  # one sentence per refused candidate

    @property
    def how(self) -> str:
        return SOURCES[self.source]

    def note(self) -> str | None:
        """What to tell the user on stderr, or None when the bank is the obvious one (given with
        --bank or ./phrasebank) and nothing was refused."""
        lines = [f"kb: {msg}" for msg in self.ignored]
        if self.source == "bundled":
            lines.append("kb: using the bank bundled with kb (no phrasebank/ here or in a parent folder); "
                         "start your own with: kb init phrasebank (or pass --bank PATH)")
        elif self.source in ("parent", "KB_BANK"):
            lines.append(f"kb: using the bank at {self.path} ({self.how})")
        return "\n".join(lines) or None

    def as_json(self) -> dict:
        return {"bank_root": str(self.path), "bank_source": self.source}


def _uid() -> int | None:
    return os.getuid() if hasattr(os, "getuid") else None


def _foreign(st: os.stat_result) -> bool:
    """Owned by someone other than this user and root."""
    uid = _uid()
    return uid is not None and st.st_uid not in (uid, 0)


def _untrusted(folder: Path) -> str | None:
    """Why a candidate bank folder must not be used without --bank, or None."""
    for p in (folder, folder / MANIFEST):
        try:
            st = p.stat()
        except OSError:
            return None
        if _foreign(st):
            return f"it is owned by another user (uid {st.st_uid})"
        if st.st_mode & stat.S_IWOTH and not (stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX):
            return "anyone on this machine can write to it"
    return None


def _boundaries() -> set[Path]:
    out = set()
    home = os.environ.get("HOME") or os.path.expanduser("~")
    if home and home != "~":
        try:
            out.add(Path(home).resolve())
        except OSError:
            pass
    return out


def _explicit(source: str, value: str | os.PathLike[str]) -> BankLocation:
    p = Path(value)
    if not p.is_dir():
        raise KbError(f"{source}: {p} is not a folder", exit_code=2)
    if not (p / MANIFEST).is_file():
        raise KbError(f"{source}: {p} has no {MANIFEST}: not a kb bank", exit_code=2)
    return BankLocation(p, source)


def locate_bank(explicit: str | os.PathLike[str] | None = None) -> BankLocation:
    """--bank, else $KB_BANK, else phrasebank/ in the cwd or a parent (within the user's home and the
    repository, in folders this user or root owns), else the bundled bank."""
    if explicit:
        return _explicit("--bank", explicit)
    env = os.environ.get("KB_BANK")
    if env:
        return _explicit("KB_BANK", env)
    try:
        here = Path.cwd().resolve()
    except OSError:  # the current folder was deleted
        return BankLocation(BUNDLED, "bundled")
    stops = _boundaries()
    ignored: list[str] = []
    if (here / MANIFEST).is_file():  # inside a bank, e.g. a team's own bank repository (kb init)
        why = _untrusted(here)
        if why is None:
            return BankLocation(here, "cwd")
        ignored.append(f"ignoring {here}: {why} (pass --bank . if you trust it)")
    for folder in (here, *here.parents):
        try:
            if folder != here and _foreign(folder.stat()):
                break  # never walk into another user's folder
        except OSError:
            break
        cand = folder / "phrasebank"
        if (cand / MANIFEST).is_file():
            why = _untrusted(cand)
            if why is None:
                return BankLocation(cand, "here" if folder == here else "parent", tuple(ignored))
            ignored.append(f"ignoring {cand}: {why} (pass --bank {cand} if you trust it)")
        if folder in stops or (folder / ".git").exists():
            break  # the user's home or the repository root: a bank above it is someone else's
    return BankLocation(BUNDLED, "bundled", tuple(ignored))


def find_bank(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The bank folder (see locate_bank for how it is chosen)."""
    return locate_bank(explicit).path


def book_files(root: Path) -> list[Path]:
    """Every phrasebook file of a bank: *.yaml below root, except the reserved root files and
    anything inside a hidden folder; folders reached through symlinks are not walked."""
    root = Path(root)
    out: list[Path] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        top = Path(folder) == root
        for name in files:
            if not name.endswith(".yaml") or name.startswith(".") or (top and name in RESERVED):
                continue
            out.append(Path(folder) / name)
            if len(out) > MAX_BOOK_FILES:
                raise KbError(f"{root}: more than {MAX_BOOK_FILES} .yaml files below it: is it really a "
                              "bank folder? (pass --bank PATH)")
    return sorted(out)


def bank_files(root: Path) -> list[Path]:
    """The manifest and every book: what the bank's content (and its search index) depends on."""
    return [Path(root) / MANIFEST, *book_files(root)]


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def file_kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


class FileProblem(Exception):
    """A bank file kb will not read (not a regular file, too large, unreadable)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def read_file(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most limit bytes. Raises FileProblem otherwise; never blocks
    on a FIFO and never reads more than limit + 1 bytes (a symlink to /dev/zero is refused)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise FileProblem(f"cannot read: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileProblem(f"{file_kind(st.st_mode)}, not a regular file: kb reads plain files only")
        if st.st_size > limit:
            raise FileProblem(too_large(st.st_size, limit))
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise FileProblem(too_large(size, limit))
        return b"".join(chunks)
    except OSError as e:
        raise FileProblem(f"cannot read: {e.strerror}") from None
    finally:
        os.close(fd)


def too_large(size: int, limit: int) -> str:
    return (f"file is too large ({size / 1024:,.0f} KB; the limit is {limit // 1024:,} KB per book: "
            "split it into several books)")


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)
