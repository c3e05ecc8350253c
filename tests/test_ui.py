"""The interactive UI driven through prompt_toolkit's pipe input: type, select, copy."""

from __future__ import annotations

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from kb.search.cache import load_index
from kb.ui import State, build_app
from tests.conftest import BANK


@pytest.fixture(scope="module")
def index():
    return load_index(BANK, use_cache=False)


def drive(index, keys: str):
    copied = []
    state = State(index=index, variables=index.variables_for("double11"),
                  copier=lambda t: copied.append(t) or "test clipboard")
    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):
        app = build_app(state, "kb", input=inp, output=DummyOutput())
        inp.send_text(keys)
        app.run()
    return state, copied


def test_type_select_copy(index):
    state, copied = drive(index, "双11拍的啥时候发货\r\x04")
    assert state.result.matches[0].id == "shipping.when_ship"
    assert "发货时间" in "".join(t for _, t in state.lines())
    assert copied and "付款（预售为付清尾款）后7天" in copied[0]
    assert state.status.startswith("copied shipping.when_ship")


def test_move_selection_and_rank_keys(index):
    state, copied = drive(index, "包邮吗\x1b[B\r2\x04")  # Down, Enter, then "2"
    second = state.result.matches[1].rendered(state.variables)[0][1]
    assert copied == [second, second]


def test_flow_steps_with_tab(index):
    state, copied = drive(index, "我要投诉\t\t\r\x04")
    assert state.result.matches[0].id == "aftersales.complaint"
    steps = state.result.matches[0].rendered(state.variables)
    assert copied == [steps[2][1]]


def test_shortcut_code_first_and_no_match(index):
    state, _ = drive(index, "fhsj\x04")
    assert state.result.matches[0].id == "shipping.when_ship"
    state, copied = drive(index, "asdfgh\r\x04")
    assert copied == [] or not state.result.confident
    assert "no confident match" in "".join(t for _, t in state.lines())


def test_clipboard_failure_says_why(index):
    def broken(_):
        raise RuntimeError("no display")

    state = State(index=index, variables={}, copier=broken)
    state.refresh("包邮吗")
    state.copy()
    assert state.status.startswith("no clipboard (RuntimeError)")
