"""Measure the learning loop (issue 17 item 4) on ../shared/eval/real_dev.tsv.

The set is split in two halves (by a hash of each message: stable, no seed to pick). For each
fold, on a temporary copy of the bank (the bundled phrasebank/ is never written):
  1. evaluate the held half on the bank as it is (before);
  2. simulate the usage log of the other half: every message is searched; for a labelled one the
     label is "the phrase the agent copied" (a copy event), an unlabelled one is a plain search
     event (what an agent did not answer from the bank);
  3. kb learn --apply on that log (through the library: the same code as the command);
  4. evaluate the held half again (after), and the bank's own tests.yaml before/after.
Prints top-1 and out-of-scope rejection before/after for both folds.

Usage:  .venv/bin/python scripts/bench_learn.py [--eval PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.bank.load import load_bank  # noqa: E402
from kb.learn.learn import apply_report, learn  # noqa: E402
from kb.learn.log import append, make_record  # noqa: E402
from kb.learn.sources import read_log  # noqa: E402
from kb.search.evaluate import evaluate, read_cases  # noqa: E402
from kb.search.index import Index  # noqa: E402


def halves(cases):
    keyed = sorted(cases, key=lambda c: hashlib.sha256(c.q.encode("utf-8")).hexdigest())
    mid = len(keyed) // 2
    return keyed[:mid], keyed[mid:]


def _index(root: Path) -> Index:
    bank, problems = load_bank(root)
    if bank is None or problems:
        raise SystemExit(f"bank at {root} has problems: {[str(p) for p in problems[:5]]}")
    return Index.build(bank, problems)


def run_fold(name: str, train, test, bank_src: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="kb-bench-learn-") as tmp:
        root = Path(tmp) / "bank"
        shutil.copytree(bank_src, root, symlinks=False)
        index = _index(root)
        before = evaluate(index, test)
        own = root / "tests.yaml"
        own_cases = read_cases(own) if own.exists() else []
        own_before = evaluate(index, own_cases) if own_cases else None
        log = Path(tmp) / "usage.jsonl"
        records = []
        for c in train:
            r = index.search(c.q, k=3)
            if c.expect:
                ids = [m.id for m in r.matches]
                rank = ids.index(c.expect[0]) + 1 if c.expect[0] in ids else None
                records.append(make_record(index, r, via="ui", copied=c.expect[0], rank=rank))
            else:
                records.append(make_record(index, r))
        append(records, log)
        bank, problems = load_bank(root)
        t0 = time.perf_counter()
        report = learn(bank, [read_log(log)], problems=problems)
        apply_report(bank, report)
        learn_s = time.perf_counter() - t0
        index2 = _index(root)
        after = evaluate(index2, test)
        own_after = evaluate(index2, own_cases) if own_cases else None
        reasons: dict[str, int] = {}
        for s in report.skipped:
            reasons[s.reason] = reasons.get(s.reason, 0) + 1
        return {"name": name, "train": len(train), "test": len(test), "before": before, "after": after,
                "own_before": own_before, "own_after": own_after, "added": len(report.new_questions),
                "copied": report.copied, "covered": report.covered, "skipped": reasons,
                "clusters": len(report.clusters), "learn_s": learn_s,
                "bumps": {b.book: b.level for b in report.bumps}}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval", default=str(ROOT.parent / "shared" / "eval" / "real_dev.tsv"))
    ap.add_argument("--bank", default=str(ROOT / "phrasebank"))
    args, _ = ap.parse_known_args(argv)  # also run from scripts/bench (its own options are ignored)
    path = Path(args.eval)
    if not path.exists():
        raise SystemExit(f"{path} not found")
    os.environ.pop("KB_LOG", None)
    cases = read_cases(path)
    a, b = halves(cases)
    print(f"kb learn loop on {path.name}: {len(cases)} cases, halves A={len(a)} B={len(b)}; bank {args.bank} "
          "copied to a temporary folder for each fold")
    print(f"{'fold':<8} {'top-1 before':>12} {'after':>7} {'Δ':>7}   {'oos rej before':>14} {'after':>7} {'Δ':>7}"
          f"   {'added':>5}  {'tests.yaml top-1':>16}")
    for name, train, test in (("A→B", a, b), ("B→A", b, a)):
        f = run_fold(name, train, test, Path(args.bank))
        bf, af = f["before"], f["after"]
        own = (f"{f['own_before'].top1:.3f}→{f['own_after'].top1:.3f}" if f["own_before"] else "-")
        print(f"{name:<8} {bf.top1:>12.3f} {af.top1:>7.3f} {af.top1 - bf.top1:>+7.3f}   "
              f"{bf.oos_rejected:>14.3f} {af.oos_rejected:>7.3f} {af.oos_rejected - bf.oos_rejected:>+7.3f}"
              f"   {f['added']:>5}  {own:>16}")
        print(f"         train: {f['copied']} copies ({f['covered']} already answered), skipped {f['skipped']}, "
              f"{f['clusters']} unanswered groups; test: {bf.in_scope} in scope, {bf.out_of_scope} out of scope; "
              f"top-3 {bf.top3:.3f}→{af.top3:.3f}; learn+apply {f['learn_s']:.2f} s; bumps {f['bumps']}")


if __name__ == "__main__":
    main()
