"""Trust (issue 16): writes that never damage (kb/bank/write.py)."""

from __future__ import annotations

import os
import stat

import pytest

from kb.bank import write
from kb.bank.write import atomic_write, book_yaml, write_book
from kb.bank.yamlio import load_document
from kb.errors import KbError
from kb.model import Book
from tests.conftest import MINI_BOOK

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


@posix_only
def test_mode_is_kept(tmp_path):
    p = tmp_path / "book.yaml"
    p.write_text("old", encoding="utf-8")
    p.chmod(0o664)
    atomic_write(p, "new")
    assert stat.S_IMODE(p.stat().st_mode) == 0o664 and p.read_text(encoding="utf-8") == "new"


@posix_only
def test_a_new_file_gets_the_umask_mode_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "new.yaml", "x", force=False)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.yaml").stat().st_mode) == 0o644


@posix_only
@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="changing owners needs root")
def test_owner_is_kept(tmp_path):
    p = tmp_path / "book.yaml"
    p.write_text("old", encoding="utf-8")
    os.chown(p, 4242, 4343)
    atomic_write(p, "new")
    st = p.stat()
    assert (st.st_uid, st.st_gid) == (4242, 4343)


def test_a_symlink_stays_a_symlink_and_its_target_is_written(tmp_path):
    real = tmp_path / "shared" / "shipping.yaml"
    real.parent.mkdir()
    real.write_text("old", encoding="utf-8")
    link = tmp_path / "shipping.yaml"
    link.symlink_to(real)
    written = atomic_write(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text(encoding="utf-8") == "new" and written == real.resolve()
    assert sorted(x.name for x in real.parent.iterdir()) == ["shipping.yaml"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_target_is_refused_even_with_force(tmp_path):
    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    with pytest.raises(KbError, match="named pipe.*not a regular file"):
        atomic_write(fifo, "data", force=True)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert [x.name for x in tmp_path.iterdir()] == ["out.csv"]


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="mknod needs root")
def test_a_device_stays_a_device_with_force(tmp_path):
    dev = tmp_path / "null"
    try:
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except OSError:
        pytest.skip("mknod not allowed here")
    link = tmp_path / "out.csv"
    link.symlink_to(dev)
    for target in (dev, link):
        with pytest.raises(KbError, match="character device, not a regular file"):
            atomic_write(target, "data", force=True)
    assert stat.S_ISCHR(dev.stat().st_mode)


@posix_only
def test_a_read_only_book_is_not_replaced(tmp_path):
    p = tmp_path / "book.yaml"
    p.write_text("old", encoding="utf-8")
    p.chmod(0o444)
    with pytest.raises(KbError, match="read-only"):
        atomic_write(p, "new")
    assert p.read_text(encoding="utf-8") == "old"


def test_nothing_is_written_into_the_installed_package(tmp_path):
    with pytest.raises(KbError, match="inside the installed kb package.*bank of your own"):
        atomic_write(write.PACKAGE / "data" / "planted.txt", "x")
    assert not (write.PACKAGE / "data" / "planted.txt").exists()


@pytest.mark.parametrize("exc", [KeyboardInterrupt, OSError])
def test_temp_file_removed_on_every_failure(tmp_path, monkeypatch, exc):
    p = tmp_path / "book.yaml"
    p.write_text("old", encoding="utf-8")

    def boom(*a, **k):
        raise exc("interrupted")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(exc):
        atomic_write(p, "new")
    assert [x.name for x in tmp_path.iterdir()] == ["book.yaml"]
    assert p.read_text(encoding="utf-8") == "old"


def test_refuses_without_force_even_if_the_file_appears_meanwhile(tmp_path, monkeypatch):
    p = tmp_path / "x.yaml"
    real_link = os.link

    def appear_then_link(src, dst):
        p.write_text("someone else's", encoding="utf-8")
        return real_link(src, dst)

    monkeypatch.setattr(os, "link", appear_then_link)
    with pytest.raises(KbError, match="--force"):
        atomic_write(p, "mine", force=False)
    assert p.read_text(encoding="utf-8") == "someone else's"
    assert [x.name for x in tmp_path.iterdir()] == ["x.yaml"]


def test_book_yaml_round_trips_through_kbs_own_loader(tmp_path):
    raw, _ = load_document(MINI_BOOK.replace("title: 发货时间", "title: 发货时间\n    group: 物流").encode())
    raw["phrases"].append({"id": "shipping.flow", "title": "流程", "questions": ["q"],
                           "flow": [{"step": "一", "reply": "第一行\n第二行"}, {"step": "二", "reply": "好的"}]})
    book = Book.model_validate(raw)
    text = book_yaml(book, header="# imported\n")
    assert text.startswith("# imported\nschema: 1\nname: shipping\n")
    assert "reply: |-\n" in text and "description" not in text
    out = write_book(tmp_path / "shipping.yaml", book)
    again, _ = load_document(out.read_bytes())
    assert Book.model_validate(again) == book
    with pytest.raises(KbError, match="--force"):
        write_book(tmp_path / "shipping.yaml", book)


def test_old_import_path_still_works():
    from kb.bank.yamlio import atomic_write as old_aw
    from kb.bank.yamlio import rt_dump as old_dump

    assert old_aw is atomic_write and old_dump is write.rt_dump
