"""Fuzz kb's entry points with per-input time and memory limits, whole banks included.

    .venv/bin/python scripts/fuzz.py --seconds 600            # the issue's 10-minute run
    .venv/bin/python scripts/fuzz.py --replay fuzz-failures/bank-12.bin

Every input runs in a worker process (restarted after a crash or a hang) and is measured: its time
and its peak memory (growth of the resident set, Linux VmHWM reset before each input). An input
fails when it raises anything but kb's own errors, takes more than --max-seconds (2 s), grows memory
by more than --max-mb (500 MB), or kills/hangs the worker (killed after 10 s; the worker's address
space is capped so a runaway input cannot take the machine down).

Paths:
  yaml     bytes (random, mutated real books, alias bombs …)  -> kb.bank.yamlio.load_document
  bank     a bank folder holding one fuzzed book (mutations, anchors and aliases, huge values,
           control/bidi characters, deep nesting, thousands of phrases) -> load_bank (load and
           cross-check) -> Index.build (the search index, its dictionary included) -> lint_bank
  special  a bank whose book is a FIFO, a symlink to /dev/zero or /dev/urandom, a folder, a
           dangling symlink, a file over the size limit, or thousands of small books -> load_bank
  csv      Qianniu CSV bytes (random, mutated, unclosed quotes, many rows) -> import_file
  text     buyer messages (random Unicode, long, emoji, control characters) -> search, lint_text

The report lists the inputs per path, every failure (saved under --out for --replay) and the
slowest input of each path with its time and memory.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS = ("yaml", "bank", "special", "csv", "text")
SPECIALS = ("fifo", "dev_zero", "dev_urandom", "folder", "dangling", "oversize", "many_books", "unreadable")


# --- the worker ---------------------------------------------------------------------------------


def _status(field: str) -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for ln in f:
                if ln.startswith(field + ":"):
                    return int(ln.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


class Worker:
    """Runs one input of a path; everything it needs is set up once."""

    def __init__(self) -> None:
        from kb.lint import load_rules
        from kb.search.cache import load_index

        self.rules = load_rules()
        self.index = load_index(ROOT / "phrasebank", use_cache=False)
        self.dir = Path(tempfile.mkdtemp(prefix="kb-fuzz-"))
        self.bank = self.dir / "bank"

    def fresh_bank(self) -> Path:
        if self.bank.exists():
            for p in self.bank.iterdir():
                p.chmod(0o700) if p.is_dir() and not p.is_symlink() else None
            shutil.rmtree(self.bank)
        self.bank.mkdir()
        shutil.copy(ROOT / "phrasebank" / "bank.yaml", self.bank / "bank.yaml")
        shutil.copy(ROOT / "phrasebank" / "promo.yaml", self.bank / "promo.yaml")
        return self.bank

    def run(self, kind: str, payload: bytes, meta: dict) -> dict[str, float]:
        """Run one input; the seconds each stage of a whole-bank path took."""
        from kb.bank.load import load_bank
        from kb.bank.yamlio import load_document
        from kb.lint.bank import lint_bank
        from kb.lint.engine import lint_text
        from kb.search.index import Index
        from kb.targets.qianniu import import_file

        stages: dict[str, float] = {}
        if kind == "yaml":
            load_document(payload)
        elif kind == "bank":
            bank = self.fresh_bank()
            (bank / "fz.yaml").write_bytes(payload)
            t = time.perf_counter()
            b, problems = load_bank(bank)
            stages["load"] = time.perf_counter() - t
            if b is not None:
                t = time.perf_counter()
                Index.build(b, problems)
                stages["index"] = time.perf_counter() - t
                t = time.perf_counter()
                lint_bank(b, self.rules)
                stages["lint"] = time.perf_counter() - t
        elif kind == "special":
            bank = self.fresh_bank()
            _make_special(bank, meta["special"], payload)
            load_bank(bank)
        elif kind == "csv":
            import_file(payload, "fz")
        elif kind == "text":
            text = payload.decode("utf-8", "surrogatepass")
            t = time.perf_counter()
            self.index.search(text, k=5)
            stages["search"] = time.perf_counter() - t
            t = time.perf_counter()
            lint_text(text, self.rules)
            stages["lint_text"] = time.perf_counter() - t
        return stages


def _make_special(bank: Path, special: str, payload: bytes) -> None:
    p = bank / "fz.yaml"
    if special == "fifo":
        os.mkfifo(p)
    elif special == "dev_zero":
        p.symlink_to("/dev/zero")
    elif special == "dev_urandom":
        p.symlink_to("/dev/urandom")
    elif special == "folder":
        p.mkdir()
        (p / "inner.yaml").write_bytes(payload)
    elif special == "dangling":
        p.symlink_to(bank / "nowhere" / "x.yaml")
    elif special == "oversize":
        with open(p, "wb") as f:
            f.write(b"# " + b"x" * (4 * 1024 * 1024 + 10) + b"\n" + payload)
    elif special == "many_books":
        for i in range(int.from_bytes(payload[:2] or b"\x01", "big") % 400 + 1):
            (bank / f"b{i}.yaml").write_text(f"schema: 1\nname: b{i}\nversion: 1.0.0\ntitle: t\nphrases: []\n",
                                             encoding="utf-8")
    elif special == "unreadable":
        p.write_bytes(payload)
        p.chmod(0)


def _serve(conn, limit_mb: int) -> None:
    import resource

    try:
        w = Worker()
    except BaseException:
        conn.send(("setup", traceback.format_exc(), 0.0, 0, {}))
        return
    try:  # a safety net well above the per-input limit: a runaway input gets MemoryError
        cap = _status("VmSize") + (limit_mb + 1024) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (ValueError, OSError):
        pass
    conn.send(("ready", "", 0.0, 0, {}))
    from kb.bank.yamlio import YamlProblem
    from kb.errors import KbError

    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        kind, payload, meta = job
        exact = _reset_peak()
        base = _status("VmRSS") if exact else _status("VmHWM")
        t = time.perf_counter()
        outcome, tb, stages = "ok", "", {}
        try:
            stages = w.run(kind, payload, meta)
        except (KbError, YamlProblem):
            outcome = "refused"
        except MemoryError:
            outcome, tb = "memory", "MemoryError (address-space cap reached)"
        except Exception:
            outcome, tb = "crash", traceback.format_exc()
        elapsed = time.perf_counter() - t
        grown = max(0, _status("VmHWM") - base)
        conn.send((outcome, tb, elapsed, grown, stages))


# --- inputs --------------------------------------------------------------------------------------

SNIPPETS = ["&a ", "*a", "&b [*a, *a, *a, *a]", ": ", "- ", '"', "'", "|-\n", ">\n", "\t", "!!python/object:os.system",
            "<<: *a", "{", "}", "[", "]", "\x00", "\ufeff", "\u202e", "\x1b[2J", "\x07", "\u200b", "\n", "---\n",
            "...\n", "? ", "%YAML 1.1\n", "!!binary ", "~", "null", "1e999", "0x", "2026-02-30", "🎉", "{x}",
            "{{", "}}", "{ship_window}", "\r\n", "\u2028", "#", "@", "`", "!", "&", ",", "<<<<<<< HEAD\n"]


def _books() -> list[bytes]:
    return [p.read_bytes() for p in sorted((ROOT / "phrasebank").glob("*.yaml"))
            if p.name not in ("bank.yaml", "tests.yaml", "kb-lint.yaml")]


def _mutate(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    data = bytearray(data)
    ops = []
    for _ in range(rng.randint(1, 8)):
        op = rng.choice(("flip", "insert", "delete", "dup", "truncate", "snippet", "repeat"))
        ops.append(op)
        if not data:
            data = bytearray(rng.randbytes(rng.randint(1, 64)))
        i = rng.randrange(len(data))
        if op == "flip":
            data[i] = rng.randrange(256)
        elif op == "insert":
            data[i:i] = rng.randbytes(rng.randint(1, 16))
        elif op == "delete":
            del data[i:i + rng.randint(1, 200)]
        elif op == "dup":
            j = rng.randrange(len(data))
            a, b = sorted((i, j))
            data[b:b] = data[a:b][:100_000]
        elif op == "truncate":
            del data[i:]
        elif op == "snippet":
            data[i:i] = rng.choice(SNIPPETS).encode("utf-8")
        elif op == "repeat":
            data[i:i] = rng.choice(SNIPPETS).encode("utf-8") * rng.randint(10, 5000)
    return bytes(data), "mutate:" + ",".join(ops)


def _book(phrases: str, name: str = "fz") -> str:
    return f"schema: 1\nname: {name}\nversion: 1.0.0\ntitle: 模糊\nphrases:\n{phrases}"


def _phrase(i: int, reply: str = "亲，好的", questions: str = "      - 什么时候发货\n", title: str = "标题") -> str:
    return (f"  - id: fz.p{i}\n    title: {title}\n    shortcut: fz{i}\n    questions:\n{questions}"
            f"    reply: {reply}\n")


def _structured(rng: random.Random) -> tuple[bytes, str]:
    kind = rng.choice(("alias_scalar", "alias_nested", "huge_value", "many_phrases", "deep", "long_keys",
                       "control", "flow_big", "many_questions", "wide_map", "long_texts"))
    if kind == "alias_scalar":
        n, size = rng.choice((10, 100, 1000, 30_000)), rng.choice((10, 1000, 100_000, 300_000))
        qs = f"      - &long {'亲' * size}\n" + "      - *long\n" * n
        return _book(_phrase(0, questions=qs)).encode(), f"alias_scalar n={n} size={size}"
    if kind == "alias_nested":
        depth, width = rng.randint(2, 12), rng.randint(2, 12)
        lines = ["a0: &a0 [" + ", ".join(["x" * rng.randint(1, 50)] * width) + "]"]
        for d in range(1, depth):
            lines.append(f"a{d}: &a{d} [" + ", ".join([f"*a{d - 1}"] * width) + "]")
        return ("\n".join(lines) + "\n").encode(), f"alias_nested depth={depth} width={width}"
    if kind == "huge_value":
        size = rng.choice((10_000, 200_000, 500_000, 1_500_000))
        ch = rng.choice(("亲", "a", "发货", "😀", " ", "保证今天发货"))
        reply = '"' + (ch * (size // len(ch.encode()) + 1))[: size // 3] + '"'
        return _book(_phrase(0, reply=reply)).encode(), f"huge_value size={size} ch={ch!r}"
    if kind == "long_texts":  # as many texts just under the per-text limit as a book can hold
        ch = rng.choice(("亲", "a", "保证今天发货", "加微信", "😀", "双11"))
        text = (ch * 10_000)[: rng.choice((9_999, 10_000, 10_001))]
        field = rng.choice(("reply", "question", "title"))
        quoted = json.dumps(text, ensure_ascii=False)
        n = 500_000 // len(quoted.encode()) + 1
        body = "".join(_phrase(i, reply=quoted if field == "reply" else "好",
                               questions=f"      - {quoted}\n" if field == "question" else "      - q\n",
                               title=quoted if field == "title" else "t") for i in range(n))
        return _book(body).encode(), f"long_texts n={n} {field} len={len(text)} ch={ch!r}"
    if kind == "many_phrases":
        n = rng.choice((100, 1000, 3000, 4500))
        return _book("".join(_phrase(i) for i in range(n))).encode(), f"many_phrases n={n}"
    if kind == "deep":
        d = rng.choice((50, 70, 500, 5000))
        return ("a: " + "[" * d + "]" * d + "\n").encode(), f"deep d={d}"
    if kind == "long_keys":
        n = rng.choice((1000, 100_000, 1_000_000))
        return ("k" * n + ": v\n").encode(), f"long_keys n={n}"
    if kind == "control":
        bad = "".join(rng.choice(("\x1b[31m", "\u202e", "\u2066", "\u200b", "\x07", "\x08", "\u2028", "\x85"))
                      for _ in range(rng.randint(1, 50)))
        title = json.dumps("发货" + bad + "时间")
        return _book(_phrase(0, title=title, reply=json.dumps("亲" + bad))).encode(), "control"
    if kind == "flow_big":
        steps = rng.choice((10, 1000, 5000, 12_000))
        text = rng.choice(("亲，保证三天内发货哦", "一定包邮", "好的"))
        flow = "".join(f"      - step: s{i}\n        reply: {text}{i}\n" for i in range(steps))
        body = f"  - id: fz.flow\n    title: 流程\n    questions: [q]\n    flow:\n{flow}"
        return _book(body).encode(), f"flow_big steps={steps}"
    if kind == "many_questions":
        n = rng.choice((100, 5000, 15_000, 100_000))
        qs = "".join(f"      - 问题{i}什么时候发货\n" for i in range(n))
        return _book(_phrase(0, questions=qs)).encode(), f"many_questions n={n}"
    n = rng.choice((1000, 30_000, 50_000, 100_000))
    return ("".join(f"k{i}: v\n" for i in range(n))).encode(), f"wide_map n={n}"


def _csv(rng: random.Random) -> tuple[bytes, str]:
    r = rng.random()
    if r < 0.2:
        return rng.randbytes(rng.randint(0, 3000)), "csv random"
    n = rng.choice((1, 10, 1000, 15_000))
    rows = ["快捷短语编码,快捷短语,快捷短语分组"] + [f"c{i},亲，第{i}条回复,分组{i % 7}" for i in range(n)]
    data = ("\r\n".join(rows) + "\r\n").encode(rng.choice(("utf-8", "gbk", "utf-8-sig")))
    if r < 0.6:
        data, how = _mutate(rng, data)
        return data, f"csv n={n} {how}"
    if r < 0.8:
        i = rng.randrange(len(data))
        return data[:i] + b'"' + data[i:], f"csv n={n} unclosed quote"
    return data, f"csv n={n}"


def _text(rng: random.Random) -> tuple[bytes, str]:
    r = rng.random()
    if r < 0.3:
        n = rng.choice((10, 200, 5000, 100_000))
        t = "".join(chr(rng.choice((rng.randint(0x20, 0x7e), rng.randint(0x4e00, 0x9fff), rng.randint(0x1f300, 0x1faff),
                                    rng.randint(0, 0x10ffff)))) for _ in range(n))
        return t.encode("utf-8", "surrogatepass"), f"text random n={n}"
    if r < 0.6:
        base = rng.choice(("双11拍的啥时候发货", "满300减30能用吗", "亲在吗", "保证今天发货吗", "加我微信"))
        return (base * rng.choice((1, 10, 1000, 20_000))).encode(), "text repeated"
    t = "".join(rng.choice(("发", "货", "双", "11", "😀", "\u202e", "\x1b", " ", "\n", "亲", "吗", "退款", "包邮"))
                for _ in range(rng.randint(1, 3000)))
    return t.encode("utf-8"), "text mixed"


def generate(rng: random.Random, books: list[bytes]) -> tuple[str, bytes, dict]:
    kind = rng.choices(KINDS, weights=(3, 4, 1, 2, 3))[0]
    if kind in ("yaml", "bank"):
        r = rng.random()
        if r < 0.45:
            data, how = _mutate(rng, rng.choice(books))
        elif r < 0.9:
            data, how = _structured(rng)
        else:
            data, how = rng.randbytes(rng.randint(0, 4000)), "random bytes"
        return kind, data, {"how": how}
    if kind == "special":
        special = rng.choice(SPECIALS)
        data, how = _mutate(rng, rng.choice(books))
        return kind, data, {"how": f"special {special}", "special": special}
    if kind == "csv":
        data, how = _csv(rng)
        return kind, data, {"how": how}
    data, how = _text(rng)
    return kind, data, {"how": how}


# --- the parent ------------------------------------------------------------------------------------


class Pool:
    def __init__(self, limit_mb: int) -> None:
        self.limit_mb = limit_mb
        self.ctx = mp.get_context("fork" if hasattr(os, "fork") else "spawn")
        self.proc = None
        self.conn = None
        self.restarts = 0

    def start(self) -> None:
        parent, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_serve, args=(child, self.limit_mb), daemon=True)
        self.proc.start()
        self.conn = parent
        if not parent.poll(120):
            raise SystemExit("fuzz: the worker did not start")
        status, tb, *_ = parent.recv()
        if status != "ready":
            raise SystemExit(f"fuzz: the worker failed to start:\n{tb}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.join(5)
            self.proc = None
            self.restarts += 1

    def run(self, kind: str, payload: bytes, meta: dict, hard_timeout: float) -> tuple:
        if self.proc is None or not self.proc.is_alive():
            self.start()
        try:
            self.conn.send((kind, payload, meta))
            if self.conn.poll(hard_timeout):
                return self.conn.recv()
            self.stop()
            return "hang", f"no answer after {hard_timeout:.0f} s (worker killed)", hard_timeout, 0, {}
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            code = self.proc.exitcode if self.proc else None
            self.stop()
            return "died", f"worker died (exit code {code})", 0.0, 0, {}


def _save(out: Path, n: int, kind: str, payload: bytes, meta: dict, why: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    p = out / f"{kind}-{n}.bin"
    p.write_bytes(payload)
    p.with_suffix(".json").write_text(json.dumps({"kind": kind, "meta": meta, "why": why}, ensure_ascii=False,
                                                 indent=2), encoding="utf-8")
    return p


def replay(path: Path) -> int:
    info = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    w = Worker()
    t = time.perf_counter()
    try:
        w.run(info["kind"], path.read_bytes(), info["meta"])
        print(f"ok in {time.perf_counter() - t:.2f} s")
    except Exception:
        traceback.print_exc()
        return 1
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--max-seconds", type=float, default=2.0, help="time limit per input")
    ap.add_argument("--max-mb", type=int, default=500, help="memory growth limit per input (MB)")
    ap.add_argument("--out", type=Path, default=Path("fuzz-failures"), help="where failing inputs are saved")
    ap.add_argument("--replay", type=Path, help="run one saved input in this process")
    args = ap.parse_args()
    if args.replay:
        return replay(args.replay)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    books = _books()
    pool = Pool(args.max_mb)
    pool.start()
    counts = {k: 0 for k in KINDS}
    outcomes: dict[str, int] = {}
    slowest: dict[str, tuple[float, int, str, int]] = {}
    biggest: tuple[int, str, str] = (0, "", "")
    stage_max: dict[str, tuple[float, str, int]] = {}
    failures = []
    deadline = time.time() + args.seconds
    n = 0
    while time.time() < deadline:
        kind, payload, meta = generate(rng, books)
        n += 1
        outcome, tb, elapsed, grown, stages = pool.run(kind, payload, meta, hard_timeout=max(10.0, 5 * args.max_seconds))
        counts[kind] += 1
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if elapsed > slowest.get(kind, (-1.0,))[0]:
            slowest[kind] = (elapsed, grown, meta["how"], len(payload))
        for stage, sec in stages.items():
            if sec > stage_max.get(stage, (-1.0,))[0]:
                stage_max[stage] = (sec, meta["how"], len(payload))
        if grown > biggest[0]:
            biggest = (grown, kind, meta["how"])
        why = ""
        if outcome in ("crash", "memory", "hang", "died"):
            why = f"{outcome}: {tb.strip().splitlines()[-1] if tb.strip() else outcome}"
        elif elapsed > args.max_seconds:
            split = ", ".join(f"{k} {v:.2f} s" for k, v in stages.items())
            why = f"slow: {elapsed:.2f} s > {args.max_seconds} s" + (f" ({split})" if split else "")
        elif grown > args.max_mb * 1024 * 1024:
            why = f"memory: {grown / 1048576:.0f} MB > {args.max_mb} MB"
        if why:
            saved = _save(args.out, n, kind, payload, meta, why + "\n" + tb)
            failures.append((kind, meta["how"], len(payload), why, saved))
            print(f"FAIL {kind} [{meta['how']}] {len(payload)} bytes: {why} -> {saved}", flush=True)
    pool.stop()
    print(f"\nfuzzed {n} inputs in {args.seconds:.0f} s (seed {seed}): "
          + ", ".join(f"{k} {counts[k]}" for k in KINDS))
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    print(f"limits per input: {args.max_seconds} s, {args.max_mb} MB; worker restarts: {pool.restarts - 1}")
    print("slowest input per path:")
    for k in KINDS:
        if k in slowest:
            t, g, how, size = slowest[k]
            print(f"  {k:<8} {t:6.2f} s  {g / 1048576:6.1f} MB  {size:>9} bytes  [{how}]")
    print("slowest stage of the whole-bank and text paths:")
    for stage, (sec, how, size) in sorted(stage_max.items()):
        print(f"  {stage:<9} {sec:6.2f} s  {size:>9} bytes  [{how}]")
    print(f"largest memory growth: {biggest[0] / 1048576:.1f} MB ({biggest[1]} [{biggest[2]}])")
    print(f"{len(failures)} failure(s)")
    for kind, how, size, why, saved in failures[:20]:
        print(f"  {kind} [{how}] {size} bytes: {why}  (replay: scripts/fuzz.py --replay {saved})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
