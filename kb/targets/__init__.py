"""Export/import targets: a registry {name: Target}.

Each target is one module (its profile data in kb/data/targets/<name>.yaml, its row mapping in
code) exposing TARGET, a kb.targets.base.Target. `kb export NAME` / `kb import NAME` and their
options come from here; lint's export hygiene reads each target's declared limits
(``declared_limits()``). Modules are imported only when a target is used, so `kb search` never pays
for openpyxl.
"""

from __future__ import annotations

import difflib
import importlib

from ..errors import KbError

MODULES = {
    "qianniu": "kb.targets.qianniu",
    "faq-xlsx": "kb.targets.faq_xlsx",
    "espanso": "kb.targets.espanso",
}


def names() -> list[str]:
    return list(MODULES)


def get(name: str):
    """The Target called name; an unknown name is a usage error with a did-you-mean."""
    if name not in MODULES:
        close = difflib.get_close_matches(name, list(MODULES), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise KbError(f"no target named '{name}'{hint} (targets: {', '.join(MODULES)})", 2)
    return importlib.import_module(MODULES[name]).TARGET


def all_targets() -> dict:
    return {n: get(n) for n in MODULES}


def declared_limits() -> dict:
    """{target name: {profile name: kb.targets.base.Limits}} for every target: what each accepts
    (encoding, max chars, code rule, formula prefixes …)."""
    return {n: t.declared_limits() for n, t in all_targets().items()}
