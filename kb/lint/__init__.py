"""kb lint: forbidden promises and risky wording in replies (rule packs are data: kb/data/rules)."""

from .engine import Finding, Rule, RuleSet, lint_text, load_rules

__all__ = ["Finding", "Rule", "RuleSet", "lint_text", "load_rules"]
