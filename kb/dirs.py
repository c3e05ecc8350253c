"""Where kb keeps its own files for the user: the search index cache and the usage log."""

from __future__ import annotations

import os
from pathlib import Path


def user_dir(kind: str, env: str) -> Path:
    """$env when set (tests, shared machines), else the platform's user cache or data folder."""
    value = os.environ.get(env)
    if value:
        return Path(value)
    import platformdirs

    find = platformdirs.user_cache_dir if kind == "cache" else platformdirs.user_data_dir
    return Path(find("kb", appauthor=False))
