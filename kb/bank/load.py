"""Find a bank, load its books and validate them, reporting every problem with file:line:col."""

from __future__ import annotations

import difflib
import unicodedata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import KbError
from ..model import (
    Bank,
    Book,
    BookFile,
    Campaign,
    FlowStep,
    LintSuppression,
    Manifest,
    Phrase,
    Problem,
    nearest_loc,
)
from ..template import TemplateError, template_vars
from .chars import describe, escape
from .files import MANIFEST, FileProblem, book_files, display_path, find_bank, read_file
from .yamlio import YamlProblem, load_document

__all__ = ["MANIFEST", "book_files", "display_path", "find_bank", "load_bank", "open_bank"]

# --- pydantic errors -> messages ---------------------------------------------------------

def _model_for(path: tuple, top: type[BaseModel]) -> type[BaseModel]:
    if top is Manifest:
        return Campaign if len(path) >= 2 and path[0] == "campaigns" else Manifest
    if len(path) >= 2 and path[0] == "phrases":
        rest = path[2:]
        if rest[:1] == ("flow",) and len(rest) >= 2:
            return FlowStep
        if rest[:1] == ("lint",):
            return LintSuppression
        return Phrase
    return Book


def _fields(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _type_name(v: Any) -> str:
    return {str: "text", int: "a number", float: "a number", bool: "true/false", list: "a list",
            dict: "a mapping", type(None): "nothing"}.get(type(v), type(v).__name__)


def _describe(err: dict[str, Any], base: tuple, top: type[BaseModel]) -> tuple[tuple, str, bool]:
    """(location path, message, point at key?) for one pydantic error."""
    loc = tuple("schema" if x == "schema_" else x for x in base + tuple(err["loc"]))
    typ = err["type"]
    where = ".".join(str(x) for x in loc[len(base):]) or "document"
    if typ == "extra_forbidden":
        key = loc[-1]
        model = _model_for(loc[:-1], top)
        names = _fields(model)
        close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else f" (allowed: {', '.join(names)})"
        return loc, f"unknown key '{key}'{hint}", True
    if typ == "missing":
        parent = loc[:-1]
        return parent, f"missing required key '{loc[-1]}'", False
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    elif typ in ("string_type", "int_type", "list_type", "dict_type", "date_type", "date_from_datetime_parsing",
                 "int_parsing", "date_parsing", "bool_type", "model_type"):
        want = {"string_type": "text", "int_type": "a whole number", "int_parsing": "a whole number",
                "list_type": "a list", "dict_type": "a mapping", "model_type": "a mapping",
                "bool_type": "true or false"}.get(typ, "a date (YYYY-MM-DD)")
        got = _type_name(err.get("input"))
        hint = " (quote it: \"1.0.0\")" if isinstance(err.get("input"), float) and loc[-1] == "version" else ""
        msg = f"should be {want}, not {got}{hint}"
    elif typ == "too_short":
        msg = "must not be empty"
    return loc, f"{where}: {msg}", False


# --- loading ------------------------------------------------------------------------------


def _read(path: Path, display: str, problems: list[Problem]) -> tuple[Any, dict]:
    try:
        data = read_file(path)
    except FileProblem as e:
        problems.append(Problem(display, 1, 1, e.message))
        return None, {}
    try:
        return load_document(data)
    except YamlProblem as e:
        problems.append(Problem(display, e.line, e.col, e.message))
        return None, {}


def load_manifest(root: Path, problems: list[Problem]) -> tuple[Manifest | None, str]:
    path = root / MANIFEST
    display = display_path(path)
    raw, locs = _read(path, display, problems)
    if raw is None and not problems:
        problems.append(Problem(display, 1, 1, "bank.yaml is empty: it needs schema, name, vars and campaigns"))
    if raw is None:
        return None, display
    if not isinstance(raw, dict):
        problems.append(Problem(display, 1, 1, f"bank.yaml should be a mapping, not {_type_name(raw)}"))
        return None, display
    try:
        m = Manifest.model_validate(raw)
    except ValidationError as e:
        for err in e.errors():
            loc, msg, at_key = _describe(err, (), Manifest)
            line, col = nearest_loc(locs, loc + ("<key>",) if at_key else loc)
            problems.append(Problem(display, line, col, msg))
        return None, display
    for name, value in list(m.vars.items()) + [
        (f"{c}.{k}", v) for c, camp in m.campaigns.items() for k, v in camp.vars.items()
    ]:
        try:
            template_vars(value)
        except TemplateError as e:
            problems.append(Problem(display, *nearest_loc(locs, ("vars", name)), f"variable {name}: {e}"))
    texts = [(("vars", k), v, f"variable {k}") for k, v in m.vars.items()]
    for c, camp in m.campaigns.items():
        texts.append((("campaigns", c, "title"), camp.title, f"campaign {c} title"))
        texts += [(("campaigns", c, "vars", k), v, f"variable {c}.{k}") for k, v in camp.vars.items()]
    for path, value, what in texts:
        problems.extend(Problem(display, *nearest_loc(locs, path), msg) for msg in describe(value, what))
    for c, camp in m.campaigns.items():  # a campaign value for a variable the base does not define
        for k in camp.vars:
            if k not in m.vars:
                close = difflib.get_close_matches(k, sorted(m.vars), n=1)
                hint = (f"; did you mean '{close[0]}'?" if close
                        else "; define it under vars: too (its value outside the campaign)")
                problems.append(Problem(display, *nearest_loc(locs, ("campaigns", c, "vars", k, "<key>")),
                                        f"campaign {c}: variable '{k}' is not defined in the base vars{hint}"))
    return m, display


MAX_MESSAGE = 300  # characters of a problem message: a value quoted in it is cut, never printed whole


def _clip(problems: list[Problem], start: int = 0) -> None:
    """Problems of bounded length (a value quoted from the file never runs on); a phrase id on one line."""
    for p in problems[start:]:
        if len(p.message) > MAX_MESSAGE:
            p.message = p.message[: MAX_MESSAGE - 1] + "…"
        if p.phrase_id is not None:
            pid = p.phrase_id if len(p.phrase_id) <= 80 else p.phrase_id[:79] + "…"
            p.phrase_id = pid.replace("\n", "\\n")


MAX_FLOW_STEPS = 50  # steps an agent walks through with Tab
MAX_TEXT_CHARS = 10_000  # one title, question, step or reply: 20 times Qianniu's 500, bounded work downstream


def _text_lengths(rp: dict):
    """(keys, length) of every text of a raw phrase (before validation)."""
    for key in ("title", "group", "reply", "shortcut", "id"):
        if isinstance(rp.get(key), str):
            yield (key,), len(rp[key])
    for key in ("questions", "tags"):
        if isinstance(rp.get(key), list):
            for j, q in enumerate(rp[key]):
                if isinstance(q, str):
                    yield (key, j), len(q)
    if isinstance(rp.get("flow"), list):
        for j, st in enumerate(rp["flow"]):
            if isinstance(st, dict):
                for key in ("step", "reply"):
                    if isinstance(st.get(key), str):
                        yield ("flow", j, key), len(st[key])


MAX_PROBLEMS_PER_FILE = 100  # past that a file is not a phrasebook with typos: the rest is counted, not listed


def load_book(path: Path, problems: list[Problem]) -> BookFile | None:
    """One book, validated; its problems appended to problems. None when it cannot be used at all."""
    start = len(problems)
    try:
        return _load_book(path, problems)
    finally:
        extra = len(problems) - start - MAX_PROBLEMS_PER_FILE
        if extra > 0:
            last = problems[start + MAX_PROBLEMS_PER_FILE - 1]
            del problems[start + MAX_PROBLEMS_PER_FILE:]
            problems.append(Problem(last.path, last.line, last.col, f"… and {extra} more problem(s) in this file"))
        _clip(problems, start)


def _load_book(path: Path, problems: list[Problem]) -> BookFile | None:
    display = display_path(path)
    raw, locs = _read(path, display, problems)
    if raw is None:
        if not any(p.path == display for p in problems):
            problems.append(Problem(display, 1, 1, "file is empty: a book needs schema, name, version, title, phrases"))
        return None
    if not isinstance(raw, dict):
        problems.append(Problem(display, 1, 1, f"a book should be a mapping, not {_type_name(raw)}"))
        return None

    start = len(problems)

    def report(err: dict, base: tuple, pid: str | None) -> None:
        if len(problems) - start > MAX_PROBLEMS_PER_FILE:  # counted by load_book, not described
            problems.append(Problem(display, 1, 1, "", pid))
            return
        loc, msg, at_key = _describe(err, base, Book)
        line, col = nearest_loc(locs, loc + ("<key>",) if at_key else loc)
        problems.append(Problem(display, line, col, msg, pid))

    header = {k: v for k, v in raw.items() if k != "phrases"}
    raw_phrases = raw.get("phrases", [])
    book: Book | None = None
    try:
        book = Book.model_validate({**header, "phrases": []})
    except ValidationError as e:
        for err in e.errors():
            report(err, (), None)
    if raw_phrases is None:
        raw_phrases = []
    if not isinstance(raw_phrases, list):
        problems.append(Problem(display, *nearest_loc(locs, ("phrases",)), "phrases should be a list of phrases"))
        raw_phrases = []
    phrases: list[Phrase] = []
    kept_index: list[int] = []
    for i, rp in enumerate(raw_phrases):
        pid = rp.get("id") if isinstance(rp, dict) and isinstance(rp.get("id"), str) else None
        if not isinstance(rp, dict):
            problems.append(Problem(display, *nearest_loc(locs, ("phrases", i)), f"phrase {i + 1} should be a mapping"))
            continue
        long = [(keys, n) for keys, n in _text_lengths(rp) if n > MAX_TEXT_CHARS]
        for keys, n in long:
            problems.append(Problem(display, *nearest_loc(locs, ("phrases", i, *keys)),
                                    f"{'.'.join(map(str, keys))} is {n:,} characters: over {MAX_TEXT_CHARS:,}, it is no "
                                    "quick reply (split it into a flow or several phrases)", pid))
        flow = rp.get("flow")
        if isinstance(flow, list) and len(flow) > MAX_FLOW_STEPS:
            problems.append(Problem(display, *nearest_loc(locs, ("phrases", i, "flow")),
                                    f"flow has {len(flow):,} steps: over {MAX_FLOW_STEPS}, an agent cannot walk "
                                    "through it (split it into several phrases)", pid))
            continue
        if long:
            continue
        try:
            phrases.append(Phrase.model_validate(rp))
            kept_index.append(i)
        except ValidationError as e:
            for err in e.errors():
                report(err, ("phrases", i), pid)
    if book is None:
        return None
    if book.name != path.stem:
        problems.append(Problem(display, *nearest_loc(locs, ("name",)),
                                f"name '{book.name}' must equal the file name '{path.stem}'"))
    if kept_index != list(range(len(kept_index))):
        # keep the locations of the phrases that survived validation aligned with their index
        locs = _reindex(locs, kept_index)
    book.phrases = phrases
    bf = BookFile(book=book, path=path, display=display, locs=locs)
    problems.extend(text_problems(bf))
    return bf


def _reindex(locs: dict, kept: list[int]) -> dict:
    new_of = {old: new for new, old in enumerate(kept)}
    out = {}
    for k, v in locs.items():
        if len(k) >= 2 and k[0] == "phrases" and isinstance(k[1], int):
            if k[1] in new_of:
                out[("phrases", new_of[k[1]], *k[2:])] = v
        else:
            out[k] = v
    return out


def _norm_question(q: str) -> str:
    return "".join(unicodedata.normalize("NFKC", q).casefold().split())


def load_bank(root: Path | str | None = None) -> tuple[Bank | None, list[Problem]]:
    """Load and validate a bank. Returns (bank, every problem found): the bank holds every book that
    loads (a broken book is left out, with its problems), and is None only when bank.yaml itself
    cannot be used."""
    root = Path(root) if root is not None else find_bank()
    problems: list[Problem] = []
    if not (root / MANIFEST).is_file():
        return None, [Problem(display_path(root / MANIFEST), 1, 1, "no bank.yaml: not a kb bank")]
    manifest, mdisplay = load_manifest(root, problems)
    try:
        paths = book_files(root)
    except KbError as e:
        problems.append(Problem(display_path(root), 1, 1, e.message))
        paths = []
    books = [b for p in paths if (b := load_book(p, problems)) is not None]
    if manifest is None:
        _clip(problems)
        return None, problems
    bank = Bank(root=root, manifest=manifest, books=books, manifest_display=mdisplay)
    problems.extend(cross_check(bank))
    if not bank.books and not any(p.path != mdisplay for p in problems):
        problems.append(Problem(mdisplay, 1, 1, "the bank has no phrasebooks: add a <name>.yaml beside bank.yaml"))
    _clip(problems)
    return bank, problems


def text_problems(bf: BookFile) -> list[Problem]:
    """Control, bidi and zero-width characters in any text of a book, with their position
    (bank.yaml's are checked by load_manifest)."""
    out: list[Problem] = []

    def check(loc: tuple[int, int], text: object, what: str, pid: str | None = None) -> None:
        if isinstance(text, str):
            out.extend(Problem(bf.display, *loc, msg, pid) for msg in describe(text, what))

    check(bf.loc("title"), bf.book.title, "book title")
    check(bf.loc("description"), bf.book.description, "description")
    for i, p in enumerate(bf.book.phrases):
        check(bf.phrase_loc(i, "title"), p.title, "title", p.id)
        check(bf.phrase_loc(i, "group"), p.group, "group", p.id)
        for qi, q in enumerate(p.questions):
            check(bf.phrase_loc(i, "questions", qi), q, f"question {qi + 1}", p.id)
        for st in p.steps():
            if st.name is not None:
                check(bf.phrase_loc(i, *st.key[:-1], "step"), st.name, f"{st.field[:-6]} step name", p.id)
            check(bf.phrase_loc(i, *st.key), st.text, st.field, p.id)
        for ti, tag in enumerate(p.tags):
            check(bf.phrase_loc(i, "tags", ti), tag, f"tag {ti + 1}", p.id)
    return out


def cross_check(bank: Bank) -> list[Problem]:
    """Checks that span phrases and books: unique ids/shortcuts/names, variables, questions."""
    out: list[Problem] = []
    ids: dict[str, str] = {}
    shortcuts: dict[str, str] = {}
    names: dict[str, str] = {}
    defined = set(bank.manifest.vars)
    for bf in bank.books:
        if bf.book.name in names:
            out.append(Problem(bf.display, *bf.loc("name"),
                               f"book name '{bf.book.name}' is also used by {names[bf.book.name]}"))
        names.setdefault(bf.book.name, bf.display)
    for bf, i, p in bank.phrases():
        here = f"{bf.display}:{bf.phrase_loc(i)[0]}"
        if p.id in ids:
            out.append(Problem(bf.display, *bf.phrase_loc(i, "id"),
                               f"duplicate phrase id (first defined at {ids[p.id]})", p.id))
        else:
            ids[p.id] = here
        if p.shortcut:
            if p.shortcut in shortcuts:
                out.append(Problem(bf.display, *bf.phrase_loc(i, "shortcut"),
                                   f"duplicate shortcut '{p.shortcut}' (also used by {shortcuts[p.shortcut]})", p.id))
            else:
                shortcuts[p.shortcut] = p.id
        seen: dict[str, int] = {}
        for qi, q in enumerate(p.questions):
            key = _norm_question(q)
            if key in seen:
                out.append(Problem(bf.display, *bf.phrase_loc(i, "questions", qi),
                                   f"duplicate question '{q}' (same as question {seen[key] + 1})", p.id))
            else:
                seen[key] = qi
        for st in p.steps():
            keys, text = st.key, st.text
            try:
                used = template_vars(text)
            except TemplateError as e:
                out.append(Problem(bf.display, *bf.phrase_loc(i, *keys), str(e), p.id))
                continue
            for name, _ in used:
                if name not in defined:
                    close = difflib.get_close_matches(name, sorted(defined), n=1)
                    hint = f"; did you mean {{{close[0]}}}?" if close else "; define it under vars: in bank.yaml"
                    out.append(Problem(bf.display, *bf.phrase_loc(i, *keys),
                                       f"variable {{{name}}} is not defined in bank.yaml{hint}", p.id))
    return out


def open_bank(root: Path | str | None = None, *, strict: bool = False) -> tuple[Bank, list[Problem]]:
    """Load a bank for use (search, export ...). Raises KbError when it cannot be used at all,
    or, with strict, when it has any problem."""
    bank, problems = load_bank(root)
    if bank is None or (strict and problems):
        shown = "\n".join(escape(str(p)).replace("\n", "\\n") for p in problems[:20])
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise KbError(f"{shown}{more}\nkb: the bank has {len(problems)} problem(s): run 'kb validate'")
    return bank, problems
