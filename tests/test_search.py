"""Search: normalization, ranking, no-match, --jsonl, eval and the index cache."""

from __future__ import annotations

import json
import os

import pytest

from kb.cli import cli
from kb.search.index import load_index
from kb.search.normalize import normalize
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
    r = runner.invoke(cli, ["--bank", str(BANK), "search", "给我讲个笑话"])
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
    assert out[0]["matches"][0]["id"] == "presales.greeting"
    assert out[1]["matches"] == [] and out[2]["matches"] == []
    assert out[6]["matches"][0]["id"] == "promo.free_shipping"
    assert out[8]["matches"][0]["id"] == "shipping.when_ship"
    assert out[3]["query"] == "x" * 100_000


@pytest.mark.skipif(not (SHARED / "eval" / "dev.yaml").exists(), reason="shared/eval not beside the repo")
def test_eval_dev_set_meets_target(runner):
    r = runner.invoke(cli, ["--bank", str(BANK), "eval", str(SHARED / "eval" / "dev.yaml"), "--min-top1", "0.95"])
    assert r.exit_code == 0, r.output
    assert "top-1:" in r.output and "out-of-scope rejected:" in r.output


def test_eval_min_top1_fails_below(runner, tmp_path):
    cases = tmp_path / "cases.yaml"
    cases.write_text("cases:\n  - {q: 什么时候发货, expect: presales.greeting}\n  - {q: 天气, expect: null}\n",
                     encoding="utf-8")
    r = runner.invoke(cli, ["--bank", str(BANK), "eval", str(cases), "--min-top1", "0.5"])
    assert r.exit_code == 1
    assert "expected presales.greeting, got shipping.when_ship" in r.output


def test_cache_invalidated_when_bank_changes(bank_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    first = load_index(bank_copy)
    assert len(list((tmp_path / "cache").glob("index-*.pickle"))) == 1
    assert first.search("运费险怎么用").top.id == "aftersales.return_shipping_fee"
    book = bank_copy / "aftersales.yaml"
    book.write_text(book.read_text(encoding="utf-8").replace("运费险怎么用", "保险费怎么用"), encoding="utf-8")
    second = load_index(bank_copy)
    assert len(list((tmp_path / "cache").glob("index-*.pickle"))) == 2
    assert "保险费怎么用" in [q[3] for q in second.questions]
    assert "运费险怎么用" not in [q[3] for q in second.questions]


def test_corrupt_cache_is_rebuilt(bank_copy, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    load_index(bank_copy)
    (cache,) = (tmp_path / "cache").glob("index-*.pickle")
    cache.write_bytes(cache.read_bytes()[:100])  # truncated
    idx = load_index(bank_copy)
    assert idx.search("包邮吗").top.id == "promo.free_shipping"
    cache.write_bytes(b"not a pickle at all")
    assert load_index(bank_copy).search("包邮吗").top.id == "promo.free_shipping"


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root can write anywhere")
def test_unwritable_cache_dir(bank_copy, tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    monkeypatch.setenv("KB_CACHE_DIR", str(ro / "cache"))
    assert load_index(bank_copy).search("包邮吗").top.id == "promo.free_shipping"


def test_cache_path_is_a_file_not_a_dir(bank_copy, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("KB_CACHE_DIR", str(blocker / "cache"))  # cannot be created
    assert load_index(bank_copy).search("包邮吗").top.id == "promo.free_shipping"
