"""kb lint: forbidden promises and risky wording in everything a buyer can receive.

Public API (used by kb review and kb export):

* ``load_rules(config=None) -> RuleSet``: the default pack (kb/data/rules) adjusted by a kb-lint.yaml;
* ``lint_text(text, ruleset, *, hygiene=True) -> list[Finding]``: one text (what kb check runs);
* ``lint_bank(bank, ruleset, books=None, only=None, *, manifest=None) -> list[Finding]``: a whole bank
  (rendered replies for the base and every campaign, bank.yaml variables, titles and groups);
* ``lint_manifest(bank, ruleset)``: bank.yaml's variables only.

A Finding has ``.rule``, ``.severity``, ``.message``, ``.phrase_id``, ``.path``/``.line``/``.col``,
``.field``, ``.campaign`` and ``.start``/``.end``/``.excerpt`` in the text it was found in.
Modules: engine (Finding, Rule, kinds registry, lint_text), kinds (terms, regex, family, proximity,
model), learned (the scoring of the learned model rule, risk.model), hygiene (the one registry of hygiene
checks), config (rule packs, kb-lint.yaml), prefilter (a first-character lookahead; the RE2 screen of a
long text), parallel (a long text's rules in two processes), bank, output.
"""

from .engine import Finding, Rule, RuleSet, lint_text, load_rules


def lint_bank(bank, ruleset, books=None, only=None, *, manifest=None):
    from .bank import lint_bank as _lint_bank

    return _lint_bank(bank, ruleset, books, only, manifest=manifest)


def lint_manifest(bank, ruleset):
    from .bank import lint_manifest as _lint_manifest

    return _lint_manifest(bank, ruleset)


__all__ = ["Finding", "Rule", "RuleSet", "lint_bank", "lint_manifest", "lint_text", "load_rules"]
