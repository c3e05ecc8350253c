"""Loader and validator: every problem reported with file:line:col, all at once."""

from __future__ import annotations

import os

import pytest

from kb.bank.load import find_bank, load_bank
from kb.cli import cli
from tests.conftest import BANK, MINI_BOOK


def problems_of(root):
    _, problems = load_bank(root)
    return [str(p) for p in problems]


def write_book(root, text, name="shipping"):
    (root / f"{name}.yaml").write_text(text, encoding="utf-8")


def test_bundled_bank_is_clean():
    bank, problems = load_bank(BANK)
    assert problems == []
    assert len(bank.phrases()) >= 60


def test_mini_bank_clean(mini_bank):
    assert problems_of(mini_bank) == []


@pytest.mark.parametrize("edit, expected", [
    (lambda t: t.replace("    title: 发货时间\n", "    title: 发货时间\n    titel: x\n"),
     "shipping.yaml:8:5: shipping.when_ship: unknown key 'titel'; did you mean 'title'?"),
    (lambda t: t.replace("    title: 发货时间\n", ""), "missing required key 'title'"),
    (lambda t: t.replace("version: 1.0.0", "version: 1.0"), "version: should be text, not a number"),
    (lambda t: t.replace("version: 1.0.0", "version: v1"), "version 'v1' is not semver"),
    (lambda t: t.replace("name: shipping", "name: other"), "name 'other' must equal the file name 'shipping'"),
    (lambda t: t.replace("shortcut: fhsj", "shortcut: FH-1"), "shortcut 'FH-1' must be lower-case"),
    (lambda t: t.replace("{ship_window}", "{ship_windw}"), "variable {ship_windw} is not defined in bank.yaml; did you mean {ship_window}?"),
    (lambda t: t.replace("      - 几天能发出\n", "      - 什么时候发货\n"), "duplicate question '什么时候发货'"),
    (lambda t: t.replace("      - 几天能发出\n", "      - ' '\n"), "question 2 is empty"),
    (lambda t: t.replace("id: shipping.when_ship", "id: Shipping When"), "must be dotted lower-case words"),
    (lambda t: t.replace("    reply: |-\n      亲，预计{ship_window}内发货，具体以物流信息为准哦～\n", ""),
     "exactly one of 'reply'"),
    (lambda t: t.replace("{ship_window}", "{ship_window"), "stray '{'"),
])
def test_validation_errors_have_location(mini_bank, edit, expected):
    write_book(mini_bank, edit(MINI_BOOK))
    found = problems_of(mini_bank)
    assert any(expected in p for p in found), found
    assert all(p.split(":")[1].isdigit() and p.split(":")[2].isdigit() for p in found)


def test_all_problems_reported_not_first(mini_bank):
    text = MINI_BOOK.replace("version: 1.0.0", "version: x").replace("shortcut: fhsj", "shortcut: 1a")
    write_book(mini_bank, text)
    found = problems_of(mini_bank)
    assert len(found) >= 2


def test_duplicate_ids_and_shortcuts_across_books(mini_bank):
    write_book(mini_bank, MINI_BOOK.replace("name: shipping", "name: other"), name="other")
    found = problems_of(mini_bank)
    assert any("duplicate phrase id (first defined at" in p for p in found)
    assert any("duplicate shortcut 'fhsj'" in p for p in found)


def test_campaign_end_before_start(mini_bank):
    m = (mini_bank / "bank.yaml").read_text(encoding="utf-8").replace("end: 2026-11-11", "end: 2026-10-01")
    (mini_bank / "bank.yaml").write_text(m, encoding="utf-8")
    found = problems_of(mini_bank)
    assert any("end 2026-10-01 is before start 2026-10-20" in p for p in found)


@pytest.mark.parametrize("data, expected", [
    (b"\xef\xbb\xbf" + MINI_BOOK.encode(), "byte-order mark"),
    (MINI_BOOK.encode().replace("发货时间".encode(), b"\xff\xfe"), "invalid UTF-8"),
    (MINI_BOOK.encode().replace(b"  - id", b"\t- id"), "tab used for indentation"),
    (b"!!python/object/apply:os.system ['echo hacked']\n", "is not allowed"),
    (b"", "file is empty"),
    (b"phrases: [\n", "YAML syntax error"),
])
def test_bad_files(mini_bank, data, expected):
    (mini_bank / "shipping.yaml").write_bytes(data)
    found = problems_of(mini_bank)
    assert any(expected in p and "shipping.yaml:" in p for p in found), found


def test_unsafe_tag_is_never_executed(mini_bank, tmp_path):
    marker = tmp_path / "pwned"
    (mini_bank / "shipping.yaml").write_text(
        f"!!python/object/apply:os.system ['touch {marker}']\n", encoding="utf-8")
    found = problems_of(mini_bank)
    assert not marker.exists()
    assert any("tag:yaml.org,2002:python/object/apply:os.system" in p for p in found)


def test_validate_cli_exit_codes(runner, mini_bank):
    ok = runner.invoke(cli, ["--bank", str(mini_bank), "validate"])
    assert ok.exit_code == 0, ok.output
    write_book(mini_bank, MINI_BOOK.replace("version: 1.0.0", "version: x"))
    bad = runner.invoke(cli, ["--bank", str(mini_bank), "validate"])
    assert bad.exit_code == 1
    assert "shipping.yaml:3:10:" in bad.output
    usage = runner.invoke(cli, ["--bank", str(mini_bank / "nope"), "validate"])
    assert usage.exit_code == 2
    assert "Traceback" not in usage.output


def test_bank_discovery(monkeypatch, tmp_path, mini_bank):
    # explicit beats env beats parent folder beats bundled
    monkeypatch.setenv("KB_BANK", str(mini_bank))
    assert find_bank(None) == mini_bank
    assert find_bank(str(BANK)) == BANK
    monkeypatch.delenv("KB_BANK")
    project = tmp_path / "shop"
    (project / "deep" / "er").mkdir(parents=True)
    (project / "phrasebank").mkdir()
    (project / "phrasebank" / "bank.yaml").write_text("schema: 1\nname: x\n", encoding="utf-8")
    monkeypatch.chdir(project / "deep" / "er")
    assert find_bank(None) == (project / "phrasebank").resolve()
    monkeypatch.chdir(tmp_path)
    assert find_bank(None).name == "bundled"
    assert (find_bank(None) / "bank.yaml").is_file()


def test_list_and_show(runner, mini_bank):
    import json

    r = runner.invoke(cli, ["--bank", str(mini_bank), "list", "--json"])
    out = json.loads(r.output)
    assert out["bank"] == "mini" and out["bank_root"] == str(mini_bank) and out["bank_problems"] == []
    data = out["phrases"]
    assert data[0]["id"] == "shipping.when_ship" and data[0]["book"] == "shipping"
    assert data[0]["reply"].startswith("亲")
    r = runner.invoke(cli, ["--bank", str(mini_bank), "show", "shipping.when_ship", "--campaign", "double11"])
    assert "预计7天内发货" in r.output
    r = runner.invoke(cli, ["--bank", str(mini_bank), "show", "shipping.when_shi"])
    assert r.exit_code == 1 and "did you mean: shipping.when_ship" in r.output
    r = runner.invoke(cli, ["--bank", str(mini_bank), "show", "shipping.when_ship", "--campaign", "x"])
    assert r.exit_code == 2 and "unknown campaign" in r.output


def test_every_command_has_help_with_example(runner):
    for name in cli.commands:
        r = runner.invoke(cli, [name, "--help"])
        assert r.exit_code == 0, name
        if name != "ui":
            assert "kb " in r.output and ("Example" in r.output or "example" in r.output), name


def test_chinese_round_trips_byte_exact(tmp_path):
    from kb.bank.yamlio import atomic_write, rt_dump, rt_load

    text = MINI_BOOK.replace("title: 发货物流", "title: 發貨物流 # 注释保留\n# 整行注释")
    p = tmp_path / "b.yaml"
    p.write_text(text, encoding="utf-8")
    atomic_write(p, rt_dump(rt_load(p)))
    assert p.read_bytes() == text.encode("utf-8")


def test_atomic_write_refuses_without_force(tmp_path):
    from kb.bank.yamlio import atomic_write
    from kb.errors import KbError

    p = tmp_path / "x.yaml"
    p.write_text("old", encoding="utf-8")
    with pytest.raises(KbError, match="--force"):
        atomic_write(p, "new", force=False)
    assert p.read_text(encoding="utf-8") == "old"
    assert [x.name for x in tmp_path.iterdir()] == ["x.yaml"]
    atomic_write(p, "new")
    assert p.read_text(encoding="utf-8") == "new"


def test_no_tmp_files_left_on_error(tmp_path, monkeypatch):
    from kb.bank.yamlio import atomic_write

    def boom(*a):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write(tmp_path / "y.yaml", "data")
    assert list(tmp_path.iterdir()) == []
