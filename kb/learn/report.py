"""kb learn's report as text (terminal), Markdown (the pull-request description) or JSON."""

from __future__ import annotations

import json

from .learn import LearnReport, Usage

PLACEHOLDER_NOTE = ("Messages are masked before kb reads them: phone, order, ID and tracking numbers, "
                    "addresses, names after 收件人/联系人, handles and amounts are placeholders such as <手机号>.")


def _since(r: LearnReport) -> str:
    return f" since {r.since.date().isoformat()}" if r.since else ""


def _usage_groups(r: LearnReport, top: int) -> tuple[list[Usage], list[Usage], list[Usage]]:
    used = [u for u in r.usage if u.total]
    most = sorted(used, key=lambda u: (-u.total, u.id))[:top]
    shown = {u.id for u in most}
    least = [u for u in sorted(used, key=lambda u: (u.total, u.id)) if u.id not in shown][:top]
    never = [u for u in r.usage if not u.total]
    return most, least, never


def _last(u: Usage) -> str:
    return u.last.date().isoformat() if u.last else "-"


def _bump_hint(r: LearnReport) -> list[str]:
    return [f"kb bump {b.book} {b.level}" for b in r.bumps]


def format_text(r: LearnReport, top: int = 10) -> str:
    out = [f"kb learn · {r.bank} · {r.messages} messages from {len(r.sources)} source(s)"]
    out += [f"  {s}" for s in r.sources]
    if r.other_banks:
        out.append("  left out, searched in other banks: " + ", ".join(f"{k} ×{v}" for k, v in r.other_banks.items()))
    out.append(f"copied by agents: {r.copied} (search already answers {r.covered} of them confidently)")
    out.append("")
    verb = "added" if r.applied else "to add (kb learn --apply writes them)"
    out.append(f"new questions {verb}: {len(r.new_questions)}")
    for q in r.new_questions:
        seen = f" ×{q.count}" if q.count > 1 else ""
        out.append(f"  {q.phrase_id:<36} + {q.question}{seen}")
    if r.skipped:
        out.append(f"not added: {len(r.skipped)}")
        for s in r.skipped:
            who = ", ".join(f"{k}×{v}" for k, v in s.phrases.items())
            text = f"{s.question!r} " if s.question else ""
            out.append(f"  {s.reason}: {text}[{who}] {s.detail}".rstrip())
    if r.bumps:
        out.append("version bumps kb review will require:")
        for b in r.bumps:
            out.append(f"  {b.book}: {b.version} → {b.suggested} ({b.level})   run: kb bump {b.book} {b.level}")
    if r.applied:
        out.append("written: " + (", ".join(r.written) or "nothing"))
    out.append("")
    out.append(f"what to write next: {r.unanswered} messages without a confident answer or a copied reply, "
               f"{len(r.clusters)} largest group(s)")
    for n, c in enumerate(r.clusters, 1):
        near = f"nearest {c.nearest} {c.nearest_title} ({c.nearest_score:.2f})" if c.nearest else "nothing near"
        out.append(f"  {n}. {c.size} message(s) · {' '.join(c.words)} · {near}")
        for ex in c.examples:
            out.append(f"       {ex}")
    out.append("")
    most, least, never = _usage_groups(r, top)
    out.append(f"usage{_since(r)} (copied + answered):")
    if r.since and r.untimed:
        out.append(f"  ({r.untimed} messages without a time are not counted)")
    out.append("  most used:")
    out += [f"    {u.total:>5}  {u.id:<36} {u.title}  (copied {u.copied}, answered {u.answered}, last {_last(u)})"
            for u in most] or ["    -"]
    out.append("  least used:")
    out += [f"    {u.total:>5}  {u.id:<36} {u.title}  (last {_last(u)})" for u in least] or ["    -"]
    out.append(f"  never used{_since(r)}: {len(never)}")
    out += [f"    {u.id:<36} {u.title}" for u in never]
    out.append("")
    out.append(PLACEHOLDER_NOTE)
    return "\n".join(out)


def md_cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    text = " ".join(str(text).split())
    for ch in ("\\", "|", "`", "*", "_", "<", ">", "[", "]"):
        text = text.replace(ch, "\\" + ch)
    return text


def format_markdown(r: LearnReport, top: int = 10) -> str:
    """The pull-request description for the change kb learn --apply makes."""
    books = sorted({q.book for q in r.new_questions})
    phrases = {q.phrase_id for q in r.new_questions}
    out = [f"## kb learn: buyers' wording for {len(phrases)} phrase(s)", ""]
    out.append(f"{len(r.new_questions)} new question(s) in {len(books)} book(s) ({', '.join(books) or '-'}), "
               f"learnt from {r.messages} real buyer messages ({r.copied} with a reply the agent copied). Each new "
               "question is a message for which the agent copied a reply that search did not give as its "
               "confident answer.")
    out.append("")
    out.append("Sources: " + "; ".join(md_cell(s) for s in r.sources) + ".")
    if r.other_banks:
        out.append("Left out (searched in other banks): "
                   + ", ".join(f"{md_cell(k)} ×{v}" for k, v in r.other_banks.items()) + ".")
    out.append("")
    out.append(f"> {md_cell(PLACEHOLDER_NOTE)}")
    out.append("")
    if r.new_questions:
        out += ["### New questions", "", "| phrase | title | new question | seen |", "|---|---|---|---:|"]
        for q in r.new_questions:
            out.append(f"| `{q.phrase_id}` | {md_cell(q.title)} | {md_cell(q.question)} | {q.count} |")
        out.append("")
    if r.bumps:
        out += ["### Versions", "", "`kb review` requires these bumps for the change:", "",
                "| book | version | required | after |", "|---|---|---|---|"]
        for b in r.bumps:
            out.append(f"| {md_cell(b.book)} | {b.version} | {b.level} | {b.suggested} |")
        out += ["", "```sh", *_bump_hint(r), "```", ""]
    if r.skipped:
        out += [f"<details><summary>Not added ({len(r.skipped)})</summary>", "",
                "| reason | message | phrases | why |", "|---|---|---|---|"]
        for s in r.skipped:
            who = ", ".join(f"`{k}` ×{v}" for k, v in s.phrases.items())
            out.append(f"| {s.reason} | {md_cell(s.question) or '-'} | {who} | {md_cell(s.detail)} |")
        out += ["", "</details>", ""]
    out += ["### What to write next", ""]
    if r.clusters:
        out.append(f"{r.unanswered} message(s) got no confident answer and no copied reply. Largest groups:")
        out += ["", "| # | messages | examples | nearest phrase |", "|---:|---:|---|---|"]
        for n, c in enumerate(r.clusters, 1):
            near = f"`{c.nearest}` {md_cell(c.nearest_title or '')} ({c.nearest_score:.2f})" if c.nearest else "-"
            out.append(f"| {n} | {c.size} | {'<br>'.join(md_cell(e) for e in c.examples)} | {near} |")
    else:
        out.append("Every message got a confident answer or a copied reply.")
    out.append("")
    most, least, never = _usage_groups(r, top)
    out += [f"### Usage{_since(r)}", "", "| | phrase | copied | answered | last used |", "|---|---|---:|---:|---|"]
    for label, rows in (("most", most), ("least", least)):
        for u in rows:
            out.append(f"| {label} | `{u.id}` {md_cell(u.title)} | {u.copied} | {u.answered} | {_last(u)} |")
    out.append("")
    if never:
        out.append(f"Never used{_since(r)} ({len(never)}): " + ", ".join(f"`{u.id}`" for u in never))
        out.append("")
    return "\n".join(out)


def format_report(r: LearnReport, fmt: str = "text", top: int = 10) -> str:
    if fmt == "json":
        return json.dumps(r.as_dict(), ensure_ascii=False, indent=2)
    if fmt == "markdown":
        return format_markdown(r, top)
    return format_text(r, top)
