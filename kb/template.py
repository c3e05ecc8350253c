"""Reply variables: {name} is a variable, {{ and }} are literal braces."""

from __future__ import annotations

import re

VAR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
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
        if not VAR_NAME_RE.match(name):
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
