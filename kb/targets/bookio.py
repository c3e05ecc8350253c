"""Imported books to YAML files: through the model (kb.model.Book), dumped with ruamel round trip,
read back with kb's own loader before anything is written, split when kb could not load one book,
checked against the bank they land in, and never written into the installed package."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import KbError

BOOK_NAME_RE = re.compile(r"[a-z0-9_]+")
# a book kb can load comfortably: well under the loader's size and value limits (kb/bank/yamlio.py)
SPLIT_SHARE = 0.5


def check_name(name: str, option: str = "--name") -> str:
    if not BOOK_NAME_RE.fullmatch(name):
        raise KbError(f"{option} {name!r}: a book name is lower-case letters, digits and _ "
                      "(no spaces, newlines or dots)", 2)
    return name


def book_yaml(book, header: str = "") -> str:
    """A kb.model.Book as phrasebook YAML (kb/bank/write.py: model field order, literal blocks)."""
    from ..bank.write import book_yaml as dump

    return dump(book, header)


def reload_check(text: str, book, where: str) -> int:
    """Read the YAML back with kb's own loader and model; the number of texts (reply or flow steps)
    it holds. Raises YamlProblem-derived KbError when kb could not load it."""
    from ..bank.yamlio import YamlProblem, load_document
    from ..model import Book

    try:
        value, _ = load_document(text.encode("utf-8"))
    except YamlProblem as e:
        raise KbError(f"{where}: kb could not read the book it would write (line {e.line}: {e.message})") from None
    try:
        back = Book.model_validate(value)
    except Exception as e:  # pydantic.ValidationError: a bug in the importer, reported plainly
        raise KbError(f"{where}: the book it would write is not valid: {e}") from None
    if back != book:
        raise KbError(f"{where}: the book read back differs from the one imported (please report it)")
    return sum(len(p.steps()) for p in back.phrases)


def loader_budget() -> int:
    """Bytes one written book may take: a share of what kb's loader accepts per book."""
    from ..bank import yamlio

    return int(getattr(yamlio, "MAX_FILE_BYTES", 4 * 1024 * 1024) * SPLIT_SHARE)


def node_budget() -> int:
    from ..bank import yamlio

    return int(getattr(yamlio, "MAX_NODES", 500_000) * SPLIT_SHARE)


def _nodes(p) -> int:
    """Values the loader builds for one phrase (a close upper estimate)."""
    n = 2 * 8 + len(p.questions) + len(p.tags)
    if p.flow:
        n += 5 * len(p.flow)
    return n


@dataclass
class Planned:
    book: object  # kb.model.Book
    path: Path
    text: str
    texts: int  # reply/flow texts in it


def plan_books(imported, out: Path, *, split: bool = True, limit_bytes: int | None = None) -> list[Planned]:
    """Dump each book; a book kb could not load (too large) is split into name, name_2 … (files
    next to out) or, without split, refused before anything is written, with the reason."""
    from ..model import Book

    budget = limit_bytes or loader_budget()
    nodes = node_budget()
    planned: list[Planned] = []
    for book in imported.books:
        chunks: list[list] = []
        cur: list = []
        size = count = 0
        for p in book.phrases:
            est = sum(len(s.text.encode("utf-8")) for s in p.steps()) * 2 + 400  # YAML overhead
            if cur and (size + est > budget or count + _nodes(p) > nodes):
                chunks.append(cur)
                cur, size, count = [], 0, 0
            cur.append(p)
            size += est
            count += _nodes(p)
        chunks.append(cur)
        if len(chunks) > 1 and not split:
            raise KbError(f"{book.name}: {len(book.phrases)} phrases would make a book of about "
                          f"{sum(len(s.text) for p in book.phrases for s in p.steps()) // 1024} K characters, "
                          f"more than kb loads in one book ({budget // 1024} KB budget): nothing written "
                          "(drop --no-split to write several books)")
        width = len(str(len(chunks)))  # legacy_02 … legacy_10: file order (the bank's order) is row order
        for k, chunk in enumerate(chunks, 1):
            name = book.name if k == 1 else f"{book.name}_{k:0{width}d}"
            data = book.model_dump(by_alias=True)
            data["name"] = name
            data["phrases"] = [p.model_dump(by_alias=True) for p in chunk]
            if k > 1:
                for ph in data["phrases"]:
                    ph["id"] = _rebase_id(ph["id"], book.name, name)
            part = Book.model_validate(data)
            path = out if k == 1 else out.with_name(f"{out.stem}_{k:0{width}d}{out.suffix or '.yaml'}")
            text = book_yaml(part, imported.header)
            if len(text.encode("utf-8")) > budget * 2:
                raise KbError(f"{path}: one phrase alone is too large for a book kb loads: nothing written")
            n = reload_check(text, part, str(path))
            planned.append(Planned(part, path, text, n))
    return planned


def _rebase_id(pid: str, old: str, new: str) -> str:
    return new + pid[len(old):] if pid.startswith(old + ".") else pid


def shortcut_owners(bank, skip: set[Path]) -> dict[str, str]:
    """Every code the bank exports (shortcuts and flow step codes) -> the phrase id that owns it."""
    owners: dict[str, str] = {}
    for bf, _, p in bank.phrases():
        if bf.path.resolve() in skip or not p.shortcut:
            continue
        owners.setdefault(p.shortcut, p.id)
        steps = p.steps()
        if steps[0].name is not None:
            for i in range(1, len(steps) + 1):
                owners.setdefault(f"{p.shortcut}{i}", p.id)
    return owners


def codes_of(book) -> list[tuple[str, str]]:
    """(code, phrase id) for every code a book exports."""
    out = []
    for p in book.phrases:
        if not p.shortcut:
            continue
        out.append((p.shortcut, p.id))
        steps = p.steps()
        if steps[0].name is not None:
            out.extend((f"{p.shortcut}{i}", p.id) for i in range(1, len(steps) + 1))
    return out


def clashes(bank, planned: list[Planned], lines: dict[str, int]) -> list[str]:
    """Codes, ids and book names of the new books that the bank already uses (files being replaced
    excepted)."""
    skip = {p.path.resolve() for p in planned}
    owners = shortcut_owners(bank, skip)
    ids = {p.id: bf.display for bf, _, p in bank.phrases() if bf.path.resolve() not in skip}
    names = {bf.book.name: bf.display for bf in bank.books if bf.path.resolve() not in skip}
    out = []
    for pl in planned:
        if pl.book.name in names:
            out.append(f"book name '{pl.book.name}' is already the book {names[pl.book.name]} (choose --name)")
        taken: dict[tuple[str, str], list[str]] = {}
        for code, pid in codes_of(pl.book):
            if code in owners:
                taken.setdefault((pid, owners[code]), []).append(code)
        for (pid, owner), codes in taken.items():
            where = f"line {lines[pid]}: " if pid in lines else ""
            out.append(f"{where}{pid}: code(s) {', '.join(codes)} already used by {owner}")
        for p in pl.book.phrases:
            if p.id in ids:
                out.append(f"id {p.id} is already used in {ids[p.id]}")
    return out


def rename_codes(imported, prefix: str, code_re: str | None) -> list[str]:
    """--prefix: put prefix in front of every imported shortcut. Returns problems (invalid codes)."""
    problems = []
    for book in imported.books:
        for p in book.phrases:
            if p.shortcut:
                new = prefix + p.shortcut
                if code_re and not re.fullmatch(code_re.strip("^$"), new):
                    problems.append(f"--prefix {prefix!r}: code '{new}' ({p.id}) is not a valid code ({code_re})")
                p.shortcut = new
    return problems


def make_phrase(where: str, *, steps: list[tuple[str, str]] | None = None, reply: str | None = None, **fields):
    """A kb.model.Phrase from an imported row: a reply, or a flow of (step, text); a value the model
    refuses is a KbError naming the row (where: 'line 12', 'row 3' …)."""
    from pydantic import ValidationError

    from ..model import FlowStep, Phrase

    body = {"flow": [FlowStep(step=s, reply=t) for s, t in steps]} if steps else {"reply": reply}
    try:
        return Phrase(**fields, **body)
    except ValidationError as e:
        first = e.errors()[0]
        raise KbError(f"{where}: cannot make a phrase of this row: "
                      f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
