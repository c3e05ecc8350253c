"""Review of a phrasebook change, one concern per module:

  git.py       the bank at a git revision (NUL-separated paths: non-ASCII book and folder names)
  diff.py      semantic diff: phrases by id, bank.yaml variables and campaigns, lint suppressions
  versions.py  version policy: the bump each change requires, the bump made
  rendered.py  lint of replies rendered with the variables, normal time and every campaign
  run.py       the review itself: what changed, what it breaks, what blocks the merge
  report.py    text, Markdown, GitHub annotations (escaped), JSON
  bump.py      kb bump: version edit through a ruamel round trip, under a bank lock
"""

from .bump import bank_lock, bump
from .diff import (
    Change,
    SettingChange,
    SuppressionChange,
    inline_diff,
    semantic_diff,
    setting_changes,
    suppression_changes,
)
from .git import bank_at
from .rendered import render_spans, variable_findings
from .report import format_diff, format_review, gh_command, verdict
from .run import Blocker, Review, empty_bank, review, run_diff, run_review
from .versions import BUMPS, bump_made, check_versions, required_bumps

__all__ = [
    "BUMPS", "Blocker", "Change", "Review", "SettingChange", "SuppressionChange", "bank_at", "bank_lock", "bump",
    "bump_made", "check_versions", "empty_bank", "format_diff", "format_review", "gh_command", "inline_diff",
    "render_spans", "required_bumps", "review", "run_diff", "run_review", "semantic_diff", "setting_changes",
    "suppression_changes", "variable_findings", "verdict",
]
