"""Rendering a diff or a review: text, Markdown (job summaries), GitHub workflow commands, JSON.

GitHub annotations are escaped (``%``, CR, LF in the message; also ``:`` and ``,`` in properties),
so no phrase id, question, variable or file name can end an annotation early or start a forged one.
"""

from __future__ import annotations

import json

from .diff import Change, inline_diff
from .run import Review


def _one_line(s: object) -> str:
    return str(s).replace("\r", "␍").replace("\n", "⏎")


def _cell(s: object) -> str:
    """A Markdown table cell."""
    return _one_line(s).replace("\\", "\\\\").replace("|", "\\|")


def gh_data(s: object) -> str:
    """Escape the message of a workflow command."""
    return str(s).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def gh_prop(s: object) -> str:
    """Escape a property value (file=, title=) of a workflow command."""
    return gh_data(s).replace(":", "%3A").replace(",", "%2C")


def gh_command(level: str, message: str, title: str = "kb review", path: str | None = None,
               line: int | None = None, col: int | None = None) -> str:
    props = []
    if path:
        props.append(f"file={gh_prop(path)}")
        if line:
            props.append(f"line={int(line)}")
            if col:
                props.append(f"col={int(col)}")
    props.append(f"title={gh_prop(title)}")
    return f"::{level} {','.join(props)}::{gh_data(message)}"


# --- diff ------------------------------------------------------------------------------------


def _sup(s: dict | None) -> str:
    if s is None:
        return "none"
    reason = s.get("reason")
    return f"allow [{', '.join(s['allow'])}]" + (f" reason: {_one_line(reason)}" if reason else " (no reason)")


def format_diff(changes: list[Change], fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps([c.__dict__ for c in changes], ensure_ascii=False, indent=2)
    md = fmt == "markdown"
    lines = []
    for c in changes:
        head = f"- **{c.kind}** `{c.id}`" if md else f"{c.kind:<9} {c.id}"
        d = c.detail
        if c.kind == "renamed":
            head += f" (was `{d['from']}`)" if md else f" (was {d['from']})"
        elif c.kind in ("moved", "shortcut", "title"):
            head += f": {_one_line(d['from'])} → {_one_line(d['to'])}"
        elif c.kind == "added":
            head += f": {_one_line(d['title'])}"
        elif c.kind == "suppression":
            head += f": {_sup(d['old'])} → {_sup(d['new'])}"
        lines.append(head)
        if c.kind == "questions":
            lines += [f"    + {_one_line(q)}" for q in d["added"]] + [f"    - {_one_line(q)}" for q in d["removed"]]
        if c.kind == "reply":
            olds = dict((s or "", t) for s, t in d["old"])
            for s, t in d["new"]:
                label = f"【{s}】" if s else ""
                lines.append(f"    {label}{inline_diff(olds.get(s or '', ''), t, fmt)}")
    return "\n".join(lines) if lines else "no phrase changes"


# --- review ----------------------------------------------------------------------------------


def verdict(r: Review) -> str:
    if r.blocking:
        return f"BLOCKED: {len(r.problems)} blocking problem(s)"
    return f"MERGEABLE: {len(r.changes)} phrase change(s), versions bumped, no new lint errors, no retrieval drop"


def _json(r: Review) -> str:
    return json.dumps({
        "base_has_bank": r.base_note is None, "base_note": r.base_note,
        "changes": [c.__dict__ for c in r.changes], "versions": [v.as_dict() for v in r.versions],
        "settings": [s.__dict__ for s in r.settings],
        "suppressions": [{**s.__dict__, "has_reason": s.has_reason} for s in r.suppressions],
        "variable_findings": [v.as_dict() for v in r.var_findings],
        "lint_config_diff": r.lint_config_diff,
        "lint_new": [f.as_dict() for f in r.lint_new], "lint_preexisting": len(r.lint_old),
        "retrieval_changed": r.eval_changed, "top1": r.top1,
        "problems": [str(p) for p in r.problems], "blockers": [p.__dict__ for p in r.problems],
        "mergeable": not r.blocking}, ensure_ascii=False, indent=2)


def _github(r: Review) -> str:
    out = [gh_command("error", p.message, f"kb review: {p.kind}", p.path, p.line, p.col) for p in r.problems]
    for s in r.settings:
        old, new = ("(none)" if v is None else v for v in (s.old, s.new))
        out.append(gh_command("notice", f"{s.key} {s.kind}: {old} → {new}", "kb review: bank.yaml"))
    for s in r.suppressions:
        if s.kind == "removed" or s.has_reason:
            out.append(gh_command("notice", f"{s.id}: lint suppression {s.kind}: {_sup(s.old)} → {_sup(s.new)}",
                                  "kb review: suppression", s.path, s.line))
    if r.lint_config_diff:
        out.append(gh_command("warning", "kb-lint.yaml changed (what lint lets through):\n"
                              + "\n".join(r.lint_config_diff[2:]), "kb review: lint configuration"))
    out.append(gh_command("notice", verdict(r)))
    return "\n".join(out)


def _settings_section(r: Review, md: bool) -> list[str]:
    lines = []
    if not r.settings:
        lines.append("no variable or campaign changes")
    for s in r.settings:
        old = "(none)" if s.old is None else _one_line(s.old)
        new = "(none)" if s.new is None else _one_line(s.new)
        lines.append(f"- `{s.key}` {s.kind}: {old} → {new}" if md else f"  {s.key} {s.kind}: {old} → {new}")
    new_f = [v for v in r.var_findings if v.new]
    old_n = len(r.var_findings) - len(new_f)
    lines.append(f"lint of replies rendered with the variables: {len(new_f)} new finding(s), {old_n} pre-existing")
    for v in new_f:
        values = ", ".join(f"{{{k}}} = {_one_line(val)}" for k, val in v.values.items())
        where = ", ".join(v.contexts)
        text = (f"{v.path}:{v.line}: {v.severity} {v.rule}: {v.phrase_id}: {v.message} "
                f"«{_one_line(v.excerpt)}» ({values}; {where})")
        lines.append(f"- {text}" if md else f"  {text}")
    return lines


def _suppressions_section(r: Review, md: bool) -> list[str]:
    if not r.suppressions:
        return ["no suppression added, changed or removed"]
    lines = []
    for s in r.suppressions:
        mark = "" if s.kind == "removed" or s.has_reason else "  BLOCKING: no reason"
        where = f"{s.path}:{s.line} " if s.path else ""
        body = f"{s.kind} {s.id}: {_sup(s.old)} → {_sup(s.new)}{mark}"
        lines.append(f"- {where}{body}" if md else f"  {where}{body}")
    return lines


def format_review(r: Review, fmt: str = "text") -> str:
    if fmt == "json":
        return _json(r)
    if fmt == "github":
        return _github(r)
    md = fmt == "markdown"
    h = (lambda s: f"### {s}") if md else (lambda s: f"== {s} ==")
    lines = [h("Phrase changes")]
    if r.base_note:
        lines.append(f"**{r.base_note}**" if md else f"({r.base_note})")
    lines += [format_diff(r.changes, "markdown" if md else "text"), "", h("Bank variables and campaigns (bank.yaml)")]
    lines += _settings_section(r, md)
    lines += ["", h("Lint suppressions (lint: allow)")] + _suppressions_section(r, md)
    if r.lint_config_diff:
        lines += ["", h("Lint configuration (kb-lint.yaml) changed")]
        lines += (["```diff", *r.lint_config_diff, "```"] if md else [f"  {x}" for x in r.lint_config_diff])
    lines += ["", h("Versions")]
    if md:
        lines += ["| book | base | head | required | made | |", "|---|---|---|---|---|---|"]
    for v in r.versions:
        mark = "ok" if v.ok else "VERSION WENT BACKWARDS" if "backwards" in (v.message or "") else "MISSING BUMP"
        if md:
            lines.append(f"| {_cell(v.book)} | {v.old} | {v.new} | {v.required} | {v.made} | {mark} |")
        else:
            lines.append(f"{v.book}: {v.old} → {v.new} (required {v.required}, made {v.made}) {mark}")
    lines += ["", h("Lint on changed phrases"), f"{len(r.lint_new)} new finding(s), {len(r.lint_old)} pre-existing"]
    for f in r.lint_new:
        lines.append(f"- {f.path}:{f.line}:{f.col} {f.severity} {f.rule} `{f.phrase_id}`: {f.message}" if md else
                     f"  {f.path}:{f.line}:{f.col}: {f.severity} {f.rule}: {f.phrase_id}: {f.message}")
    lines += ["", h("Retrieval (phrasebank/tests.yaml)")]
    if r.top1 is None:
        lines.append("no tests.yaml in the bank: retrieval not checked")
    elif r.top1[0] is None:
        lines.append(f"top-1 {r.top1[1]:.3f} (the base has no bank to compare with)")
    else:
        lines.append(f"top-1 {r.top1[0]:.3f} → {r.top1[1]:.3f}; {len(r.eval_changed)} case(s) changed answer")
        for c in r.eval_changed:
            lines.append(f"- line {c['line']}: {c['q']!r} (expect {c['expect']}): {c['base']} → {c['head']}")
    lines += ["", h("Verdict"), verdict(r)]
    lines += [f"- {_one_line(p)}" for p in r.problems]
    return "\n".join(lines)
