from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
BANK = ROOT / "phrasebank"
SHARED = ROOT.parent / "shared"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "kb-cache"))
    monkeypatch.delenv("KB_BANK", raising=False)
    # a fixed date outside every campaign window: a campaign switches on by its dates, and tests must
    # not change with the calendar (a test that wants one sets KB_TODAY itself)
    monkeypatch.setenv("KB_TODAY", "2026-03-02")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def bank_copy(tmp_path) -> Path:
    dst = tmp_path / "phrasebank"
    shutil.copytree(BANK, dst)
    return dst


MINI_MANIFEST = """schema: 1
name: mini
vars:
  ship_window: 3天
campaigns:
  double11:
    title: 双11
    start: 2026-10-20
    end: 2026-11-11
    vars:
      ship_window: 7天
"""

MINI_BOOK = """schema: 1
name: shipping
version: 1.0.0
title: 发货物流
phrases:
  - id: shipping.when_ship
    title: 发货时间
    shortcut: fhsj
    questions:
      - 什么时候发货
      - 几天能发出
    reply: |-
      亲，预计{ship_window}内发货，具体以物流信息为准哦～
"""


@pytest.fixture
def mini_bank(tmp_path) -> Path:
    root = tmp_path / "mini"
    root.mkdir()
    (root / "bank.yaml").write_text(MINI_MANIFEST, encoding="utf-8")
    (root / "shipping.yaml").write_text(MINI_BOOK, encoding="utf-8")
    return root
