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


_OUTCOME_HEAD = {
    "ambiguous": "ambiguous: {n} phrases fit about equally — pick one (nothing was chosen for you)",
    "none": "no confident match for: {q}",
}


def _match_lines(rank: int | str, m, variables: dict[str, str], flag: str = "") -> list[str]:
    sc = f"[{m.shortcut}]" if m.shortcut else ""
    label = f"{rank}." if isinstance(rank, int) else rank
    lines = [f"{label} {m.id}  {m.title}  {sc}  score {m.score:.2f}{flag}"]
    for step, text in m.rendered(variables):
        prefix = f"   【{step}】" if step else "   "
        for i, ln in enumerate(text.splitlines() or [""]):
            lines.append((prefix if i == 0 else "   ") + ln)
    lines.append("")
    return lines


def format_result(result, variables: dict[str, str]) -> str:
    """kb search's text output: the outcome, then rank, id, title, shortcut, score and reply."""
    if not result.matches:
        return f"no confident match for: {result.query.strip()}\n(nothing in the bank is close)"
    lines = []
    if result.outcome in _OUTCOME_HEAD:
        lines.append(_OUTCOME_HEAD[result.outcome].format(n=result.candidates, q=result.query.strip()))
        if result.outcome == "none":
            lines.append("nearest candidates (low confidence):")
    for rank, m in enumerate(result.matches, 1):
        if result.outcome == "ambiguous" and rank <= result.candidates:
            flag = "  (candidate)"
        else:
            flag = "" if result.outcome == "confident" else "  (low confidence)"
        lines += _match_lines(rank, m, variables, flag)
    for m in result.also:
        lines.append(f"the message also asks 「{m.clause}」:")
        lines += _match_lines("+", m, variables)
    return "\n".join(lines).rstrip()


def match_json(m, variables: dict[str, str]) -> dict:
    d = {"id": m.id, "title": m.title, "shortcut": m.shortcut, "score": m.score, "evidence": m.evidence,
         "reply": m.reply_text(variables)}
    if len(m.texts) > 1 or m.texts[0][0] is not None:
        d["flow"] = [{"step": s, "reply": t} for s, t in m.rendered(variables)]
    if m.clause:
        d["clause"] = m.clause
    return d


def result_json(r, variables: dict[str, str], context: dict | None = None) -> dict:
    """One search result as JSON: the outcome, the answer (confident) or the candidates
    (ambiguous), the nearest (none), a second question's answers, and the bank context."""
    ms = [match_json(m, variables) for m in r.matches]
    out = {"query": r.query.encode("utf-8", "replace").decode("utf-8"), "outcome": r.outcome,
           "matches": ms if r.outcome == "confident" else [],
           "candidates": ms[:r.candidates] if r.outcome == "ambiguous" else [],
           "nearest": ms[r.candidates:] if r.outcome != "confident" else [],
           "also": [match_json(m, variables) for m in r.also]}
    out.update(context or {})
    return out


# --- output safety and the bank a command read (shared by every command) ------------------------


def term(text: str) -> str:
    """text with control, bidi and zero-width characters written as \\uXXXX escapes, so nothing a
    phrasebook holds can move the cursor, recolour or reorder the terminal (kb/bank/chars.py)."""
    from .bank.chars import escape

    return escape(text)


def dumps(obj, indent: int | None = None) -> str:
    """JSON for any output: Chinese kept readable; control, bidi, zero-width characters and the
    U+0085/U+2028/U+2029 line breaks escaped (one record per line for JSON Lines readers)."""
    import json

    return term(json.dumps(obj, ensure_ascii=False, indent=indent))


def problem_json(p) -> dict:
    """A load problem (kb.model.Problem or its dict) as JSON."""
    if isinstance(p, dict):
        return {k: p.get(k) for k in ("path", "line", "col", "message", "phrase_id")}
    return {"path": p.path, "line": p.line, "col": p.col, "message": p.message, "phrase_id": p.phrase_id,
            "severity": p.severity}


def _problem_line(p) -> str:
    d = problem_json(p)
    who = f"{d['phrase_id']}: " if d.get("phrase_id") else ""
    return problem_text(f"{d['path']}:{d['line']}:{d['col']}: {who}{d['message']}")


def problem_text(line: str) -> str:
    """A problem as one terminal line: invisible characters and line breaks escaped."""
    return term(line).replace("\n", "\\n")


def bank_problems_text(problems, limit: int = 5) -> str:
    """The stderr notice of a partial bank: how many problems, the first few (file:line: what)."""
    n = len(problems)
    lines = [f"kb: the bank has {n} problem(s) (run 'kb validate'): what does not load is left out, "
             "answers come from the rest:"]
    lines += [f"  {_problem_line(p)}" for p in problems[:limit]]
    if n > limit:
        lines.append(f"  … and {n - limit} more")
    return "\n".join(lines)


def bank_json(name: str | None, root, problems, source: str | None = None) -> dict:
    """Which bank answered, and its load problems: the keys every --json output carries."""
    out = {"bank": name, "bank_root": str(root), "bank_problems": [problem_json(p) for p in problems]}
    if source:
        out["bank_source"] = source
    return out


def _escape_unencodable(exc: UnicodeError):
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    from .bank.chars import escape_char

    return "".join(escape_char(c) for c in exc.object[exc.start:exc.end]), exc.end


def setup_streams() -> None:
    """Make stdout/stderr writable whatever their encoding (GBK, cp1252 …): a character the stream
    cannot hold is written as a \\uXXXX escape — lossless, valid inside JSON strings — instead of
    crashing or stopping a --jsonl stream at the first emoji."""
    import codecs
    import sys

    codecs.register_error("kb-escape", _escape_unencodable)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="kb-escape")
        except (AttributeError, ValueError, LookupError):
            pass
