"""The local usage log: opt-in, JSON Lines, personal data masked before anything is written.

Never on by default. It is on for a search when any of these says so, first one wins:
  the --log flag of the command      (flag=True; --no-log is not needed: absent means "ask the next")
  the environment variable KB_LOG    (1/true/yes/on = on, 0/false/no/off = off)
  the bank's bank.yaml               (log: true)

Where: ``$KB_DATA_DIR/usage.jsonl`` when KB_DATA_DIR is set, else ``usage.jsonl`` in the user
data dir (platformdirs.user_data_dir("kb"): ~/.local/share/kb on Linux, ~/Library/Application
Support/kb on macOS, %LOCALAPPDATA%\\kb on Windows). The folder is created 0700, the file 0600.

One record per line:
  {"v": 1, "time": "2026-11-11T10:00:00+08:00", "event": "search" | "copy", "via": "search" | "ui",
   "bank": "taobao-promo-service", "versions": {"shipping": "1.1.0", ...},
   "query": "<the buyer message, masked: see kb.learn.mask>", "outcome": "confident",
   "ids": ["shipping.when_ship", ...], "scores": [0.91, ...],
   "copied": "shipping.when_ship", "rank": 1}          (copied/rank: copy events only)
Nothing else: no user name, no host, no unmasked text. ``kb log --clear`` deletes the file.
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from ..dirs import user_dir

LOG_NAME = "usage.jsonl"
FORMAT = 1
MAX_QUERY_CHARS = 500
_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n", ""}
_MANIFEST_LOG = re.compile(rb"^log[ \t]*:", re.MULTILINE)
_bank_setting: dict[str, bool] = {}  # bank.yaml (path, mtime, size) -> its log: setting
_notice_shown = False


def data_dir() -> Path:
    return user_dir("data", "KB_DATA_DIR")


def log_path() -> Path:
    return data_dir() / LOG_NAME


def bank_setting(root: str | os.PathLike[str] | None) -> bool:
    """The bank's own ``log:`` setting (False when bank.yaml does not say ``log: true``).

    Cheap on the search path: bank.yaml is only parsed when it has a top-level ``log:`` key."""
    if not root:
        return False
    manifest = Path(root) / "bank.yaml"
    try:
        st = manifest.stat()
        key = f"{manifest}\0{st.st_mtime_ns}\0{st.st_size}"  # an edited bank.yaml is read again
    except OSError:
        return False
    if key not in _bank_setting:
        try:
            raw = manifest.read_bytes()
        except OSError:
            raw = b""
        value = False
        if _MANIFEST_LOG.search(raw):
            from ..bank.load import load_manifest

            m, _ = load_manifest(Path(root), [])
            value = bool(m is not None and m.log)
        _bank_setting[key] = value
    return _bank_setting[key]


def why(root: str | os.PathLike[str] | None, flag: bool | None = None) -> tuple[bool, str]:
    """(is the log on, the reason in words)."""
    if flag:
        return True, "on: --log"
    env = os.environ.get("KB_LOG")
    if env is not None:
        v = env.strip().lower()
        if v in _TRUE:
            return True, f"on: KB_LOG={env}"
        if v in _FALSE:
            return False, f"off: KB_LOG={env}"
    if bank_setting(root):
        return True, "on: bank.yaml has log: true"
    return False, "off (default): turn it on with 'log: true' in bank.yaml, KB_LOG=1 or --log"


def enabled(root: str | os.PathLike[str] | None, flag: bool | None = None) -> bool:
    return why(root, flag)[0]


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _notice(msg: str) -> None:
    global _notice_shown
    if not _notice_shown:
        _notice_shown = True
        print(f"kb: {msg}", file=sys.stderr)


def make_record(index: Any, result: Any, *, via: str = "search", copied: str | None = None,
                rank: int | None = None, time: str | None = None) -> dict:
    """The record of one search (or of a copy, when copied is given), query masked."""
    from .mask import mask

    query = mask(str(getattr(result, "query", "") or ""))[:MAX_QUERY_CHARS]
    matches = list(getattr(result, "matches", []) or [])
    rec: dict[str, Any] = {
        "v": FORMAT, "time": time or _now(), "event": "copy" if copied else "search", "via": via,
        "bank": getattr(index, "bank_name", ""), "versions": dict(getattr(index, "bank_versions", {}) or {}),
        "query": query, "outcome": getattr(result, "outcome", None),
        "ids": [m.id for m in matches], "scores": [round(float(m.score), 4) for m in matches],
    }
    if copied:
        rec["copied"] = copied
        rec["rank"] = rank
    return rec


def append(records: list[dict], path: Path | None = None) -> None:
    """Append records to the log (folder 0700, file 0600). Raises OSError."""
    path = path or log_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = "".join(_line(r) for r in records).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)  # a file created earlier with a looser mode is tightened
        os.write(fd, data)  # one write per call: lines of concurrent kb processes never interleave
    finally:
        os.close(fd)


def _line(rec: dict) -> str:
    text = json.dumps(rec, ensure_ascii=False, separators=(",", ":"))
    for ch, esc in (("\x85", "\\u0085"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text + "\n"


def record(index: Any, result: Any, *, copied: str | None = None, rank: int | None = None,
           via: str | None = None, flag: bool | None = None) -> bool:
    """Log one search (or, with copied=phrase id and rank, the reply an agent copied) when the log
    is on for the index's bank. Never raises: a log that cannot be written is one stderr notice.
    Returns whether a record was written.

    The UI calls it after a copy:  record(state.index, state.result, copied=match.id, rank=n)
    """
    try:
        if not enabled(getattr(index, "root", None), flag):
            return False
        append([make_record(index, result, via=via or ("ui" if copied else "search"), copied=copied,
                            rank=rank)])
        return True
    except OSError as e:
        _notice(f"cannot write the usage log {log_path()} ({e.strerror}): searching without it")
    except Exception as e:  # the log must never break a search
        _notice(f"usage log skipped ({type(e).__name__}: {e})")
    return False


def read_records(path: Path | None = None) -> list[tuple[int, dict]]:
    """Every well-formed record with its line number; malformed lines are skipped."""
    path = path or log_path()
    out = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict) and "query" in rec and "event" in rec:
                    out.append((n, rec))
    except FileNotFoundError:
        return []
    return out


def is_log_record(rec: Any) -> bool:
    return isinstance(rec, dict) and rec.get("v") == FORMAT and rec.get("event") in ("search", "copy") \
        and isinstance(rec.get("query"), str)


def status(root: str | os.PathLike[str] | None, flag: bool | None = None) -> dict:
    path = log_path()
    on, reason = why(root, flag)
    recs = read_records(path) if path.exists() else []
    times = [r.get("time") for _, r in recs if isinstance(r.get("time"), str)]
    return {"path": str(path), "exists": path.exists(), "enabled": on, "reason": reason,
            "records": len(recs), "copies": sum(r.get("event") == "copy" for _, r in recs),
            "first": min(times) if times else None, "last": max(times) if times else None,
            "bytes": path.stat().st_size if path.exists() else 0}


def clear() -> int:
    """Delete the log. Returns how many records it held."""
    path = log_path()
    n = len(read_records(path))
    try:
        path.unlink()
    except FileNotFoundError:
        return 0
    return n
