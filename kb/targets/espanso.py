"""espanso match files: every reply behind its shortcut in any chat window (拼多多, 抖店飞鸽, 京东咚咚 …).

One file per book: ``matches:`` with ``trigger`` (``:<shortcut>`` by default, --trigger-prefix),
``replace`` (the rendered reply), ``label`` (the title, shown in espanso's search bar) and
``word: true`` (expand only when the trigger is typed as a whole word). A flow becomes one match per
step (``:shkc1``, ``:shkc2`` …). Text espanso would interpret ({{var}}, the $|$ cursor hint) is
refused, naming the phrase.
"""

from __future__ import annotations

import re
from typing import Any

from . import base
from .export import collect, gate, refuse


def _profile() -> dict[str, Any]:
    return base.pick_profile("espanso", None)[1]


def matches(bank, req: base.ExportRequest, limits: base.Limits, notes: list[str]) -> dict[str, list[dict[str, Any]]]:
    """{book name: [match, …]}; refuses (naming every phrase) what espanso cannot take."""
    prof = _profile()
    prefix = req.options.get("trigger_prefix")
    prefix = prof.get("trigger_prefix", ":") if prefix is None else prefix
    word = not req.options.get("no_word") and prof.get("word", True)
    problems: list[str] = []
    if not prefix.strip() and not word:
        problems.append("--trigger-prefix '' with --no-word: every shortcut would expand inside ordinary words")
    if any(ch.isspace() for ch in prefix):
        problems.append(f"--trigger-prefix {prefix!r} contains whitespace")
    items = collect(bank, req.campaign, req.books, problems)
    code_re = re.compile(limits.code_re) if limits.code_re else None
    out: dict[str, list[dict[str, Any]]] = {}
    owner: dict[str, str] = {}
    for it in items:
        p = it.phrase
        out.setdefault(it.book, [])
        if not p.shortcut:
            problems.append(f"{p.id}: no shortcut (the espanso trigger is :<shortcut>): add shortcut: to the phrase")
            continue
        if code_re and not code_re.fullmatch(p.shortcut):
            problems.append(f"{p.id}: shortcut {p.shortcut!r} is not a valid trigger code ({limits.code_re})")
        flow = len(it.texts) > 1 or (it.texts and it.texts[0][0] is not None)
        for i, (step, text) in enumerate(it.texts, 1):
            trigger = f"{prefix}{p.shortcut}{i if flow else ''}"
            label = f"{p.title} · {i}/{len(it.texts)} {step}" if flow else p.title
            for bad in limits.forbidden:
                if bad in text:
                    problems.append(f"{p.id}: {'step ' + str(i) + ' ' if flow else ''}reply contains {bad!r}, which "
                                    "espanso reads as its own syntax")
            if limits.max_chars and len(text) > limits.max_chars:
                problems.append(f"{p.id}: {len(text)} characters, over the limit of {limits.max_chars}")
            if trigger in owner and owner[trigger] != p.id:
                problems.append(f"{p.id}: trigger {trigger} is also the trigger of {owner[trigger]}")
            owner.setdefault(trigger, p.id)
            m: dict[str, Any] = {"trigger": trigger, "replace": text, "label": label}
            if word:
                m["word"] = True
            out[it.book].append(m)
    if not word:
        triggers = sorted(owner)
        for a, b in zip(triggers, triggers[1:], strict=False):
            if b.startswith(a):
                problems.append(f"{owner[b]}: trigger {b} can never be typed: {a} ({owner[a]}) expands first "
                                "(drop --no-word)")
    gate(bank, items, req.allow_lint_errors, problems, notes)
    refuse(problems)
    return {b: ms for b, ms in out.items() if ms}


def match_file(book, matches_: list[dict[str, Any]], campaign_line: str) -> bytes:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

    from ..bank.yamlio import rt_dump

    seq = CommentedSeq()
    for m in matches_:
        cm = CommentedMap()
        cm["trigger"] = DoubleQuotedScalarString(m["trigger"])
        text = m["replace"]
        plain_lines = "\n" in text and not any(ln != ln.rstrip() for ln in text.split("\n")) \
            and not text.startswith((" ", "\n")) and not text.endswith("\n")
        cm["replace"] = LiteralScalarString(text) if plain_lines else DoubleQuotedScalarString(text)
        cm["label"] = DoubleQuotedScalarString(m["label"])
        if m.get("word"):
            cm["word"] = True
        seq.append(cm)
    doc = CommentedMap()
    doc["matches"] = seq
    head = (f"# espanso match file written by kb from book {book.name}@{book.version} ({book.title}); "
            f"{campaign_line}.\n# Generated: edit the phrasebook and export again, not this file.\n")
    return (head + rt_dump(doc)).encode("utf-8")


class EspansoTarget(base.Target):
    name = "espanso"
    summary = "espanso match files (one per book): trigger :<shortcut>, replace, label"
    export_help = """Export espanso match files: every reply behind its shortcut in any chat window.

    \b
    One file per book (<book>.yml in the -o folder; with one book, stdout works too):
      matches:
        - trigger: ":fhsj"
          replace: 亲，预计…内发货…
          label: 发货时间
          word: true
    A flow becomes one match per step (:shkc1, :shkc2 ...). word: true expands a
    trigger only when typed as a whole word (then space or punctuation), so :cf never
    fires inside :cfh (--no-word drops it and refuses such prefixes instead).
    Examples:
      kb export espanso -o ~/.config/espanso/match/kb
      kb export espanso -o out --trigger-prefix ";" --campaign double11
      kb export espanso --books shipping > shipping.yml
    """
    export_options = (
        base.Option("--trigger-prefix", "Put this before each shortcut in the trigger.", default=None, metavar="TEXT"),
        base.Option("--no-word", "Expand as soon as the trigger is typed (no word: true); refuses triggers that are "
               "the start of another.", "flag", default=False),
    )
    multi_file = True
    output_help = "Folder to write one <book>.yml per book into (default: stdout, with --books ONE)."

    def limits(self, options: dict[str, Any] | None = None) -> base.Limits:
        return base.limits_from(_profile())

    def describe_output(self, options: dict[str, Any]) -> str:
        return "espanso match files, UTF-8"

    def export(self, bank, req: base.ExportRequest) -> base.ExportResult:
        notes: list[str] = []
        per_book = matches(bank, req, self.limits(req.options), notes)
        line = f"campaign: {req.campaign or 'none (normal time)'}"
        files = [base.OutFile(f"{name}.yml", match_file(bank.book(name).book, ms, line), len(ms))
                 for name, ms in per_book.items()]
        return base.ExportResult(files, notes, binary=False, unit="espanso matches")


TARGET = EspansoTarget()
