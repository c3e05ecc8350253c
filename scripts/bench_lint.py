"""Lint performance figures: throughput over the bundled bank and a 10k-phrase synthetic bank (every reply
rendered for the base variables and each campaign, plus bank.yaml and titles), lint_text throughput, the time
for one 1 MB reply, and a team's catastrophic regex under RE2.

    .venv/bin/python scripts/bench_lint.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FILLERS = ["亲，", "您好，", "好的呢，", "感谢您的耐心～", "这边帮您看一下，", "抱歉让您久等了，"]


def synthetic_bank(n: int, seed: int = 7):
    """A bank of n phrases made from the bundled ones, each reply with a different opening."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench import synthetic_bank as make

    return make(n, seed, openings=FILLERS)


def _replies(bank) -> int:
    return sum(len(p.steps()) for _, _, p in bank.phrases())


def bank_throughput(label: str, bank, rules) -> None:
    from kb.lint import lint_bank

    n = _replies(bank)
    variants = 1 + len(bank.manifest.campaigns)
    t = time.perf_counter()
    found = lint_bank(bank, rules)
    dt = time.perf_counter() - t
    print(f"lint_bank {label}: {n} replies x {variants} variants (base + campaigns) in {dt:.2f} s = "
          f"{n / dt:,.0f} replies/s ({len(found)} findings)", flush=True)


def text_throughput(bank, rules) -> None:
    from kb.lint import lint_text

    texts = [s.text for _, _, p in bank.phrases() for s in p.steps()]
    t = time.perf_counter()
    for x in texts:
        lint_text(x, rules)
    dt = time.perf_counter() - t
    print(f"lint_text: {len(texts)} replies in {dt:.2f} s = {len(texts) / dt:,.0f} replies/s", flush=True)


def one_megabyte(rules) -> None:
    import os

    from kb.lint import lint_text
    from kb.lint.parallel import can_fork

    unit = "亲，大促期间订单较多，我们今天保证发货，加我微信 abc123，全网最低价，好评返现5元～"
    text = unit * (1_000_000 // len(unit.encode("utf-8")) + 1)
    # the first run builds the RE2 screen (once per process) and is counted
    for label, jobs in (("", None), (" (one process, KB_LINT_JOBS=1)", "1")):
        if jobs:
            os.environ["KB_LINT_JOBS"] = jobs
        t = time.perf_counter()
        found = lint_text(text, rules)
        dt = time.perf_counter() - t
        os.environ.pop("KB_LINT_JOBS", None)
        how = "two processes" if can_fork() and not jobs else "one process"
        print(f"1 MB reply, risky in every sentence ({len(text.encode('utf-8')):,} bytes, {len(found):,} findings)"
              f"{label or ', ' + how}: {dt:.2f} s", flush=True)
    unit = "亲，大促期间订单较多，我们会按付款顺序尽快为您安排发出，预计付款后72小时内发货，具体以物流信息为准哦～"
    text = unit * (1_000_000 // len(unit.encode("utf-8")) + 1)
    t = time.perf_counter()
    lint_text(text, rules)
    print(f"1 MB of an ordinary reply repeated: {time.perf_counter() - t:.2f} s", flush=True)
    plain = "亲" * 350_000
    t = time.perf_counter()
    lint_text(plain, rules)
    print(f"1 MB reply with no punctuation (one clause): {time.perf_counter() - t:.2f} s", flush=True)


def team_regex() -> None:
    import tempfile

    from kb.lint import lint_text, load_rules

    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "kb-lint.yaml"
        cfg.write_text("extends: none\nrules:\n  - {id: team.qin, kind: regex, pattern: '(亲+)+$', message: m}\n",
                       encoding="utf-8")
        rules = load_rules(cfg)
    text = "亲" * 100_000 + "x"
    t = time.perf_counter()
    lint_text(text, rules, hygiene=False)
    print(f"team regex (亲+)+$ on 100,001 characters (RE2): {time.perf_counter() - t:.3f} s", flush=True)


def main() -> None:
    from kb.bank.load import load_bank
    from kb.lint import load_rules

    t = time.perf_counter()
    rules = load_rules()
    print(f"rule pack load: {time.perf_counter() - t:.2f} s ({len(rules.rules)} rules)", flush=True)
    bundled, _ = load_bank(ROOT / "phrasebank")
    bank_throughput("bundled bank", bundled, rules)
    big = synthetic_bank(10_000)
    bank_throughput("10k synthetic phrases", big, rules)
    text_throughput(big, rules)
    one_megabyte(rules)
    team_regex()


if __name__ == "__main__":
    main()
