"""Git plumbing for review and diff: the bank as it is at a revision, copied into a folder.

Paths cross git NUL-separated (``-z``) with ``core.quotePath=false`` and literal pathspecs, so
books and bank folders with non-ASCII or glob-like names (``发货.yaml``, ``话术库/``) are seen
exactly as they are on disk. Blobs are read in one ``git cat-file --batch`` process.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from ..bank.files import MANIFEST
from ..errors import KbError

GIT = ("git", "-c", "core.quotePath=false", "--literal-pathspecs")
_FILE_MODES = {b"100644", b"100755"}  # regular files; symlinks (120000) and submodules are skipped


def git(repo: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run git in repo; raise KbError (exit 2) when git is not installed."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        return subprocess.run([*GIT, "-C", str(repo), *args], input=stdin, capture_output=True,
                              check=False, env=env)
    except FileNotFoundError:
        raise KbError("git is not installed: give two bank folders instead of revisions", 2) from None


def _first_line(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip()
    return text.splitlines()[0] if text else ""


def repo_top(path: Path) -> tuple[Path | None, str]:
    """The top folder of the repository holding path, or (None, git's reason)."""
    r = git(path, "rev-parse", "--show-toplevel")
    if r.returncode != 0:
        return None, _first_line(r.stderr)
    return Path(os.fsdecode(r.stdout.rstrip(b"\r\n"))), ""


def check_revision(repo: Path, spec: str) -> None:
    """Raise a KbError (exit 2) saying how to fetch it when spec is not a commit of repo."""
    if spec.startswith("-"):
        raise KbError(f"revision '{spec}' must not start with '-'", 2)
    if git(repo, "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}").returncode == 0:
        return
    shallow = git(repo, "rev-parse", "--is-shallow-repository").stdout.strip() == b"true"
    hint = (" This is a shallow clone: fetch the base too (actions/checkout with fetch-depth: 0, or "
            f"git fetch --deepen=50 / git fetch origin {spec})." if shallow else
            f" Fetch it first (git fetch origin {spec}).")
    raise KbError(f"revision '{spec}' is not in this repository.{hint}", 2)


def tree_files(repo: Path, spec: str, folder: str) -> dict[str, bytes]:
    """{path relative to folder: content} of every regular file below folder ('' = the top) at spec."""
    args = ["ls-tree", "-r", "-z", spec]
    if folder:
        args += ["--", folder]
    r = git(repo, *args)
    if r.returncode != 0:
        raise KbError(f"git ls-tree {spec} failed: {_first_line(r.stderr)}", 2)
    entries: list[tuple[str, bytes]] = []
    prefix = folder + "/" if folder else ""
    for entry in r.stdout.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        mode, kind, oid = (meta.split(b" ") + [b"", b""])[:3]
        name = os.fsdecode(raw_path)
        if kind != b"blob" or mode not in _FILE_MODES or not name.startswith(prefix):
            continue
        entries.append((name[len(prefix):], oid))
    if not entries:
        return {}
    batch = git(repo, "cat-file", "--batch", stdin=b"".join(oid + b"\n" for _, oid in entries))
    if batch.returncode != 0:
        raise KbError(f"git cat-file failed: {_first_line(batch.stderr)}", 2)
    out, data, pos = {}, batch.stdout, 0
    for name, oid in entries:
        end = data.index(b"\n", pos)
        header = data[pos:end].split(b" ")
        if len(header) != 3 or header[0] != oid:
            raise KbError(f"git cat-file: unexpected answer for {name} at {spec}", 2)
        size = int(header[2])
        out[name] = data[end + 1:end + 1 + size]
        pos = end + 1 + size + 1  # content, then a newline
    return out


def bank_at(spec: str, bank_root: Path, workdir: Path) -> Path | None:
    """A folder holding the bank as it is at spec: spec itself when it is a bank folder, else a copy of
    bank_root's files at git revision spec. None when that revision has no bank there (yet)."""
    p = Path(spec)
    if p.is_dir() and (p / MANIFEST).is_file():
        return p
    top, why = repo_top(bank_root)
    if top is None:
        raise KbError(f"{spec}: not a bank folder, and {bank_root} is not in a git repository"
                      + (f" ({why})" if why else ""), 2)
    check_revision(top, spec)
    try:
        rel = bank_root.resolve().relative_to(top.resolve()).as_posix()
    except ValueError:
        raise KbError(f"{bank_root} is not inside the repository at {top}", 2) from None
    files = tree_files(top, spec, "" if rel == "." else rel)
    if MANIFEST not in files:
        return None
    dest = Path(tempfile.mkdtemp(prefix="rev-", dir=workdir))
    for name, content in files.items():
        if not name.endswith(".yaml"):
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return dest
