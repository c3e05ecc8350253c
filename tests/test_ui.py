"""The interactive UI driven through prompt_toolkit's pipe input: it never copies what the agent did
not choose (issue 16), says exactly what happened, fits 80 columns and notices an edited bank."""

from __future__ import annotations

import shutil
import threading
import time

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.key_binding import KeyPress
from prompt_toolkit.keys import Keys
from prompt_toolkit.output import DummyOutput
from prompt_toolkit.utils import get_cwidth

from kb import ui
from kb.search.cache import load_index
from kb.search.index import Match, Result
from kb.ui import State, build_app, join_pastes, reloader
from tests.conftest import BANK


@pytest.fixture(scope="module")
def index():
    return load_index(BANK, use_cache=False)


def _wait(cond, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end:
        time.sleep(0.02)


def _seen(state: State) -> tuple:
    return state.query, state.status, len(state.copied), state.selected, state.step


def drive(index, *chunks: str, campaign: str | None = "double11"):
    """Run the app and send each chunk as its own read (as typed keys arrive), waiting until the
    previous one was handled; the last chunk should quit (Ctrl-D)."""
    copied: list[str] = []
    state = State(index=index, variables=index.variables_for(campaign), campaign=campaign,
                  copier=lambda t: copied.append(t) or "clipboard")
    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):
        app = build_app(state, input=inp, output=DummyOutput())
        box = {}

        def feed():
            _wait(lambda: app.is_running)
            for chunk in chunks:
                time.sleep(0.15)
                before = _seen(state)
                inp.send_text(chunk)
                if chunk != chunks[-1]:
                    _wait(lambda before=before: _seen(state) != before, 3)
            box["done"] = True

        t = threading.Thread(target=feed, daemon=True)
        t.start()
        app.run()
        t.join(5)
        box["text"] = app.layout.current_buffer.text
    return state, copied, box["text"]


# --- typing ------------------------------------------------------------------------------------------


def test_digits_are_typed_never_a_copy(index):
    state, copied, text = drive(index, "什么时候发货", "3天能到吗", "\x04")
    assert text == "什么时候发货3天能到吗" and state.query == text
    assert copied == []


def test_money_and_order_numbers_stay_whole(index):
    state, copied, text = drive(index, "满300减30", "\x04")
    assert text == "满300减30" and copied == []
    state, copied, text = drive(index, "订单号 3829104857362918472 什么时候发", "\x04")
    assert "3829104857362918472" in text and copied == []


def test_enter_copies_the_confident_answer(index):
    state, copied, _ = drive(index, "双11拍的啥时候发货", "\r", "\x04")
    assert state.result.outcome == "confident"
    assert state.result.matches[0].id == "shipping.when_ship"
    assert copied == [state.result.matches[0].rendered(state.variables)[0][1]]
    assert "付款（预售为付清尾款）后7天" in copied[0]
    assert state.status == "copied shipping.when_ship to the clipboard"


def test_rank_keys_cannot_be_text(index):
    state, copied, text = drive(index, "包邮吗", "\x1b2", "\x1bOQ", "\x1b[11~", "\x04")  # Alt+2, F2, F1
    assert len(state.result.matches) >= 2
    first, second = (m.rendered(state.variables)[0][1] for m in state.result.matches[:2])
    assert text == "包邮吗"
    assert copied == [second, second, first]


def test_selection_then_enter_copies_the_selected(index):
    state, copied, _ = drive(index, "包邮吗", "\x1b[B", "\r", "\x04")  # Down, Enter
    if state.result.outcome == "none":
        assert copied == []
    else:
        assert copied == [state.result.matches[1].rendered(state.variables)[0][1]]


def test_flow_steps_with_tab(index):
    state, copied, _ = drive(index, "我要投诉", "\t", "\t", "\r", "\x04")
    assert state.result.matches[0].id == "aftersales.complaint"
    steps = state.result.matches[0].rendered(state.variables)
    assert copied == [steps[2][1]]


# --- pastes --------------------------------------------------------------------------------------------


def test_raw_multiline_paste_is_text_never_enter(index):
    state, copied, text = drive(index, "发货了吗\r物流到哪了\r", "\x04")
    assert copied == []
    assert text == "发货了吗 物流到哪了 " and state.query == "发货了吗 物流到哪了"
    assert state.status == "pasted 2 lines as one message"


def test_bracketed_paste_is_whole_and_visible(index):
    state, copied, text = drive(index, "\x1b[200~第一行什么时候发货\n第二行包邮吗\x1b[201~", "\x04")
    assert copied == []
    assert text == "第一行什么时候发货 第二行包邮吗"  # every line on screen, not only the last


def test_join_pastes_keeps_single_keys():
    enter = KeyPress(Keys.ControlM, "\r")
    assert join_pastes([enter]) == [enter]
    keys = [KeyPress("a", "a"), enter, KeyPress("b", "b"), KeyPress(Keys.ControlD, "\x04")]
    out = join_pastes(keys)
    assert [(k.key, k.data) for k in out] == [(Keys.BracketedPaste, "a\nb"), (Keys.ControlD, "\x04")]
    typed = [KeyPress("1", "1"), KeyPress("2", "2")]
    assert join_pastes(typed) == typed


# --- outcomes --------------------------------------------------------------------------------------------


class FakeIndex:
    """An index whose search returns a fixed outcome (the UI's rules do not depend on the engine)."""

    bank_name = "test-bank"
    key = "k"

    def __init__(self, outcome: str, close: int = 0, titles=("发货时间", "到货时间", "物流查询"), problems=()):
        self.outcome, self.close, self.titles, self.problems = outcome, close, titles, list(problems)
        self.phrases = [{}] * len(titles)

    def variables_for(self, campaign):
        return {}

    def search(self, query, k=5):
        ms = [Match(id=f"p.{i}", title=t, shortcut=None, book="b", group="g", score=0.5 - i / 10,
                    texts=[(None, f"reply {i}")]) for i, t in enumerate(self.titles)]
        return Result(query=query, matches=ms, outcome=self.outcome, close=self.close)


def fake_state(outcome, close=0, **kw):
    copied = []
    st = State(index=FakeIndex(outcome, close, **kw), variables={}, copier=lambda t: copied.append(t) or "clipboard")
    return st, copied


def test_no_confident_match_copies_nothing_on_enter(index):
    state, copied, _ = drive(index, "asdfgh qwerty", "\r", "\x04")
    assert state.result is None or state.result.outcome == "none"
    assert copied == []
    st, copied = fake_state("none")
    st.refresh("x")
    st.enter()
    assert copied == [] and st.status.startswith("nothing copied: no confident match")
    assert "no confident match" in "".join(t for _, t in st.lines())
    st.copy_rank(1)  # an explicit choice still copies
    assert copied == ["reply 1"]


def test_ambiguous_shows_every_candidate_and_waits_for_a_choice():
    st, copied = fake_state("ambiguous", close=2)
    st.refresh("x")
    screen = "".join(t for _, t in st.lines())
    assert "ambiguous — 2 phrases fit" in screen
    assert screen.count("(candidate)") == 2 and "(low confidence)" in screen
    st.enter()
    assert copied == [] and "choose one" in st.status
    st.move(1)
    st.enter()
    assert copied == ["reply 1"]
    assert "ambiguous: 2 candidates" in st.header(80)


# --- what the agent is told ---------------------------------------------------------------------------


def test_header_shows_bank_campaign_outcome_in_80_columns(index):
    state, _, _ = drive(index, "双11拍的啥时候发货", "\x04")
    for width in (80, 100, 120):
        h = state.header(width)
        assert get_cwidth(h) <= width
        assert index.bank_name in h and "campaign double11" in h and "confident" in h
    st, _ = fake_state("confident")
    st.index.bank_name = "一个非常非常长的银行名称" * 6
    st.campaign = "double11"
    st.refresh("x")
    h = st.header(80)
    assert get_cwidth(h) <= 80 and "campaign double11" in h and "confident" in h and "…" in h


def test_tmux_status_says_what_was_done():
    st = State(index=FakeIndex("confident"), variables={}, copier=lambda t: "osc52-tmux")
    st.refresh("x")
    st.enter()
    assert st.status == "sent p.0 to the terminal clipboard — tmux needs `set-clipboard on`"


def test_system_copier_in_tmux_without_set_clipboard(monkeypatch):
    import io

    import pyperclip

    class Tty(io.StringIO):
        def isatty(self):
            return True

    def fail(_):
        raise pyperclip.PyperclipException("no clipboard")

    out = Tty()
    monkeypatch.setattr(pyperclip, "copy", fail)
    monkeypatch.setattr(ui.sys, "__stdout__", out)
    monkeypatch.setattr(ui, "_tmux_clipboard_on", lambda: False)
    monkeypatch.setenv("TERM", "tmux-256color")
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")
    assert ui.system_copier("亲") == "osc52-tmux"
    assert out.getvalue().startswith("\x1b]52;c;")
    monkeypatch.setattr(ui, "_tmux_clipboard_on", lambda: True)
    assert ui.system_copier("亲") == "osc52"


def test_clipboard_failure_says_why(index):
    def broken(_):
        raise RuntimeError("no display")

    state = State(index=index, variables={}, copier=broken)
    state.refresh("双11拍的啥时候发货")
    state.enter()
    assert state.status.startswith("no clipboard (RuntimeError)") and state.copied == []


def test_partial_bank_is_on_the_status_line():
    st, _ = fake_state("confident", problems=[{"path": "b.yaml", "line": 3, "col": 1, "message": "x"}])
    assert st.status_line().startswith("partial bank: 1 problem(s)")


def test_control_characters_never_reach_the_screen_raw():
    st, _ = fake_state("confident", titles=("发货\x1b[31m时间\u202e",))
    st.refresh("x")
    screen = "".join(t for _, t in st.lines())
    assert "\x1b" not in screen and "\u202e" not in screen and "\\u001b[31m" in screen


# --- a bank edited while the UI runs ---------------------------------------------------------------------


def test_an_edited_bank_is_reloaded_and_the_status_says_so(tmp_path):
    bank = tmp_path / "phrasebank"
    shutil.copytree(BANK, bank)
    idx = load_index(bank)
    st = State(index=idx, variables=idx.variables_for(None), copier=lambda t: "clipboard", reload=reloader(bank, idx))
    st.refresh("双11拍的啥时候发货")
    assert st.check_reload() is False
    book = bank / "shipping.yaml"
    book.write_text(book.read_text(encoding="utf-8").replace("具体以物流信息为准哦", "改过的回复"), encoding="utf-8")
    assert st.check_reload() is True
    assert st.status.startswith("the bank changed on disk: reloaded")
    assert st.result is not None and "改过的回复" in "".join(t for _, t in st.texts(0))
