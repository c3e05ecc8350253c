"""The opt-in usage log (kb.learn.log, kb log, kb search --log)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from kb.cli import cli
from kb.learn import log as usage
from kb.search.cache import load_index

PHONE = "13812345678"
ORDER = "4012345678901234567"
MESSAGE = f"什么时候发货 收件人张三 电话{PHONE} 订单{ORDER} 地址改成浙江省杭州市西湖区文三路123号"


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "kb-data"
    monkeypatch.setenv("KB_DATA_DIR", str(d))
    monkeypatch.delenv("KB_LOG", raising=False)
    usage._bank_setting.clear()
    return d


def _records() -> list[dict]:
    path = usage.log_path()
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def _log_on(bank: Path) -> None:
    text = (bank / "bank.yaml").read_text(encoding="utf-8")
    (bank / "bank.yaml").write_text(text + "log: true\n", encoding="utf-8")


def test_never_on_by_default(runner, mini_bank) -> None:
    r = runner.invoke(cli, ["--bank", str(mini_bank), "search", "什么时候发货"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["--bank", str(mini_bank), "search", "--jsonl"], input="几天能发出\n")
    assert r.exit_code == 0, r.output
    assert not usage.log_path().exists()
    assert not usage.log_path().parent.exists()


def test_bank_yaml_log_true_turns_it_on_and_the_query_is_masked(runner, mini_bank) -> None:
    _log_on(mini_bank)
    r = runner.invoke(cli, ["--bank", str(mini_bank), "validate"])
    assert r.exit_code == 0, r.output  # log: is a known key of bank.yaml
    r = runner.invoke(cli, ["--bank", str(mini_bank), "search", MESSAGE])
    assert r.exit_code in (0, 1, 3), r.output
    raw = usage.log_path().read_text(encoding="utf-8")
    for secret in (PHONE, ORDER, "张三", "文三路", "杭州"):
        assert secret not in raw
    [rec] = _records()
    assert rec["event"] == "search" and rec["via"] == "search"
    assert rec["bank"] == "mini" and rec["versions"] == {"shipping": "1.0.0"}
    assert rec["query"].startswith("什么时候发货 收件人<姓名> 电话<手机号> 订单<订单号> 地址改成<地址>")
    assert rec["ids"][0] == "shipping.when_ship" and rec["outcome"] in ("confident", "ambiguous", "none")
    assert rec["time"] and rec["v"] == 1
    assert set(rec) == {"v", "time", "event", "via", "bank", "versions", "query", "outcome", "ids", "scores"}


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_file_is_private(runner, mini_bank) -> None:
    _log_on(mini_bank)
    path = usage.log_path()
    path.parent.mkdir(parents=True)
    path.write_text("", encoding="utf-8")
    path.chmod(0o644)  # an older, looser file is tightened on the next write
    runner.invoke(cli, ["--bank", str(mini_bank), "search", "什么时候发货"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.unlink()
    path.parent.rmdir()
    runner.invoke(cli, ["--bank", str(mini_bank), "search", "什么时候发货"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_flag_and_environment(runner, mini_bank, monkeypatch) -> None:
    runner.invoke(cli, ["--bank", str(mini_bank), "search", "--log", "什么时候发货"])
    assert len(_records()) == 1
    monkeypatch.setenv("KB_LOG", "1")
    runner.invoke(cli, ["--bank", str(mini_bank), "search", "--jsonl"], input=f"几天能发出\n电话{PHONE}\n")
    recs = _records()
    assert len(recs) == 3 and recs[2]["query"] == "电话<手机号>"
    _log_on(mini_bank)
    usage._bank_setting.clear()
    monkeypatch.setenv("KB_LOG", "0")  # the environment says no: the bank's setting is overridden
    runner.invoke(cli, ["--bank", str(mini_bank), "search", "什么时候发货"])
    assert len(_records()) == 3


def test_log_status_tail_and_clear(runner, mini_bank) -> None:
    r = runner.invoke(cli, ["--bank", str(mini_bank), "log"])
    assert r.exit_code == 0 and "off (default)" in r.output and "no records" in r.output
    _log_on(mini_bank)
    runner.invoke(cli, ["--bank", str(mini_bank), "search", f"什么时候发货 {PHONE}"])
    r = runner.invoke(cli, ["--bank", str(mini_bank), "log"])
    assert "on: bank.yaml has log: true" in r.output and "1 record(s)" in r.output
    assert str(usage.log_path()) in r.output
    r = runner.invoke(cli, ["log", "--tail", "1"])
    assert json.loads(r.stdout)["query"] == "什么时候发货 <手机号>"
    r = runner.invoke(cli, ["log", "--path"])
    assert r.stdout.strip() == str(usage.log_path())
    r = runner.invoke(cli, ["log", "--clear"])
    assert r.exit_code == 0 and "1 record(s)" in r.output
    assert not usage.log_path().exists()


def test_record_of_a_copy_for_the_ui(mini_bank, monkeypatch) -> None:
    index = load_index(mini_bank, use_cache=False)
    result = index.search(f"几天能发出 {PHONE}", k=3)
    assert usage.record(index, result, copied="shipping.when_ship", rank=1) is False  # off: nothing
    assert not usage.log_path().exists()
    monkeypatch.setenv("KB_LOG", "yes")
    assert usage.record(index, result, copied="shipping.when_ship", rank=1) is True
    [rec] = _records()
    assert rec["event"] == "copy" and rec["via"] == "ui" and rec["copied"] == "shipping.when_ship"
    assert rec["rank"] == 1 and PHONE not in json.dumps(rec)


def test_an_unwritable_log_never_breaks_search(runner, mini_bank, tmp_path, monkeypatch, capsys) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("KB_DATA_DIR", str(blocker / "kb"))
    monkeypatch.setenv("KB_LOG", "1")
    monkeypatch.setattr(usage, "_notice_shown", False)
    r = runner.invoke(cli, ["--bank", str(mini_bank), "search", "什么时候发货"])
    assert r.exit_code == 0
    assert "cannot write the usage log" in r.output


def test_bad_log_value_in_bank_yaml_is_a_validation_error(runner, mini_bank) -> None:
    text = (mini_bank / "bank.yaml").read_text(encoding="utf-8")
    (mini_bank / "bank.yaml").write_text(text + "log: sometimes\n", encoding="utf-8")
    r = runner.invoke(cli, ["--bank", str(mini_bank), "validate"])
    assert r.exit_code == 1 and "log" in r.output
    assert usage.enabled(str(mini_bank)) is False
