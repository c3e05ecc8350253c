"""kb benchmark: prints figures (cold start, batch search at scale, index build, lint speed).

    scripts/bench            # 1k and 10k phrases
    scripts/bench --full     # also 100k phrases (minutes, several GB of memory)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KB = ROOT / ".venv" / "bin" / "kb"
PY = sys.executable
QUERIES = ["双11拍的啥时候发啊", "能便宜点吗", "退款什么时候到账", "物流怎么一直不动", "有赠品吗", "包邮吗",
           "尺码偏大还是偏小", "我要投诉", "定金能退吗", "发错货了", "今天天气怎么样", "优惠券怎么用"]
PRODUCTS = [w for w in ("连衣裙 T恤 羽绒服 运动鞋 泳衣 泳圈 帽子 袜子 背包 手机壳 耳机 充电宝 面膜 口红 洗发水 "
                        "保温杯 电饭煲 台灯 枕头 被子 床单 拖鞋 牛仔裤 卫衣 衬衫 围巾 手套 童装 玩具 积木 奶粉 "
                        "纸尿裤 零食 坚果 茶叶 咖啡 猫粮 狗粮 键盘 鼠标 显示器 音箱 相机 镜头 自行车 头盔 "
                        "帐篷 睡袋 瑜伽垫 哑铃 跑步机 窗帘 地毯 沙发 餐桌 椅子 书架 花瓶 香薰 蜡烛").split()]

NAIVE = r'''
import sys, time
t0 = time.time()
import jieba, logging
jieba.setLogLevel(logging.WARNING)
from rapidfuzz import process, fuzz
from kb.bank.load import load_bank
bank, _ = load_bank(sys.argv[1])
qs, owner = [], []
for bf, _, p in bank.phrases():
    for q in p.questions:
        qs.append(" ".join(jieba.lcut(q))); owner.append(p.id)
query = " ".join(jieba.lcut(sys.argv[2]))
best = process.extractOne(query, qs, scorer=fuzz.WRatio)
print(owner[best[2]])
'''


def wall(cmd: list[str], runs: int, env=None) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def cold_start(runs: int) -> None:
    env = dict(os.environ)
    subprocess.run([str(KB), "--bank", str(ROOT / "phrasebank"), "search", "在吗"], stdout=subprocess.DEVNULL,
                   env=env, check=False)  # warm the index cache
    kb_t = wall([str(KB), "--bank", str(ROOT / "phrasebank"), "search", "双11拍的啥时候发啊"], runs, env)
    naive_t = wall([PY, "-c", NAIVE, str(ROOT / "phrasebank"), "双11拍的啥时候发啊"], runs, env)
    print(f"cold start, bundled bank (median of {runs}): kb search {kb_t:.3f} s; naive (jieba default dict + "
          f"WRatio over every question) {naive_t:.3f} s; ratio {kb_t / naive_t:.2f}")


def synthetic_bank(n: int, seed: int = 7):
    """A bank of n phrases made from the bundled phrases' questions, each about a product."""
    from kb.bank.load import load_bank
    from kb.model import Bank, Book, BookFile, Phrase

    base, _ = load_bank(ROOT / "phrasebank")
    rnd = random.Random(seed)
    src = [p for _, _, p in base.phrases()]
    phrases = []
    for i in range(n):
        p = src[i % len(src)]
        prod = rnd.choice(PRODUCTS) + (str(rnd.randint(1, 99)) if i >= len(src) else "")
        qs = [f"{prod}{q}" if rnd.random() < 0.5 else f"{q}{prod}" for q in p.questions[:6]]
        phrases.append(Phrase.model_construct(id=f"gen.p{i}", title=f"{p.title}{prod}", group=None,
                                              shortcut=f"g{i}", questions=qs, reply=p.reply or "亲，好的～",
                                              flow=None, tags=[], lint=None))
    book = Book.model_construct(schema_=1, name="gen", version="1.0.0", title="生成", description="",
                                phrases=phrases)
    return Bank(root=ROOT, manifest=base.manifest, books=[BookFile(book=book, path=ROOT / "gen.yaml",
                                                                   display="gen.yaml")])


def scale(n: int) -> None:
    from rapidfuzz import fuzz, process

    from kb.search.index import Index

    bank = synthetic_bank(n)
    t = time.perf_counter()
    index = Index.build(bank)
    build = time.perf_counter() - t
    qs = [f"{q}{random.Random(i).choice(PRODUCTS)}" for i, q in enumerate(QUERIES * 20)]
    t = time.perf_counter()
    for q in qs:
        index.search(q)
    ms = (time.perf_counter() - t) / len(qs) * 1000
    strings = [q[2] for q in index.questions]
    t = time.perf_counter()
    for q in qs[:40]:
        process.extractOne("".join(index.tokenizer.tokens(q)), strings, scorer=fuzz.ratio)
    scan = (time.perf_counter() - t) / 40 * 1000
    line = (f"{n:>7} phrases ({len(index.questions)} questions): kb {ms:.2f} ms/query; rapidfuzz full scan "
            f"{scan:.2f} ms/query; index build {build:.1f} s")
    try:
        import bm25s

        corpus = [list(q[1]) for q in index.questions]
        t = time.perf_counter()
        retriever = bm25s.BM25()
        retriever.index(corpus, show_progress=False)
        qtok = [index.tokenizer.features(q)[0] for q in qs[:100]]
        t = time.perf_counter()
        for toks in qtok:
            retriever.retrieve([toks], k=3, show_progress=False)
        line += f"; bm25s {(time.perf_counter() - t) / len(qtok) * 1000:.2f} ms/query"
    except Exception as e:  # bm25s is an optional comparison (pip install -e '.[bench]')
        line += f"; bm25s not measured ({type(e).__name__})"
    print(line, flush=True)


def lint_speed(n: int) -> None:
    from kb.lint.engine import lint_text, load_rules

    bank = synthetic_bank(n)
    rules = load_rules()
    texts = [t for _, _, p in bank.phrases() for _, t in p.texts()]
    t = time.perf_counter()
    for x in texts:
        lint_text(x, rules)
    print(f"lint: {n} phrases' replies in {time.perf_counter() - t:.2f} s (rules only, YAML parsing excluded)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="also 100k phrases")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    cold_start(args.runs)
    for n in (1_000, 10_000, *((100_000,) if args.full else ())):
        scale(n)
    lint_speed(10_000)


if __name__ == "__main__":
    main()
