"""Where buyer messages come from: the usage log, a text file, or a CSV/JSONL chat export.

Every message is masked (kb.learn.mask) the moment it is read: nothing downstream ever holds
the unmasked text.

  usage log      kb's own JSON Lines (``kb log``); also a copy of another agent's log file
  text           one message per line (any other file name, or - for stdin)
  CSV / TSV      a chat export; the message column is --column (guessed when one header is
                 text/message/query/content/消息/内容/买家消息 …); UTF-8, UTF-8 with BOM or GBK
                 (Qianniu and most Chinese tools export GBK)
  JSONL          one JSON object per line, the message under --column (a usage log is recognised
                 by its records and needs no --column)
Optional: --label-column names the column holding the phrase id the agent used; --only COL=VALUE
keeps the rows whose column has that value (e.g. only the buyer's side of a chat).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..errors import KbError
from .mask import mask

GUESS_COLUMNS = ("text", "message", "msg", "query", "q", "content", "question", "消息", "内容", "买家消息",
                 "消息内容", "聊天内容", "问题", "咨询内容")
LABEL_GUESS = ("expect", "label", "phrase", "phrase_id", "copied", "话术", "短语")
MAX_MESSAGE_CHARS = 2000


@dataclass
class Message:
    text: str  # masked
    source: str
    line: int
    copied: str | None = None  # the phrase the agent copied (usage log) or a label column's value
    time: datetime | None = None
    logged_outcome: str | None = None  # what search answered when the message was logged
    logged_ids: list[str] = field(default_factory=list)
    bank: str | None = None  # the bank a usage-log record was searched in


@dataclass
class Source:
    """One source as read: where it came from, what kind, how many messages."""

    name: str
    kind: str  # log text csv jsonl
    messages: list[Message]
    column: str | None = None
    skipped: int = 0  # empty rows, rows filtered out by --only

    def describe(self) -> str:
        col = f", column {self.column}" if self.column else ""
        skip = f", {self.skipped} skipped" if self.skipped else ""
        return f"{self.name} ({self.kind}{col}: {len(self.messages)} messages{skip})"


def _time(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.astimezone()


def _msg(text: str, source: str, line: int, **kw) -> Message | None:
    text = " ".join(str(text).split())[:MAX_MESSAGE_CHARS]
    if not text:
        return None
    return Message(mask(text), source, line, **kw)


def _decode(data: bytes, name: str) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise KbError(f"{name}: neither UTF-8 nor GBK text")


def _only(only: str | None) -> tuple[str, str] | None:
    if not only:
        return None
    if "=" not in only:
        raise KbError(f"--only {only!r}: write it as COLUMN=VALUE (e.g. --only 角色=买家)", 2)
    col, value = only.split("=", 1)
    return col.strip(), value.strip()


def _pick(columns: list[str], column: str | None, name: str, what: str = "--column",
          guess: tuple[str, ...] = GUESS_COLUMNS, required: bool = True) -> str | None:
    if column is not None:
        if column not in columns:
            import difflib

            close = difflib.get_close_matches(column, columns, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise KbError(f"{name}: no column {column!r}{hint}; columns: {', '.join(columns)}", 2)
        return column
    found = [c for c in columns if c.strip().lower() in guess]
    if len(found) == 1:
        return found[0]
    if not required:
        return None
    raise KbError(f"{name}: which column holds the messages? pass {what} NAME (columns: {', '.join(columns)})", 2)


def read_log(path: Path, name: str | None = None) -> Source:
    from .log import is_log_record, read_records

    records = read_records(path)
    good = [(n, r) for n, r in records if is_log_record(r)]
    src = read_log_records(good, name or str(path))
    src.skipped += len(records) - len(good)
    return src


def read_text(data: str, name: str) -> Source:
    msgs = []
    skipped = 0
    for n, line in enumerate(data.splitlines(), 1):
        m = _msg(line, name, n)
        if m:
            msgs.append(m)
        else:
            skipped += 1
    return Source(name, "text", msgs, skipped=skipped)


def read_csv(data: str, name: str, *, delimiter: str, column: str | None, label_column: str | None,
             only: str | None) -> Source:
    reader = csv.reader(io.StringIO(data), delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error as e:
        raise KbError(f"{name}:{reader.line_num}: not a valid CSV row ({e})") from None
    if not rows:
        return Source(name, "csv", [])
    header = [h.strip() for h in rows[0]]
    col = _pick(header, column, name)
    lab = _pick(header, label_column, name, "--label-column", LABEL_GUESS, required=False) \
        if label_column else None
    flt = _only(only)
    if flt:
        _pick(header, flt[0], name, "--only")
    ci = header.index(col)
    li = header.index(lab) if lab else None
    fi = header.index(flt[0]) if flt else None
    msgs, skipped = [], 0
    for n, row in enumerate(rows[1:], 2):
        if fi is not None and (len(row) <= fi or row[fi].strip() != flt[1]):
            skipped += 1
            continue
        text = row[ci] if len(row) > ci else ""
        label = row[li].strip() if li is not None and len(row) > li else ""
        m = _msg(text, name, n, copied=_label(label))
        if m:
            msgs.append(m)
        else:
            skipped += 1
    return Source(name, "csv", msgs, column=col, skipped=skipped)


def _label(value: str) -> str | None:
    value = (value or "").strip()
    if not value or value.lower() in ("null", "none", "~", "-"):
        return None
    return value.split("|")[0].strip()  # "a|b" (either is right): the first one is what was used


def read_jsonl(data: str, name: str, *, column: str | None, label_column: str | None,
               only: str | None) -> Source:
    from .log import is_log_record

    lines = data.splitlines()
    records = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append((n, json.loads(line)))
        except ValueError as e:
            raise KbError(f"{name}:{n}: not JSON ({e})") from None
    if column is None and records and all(is_log_record(r) for _, r in records):
        return read_log_records(records, name)
    keys: list[str] = []
    for _, r in records:
        if isinstance(r, dict):
            keys.extend(k for k in r if k not in keys)
    col = _pick(keys, column, name)
    lab = _pick(keys, label_column, name, "--label-column") if label_column else None
    flt = _only(only)
    msgs, skipped = [], 0
    for n, r in records:
        if not isinstance(r, dict):
            raise KbError(f"{name}:{n}: expected a JSON object per line")
        if flt and str(r.get(flt[0], "")).strip() != flt[1]:
            skipped += 1
            continue
        text = r.get(col)
        label = r.get(lab) if lab else None
        m = _msg(text if isinstance(text, str) else "", name, n,
                 copied=_label(label) if isinstance(label, str) else None, time=_time(r.get("time")))
        if m:
            msgs.append(m)
        else:
            skipped += 1
    return Source(name, "jsonl", msgs, column=col, skipped=skipped)


def read_log_records(records: list[tuple[int, dict]], name: str) -> Source:
    msgs, skipped = [], 0
    for n, rec in records:
        copied = rec.get("copied") if isinstance(rec.get("copied"), str) else None
        # the log holds masked text already; masking again is harmless and guards hand-edited logs
        m = _msg(rec["query"], name, n, copied=copied, time=_time(rec.get("time")),
                 logged_outcome=rec.get("outcome") if isinstance(rec.get("outcome"), str) else None,
                 logged_ids=[i for i in rec.get("ids") or [] if isinstance(i, str)],
                 bank=rec.get("bank") if isinstance(rec.get("bank"), str) else None)
        if m:
            msgs.append(m)
        else:
            skipped += 1
    return Source(name, "log", msgs, skipped=skipped)


def read_source(spec: str, *, column: str | None = None, label_column: str | None = None,
                only: str | None = None) -> Source:
    """Read one SOURCE: a path (kind from its name and content) or - for stdin (text)."""
    if spec == "-":
        data = sys.stdin.buffer.read()
        return read_text(_decode(data, "stdin"), "stdin")
    path = Path(spec)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise KbError(f"{spec}: is a folder; give a file", 2) from None
    except OSError as e:
        raise KbError(f"{spec}: cannot read: {e.strerror}", 2) from None
    text = _decode(data, spec)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return read_jsonl(text, spec, column=column, label_column=label_column, only=only)
    if suffix in (".csv", ".tsv"):
        return read_csv(text, spec, delimiter="\t" if suffix == ".tsv" else ",", column=column,
                        label_column=label_column, only=only)
    if column or label_column or only:
        raise KbError(f"{spec}: --column/--label-column/--only apply to CSV, TSV or JSONL files", 2)
    return read_text(text, spec)


def read_usage_log() -> Source:
    from .log import log_path

    path = log_path()
    if not path.exists():
        raise KbError(f"no usage log at {path}: turn it on ('log: true' in bank.yaml, KB_LOG=1 or "
                      "kb search --log) or give a SOURCE file (kb learn --help)")
    return read_log(path, f"usage log {path}")
