"""Plain views of phrases: records for kb list, rendered text for kb show."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import KbError
from .template import bank_variables, render

if TYPE_CHECKING:  # the search fast path must not import pydantic
    from .model import Bank, Phrase


def phrase_record(book: str, p: Phrase) -> dict:
    rec: dict = {"id": p.id, "book": book, "title": p.title, "group": p.group, "shortcut": p.shortcut,
                 "questions": list(p.questions)}
    steps = p.steps()
    if steps[0].name is None:
        rec["reply"] = steps[0].text
    else:
        rec["flow"] = [{"step": st.name, "reply": st.text} for st in steps]
    return rec


def phrase_records(bank: Bank, book: str | None = None) -> list[dict]:
    if book is not None and bank.book(book) is None:
        import difflib

        names = [b.book.name for b in bank.books]
        close = difflib.get_close_matches(book, names, n=1)
        hint = f" (did you mean: {close[0]}?)" if close else ""
        raise KbError(f"no book named '{book}'{hint} (books: {', '.join(names)})", 2)
    return [phrase_record(bf.book.name, p) for bf, _, p in bank.phrases() if book in (None, bf.book.name)]


def rendered_texts(bank: Bank, p: Phrase, campaign: str | None = None) -> list[tuple[str | None, str]]:
    """(step name or None, rendered reply) for a phrase; unknown variables stay as {name}."""
    values = bank_variables(bank, campaign)
    return [(st.name, render(st.text, values, keep_missing=True)) for st in p.steps()]


def find_phrase(bank: Bank, key: str):
    """(book file, index, phrase) by id, else by shortcut code (a flow step's code shkc2 too), else a
    KbError with a did-you-mean over ids and shortcuts."""
    found = bank.find(key)
    if found is not None:
        return found
    code = key.strip().lower()
    for item in bank.phrases():
        if item[2].shortcut == code:
            return item
    for item in bank.phrases():  # a flow step's export code: shortcut + step number
        sc, n = item[2].shortcut, len(item[2].steps())
        rest = code[len(sc):] if sc and code.startswith(sc) else ""
        if n > 1 and rest.isdigit() and 1 <= int(rest) <= n:
            return item
    import difflib

    keys = [p.id for _, _, p in bank.phrases()] + [p.shortcut for _, _, p in bank.phrases() if p.shortcut]
    close = difflib.get_close_matches(key, keys, n=3)
    hint = f" (did you mean: {', '.join(close)}?)" if close else ""
    raise KbError(f"no phrase with id or shortcut '{key}'{hint}")


def show_phrase(bank: Bank, phrase_id: str, campaign: str | None = None, campaign_line: str | None = None) -> str:
    """One phrase (by id or shortcut) rendered with the campaign's variables; campaign_line says
    which campaign is active."""
    found = find_phrase(bank, phrase_id)
    bf, _, p = found
    lines = [f"{p.id}  [{bf.book.name} {bf.book.version}]  {p.title}"
             + (f"  shortcut: {p.shortcut}" if p.shortcut else "")]
    lines.append(f"group: {p.group_of(bf.book)}")
    if campaign_line:
        lines.append(campaign_line)
    texts = rendered_texts(bank, p, campaign)
    for n, (step, text) in enumerate(texts, 1):
        lines.append("")
        if step is not None:
            lines.append(f"step {n}/{len(texts)}: {step}")
        lines.append(text)
    return "\n".join(lines)


def format_result(result, variables: dict[str, str]) -> str:
    """kb search's text output: rank, id, title, shortcut, score and the rendered reply."""
    lines = []
    if not result.matches:
        return f"no confident match for: {result.query.strip()}\n(nothing in the bank is close)"
    if not result.confident:
        lines.append(f"no confident match for: {result.query.strip()}")
        lines.append("nearest candidates (low confidence):")
    for rank, m in enumerate(result.matches, 1):
        sc = f"[{m.shortcut}]" if m.shortcut else ""
        flag = "" if result.confident else "  (low confidence)"
        lines.append(f"{rank}. {m.id}  {m.title}  {sc}  score {m.score:.2f}{flag}")
        for step, text in m.rendered(variables):
            prefix = f"   【{step}】" if step else "   "
            for i, ln in enumerate(text.splitlines() or [""]):
                lines.append((prefix if i == 0 else "   ") + ln)
        lines.append("")
    return "\n".join(lines).rstrip()
