"""Batch hit-testing: a lead's list of real messages (no labels) → one table of what search answers.

``kb eval MESSAGES`` takes this path when MESSAGES is not a labelled case file: a text file with
one message per line (no ``text<TAB>expect`` header), or a CSV/TSV/JSONL chat export with
``--column``. Messages are masked (kb.learn.mask) before they are searched or printed.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..targets.base import FORMULA_PREFIXES
from .mask import strip_placeholders
from .report import md_cell
from .sources import read_source

CASE_HEADERS = ("text", "q", "query", "message")


def is_message_list(path: Path) -> bool:
    """True when the file is a plain list of messages, not a labelled case file (YAML cases:, or
    TSV with a text<TAB>expect header)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return False
    if suffix in (".csv", ".jsonl", ".ndjson", ".json"):
        return True
    try:
        with open(path, "rb") as f:
            first = f.readline().decode("utf-8-sig", "replace").rstrip("\r\n")
    except OSError:
        return False
    if first.lstrip().startswith(("cases:", "#", "---")):
        return False
    parts = first.split("\t")
    return not (len(parts) == 2 and parts[0].strip().lower() in CASE_HEADERS)


@dataclass
class Hit:
    n: int
    line: int
    message: str  # masked
    outcome: str
    matches: list[tuple[str, str, float]]  # id, title, score


def hit_test(index, spec: str, *, column: str | None = None, only: str | None = None, k: int = 3) -> list[Hit]:
    src = read_source(spec, column=column, only=only)
    out = []
    for n, m in enumerate(src.messages, 1):
        r = index.search(strip_placeholders(m.text), k=k)
        out.append(Hit(n, m.line, m.text, r.outcome, [(x.id, x.title, x.score) for x in r.matches[:k]]))
    return out


def _summary(hits: list[Hit]) -> str:
    c = Counter(h.outcome for h in hits)
    return (f"{len(hits)} messages: {c.get('confident', 0)} confident, {c.get('ambiguous', 0)} ambiguous, "
            f"{c.get('none', 0)} none")


def format_hits(hits: list[Hit], fmt: str = "text", k: int = 3) -> str:
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        head = ["n", "line", "message", "outcome"]
        for i in range(1, k + 1):
            head += [f"top{i}", f"title{i}", f"score{i}"]
        w.writerow(head)
        for h in hits:
            row: list = [h.n, h.line, _csv_safe(h.message), h.outcome]
            for i in range(k):
                pid, title, score = h.matches[i] if i < len(h.matches) else ("", "", "")
                row += [pid, _csv_safe(title), f"{score:.2f}" if score != "" else ""]
            w.writerow(row)
        return buf.getvalue().rstrip("\n")
    if fmt == "markdown":
        out = [f"**{_summary(hits)}**", "", "| # | message | outcome | top answers |", "|---:|---|---|---|"]
        for h in hits:
            tops = "<br>".join(f"`{pid}` {md_cell(title)} ({score:.2f})" for pid, title, score in h.matches) or "-"
            mark = {"confident": "✅ confident", "ambiguous": "❔ ambiguous", "none": "❌ none"}.get(h.outcome, h.outcome)
            out.append(f"| {h.n} | {md_cell(h.message)} | {mark} | {tops} |")
        return "\n".join(out)
    if fmt == "json":
        return "\n".join(json.dumps({"n": h.n, "line": h.line, "message": h.message, "outcome": h.outcome,
                                     "matches": [{"id": p, "title": t, "score": s} for p, t, s in h.matches]},
                                    ensure_ascii=False) for h in hits)
    out = []
    for h in hits:
        tops = "  ".join(f"{pid} ({score:.2f})" for pid, _, score in h.matches) or "-"
        out.append(f"{h.n:>4}  {h.outcome:<9}  {h.message}\n      {tops}")
    out.append(_summary(hits))
    return "\n".join(out)


def _csv_safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (= + - @ at the start)."""
    text = " ".join(str(text).split())
    return "'" + text if text[:1] in FORMULA_PREFIXES else text
