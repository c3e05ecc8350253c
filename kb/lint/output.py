"""Lint output formats: text, json, github (workflow annotations), sarif (2.1.0)."""

from __future__ import annotations

import json

from .. import __version__
from .engine import Finding, RuleSet

FORMATS = ("text", "json", "github", "sarif")


def _where(f: Finding) -> str:
    if f.path is not None:
        return f"{f.path}:{f.line}:{f.col}"
    return f"<text>:1:{f.start + 1}"


def _visible(s: str) -> str:
    """s with control, bidi and invisible characters shown as \\uXXXX, so a terminal shows it as it is."""
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in s)


def format_text(findings: list[Finding]) -> str:
    lines = []
    for f in findings:
        who = f" [{f.phrase_id}]" if f.phrase_id else ""
        who += f" [campaign {f.campaign}]" if f.campaign else ""
        sug = f" ({f.suggestion})" if f.suggestion else ""
        exc = f" «{_visible(f.excerpt)}»" if f.excerpt else ""
        lines.append(f"{_where(f)}: {f.severity} {f.rule}:{who} {f.message}{exc}{sug}")
    return "\n".join(lines)


def _gh_escape(s: str, prop: bool = False) -> str:
    """Escape for a workflow command: no text (a phrase id, a campaign name, a variable's value) can end
    the annotation or start another one."""
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        s = s.replace(":", "%3A").replace(",", "%2C")
    return s


def format_github(findings: list[Finding]) -> str:
    level = {"error": "error", "warning": "warning", "info": "notice"}
    out = []
    for f in findings:
        props = [f"title={_gh_escape(f.rule, True)}"]
        if f.path is not None:
            props = [f"file={_gh_escape(f.path, True)}", f"line={f.line}", f"col={f.col}", *props]
        who = (f.phrase_id + ": " if f.phrase_id else "") + (f"[campaign {f.campaign}] " if f.campaign else "")
        msg = f"{who}{f.message}" + (f" ({f.suggestion})" if f.suggestion else "")
        out.append(f"::{level[f.severity]} {','.join(props)}::{_gh_escape(msg)}")
    return "\n".join(out)


def fingerprint(f: Finding) -> str:
    """Stable across edits elsewhere in the file: phrase, rule, field, campaign and the flagged words."""
    parts = [f.phrase_id or "", f.rule, f.field or "", f.campaign or "", f.excerpt]
    return ":".join(p.replace("\\", "\\\\").replace(":", "\\:") for p in parts)


def sarif(findings: list[Finding], ruleset: RuleSet) -> dict:
    from .hygiene import HYGIENE

    level = {"error": "error", "warning": "warning", "info": "note"}
    rules = [{"id": r.id, "shortDescription": {"text": r.message},
              "help": {"text": r.suggestion or r.message},
              "defaultConfiguration": {"level": level[r.severity]}} for r in ruleset.rules]
    rules += [{"id": c.id, "shortDescription": {"text": c.message.split("{")[0].strip() or c.id},
               "help": {"text": c.suggestion},
               "defaultConfiguration": {"level": level[ruleset.severity.get(c.id, c.severity)]}}
              for c in HYGIENE.values()]
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = []
    for f in findings:
        res = {"ruleId": f.rule, "level": level[f.severity],
               "message": {"text": f.message + (f" ({f.suggestion})" if f.suggestion else "")}}
        if f.rule in index:
            res["ruleIndex"] = index[f.rule]
        if f.path is not None:
            res["locations"] = [{"physicalLocation": {
                "artifactLocation": {"uri": f.path.replace("\\", "/")},
                "region": {"startLine": f.line, "startColumn": f.col}}}]
            if f.phrase_id:
                res["partialFingerprints"] = {"phraseId/v1": fingerprint(f)}
        results.append(res)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "kb", "version": __version__, "rules": rules}},
                  "results": results}],
    }


def render(findings: list[Finding], fmt: str, ruleset: RuleSet) -> str:
    if fmt == "json":
        return json.dumps([f.as_dict() for f in findings], ensure_ascii=False, indent=2)
    if fmt == "github":
        return format_github(findings)
    if fmt == "sarif":
        return json.dumps(sarif(findings, ruleset), ensure_ascii=False, indent=2)
    return format_text(findings)
