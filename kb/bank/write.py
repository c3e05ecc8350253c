"""The one safe writer: a Book as phrasebook YAML, round-trip editing, and a write that never damages.

``atomic_write`` writes a temp file beside the target, fsyncs it and renames it over the target, and
  * follows symlinks: the file a symlink points to is rewritten, the link stays a link;
  * keeps the target's mode and ownership (a 0664 book stays 0664; a new file gets 0666 & ~umask);
  * refuses what is not a regular file (``-o /dev/null --force`` leaves the device alone), a
    read-only file, and any path inside the installed kb package;
  * removes its temp file on every failure, Ctrl-C included, and fsyncs the folder after the rename.
With ``force=False`` an existing file is never replaced, even one that appears meanwhile.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from ..errors import KbError
from .files import FileProblem, file_kind, read_file

PACKAGE = Path(__file__).resolve().parent.parent  # the kb package: never written by kb (refuse_package_path)


# --- round-trip YAML ------------------------------------------------------------------------


def rt_yaml():
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    y.allow_unicode = True
    return y


def rt_load(path: Path) -> Any:
    """A YAML file loaded for round-trip editing (comments and key order kept)."""
    try:
        text = read_file(Path(path)).decode("utf-8")
    except FileProblem as e:
        raise KbError(f"{path}: {e.message}") from None
    except UnicodeDecodeError:
        raise KbError(f"{path}: invalid UTF-8: save the file as UTF-8") from None
    return rt_yaml().load(text)


def rt_dump(data: Any) -> str:
    buf = io.StringIO()
    rt_yaml().dump(data, buf)
    return buf.getvalue()


# --- Book -> YAML -----------------------------------------------------------------------------


def _literal(text: str):
    from ruamel.yaml.scalarstring import LiteralScalarString

    if "\n" in text and not any(ln != ln.rstrip() for ln in text.split("\n")) and not text.startswith((" ", "\n")):
        return LiteralScalarString(text)
    return text


def _node(value: Any) -> Any:
    from pydantic import BaseModel
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, BaseModel):
        m = CommentedMap()
        for name, f in type(value).model_fields.items():
            v = getattr(value, name)
            if v is None or (isinstance(v, (str, list, dict)) and not v and name != "phrases"):
                continue  # absent and empty fields are left out
            m[f.alias or name] = _node(v)
        return m
    if isinstance(value, list):
        return CommentedSeq(_node(v) for v in value)
    if isinstance(value, dict):
        return CommentedMap((k, _node(v)) for k, v in value.items())
    if isinstance(value, str):
        return _literal(value)
    return value


def book_yaml(book, header: str = "") -> str:
    """A kb.model.Book as phrasebook YAML: the model's field order, absent and empty fields left out,
    multi-line replies as literal blocks; header (comment lines) goes first."""
    return header + rt_dump(_node(book))


def write_book(path: Path, book, *, force: bool = False, header: str = "") -> Path:
    """Write a Book as YAML, after reading the text back with kb's own loader and model to check it
    holds exactly the book. Returns the file written."""
    from ..model import Book
    from .yamlio import YamlProblem, load_document

    text = book_yaml(book, header)
    try:
        raw, _ = load_document(text.encode("utf-8"))
        same = Book.model_validate(raw) == book
    except (YamlProblem, ValueError) as e:
        raise KbError(f"{path}: kb could not read back the book it would write ({e}): nothing written") from None
    if not same:
        raise KbError(f"{path}: the YAML kb would write does not read back as the same book: nothing written")
    return atomic_write(path, text, force=force)


# --- writing files ----------------------------------------------------------------------------


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


def refuse_package_path(path: Path) -> None:
    """KbError when path (symlinks followed) lies inside the installed kb package (kb/bank/scaffold.py
    says how to start a bank of one's own)."""
    from .scaffold import refuse_package_write

    refuse_package_write(Path(os.path.realpath(path)), "write")


def atomic_write(path: Path, data: str | bytes, *, force: bool = True) -> Path:
    """Write data (str: UTF-8) to path without ever damaging what is there (see the module docstring).
    Returns the file actually written (the symlink's target for a symlink)."""
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    target = Path(os.path.realpath(path))
    refuse_package_path(path)
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise KbError(f"cannot write {path}: {e.strerror}") from None
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            raise KbError(f"{path} is {file_kind(st.st_mode)}, not a regular file: kb writes regular files only "
                          "and leaves it as it is (write to stdout and redirect instead)", 2)
        if not force:
            raise KbError(f"{path} exists: pass --force to replace it")
        if not st.st_mode & stat.S_IWUSR:
            raise KbError(f"{path} is read-only: kb does not replace it (chmod u+w it first if you mean to)")
    folder = target.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise KbError(f"cannot write {path}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            _keep_metadata(f.fileno(), tmp, st, path)
            os.fsync(f.fileno())
        if st is None and not force:
            # refuse to clobber a file that appeared meanwhile: link fails if the target exists
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise KbError(f"{path} exists: pass --force to replace it") from None
            except OSError:
                os.replace(tmp, target)
            else:
                os.unlink(tmp)
        else:
            os.replace(tmp, target)
        _fsync_dir(folder)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return target


def _keep_metadata(fd: int, tmp: str, st: os.stat_result | None, path: Path) -> None:
    mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask()
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:  # Windows
        os.chmod(tmp, mode)
    if st is None or not hasattr(os, "fchown"):
        return
    mine = os.fstat(fd)
    if (mine.st_uid, mine.st_gid) != (st.st_uid, st.st_gid):
        try:
            os.fchown(fd, st.st_uid, st.st_gid)
        except PermissionError:
            raise KbError(f"{path} belongs to another user or group: kb would not keep its owner, so it leaves "
                          "it alone") from None


def _fsync_dir(folder: Path) -> None:
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
