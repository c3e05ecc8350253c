"""The UI's copy event reaches the opt-in usage log (issue 17): masked, only when the log is on."""

from __future__ import annotations

import json

from kb.search.cache import load_index
from kb.ui import State
from tests.conftest import BANK


def _copy(monkeypatch, tmp_path, log):
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("KB_LOG", raising=False)
    index = load_index(BANK, use_cache=False)
    state = State(index=index, variables=index.variables_for(None), copier=lambda t: "clipboard", log=log)
    state.refresh("订单号3829104857362918472 双11拍的啥时候发货 电话13812345678")
    state.enter()
    return list((tmp_path / "data").rglob("*.jsonl"))


def test_copy_is_logged_masked_when_the_log_is_on(monkeypatch, tmp_path):
    (log,) = _copy(monkeypatch, tmp_path, True)
    (rec,) = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
    assert rec["copied"] == "shipping.when_ship" and rec["rank"] == 1
    text = json.dumps(rec, ensure_ascii=False)
    assert "3829104857362918472" not in text and "13812345678" not in text


def test_nothing_is_logged_by_default(monkeypatch, tmp_path):
    assert _copy(monkeypatch, tmp_path, None) == []
