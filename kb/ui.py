"""kb ui: interactive search for agents (prompt_toolkit).

Type the buyer's message; results refresh as you type. Up/Down or Ctrl-N/Ctrl-P select,
Enter copies the selected reply (and keeps the session open), 1-9 copy that rank, Tab
cycles a flow's steps, Esc clears the query, Ctrl-C / Ctrl-D quit.
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from .search.index import Index, Result

Copier = Callable[[str], str]  # copies text, returns how ("clipboard", "OSC 52" ...); raises on failure


def system_copier(text: str) -> str:
    import pyperclip

    try:
        pyperclip.copy(text)
        return "clipboard"
    except Exception:
        if os.environ.get("SSH_TTY") or os.environ.get("TERM"):
            payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
            sys.__stdout__.write(f"\x1b]52;c;{payload}\x07")
            sys.__stdout__.flush()
            return "OSC 52 (terminal clipboard)"
        raise


@dataclass
class State:
    index: Index
    variables: dict[str, str]
    copier: Copier
    result: Result | None = None
    selected: int = 0
    step: int = 0
    status: str = ""
    copied: list[str] = field(default_factory=list)

    def refresh(self, query: str) -> None:
        query = " ".join(query.split())  # a pasted multi-line message is one query
        self.result = self.index.search(query, k=5) if query else None
        self.selected = 0
        self.step = 0

    def texts(self, rank: int) -> list[tuple[str | None, str]]:
        assert self.result is not None
        return self.result.matches[rank].rendered(self.variables)

    def copy(self, rank: int | None = None) -> None:
        if not self.result or not self.result.matches:
            self.status = "nothing to copy"
            return
        rank = self.selected if rank is None else rank
        if rank >= len(self.result.matches):
            return
        parts = self.texts(rank)
        step = self.step if rank == self.selected else 0
        text = parts[min(step, len(parts) - 1)][1]
        m = self.result.matches[rank]
        try:
            how = self.copier(text)
            self.status = f"copied {m.id}" + (f" step {step + 1}/{len(parts)}" if len(parts) > 1 else "") + f" ({how})"
        except Exception as e:
            self.status = f"no clipboard ({type(e).__name__}): select the reply below and copy it by hand"
        self.copied.append(text)

    def move(self, delta: int) -> None:
        if self.result and self.result.matches:
            self.selected = (self.selected + delta) % len(self.result.matches)
            self.step = 0

    def next_step(self) -> None:
        if self.result and self.result.matches:
            self.step = (self.step + 1) % len(self.texts(self.selected))

    def lines(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        r = self.result
        if r is None:
            return [("class:hint", "输入买家消息… (Enter 复制, 1-9 按序号复制, Tab 流程下一步, Esc 清空, Ctrl-D 退出)\n")]
        if not r.matches:
            return [("class:warn", "no confident match: nothing in the bank is close\n")]
        if not r.confident:
            out.append(("class:warn", "no confident match — nearest candidates (low confidence):\n"))
        for i, m in enumerate(r.matches):
            sel = i == self.selected
            first = self.texts(i)[0][1].splitlines()[0] if self.texts(i) else ""
            style = "class:selected" if sel else ""
            sc = f"[{m.shortcut}]" if m.shortcut else ""
            out.append((style, f"{'>' if sel else ' '} {i + 1}. {m.title} {sc} {m.id} {m.score:.2f}\n"))
            if not sel:
                preview = first[:36] + ("…" if len(first) > 36 else "")
                out.append(("class:dim", f"     {preview}\n"))
        parts = self.texts(self.selected)
        out.append(("", "\n"))
        for n, (step, text) in enumerate(parts):
            mark = "▶ " if n == self.step and len(parts) > 1 else ""
            label = f"{mark}【{step}】" if step else ""
            out.append(("class:reply" if n == self.step else "class:dim", f"{label}{text}\n"))
        return out


def build_app(state: State, header: str, input=None, output=None):
    from prompt_toolkit import Application
    from prompt_toolkit.buffer import Buffer
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.layout import HSplit, Layout, Window
    from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl
    from prompt_toolkit.styles import Style

    buf = Buffer(multiline=False, on_text_changed=lambda b: state.refresh(b.text))
    kb = KeyBindings()

    @kb.add("c-c")
    @kb.add("c-d")
    def _quit(event):
        event.app.exit()

    @kb.add("enter")
    def _enter(event):
        state.copy()

    @kb.add("down")
    @kb.add("c-n")
    def _down(event):
        state.move(1)

    @kb.add("up")
    @kb.add("c-p")
    def _up(event):
        state.move(-1)

    @kb.add("tab")
    def _tab(event):
        state.next_step()

    @kb.add("escape", eager=True)
    def _esc(event):
        buf.text = ""
        state.status = ""

    for d in "123456789":
        @kb.add(d, filter=_has_results(state))
        def _rank(event, d=d):
            state.copy(int(d) - 1)

    layout = Layout(HSplit([
        Window(FormattedTextControl(lambda: [("class:header", header)]), height=1),
        Window(BufferControl(buffer=buf), height=1, style="class:query"),
        Window(height=1, char="─", style="class:dim"),
        Window(FormattedTextControl(state.lines), wrap_lines=True),
        Window(FormattedTextControl(lambda: [("class:status", state.status)]), height=1),
    ]))
    style = Style.from_dict({"header": "reverse", "selected": "bold", "dim": "#888888", "warn": "#d70000",
                             "reply": "#00875f", "status": "reverse", "hint": "#888888"})
    return Application(layout=layout, key_bindings=kb, style=style, full_screen=False, input=input,
                       output=output)


def _has_results(state: State):
    from prompt_toolkit.filters import Condition

    # digits copy a rank only when the query already has results; otherwise they are typed
    return Condition(lambda: bool(state.result and state.result.matches and state.result.confident))


def run(index: Index, variables: dict[str, str], header: str, copier: Copier = system_copier) -> None:
    state = State(index=index, variables=variables, copier=copier)
    build_app(state, header).run()
