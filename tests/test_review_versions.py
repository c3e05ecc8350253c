"""Version policy pinned: the bump each kind of change requires (a moved phrase above all), end to end
through kb review and directly on the policy function."""

from __future__ import annotations

import shutil

import pytest

from kb.review import BUMPS, Change, bump_made, empty_bank, required_bumps
from tests.test_review_buyers import edit, make_repo, review_json

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")

WHEN_SHIP_END = "  - id: shipping.courier"


def move_when_ship_to_promo(bank) -> None:
    ship = (bank / "shipping.yaml").read_text(encoding="utf-8")
    start, end = ship.index("  - id: shipping.when_ship"), ship.index(WHEN_SHIP_END)
    block = ship[start:end]
    (bank / "shipping.yaml").write_text(ship[:start] + ship[end:], encoding="utf-8")
    with (bank / "promo.yaml").open("a", encoding="utf-8") as f:
        f.write(block)


def versions(data) -> dict[str, tuple[str, str, bool]]:
    return {v["book"]: (v["required"], v["made"], v["ok"]) for v in data["versions"]}


def test_moved_phrase_needs_major_at_the_source_and_minor_at_the_destination(runner, tmp_path):
    _, bank = make_repo(tmp_path)
    move_when_ship_to_promo(bank)
    code, data = review_json(runner, bank)
    assert [(c["kind"], c["id"], c["detail"]["from"], c["detail"]["to"]) for c in data["changes"]] == [
        ("moved", "shipping.when_ship", "shipping/发货物流", "promo/活动")]
    assert versions(data) == {"shipping": ("major", "none", False), "promo": ("minor", "none", False)}
    assert code == 1
    # a minor bump at the source is not enough; a patch at the destination is not enough
    edit(bank / "shipping.yaml", "version: 1.0.0", "version: 1.1.0")
    edit(bank / "promo.yaml", "version: 1.0.0", "version: 1.0.1")
    code, data = review_json(runner, bank)
    assert versions(data) == {"shipping": ("major", "minor", False), "promo": ("minor", "patch", False)}
    edit(bank / "shipping.yaml", "version: 1.1.0", "version: 2.0.0")
    edit(bank / "promo.yaml", "version: 1.0.1", "version: 1.1.0")
    code, data = review_json(runner, bank)
    assert code == 0, data["problems"]


def test_moved_to_another_group_in_the_same_book_needs_minor(runner, tmp_path):
    _, bank = make_repo(tmp_path)
    edit(bank / "promo.yaml", "    title: 赠品\n", "    title: 赠品\n    group: 赠品说明\n")
    code, data = review_json(runner, bank)
    assert [c["kind"] for c in data["changes"]] == ["moved"]
    assert versions(data)["promo"] == ("minor", "none", False)


def test_renamed_into_another_book_needs_major_at_the_source(runner, tmp_path):
    _, bank = make_repo(tmp_path)
    move_when_ship_to_promo(bank)
    edit(bank / "promo.yaml", "id: shipping.when_ship", "id: promo.when_ship")
    edit(bank / "promo.yaml", "version: 1.0.0", "version: 2.0.0")
    code, data = review_json(runner, bank)
    assert {c["kind"] for c in data["changes"]} == {"renamed", "moved"}
    assert versions(data)["shipping"] == ("major", "none", False) and code == 1


def test_version_going_backwards_blocks(runner, tmp_path):
    repo, bank = make_repo(tmp_path)
    edit(bank / "promo.yaml", "version: 1.0.0", "version: 0.9.0")
    code, data = review_json(runner, bank)
    assert code == 1 and any("went backwards (1.0.0 → 0.9.0)" in p for p in data["problems"])


@pytest.mark.parametrize("kind, level", [("removed", "major"), ("renamed", "major"), ("shortcut", "major"),
                                         ("added", "minor"), ("moved", "minor"), ("reply", "patch"),
                                         ("title", "patch"), ("questions", "patch"), ("suppression", "patch")])
def test_required_level_per_kind(tmp_path, kind, level):
    detail = {"from": "b/g", "to": "b/h", "from_book": "b"} if kind == "moved" else {}
    assert required_bumps([Change(kind, "b.x", "b", detail)], empty_bank(tmp_path)) == {"b": level}


def test_bump_made():
    assert [bump_made("1.2.3", v) for v in ("1.2.3", "1.2.2", "1.2.4", "1.3.0", "2.0.0", "1.10.0")] == [
        "none", "none", "patch", "minor", "major", "minor"]
    assert BUMPS.index("major") > BUMPS.index("minor") > BUMPS.index("patch") > BUMPS.index("none")
