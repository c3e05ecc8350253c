"""The index on disk: an SQLite file read lazily (data, never code).

A search process opens the file and reads only what a query touches: the postings of the
message's features, the questions and records of the few candidate phrases. Start-up does not
grow with the bank (the compact jieba dictionary is the one thing read whole), and memory stays
small at 100k phrases. Postings are packed arrays (``array('i')`` phrase numbers followed by
``array('f')`` contributions), little-endian.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from array import array
from collections.abc import Iterator
from pathlib import Path

from .index import Index, cycle_collector_paused

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE phrases (pi INTEGER PRIMARY KEY, record TEXT NOT NULL, questions TEXT NOT NULL, cohesion TEXT NOT NULL);
CREATE TABLE postings (feature TEXT PRIMARY KEY, idf REAL NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE shortcuts (code TEXT PRIMARY KEY, pi INTEGER NOT NULL);
CREATE TABLE scope (gram TEXT PRIMARY KEY, w REAL NOT NULL);
"""
_META = ("variables", "campaigns", "freq", "freq_total", "bank_name", "bank_versions", "problems", "root", "unit",
         "gram_vocab",
         "count", "format")


def _pack(ps: list) -> bytes:
    pis, contribs = zip(*ps) if ps else ((), ())  # noqa: B905 (pairs: two tuples of equal length)
    ids = array("i", pis)
    cs = array("f", contribs)
    if sys.byteorder != "little":
        ids.byteswap()
        cs.byteswap()
    return ids.tobytes() + cs.tobytes()


def _unpack(blob: bytes, n: int) -> list[tuple[int, float]]:
    ids = array("i")
    cs = array("f")
    ids.frombytes(blob[:4 * n])
    cs.frombytes(blob[4 * n:8 * n])
    if sys.byteorder != "little":
        ids.byteswap()
        cs.byteswap()
    return list(zip(ids, cs, strict=True))


@cycle_collector_paused()
def write(path: Path, index: Index, fmt: int) -> None:
    """Write index to a new SQLite file at path (the caller renames it into place)."""
    con = sqlite3.connect(str(path))
    try:
        con.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
        meta = {k: getattr(index, k) for k in _META if hasattr(index, k)}
        meta.update(count=len(index.phrases), format=fmt)
        con.executemany("INSERT INTO meta VALUES (?, ?)",
                        [(k, json.dumps(v, ensure_ascii=False)) for k, v in meta.items()])
        con.executemany("INSERT INTO phrases VALUES (?, ?, ?, ?)",
                        ((pi, json.dumps(p, ensure_ascii=False), json.dumps(index.questions[pi], ensure_ascii=False),
                          json.dumps(index.cohesion[pi])) for pi, p in enumerate(index.phrases)))
        con.executemany("INSERT INTO postings VALUES (?, ?, ?, ?)",  # in key order: the B-tree is appended to
                        ((t, index.idf[t], len(ps), _pack(ps)) for t, ps in sorted(index.postings.items())))
        con.executemany("INSERT INTO shortcuts VALUES (?, ?)", index.shortcuts.items())
        con.executemany("INSERT INTO scope VALUES (?, ?)", index.scope_table.items())
        con.commit()
    finally:
        con.close()


class _Postings:
    """feature -> [(phrase, contribution)], read on demand (what scoring needs of a dict)."""

    def __init__(self, con: sqlite3.Connection):
        self._con = con
        self._rows: dict[str, tuple[float, list] | None] = {}

    def _row(self, t: str) -> tuple[float, list] | None:
        if t not in self._rows:
            if len(self._rows) > 50_000:
                self._rows.clear()
            r = self._con.execute("SELECT idf, n, data FROM postings WHERE feature = ?", (t,)).fetchone()
            self._rows[t] = (r[0], _unpack(r[2], r[1])) if r else None
        return self._rows[t]

    def __contains__(self, t: object) -> bool:
        return isinstance(t, str) and self._row(t) is not None

    def __getitem__(self, t: str) -> list:
        r = self._row(t)
        if r is None:
            raise KeyError(t)
        return r[1]

    def get(self, t: str, default=None):
        r = self._row(t)
        return default if r is None else r[1]

    def __len__(self) -> int:
        return self._con.execute("SELECT COUNT(*) FROM postings").fetchone()[0]


class _Idf:
    def __init__(self, postings: _Postings):
        self._p = postings

    def get(self, t: str, default=None):
        r = self._p._row(t)
        return default if r is None else r[0]

    def __getitem__(self, t: str) -> float:
        r = self._p._row(t)
        if r is None:
            raise KeyError(t)
        return r[0]

    def __contains__(self, t: object) -> bool:
        return t in self._p


class _Rows:
    """A read-only list of phrase records or question lists, one row read per item."""

    def __init__(self, con: sqlite3.Connection, column: str, count: int):
        self._con, self._column, self._count = con, column, count
        self._cache: dict[int, object] = {}

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, i: int):
        if not isinstance(i, int):
            raise TypeError("index rows are read one by one")
        if i < 0:
            i += self._count
        if i not in self._cache:
            r = self._con.execute(f"SELECT {self._column} FROM phrases WHERE pi = ?", (i,)).fetchone()
            if r is None:
                raise IndexError(i)
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[i] = json.loads(r[0])
        return self._cache[i]

    def __iter__(self) -> Iterator:
        for (text,) in self._con.execute(f"SELECT {self._column} FROM phrases ORDER BY pi"):
            yield json.loads(text)


class _Shortcuts:
    def __init__(self, con: sqlite3.Connection):
        self._con = con

    def __contains__(self, code: object) -> bool:
        return self.get(code) is not None  # type: ignore[arg-type]

    def __getitem__(self, code: str) -> int:
        pi = self.get(code)
        if pi is None:
            raise KeyError(code)
        return pi

    def get(self, code: str, default=None):
        r = self._con.execute("SELECT pi FROM shortcuts WHERE code = ?", (code,)).fetchone()
        return default if r is None else r[0]


def _scope_reader(con: sqlite3.Connection):
    """Index.scope_weights read from the file: the grams a process has not seen yet, in a few queries
    (a stream of messages soon reads almost nothing: most grams recur)."""
    seen: dict[str, float | None] = {}

    def weights(grams: list[str]) -> dict[str, float]:
        new = [g for g in grams if g not in seen]
        if new:
            if len(seen) > 200_000:
                seen.clear()
            found: dict[str, float] = {}
            for i in range(0, len(new), 900):  # SQLite's oldest limit of bound parameters is 999
                part = new[i:i + 900]
                found.update(con.execute(f"SELECT gram, w FROM scope WHERE gram IN ({','.join('?' * len(part))})",
                                         part))
            for g in new:
                seen[g] = found.get(g)
        return {g: w for g in grams if (w := seen.get(g)) is not None}

    return weights


def read(path: Path, fmt: int) -> Index:
    """An Index whose large parts stay in the file. Raises ValueError when the file is not one."""
    try:
        con = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        meta = {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM meta")}
    except (sqlite3.Error, json.JSONDecodeError) as e:
        raise ValueError(f"not a kb index: {e}") from None
    if meta.get("format") != fmt or not all(k in meta for k in _META):
        con.close()
        raise ValueError("index of another format")
    index = Index.__new__(Index)
    postings = _Postings(con)
    index.lookup = postings._row  # type: ignore[method-assign]  # (idf, postings) straight from the file
    index.scope_weights = _scope_reader(con)  # type: ignore[method-assign]
    index.__dict__.update(
        phrases=_Rows(con, "record", meta["count"]), questions=_Rows(con, "questions", meta["count"]),
        cohesion=_Rows(con, "cohesion", meta["count"]),
        postings=postings, idf=_Idf(postings), shortcuts=_Shortcuts(con), scope_table={},
        **{k: meta[k] for k in _META if k not in ("count", "format")}, key="", _tokenizer=None, _common={}, _tables={},
        _table_grams=0)
    return index
