"""Longer fuzzing of kb's entry points (hypothesis-driven, bounded in time).

    .venv/bin/python scripts/fuzz.py --seconds 300

Feeds random bytes to the YAML loader and the Qianniu CSV import, random text to the
normalizer, search and lint; any exception other than kb's own error type is a bug and is
printed with the input that caused it.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.bank.yamlio import YamlProblem, load_document  # noqa: E402
from kb.errors import KbError  # noqa: E402
from kb.lint.engine import lint_text, load_rules  # noqa: E402
from kb.search.cache import load_index  # noqa: E402
from kb.targets.qianniu import import_file  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    index = load_index(ROOT / "phrasebank", use_cache=False)
    rules = load_rules()
    deadline = time.time() + args.seconds
    found = []
    runs = {"yaml": 0, "csv": 0, "text": 0}

    @settings(max_examples=10**9, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.binary(max_size=2000), st.text(max_size=300))
    def target(data, text):
        if time.time() > deadline:
            raise TimeoutError
        for name, fn in (("yaml", lambda: load_document(data)), ("csv", lambda: import_file(data, "fz")),
                         ("text", lambda: (index.search(text), lint_text(text, rules)))):
            runs[name] += 1
            try:
                fn()
            except (YamlProblem, KbError):
                pass
            except Exception:
                found.append((name, data, text, traceback.format_exc()))

    try:
        target()
    except BaseException:  # hypothesis reports our deadline as an error (possibly grouped)
        if time.time() <= deadline:
            raise
    print(f"fuzzed for {args.seconds:.0f} s: {runs['yaml']} YAML documents, {runs['csv']} CSV files, "
          f"{runs['text']} texts; {len(found)} crash(es)")
    for name, data, text, tb in found[:5]:
        print(f"--- {name}: data={data[:80]!r} text={text[:80]!r}\n{tb}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
