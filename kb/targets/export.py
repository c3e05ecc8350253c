"""What every export shares: choosing books, rendering each phrase with the campaign's variables,
and the checks no target may skip (formula-leading cells, lint errors). Problems are collected, never
raised one at a time, so a refusal names every phrase at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import KbError
from ..template import TemplateError, bank_variables, render


@dataclass
class Item:
    """One phrase ready to export: its book, group and rendered texts (step name or None, text)."""

    book: str
    phrase: object  # kb.model.Phrase
    group: str
    texts: list[tuple[str | None, str]]

    @property
    def id(self) -> str:
        return self.phrase.id  # type: ignore[attr-defined]


def select_books(bank, books: Iterable[str] | None) -> set[str] | None:
    """The wanted book names (None: all). Unknown names: KbError exit 2 with a did-you-mean."""
    if not books:
        return None
    wanted = set(books)
    have = [bf.book.name for bf in bank.books]
    unknown = sorted(wanted - set(have))
    if unknown:
        import difflib

        hints = []
        for u in unknown:
            close = difflib.get_close_matches(u, have, n=1)
            hints.append(f"{u} (did you mean {close[0]}?)" if close else u)
        raise KbError(f"no book named {', '.join(hints)} (books: {', '.join(have)})", 2)
    return wanted


def collect(bank, campaign: str | None, books: Iterable[str] | None, problems: list[str]) -> list[Item]:
    """Every phrase of the wanted books, rendered; an unresolved variable is a problem (step skipped)."""
    values = bank_variables(bank, campaign)
    wanted = select_books(bank, books)
    items = []
    for bf, _, p in bank.phrases():
        if wanted and bf.book.name not in wanted:
            continue
        texts = []
        for st in p.steps():
            try:
                texts.append((st.name, render(st.text, values)))
            except TemplateError as e:
                problems.append(f"{p.id}: {e} (unresolved variable)")
        items.append(Item(bf.book.name, p, p.group_of(bf.book), texts))
    return items


def formula_problem(phrase_id: str, column: str, value: str, prefixes: tuple[str, ...]) -> str | None:
    """A cell a spreadsheet would run as a formula (= + - @ first, after spaces). Never allowed."""
    head = value.lstrip()[:1]
    if prefixes and head and head in prefixes:
        return (f"{phrase_id}: {column} starts with '{head}': a spreadsheet opening the file runs it as a "
                "formula (start it with text)")
    return None


def lint_problems(bank, phrase_ids: set[str]) -> list[str]:
    """Error-level lint findings on the exported phrases (and on the bank itself), one line each."""
    from ..lint import load_rules
    from ..lint.bank import lint_bank

    cfg = bank.root / "kb-lint.yaml"
    ruleset = load_rules(cfg if cfg.is_file() else None)
    out = []
    for f in lint_bank(bank, ruleset):
        pid = getattr(f, "phrase_id", None)
        if f.severity != "error" or (pid is not None and pid not in phrase_ids):
            continue
        where = f"{f.path}:{f.line}" if getattr(f, "path", None) else ""
        out.append(f"{pid or where}: lint error {f.rule}: {f.message}" + (f" ({where})" if pid and where else ""))
    return out


def refuse_if(problems: list[str], hint: str = "") -> None:
    if problems:
        unique = list(dict.fromkeys(problems))
        raise KbError("export refused:\n  " + "\n  ".join(unique) + (f"\n{hint}" if hint else ""))


LINT_HINT = ("(fix the wording, or pass --allow-lint-errors to export lint errors anyway; "
             "formula-leading cells are never exported)")


def gate(bank, items: list[Item], allow_lint_errors: bool, problems: list[str], notes: list[str]) -> None:
    """Lint errors are problems, or with allow_lint_errors notes naming each one (formula cells are
    checked by each target and never allowed)."""
    found = lint_problems(bank, {it.id for it in items})
    if allow_lint_errors:
        notes.extend(f"exported despite --allow-lint-errors: {p}" for p in found)
    else:
        problems.extend(found)


def refuse(problems: list[str]) -> None:
    refuse_if(problems, LINT_HINT if any(": lint error " in p for p in problems) else "")
