"""Campaigns by date: the pure resolver, aliases in bank.yaml, and every command of the show/export
side saying which campaign is active."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from kb.bank.load import load_bank
from kb.cli import cli
from kb.errors import KbError
from kb.template import resolve_campaign, today_from_env
from tests.conftest import BANK

CAMPAIGNS = {
    "618": {"start": date(2026, 5, 20), "end": date(2026, 6, 20), "aliases": ["六一八", "6.18"]},
    "double11": {"start": date(2026, 10, 20), "end": date(2026, 11, 11), "aliases": ["双11", "双十一", "11.11"]},
}


@pytest.mark.parametrize("today, expected", [
    (date(2026, 10, 20), "double11"),  # first day included
    (date(2026, 11, 11), "double11"),  # last day included
    (date(2026, 11, 12), None),
    (date(2026, 6, 1), "618"),
    (date(2026, 3, 2), None),
])
def test_requested_none_follows_the_calendar(today, expected):
    assert resolve_campaign(CAMPAIGNS, None, today) == expected


def test_overlapping_windows_pick_the_one_that_started_last():
    c = dict(CAMPAIGNS, warmup={"start": date(2026, 10, 1), "end": date(2026, 11, 30), "aliases": []})
    assert resolve_campaign(c, None, date(2026, 10, 25)) == "double11"
    assert resolve_campaign(c, None, date(2026, 11, 20)) == "warmup"


@pytest.mark.parametrize("requested, expected", [
    ("double11", "double11"), ("双11", "double11"), ("双十一", "double11"), ("11.11", "double11"),
    ("DOUBLE11", "double11"), ("6.18", "618"), ("618", "618"), ("none", None), ("None", None),
])
def test_names_aliases_and_none(requested, expected):
    # inside the double11 window: an explicit request always wins, 'none' forces normal time
    assert resolve_campaign(CAMPAIGNS, requested, date(2026, 11, 1)) == expected


def test_unknown_campaign_is_a_usage_error_with_did_you_mean():
    with pytest.raises(KbError) as e:
        resolve_campaign(CAMPAIGNS, "双12", date(2026, 11, 1))
    assert e.value.exit_code == 2
    assert "did you mean 双11" in e.value.message and "'none' = normal time" in e.value.message


def test_today_from_env_is_injectable():
    assert today_from_env({"KB_TODAY": "2026-11-01"}) == date(2026, 11, 1)
    with pytest.raises(KbError, match="KB_TODAY"):
        today_from_env({"KB_TODAY": "11/01"})


def test_bundled_bank_declares_aliases():
    bank, problems = load_bank(BANK)
    assert not [p for p in problems if "campaign" in p.message]
    assert {"双11", "双十一", "11.11"} <= set(bank.manifest.campaigns["double11"].aliases)


def _manifest(tmp_path, campaigns: str):
    (tmp_path / "bank.yaml").write_text("schema: 1\nname: t\nvars: {w: 3天}\ncampaigns:\n" + campaigns,
                                        encoding="utf-8")
    _, problems = load_bank(tmp_path)
    return "\n".join(map(str, problems))


def test_alias_clash_and_reserved_none_are_refused(tmp_path):
    two = ("  a:\n    title: A\n    start: 2026-01-01\n    end: 2026-01-02\n    aliases: [双11]\n"
           "  b:\n    title: B\n    start: 2026-02-01\n    end: 2026-02-02\n    aliases: [双11]\n")
    assert "names both a and b" in _manifest(tmp_path, two)
    none = "  a:\n    title: A\n    start: 2026-01-01\n    end: 2026-01-02\n    aliases: [None]\n"
    assert "'none' is reserved" in _manifest(tmp_path, none)


def test_show_answers_with_the_dated_campaign_and_says_so(runner, mini_bank, monkeypatch):
    monkeypatch.setenv("KB_TODAY", "2026-11-01")
    r = runner.invoke(cli, ["--bank", str(mini_bank), "show", "fhsj"])
    assert r.exit_code == 0, r.output
    assert "预计7天内发货" in r.output and "campaign: double11" in r.output and "active today" in r.output
    r = runner.invoke(cli, ["--bank", str(mini_bank), "show", "fhsj", "--campaign", "none"])
    assert "预计3天内发货" in r.output and "campaign: none" in r.output
    monkeypatch.setenv("KB_TODAY", "2026-12-01")
    r = runner.invoke(cli, ["--bank", str(mini_bank), "show", "shipping.when_ship"])
    assert "预计3天内发货" in r.output and "campaign: none (normal time)" in r.output


def test_show_accepts_an_alias_from_bank_yaml(runner, bank_copy):
    r = runner.invoke(cli, ["--bank", str(bank_copy), "show", "shipping.when_ship", "--campaign", "双十一"])
    assert r.exit_code == 0, r.output
    assert "付款（预售为付清尾款）后7天" in r.output and "campaign: double11" in r.output
    r = runner.invoke(cli, ["--bank", str(bank_copy), "show", "shipping.when_ship", "--campaign", "双12"])
    assert r.exit_code == 2 and "did you mean 双11" in r.output


def test_export_uses_the_dated_campaign_and_says_so(runner, mini_bank, monkeypatch, tmp_path):
    monkeypatch.setenv("KB_TODAY", "2026-10-25")
    out = tmp_path / "q.csv"
    r = runner.invoke(cli, ["--bank", str(mini_bank), "export", "qianniu", "-o", str(out)])
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("gbk"), newline="")))
    assert "预计7天内发货" in rows[1][1]
    assert "campaign: double11" in r.stderr
    r = runner.invoke(cli, ["--bank", str(mini_bank), "export", "qianniu", "-o", str(out), "--force",
                            "--campaign", "none"])
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("gbk"), newline="")))
    assert "预计3天内发货" in rows[1][1] and "campaign: none" in r.stderr
