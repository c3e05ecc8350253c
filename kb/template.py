"""Reply variables: {name} is a variable, {{ and }} are literal braces."""

from __future__ import annotations

import re

VAR_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# {{ and }} are literal braces, {name} a variable; anything else with a brace is malformed.
_TEMPLATE_RE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class TemplateError(ValueError):
    pass


def template_vars(text: str) -> list[tuple[str, int]]:
    """The variables a reply uses, with their offsets. Raises TemplateError on stray braces."""
    found = []
    for m in _TEMPLATE_RE.finditer(text):
        tok = m.group(0)
        if tok in ("{{", "}}"):
            continue
        name = m.group(1)
        if name is None:
            raise TemplateError(f"stray '{tok}' at offset {m.start()} (write '{tok}{tok}' for a literal brace)")
        if not VAR_NAME_RE.fullmatch(name):
            raise TemplateError(f"'{{{name}}}' is not a valid variable name (letters, digits, _)")
        found.append((name, m.start()))
    return found


def render(text: str, variables: dict[str, str], keep_missing: bool = False) -> str:
    """Replace {name} by its value; {{ and }} become literal braces.

    A missing variable raises TemplateError unless keep_missing, which leaves it as {name}.
    """

    def sub(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok == "{{":
            return "{"
        if tok == "}}":
            return "}"
        name = m.group(1)
        if name is None:
            return tok
        if name in variables:
            return str(variables[name])
        if keep_missing:
            return tok
        raise TemplateError(f"variable {{{name}}} has no value")

    return _TEMPLATE_RE.sub(sub, text)


def overlay(defaults: dict[str, str], campaigns: dict[str, dict[str, str]], campaign: str | None) -> dict[str, str]:
    """The bank's variables with a campaign's own values on top."""
    from .errors import KbError

    values = dict(defaults)
    if campaign is not None:
        if campaign not in campaigns:
            known = ", ".join(sorted(campaigns)) or "none"
            raise KbError(f"unknown campaign '{campaign}' (known: {known})", exit_code=2)
        values.update(campaigns[campaign])
    return values


def bank_variables(bank, campaign: str | None = None) -> dict[str, str]:
    """A bank's variables (kb.model.Bank) with a campaign's own values on top."""
    return overlay(bank.manifest.vars, bank.campaign_vars(), campaign)


# --- campaigns by date ----------------------------------------------------------------------

NO_CAMPAIGN = "none"  # --campaign none: normal time, even inside a campaign's dates


def today_from_env(environ=None):
    """Today's date: $KB_TODAY (YYYY-MM-DD) when set, so a run can be dated; else the system date."""
    import os
    from datetime import date

    from .errors import KbError

    raw = (environ if environ is not None else os.environ).get("KB_TODAY", "").strip()
    if not raw:
        return date.today()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise KbError(f"KB_TODAY={raw!r} is not a date (YYYY-MM-DD)", exit_code=2) from None


def resolve_campaign(campaigns: dict[str, dict], requested: str | None, today) -> str | None:
    """The campaign a command runs with, by name.

    campaigns maps a campaign's name to plain data ``{"start": date, "end": date, "aliases": [...]}``.
    requested None: the campaign whose start..end (inclusive) covers today, else None (normal time);
    when several cover today, the one that started last (then the first by name).
    requested "none": None. Otherwise the campaign's name or one of its aliases (exact, then
    case-insensitively); anything else is a KbError (exit 2) with a did-you-mean.
    """
    from .errors import KbError

    if requested is None:
        live = [(c.get("start"), n) for n, c in campaigns.items()
                if c.get("start") is not None and c.get("end") is not None and c["start"] <= today <= c["end"]]
        if not live:
            return None
        latest = max(s for s, _ in live)
        return sorted(n for s, n in live if s == latest)[0]
    want = requested.strip()
    if want.lower() == NO_CAMPAIGN:
        return None
    names: dict[str, str] = {}  # every accepted spelling -> campaign name
    for n, c in campaigns.items():
        for spelling in (n, *(c.get("aliases") or ())):
            names.setdefault(str(spelling), n)
    if want in names:
        return names[want]
    folded = {k.casefold(): v for k, v in names.items()}
    if want.casefold() in folded:
        return folded[want.casefold()]
    import difflib

    close = difflib.get_close_matches(want, list(names), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    known = ", ".join(f"{n} ({', '.join(map(str, c.get('aliases') or ())) or 'no aliases'})"
                      for n, c in sorted(campaigns.items())) or "this bank has none"
    raise KbError(f"unknown campaign '{requested}'{hint} (campaigns: {known}; 'none' = normal time)",
                  exit_code=2)


def campaign_table(bank) -> dict[str, dict]:
    """resolve_campaign's plain data for a kb.model.Bank."""
    return {n: {"start": c.start, "end": c.end, "aliases": list(getattr(c, "aliases", []) or []),
                "title": c.title} for n, c in bank.manifest.campaigns.items()}


def active_campaign(bank, requested: str | None, today=None) -> str | None:
    """The campaign for a kb.model.Bank: requested by name/alias, 'none', or by today's date."""
    return resolve_campaign(campaign_table(bank), requested, today if today is not None else today_from_env())


def describe_campaign(bank, name: str | None, requested: str | None = None) -> str:
    """One line saying which campaign is active and why, for every command's output."""
    if name is None:
        return "campaign: none (normal time" + (", --campaign none)" if requested else ")")
    c = bank.manifest.campaigns[name]
    why = "--campaign" if requested else "active today"
    return f"campaign: {name} ({c.title}, {c.start}..{c.end}, {why})"
