"""Search: normalization, ranking, no-match, --jsonl, eval and the index cache."""

from __future__ import annotations

import json
import os

import pytest

from kb.cli import cli
from kb.search.cache import load_index
from kb.search.index import FORMAT
from kb.search.normalize import clean_message, normalize
from tests.conftest import BANK, SHARED


@pytest.fixture(scope="module")
def index():
    return load_index(BANK, use_cache=False)


@pytest.mark.parametrize("raw, norm", [
    ("雙十一發貨", "双11 发货"),
    ("双十一", "双11"), ("11.11", "双11"), ("１１．１１", "双11"), ("1111", "双11"), ("双 11", "双11"),
    ("六一八", "618"), ("6.18大促", "618 大促"),
    ("ＡＢＣ１２３", "abc123"),
    ("包邮吗😀😀？", "包邮吗"),
    ("什么时候发祸", "什么时候发货"),
    ("优惠卷", "优惠券"),
])
def test_normalize(raw, norm):
    assert normalize(raw) == norm


@pytest.mark.parametrize("query, expected", [
    ("雙十一拍的啥時候發貨啊", "shipping.when_ship"),
    ("双11拍的啥时候发啊😀", "shipping.when_ship"),
    ("１１.１１拍的什么时候发货", "shipping.when_ship"),
    ("亲亲 在吗在吗", "presales.greeting"),
    ("退款啥时候到账啊", "aftersales.refund_progress"),
    ("发票", "aftersales.invoice"),
    ("fhsj", "shipping.when_ship"),  # a Qianniu shortcut typed exactly
])
def test_top_match(index, query, expected):
    r = index.search(query)
    assert r.confident, (query, r.matches[:2])
    assert r.top.id == expected


@pytest.mark.parametrize("query", ["帮我写个作业", "asdfgh", "哈哈哈哈", "", "😀😀", "？？？", "\x00\x01"])
def test_no_confident_match(index, query):
    assert not index.search(query).confident


def test_search_cli_exit_codes_and_render(runner):
    r = runner.invoke(cli, ["--bank", str(BANK), "search", "--campaign", "double11", "双11拍的什么时候发货"])
    assert r.exit_code == 0
    assert r.output.startswith("1. shipping.when_ship")
    assert "付款（预售为付清尾款）后7天" in r.output  # campaign variable rendered
    r = runner.invoke(cli, ["--bank", str(BANK), "search", "帮我写个作业"])
    assert r.exit_code == 1
    assert "no confident match" in r.output


def test_search_json(runner):
    r = runner.invoke(cli, ["--bank", str(BANK), "search", "--json", "-k", "2", "能便宜点吗"])
    data = json.loads(r.output)
    assert data["query"] == "能便宜点吗"
    assert len(data["matches"]) == 2 and set(data["matches"][0]) >= {"id", "title", "score", "reply"}


def test_jsonl_one_line_per_input_in_order(runner):
    lines = ["在吗", "", "   ", "x" * 100_000, "\x07控制字符", "😀", "包邮吗", "\ud800bad", "什么时候发货"]
    data = "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n"
    r = runner.invoke(cli, ["--bank", str(BANK), "search", "--jsonl"], input=data)
    assert r.exit_code == 0, r.output
    out = [json.loads(x) for x in r.output.splitlines()]
    assert len(out) == len(lines)
    first = [(o["matches"] + o["candidates"] + o["nearest"] or [{"id": None}])[0]["id"] for o in out]
    assert first[0] == "presales.greeting" and out[0]["outcome"] == "confident"
    assert out[1]["outcome"] == out[2]["outcome"] == "none" and first[1] is None
    assert "promo.free_shipping" in [m["id"] for m in out[6]["matches"] + out[6]["candidates"]]
    assert first[8] == "shipping.when_ship" and out[8]["outcome"] == "confident"
    assert out[3]["query"] == "x" * 100_000


@pytest.mark.skipif(not (SHARED / "eval" / "dev.yaml").exists(), reason="shared/eval not beside the repo")
def test_eval_dev_set_meets_target(runner):
    r = runner.invoke(cli, ["--bank", str(BANK), "eval", str(SHARED / "eval" / "dev.yaml"), "--min-top1", "0.94"])
    assert r.exit_code == 0, r.output
    assert "top-1:" in r.output and "out-of-scope rejected:" in r.output


def test_eval_min_top1_fails_below(runner, tmp_path):
    cases = tmp_path / "cases.yaml"
    cases.write_text("cases:\n  - {q: 什么时候发货, expect: presales.greeting}\n  - {q: 天气, expect: null}\n",
                     encoding="utf-8")
    r = runner.invoke(cli, ["--bank", str(BANK), "eval", str(cases), "--min-top1", "0.5"])
    assert r.exit_code == 1
    assert "expected presales.greeting, got shipping.when_ship" in r.output


def test_cache_is_json_data_and_follows_bank_edits(bank_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    first = load_index(bank_copy)
    (f,) = (tmp_path / "cache").glob("index-*.sqlite")
    assert f.read_bytes().startswith(b"SQLite format 3\x00")  # data, not a pickle
    import sqlite3

    con = sqlite3.connect(f)
    assert json.loads(con.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()[0]) == FORMAT
    con.close()
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700
    assert first.search("运费险怎么理赔").top.id == "aftersales.return_shipping_fee"
    book = bank_copy / "promo.yaml"
    book.write_text(book.read_text(encoding="utf-8").replace("title: 包邮规则", "title: 包邮规则说明"),
                    encoding="utf-8")
    second = load_index(bank_copy)
    assert len(list((tmp_path / "cache").glob("index-*.sqlite"))) == 2
    assert second.key != first.key
    assert any(p["title"] == "包邮规则说明" for p in second.phrases)


def test_cache_file_of_another_user_is_ignored(bank_copy, tmp_path, monkeypatch):
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("needs root to give a file to another user")
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    index = load_index(bank_copy)
    (f,) = (tmp_path / "cache").glob("index-*.sqlite")
    import sqlite3

    con = sqlite3.connect(f)
    con.execute("UPDATE phrases SET record = ? WHERE pi = 0",
                (json.dumps({**index.phrases[0], "texts": [[None, "PLANTED"]]}),))
    con.commit()
    con.close()
    os.chown(f, 12345, 12345)
    again = load_index(bank_copy)
    assert all(t != "PLANTED" for p in again.phrases for _, t in p["texts"])
    assert again.key == index.key


def test_edit_during_build_is_never_cached_under_the_old_key(bank_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    import kb.search.cache as cache

    real = cache.build_index
    book = bank_copy / "promo.yaml"

    def build_and_edit(root):
        index = real(root)
        book.write_text(book.read_text(encoding="utf-8").replace("title: 包邮规则", "title: 新包邮规则"),
                        encoding="utf-8")
        return index

    monkeypatch.setattr(cache, "build_index", build_and_edit)
    load_index(bank_copy)
    assert not list((tmp_path / "cache").glob("index-*.sqlite"))  # built from bytes that changed: not kept
    monkeypatch.setattr(cache, "build_index", real)
    assert any(p["title"] == "新包邮规则" for p in load_index(bank_copy).phrases)


def test_cache_is_pruned_and_stale_temp_files_removed(bank_copy, tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("KB_CACHE_DIR", str(folder))
    for i in range(20):
        (folder / f"index-old{i}-2.sqlite").write_text("{}", encoding="utf-8")
    stale = folder / ".index-crashed.tmp"
    stale.write_text("partial", encoding="utf-8")
    os.utime(stale, (1, 1))
    load_index(bank_copy)
    import kb.search.cache as cache

    assert len(list(folder.glob("index-*.sqlite"))) <= cache.MAX_FILES
    assert not stale.exists()


def test_corrupt_cache_is_rebuilt(bank_copy, tmp_path, monkeypatch, capsys):
    import kb.search.cache

    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(kb.search.cache, "_notice_shown", False)
    load_index(bank_copy)
    (cache,) = (tmp_path / "cache").glob("index-*.sqlite")
    cache.write_bytes(cache.read_bytes()[:100])  # truncated: its size no longer matches its name
    assert load_index(bank_copy).search("包邮吗").top.id == "promo.free_shipping"
    assert "rebuilt" in capsys.readouterr().err
    (cache,) = (tmp_path / "cache").glob("index-*.sqlite")
    cache.write_bytes(b"\x80\x04not a database at all".ljust(cache.stat().st_size, b"\0"))  # same size
    assert load_index(bank_copy).search("包邮吗").top.id == "promo.free_shipping"


def test_cache_path_is_a_file_not_a_dir(bank_copy, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("KB_CACHE_DIR", str(blocker / "cache"))  # cannot be created
    assert load_index(bank_copy).search("包邮吗").top.id == "promo.free_shipping"


# --- messages as buyers type them ------------------------------------------------------------

@pytest.mark.parametrize("raw, gone, kept", [
    ("咨询订单号:3829104857362918472 订单金额:129.00 双11什么时候发", "3829104857362918472", "双11什么时候发"),
    ("https://item.taobao.com/item.htm?id=123 这个有货吗", "taobao", "这个有货吗"),
    ("[图片][图片]收到就是坏的", "图片", "收到就是坏的"),
    ("转人工 退款到哪了 13812345678", "13812345678", "退款到哪了"),
    ("满300减30能用吗", "", "满300减30"),
])
def test_clean_message_drops_what_is_not_the_question(raw, gone, kept):
    out = clean_message(raw)
    assert kept in out
    assert not gone or gone not in out


def test_a_lone_picture_or_order_number_is_no_answer(index):
    for raw in ("[图片]", "[图片][表情]", "订单号:3829104857362918472", "13812345678"):
        assert index.search(raw).outcome == "none", raw


def test_long_message_with_boilerplate_stays_confident(index):
    short = index.search("双11拍的什么时候发货")
    long = index.search("你好在吗 咨询订单号:3829104857362918472 订单金额:129.00 下单时间:2026-11-11 00:01:12 "
                        "[图片] 亲 我是双11零点付的款 拍的什么时候发货啊 急着用")
    assert short.outcome == long.outcome == "confident"
    assert long.top.id == short.top.id == "shipping.when_ship"


def test_two_questions_in_one_message_are_both_answered(index):
    r = index.search("请问什么时候发货？另外可以开发票吗")
    ids = {r.top.id, *(m.id for m in r.also)}
    assert {"shipping.when_ship", "aftersales.invoice"} <= ids
    assert all(m.clause for m in r.also)


def test_ambiguous_outcome_shows_every_close_candidate(runner, bank_copy, tmp_path):
    twin = bank_copy / "twin.yaml"
    twin.write_text(
        "schema: 1\nname: twin\nversion: 1.0.0\ntitle: 双胞胎\nphrases:\n"
        "  - id: twin.a\n    title: 甲\n    questions: [蓝莓果酱保质期多久]\n    reply: 甲\n"
        "  - id: twin.b\n    title: 乙\n    questions: [蓝莓果酱保质期多久呢]\n    reply: 乙\n", encoding="utf-8")
    r = runner.invoke(cli, ["--bank", str(bank_copy), "search", "--json", "蓝莓果酱保质期多久"])
    data = json.loads(r.output)
    assert r.exit_code == 3 and data["outcome"] == "ambiguous"
    assert {m["id"] for m in data["candidates"]} >= {"twin.a", "twin.b"} and data["matches"] == []
    text = runner.invoke(cli, ["--bank", str(bank_copy), "search", "蓝莓果酱保质期多久"]).output
    assert text.startswith("ambiguous:") and text.count("(candidate)") >= 2


def test_validate_warns_on_a_question_two_phrases_share(runner, bank_copy):
    book = bank_copy / "oversell.yaml"
    text = book.read_text(encoding="utf-8")
    book.write_text(text.replace("    questions:\n", "    questions:\n      - 包邮吗亲\n", 1), encoding="utf-8")
    r = runner.invoke(cli, ["--bank", str(bank_copy), "validate"])
    assert r.exit_code == 0  # a warning, not an error
    assert "promo.yaml:" in r.output and "oversell." in r.output and "same question" in r.output


# --- evaluation -------------------------------------------------------------------------------

def test_eval_reads_tsv_with_alternatives_and_null(runner, tmp_path):
    cases = tmp_path / "cases.tsv"
    cases.write_text("text\texpect\n什么时候发货\tpresales.greeting|shipping.when_ship\n今天天气怎么样\tnull\n",
                     encoding="utf-8")
    r = runner.invoke(cli, ["--bank", str(BANK), "eval", "--json", str(cases)])
    data = json.loads(r.output)
    assert data["in_scope"] == 1 and data["out_of_scope"] == 1 and data["top1"] == 1.0


def test_eval_refuses_unknown_expected_id(runner, tmp_path):
    cases = tmp_path / "cases.tsv"
    cases.write_text("text\texpect\n什么时候发货\tshipping.when_shipp\n", encoding="utf-8")
    r = runner.invoke(cli, ["--bank", str(BANK), "eval", str(cases)])
    assert r.exit_code == 1 and "did you mean shipping.when_ship" in r.output


def test_eval_cross_reports_per_phrase_weakest_first(runner, mini_bank):
    r = runner.invoke(cli, ["--bank", str(mini_bank), "eval", "--cross", "--folds", "2", "--json"])
    data = json.loads(r.stdout)
    assert data["in_scope"] == sum(p["n"] for p in data["per_phrase"].values()) > 0
    r = runner.invoke(cli, ["--bank", str(mini_bank), "eval", "--cross", "--folds", "2"])
    assert "per phrase (weakest first):" in r.output


@pytest.mark.skipif(not (SHARED / "eval" / "real_dev.tsv").exists(), reason="shared/eval not beside the repo")
def test_real_dev_beats_the_floor(runner):
    r = runner.invoke(cli, ["--bank", str(BANK), "eval", "--json", str(SHARED / "eval" / "real_dev.tsv")])
    data = json.loads(r.output)
    assert data["oos_rejected"] >= 0.6 and data["top3"] >= 0.7, {k: data[k] for k in ("top1", "top3")}


def test_drop_pattern_keeps_exactly_letters_digits_and_dots():
    """normalize() turns everything but Unicode letters/digits (categories L, N) and dots into
    spaces with one regular expression: it must agree with unicodedata on every code point."""
    import sys
    import unicodedata

    from kb.search.normalize import _DROP

    wrong = [c for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF
             and (unicodedata.category(chr(c))[0] in "LN" or c == 0x2E) == bool(_DROP.fullmatch(chr(c)))]
    assert wrong == []


def test_report_figures_are_computed_as_documented():
    """Pins every figure of kb eval (a mutation of any formula fails here)."""
    from kb.search.evaluate import Case, score
    from kb.search.index import Match, Result

    def res(outcome, *ids):
        return Result("q", [Match(i, "", None, "", "", 1.0, []) for i in ids], outcome, close=len(ids))

    pairs = [
        (Case("a", ("x",), 1), res("confident", "x", "y", "z")),  # top-1, rank 1
        (Case("b", ("y",), 2), res("ambiguous", "x", "y", "z")),  # rank 2, ambiguous
        (Case("c", ("z", "w"), 3), res("none", "x", "y", "z")),  # rank 3, rejected
        (Case("d", ("q",), 4), res("confident", "x", "y", "z")),  # wrong, not in top 3
        (Case("e", None, 5), res("none", "x")),  # out of scope, rejected
        (Case("f", None, 6), res("confident", "x")),  # out of scope, answered
        (Case("g", None, 7), res("ambiguous", "x", "y")),  # out of scope, not confident
    ]
    rep = score(pairs)
    assert (rep.in_scope, rep.out_of_scope) == (4, 3)
    assert rep.top1 == 1 / 4 and rep.top3 == 3 / 4
    assert rep.mrr == pytest.approx((1 + 1 / 2 + 1 / 3) / 4)
    assert rep.false_rejection == 1 / 4 and rep.ambiguous == 1 / 4
    assert rep.first == 1 / 4  # only case a has the right phrase first (b, c: later; d: nowhere)
    assert rep.oos_rejected == pytest.approx(2 / 3)
    assert [m["line"] for m in rep.misses] == [2, 3, 4, 6]


def test_jsonl_escapes_unicode_line_separators(runner):
    data = "包邮吗\u2028在吗\n发票\u0085呢\n".encode()
    r = runner.invoke(cli, ["--bank", str(BANK), "search", "--jsonl"], input=data)
    lines = r.stdout.splitlines()  # str.splitlines() breaks on U+2028/U+0085 too
    assert len(lines) == 2, lines
    assert json.loads(lines[0])["query"] == "包邮吗\u2028在吗"


def test_a_three_character_question_is_a_clause_of_its_own(index):
    r = index.search("包邮吗？什么时候发货")
    assert r.top.id == "shipping.when_ship"
    assert [(m.id, m.clause) for m in r.also] == [("promo.free_shipping", "包邮吗")]


@pytest.mark.parametrize("chatter", ["好的谢谢", "嗯嗯 好的", "哈哈哈哈"])
def test_chatter_bubble_before_a_question_answers_like_the_question(index, chatter):
    alone = index.search("那什么时候发货呢")
    joined = index.search(f"{chatter}，那什么时候发货呢")
    assert alone.outcome == joined.outcome == "confident"
    assert joined.top.id == alone.top.id == "shipping.when_ship"


def test_a_clause_never_picks_a_phrase_the_whole_message_does_not_rank_high():
    from kb.search.scoring import CLAUSE_TOP, Signals, best_reading

    def sig(pi, evidence, fuzzy):
        return Signals(pi, evidence, evidence, fuzzy, 0.5, "", 1.0, margin=0.9)

    model = {"weights": [1.0, 1.0, 1.0, 0.0, 0.0], "bias": -2.0, "confident": 0.5, "margin": 0.03, "evidence": 1.0}
    whole = [sig(i, 1.0, 0.1) for i in range(CLAUSE_TOP + 1)]  # not confident on its own
    outside = [sig(CLAUSE_TOP, 9.0, 1.0)]  # a confident clause for the phrase ranked just below CLAUSE_TOP
    inside = [sig(0, 9.0, 1.0)]
    assert best_reading([whole, outside], model) == 0
    assert best_reading([whole, outside, inside], model) == 2
    assert best_reading([whole, [sig(0, 0.5, 1.0)]], model) == 0  # thin evidence: chatter, not a question


@pytest.mark.parametrize("thanks", ["谢谢", "谢谢客服", "謝謝親"])
def test_a_message_of_filler_words_only_is_what_it_says(index, thanks):
    # filler (谢谢, 客服, 亲) is dropped around a question, but a message made only of it is the question
    assert index.tokenizer.features(normalize(thanks))
    r = index.search(thanks)
    assert r.outcome == "confident" and r.top.id == "presales.closing"


def test_a_greeting_in_front_is_not_a_second_question(index):
    r = index.search("你好在吗 拍的耳机左边没声音是坏了吗")
    assert r.top.id == "aftersales.quality_issue" and r.also == []


def test_jsonl_stream_reloads_an_edited_bank(bank_copy, tmp_path):
    import subprocess
    import sys
    import time

    env = {**os.environ, "KB_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-c", "from kb.cli import main; main()", "--bank", str(bank_copy),
                             "search", "--jsonl"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    proc.stdin.write("包邮吗\n".encode())
    proc.stdin.flush()
    first = json.loads(proc.stdout.readline())
    book = bank_copy / "promo.yaml"
    book.write_text(book.read_text(encoding="utf-8").replace("title: 包邮规则", "title: 包邮规则（新）"),
                    encoding="utf-8")
    time.sleep(1.2)
    proc.stdin.write("包邮吗\n".encode())
    proc.stdin.flush()
    second = json.loads(proc.stdout.readline())
    proc.stdin.close()
    err = proc.stderr.read().decode()
    proc.wait(10)
    titles = [m["title"] for o in (first, second) for m in o["matches"] + o["candidates"] if m["id"] == "promo.free_shipping"]
    assert titles[0] == "包邮规则" and titles[-1] == "包邮规则（新）"
    assert "reloaded" in err


@pytest.mark.parametrize("query", ["L", "包邮吗", "双11拍的啥时候发货", "耳机左边没声音"])
def test_scores_are_in_rank_order(index, query):
    r = index.search(query, k=5)
    scores = [m.score for m in r.matches]
    assert scores == sorted(scores, reverse=True)


def test_cohesion_tells_alike_questions_from_varied_ones():
    from kb.search.scoring import cohesions

    alike, varied, single = cohesions([["包邮吗", "包不包邮", "包邮不包邮"],
                                       ["耳机左边没声音", "裤子洗了一次就起球", "保温杯盖子漏水"], ["在吗"]])
    assert alike > 0.6 > varied
    assert single in (alike, varied)  # no siblings: the bank's median


def test_cohesion_is_kept_in_the_cache(bank_copy, monkeypatch, tmp_path):
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    built = load_index(bank_copy)
    again = load_index(bank_copy)  # read back from the SQLite file
    pid = next(i for i in range(len(built.phrases)) if built.phrases[i]["id"] == "aftersales.quality_issue")
    assert 0 < again.cohesion[pid] == built.cohesion[pid] < 1


def test_a_message_that_is_one_of_a_phrases_questions_is_confident(index):
    """Whatever the model's threshold: the team wrote this exact question under this phrase."""
    from kb.search.normalize import clean_message
    from kb.search.scoring import _scored, confidence_model, decide

    strict = dict(confidence_model(), confident=1.01)  # no probability reaches it
    for q in ("在吗", "亲，在吗？", "包邮吗"):
        sigs = _scored(index, *index.tokenizer.analyze(normalize(clean_message(q))))
        assert sigs[0].fuzzy == 1.0 and decide(sigs, strict) == "confident", q
    sigs = _scored(index, *index.tokenizer.analyze(normalize(clean_message("这个包邮到新疆要几天能到啊"))))
    assert decide(sigs, strict) != "confident"


def test_scope_signal_tells_the_banks_questions_from_out_of_scope_chat(tmp_path):
    from kb.bank.load import load_bank
    from kb.search import store
    from kb.search.index import Index
    from kb.search.scope import score, table

    t = table(["包邮吗", "发货"], ["花呗额度", "天气"])
    assert t["包邮"] > 0 > t["花呗"] and "邮吗" in t
    bank, _ = load_bank(BANK)
    index = Index.build(bank)
    path = tmp_path / "index.sqlite"
    store.write(path, index, FORMAT)
    disk = store.read(path, FORMAT)

    def s(ix, text):
        return score(ix.scope_weights, ix.tokenizer.compact(normalize(clean_message(text))))

    for text in ("我买的外套什么时候能发出来", "花呗的额度怎么突然变少了", "今天晚上吃点啥好呢"):
        assert abs(s(index, text) - s(disk, text)) < 1e-9  # the cache file scores as the built index does
    assert s(index, "我买的外套什么时候能发出来") > 0.5 > s(index, "花呗的额度怎么突然变少了")
    assert s(index, "") == 0.5


def test_scope_negatives_are_the_training_part_of_the_out_of_scope_corpus():
    from pathlib import Path

    from kb.search.evaluate import read_cases
    from kb.search.normalize import _data_lines

    folder = Path(__file__).parent / "data" / "oos_corpus"
    train = read_cases(folder / "train.yaml") + read_cases(folder / "train2.yaml")
    assert _data_lines("oos_messages.txt") == [" ".join(c.q.split()) for c in train]


def test_index_build_gives_the_cycle_collector_back(tmp_path):
    """The build and the cache write pause Python's cycle collector (speed); it is on again afterwards, also
    when the build fails, and stays off when it was off."""
    import gc

    from kb.bank.load import load_bank
    from kb.search import store
    from kb.search.index import Index

    bank, _ = load_bank(BANK)

    class Broken:
        def phrases(self):
            assert not gc.isenabled()  # paused while building
            raise RuntimeError("a broken bank")

    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        Index.build(Broken())
    assert gc.isenabled()
    store.write(tmp_path / "i.sqlite", Index.build(bank), FORMAT)
    assert gc.isenabled()
    gc.disable()
    try:
        Index.build(bank)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_likelihood_prefers_the_phrase_whose_questions_explain_more_of_the_message():
    from kb.search.likelihood import posteriors, table, vocabulary

    refund = ["退款什么时候到账", "退款多久到", "钱什么时候退回来"]
    ship = ["什么时候发货", "多久发货", "今天能发吗"]
    vocab = vocabulary(refund + ship)
    assert vocab > 20
    p = posteriors([table(refund, vocab), table(ship, vocab)], "退款什么时候到")
    assert abs(sum(p) - 1) < 1e-9 and p[0] > 0.5 > p[1]
    p = posteriors([table(refund, vocab), table(ship, vocab)], "什么时候发")
    assert p[1] > p[0]
    # no gram of the message is used by any candidate: equal shares, no ranking change
    assert posteriors([table(refund, vocab), table(ship, vocab)], "xyz") == [0.5, 0.5]
    assert posteriors([], "退款") == []


def test_likelihood_is_not_made_certain_by_chatter_around_a_question():
    """The softmax temperature grows with the square root of the message's grams: chatter around a
    question (grams neither candidate explains better) leaves the posterior about where the question
    alone puts it, instead of driving it to 1."""
    from kb.search.likelihood import posteriors, table, vocabulary

    refund, ship = ["退款什么时候到账", "退款多久到"], ["什么时候发货", "多久发货"]
    vocab = vocabulary(refund + ship)
    tables = [table(refund, vocab), table(ship, vocab)]
    short = posteriors(tables, "退款多久到")[0]
    long = posteriors(tables, "亲在吗我想问一下上周买的那件退款多久到账呀谢谢")[0]
    assert 0.5 < short < 0.99 and 0.5 < long < 0.99
    assert abs(long - short) < 0.05


def test_likelihood_tables_come_from_the_index_questions_and_the_cache_agrees(tmp_path, index):
    """Tables are built from Index.questions (so a cross-validation fold never sees its held-out
    questions), and an index read from the cache file ranks exactly as the built one."""
    from kb.search import store
    from kb.search.likelihood import table

    pi = next(i for i, p in enumerate(index.phrases) if p["id"] == "aftersales.refund_progress")
    assert index.likelihood_table(pi) == table(index.questions[pi], index.gram_vocab)
    path = tmp_path / "index.sqlite"
    store.write(path, index, FORMAT)
    disk = store.read(path, FORMAT)
    assert disk.gram_vocab == index.gram_vocab > 1000
    for q in ("退款啥时候到账啊", "东西坏了怎么办，能退吗", "双11拍的什么时候发"):
        a, b = index.search(q), disk.search(q)
        assert [(m.id, m.score) for m in a.matches] == [(m.id, m.score) for m in b.matches]
        assert a.outcome == b.outcome


def test_likelihood_tables_kept_per_process_are_bounded(index, monkeypatch):
    """A long --jsonl run over a very large bank must not keep every phrase's table: past TABLE_GRAMS
    entries the kept tables are dropped and built again when needed (same values)."""
    from kb.search import index as index_module

    index._tables.clear()
    index._table_grams = 0
    first = index.likelihood_table(0)
    monkeypatch.setattr(index_module, "TABLE_GRAMS", len(first[0]) + 1)
    index.likelihood_table(1)  # would pass the bound: the kept tables are dropped first
    assert list(index._tables) == [1] and index._table_grams == len(index._tables[1][0])
    assert index.likelihood_table(0) == first


def test_cache_key_covers_every_search_module(tmp_path, monkeypatch):
    """The index stores what scope.py and likelihood.py compute: every kb.search module is part of the
    cache key, so a change to any of them is never served an index built by the old code."""
    from kb.search import cache

    names = {p.name for p in cache.search_code()}
    assert {"index.py", "normalize.py", "scoring.py", "store.py", "scope.py", "likelihood.py"} <= names
    before = cache.bank_key(BANK)
    extra = tmp_path / "zz_extra.py"
    extra.write_text("X = 1\n", encoding="utf-8")
    real = cache.search_code()
    monkeypatch.setattr(cache, "search_code", lambda: [*real, extra])
    assert cache.bank_key(BANK) != before
