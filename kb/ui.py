"""kb ui: interactive search for agents (prompt_toolkit). It never copies what the agent did not choose.

* Typing: every printable key goes into the query, digits included (满300减30, order numbers). A paste
  is text, whole: a bracketed paste, or a raw multi-line paste (text and line breaks arriving in one
  read), becomes one message and never presses Enter.
* Copying: Enter copies the selected reply when search is confident, or the candidate the agent
  selected with Up/Down when it is ambiguous; when nothing fits, Enter copies nothing. Alt+1..9 and
  F1..F9 (keys that cannot be text) copy that rank. Tab steps through a flow, Esc clears the query,
  Ctrl-C / Ctrl-D quit.
* Saying what happened: the header shows the bank, the campaign and the outcome within the terminal's
  width (80 columns too); the status line says exactly what was done ("copied to the clipboard",
  "sent to the terminal clipboard — tmux needs `set-clipboard on`", "nothing copied: …"), and that
  the bank is partial when it has load problems.
* A bank edited while the UI runs is noticed (its files' hash changes) and reloaded, and the status
  line says so.
"""

from __future__ import annotations

import base64
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .search.index import Index, Result
from .view import term

Copier = Callable[[str], str]  # copies text, returns how (a key of COPIED or any label); raises on failure
Reloader = Callable[[], "Index | None"]  # a new index when the bank changed on disk, else None

KEYS_HINT = "Enter copy · Alt+N/FN copy rank N · ↑↓ select · Tab step · Esc clear · ^D quit"
COPIED = {
    "clipboard": "copied {what} to the clipboard",
    "osc52": "sent {what} to the terminal clipboard (OSC 52; some terminals ignore it)",
    "osc52-tmux": "sent {what} to the terminal clipboard — tmux needs `set-clipboard on`",
}
RELOAD_EVERY = 2.0  # seconds between checks that the bank on disk is still the one indexed


def _tmux_clipboard_on() -> bool:
    import subprocess

    try:
        out = subprocess.run(["tmux", "show-options", "-gv", "set-clipboard"], capture_output=True, text=True,
                             timeout=0.5)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.stdout.strip() == "on"


def system_copier(text: str) -> str:
    """The desktop clipboard (pyperclip), else OSC 52 to the terminal (over SSH, in tmux …)."""
    try:
        import pyperclip

        pyperclip.copy(text)
        return "clipboard"
    except Exception:
        out = sys.__stdout__
        if not (os.environ.get("TERM") and out is not None and out.isatty()):
            raise
        payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
        out.write(f"\x1b]52;c;{payload}\x07")
        out.flush()
        return "osc52-tmux" if os.environ.get("TMUX") and not _tmux_clipboard_on() else "osc52"


def _cut(text: str, width: int) -> str:
    """text cut to width terminal cells (CJK counts two), with … when cut."""
    from prompt_toolkit.utils import get_cwidth

    if get_cwidth(text) <= width:
        return text
    out, used = "", 0
    for ch in text:
        w = get_cwidth(ch)
        if used + w > width - 1:
            break
        out, used = out + ch, used + w
    return out + "…"


@dataclass
class State:
    index: Index
    variables: dict[str, str]
    copier: Copier
    campaign: str | None = None
    reload: Reloader | None = None
    result: Result | None = None
    query: str = ""
    selected: int = 0
    chosen: bool = False  # the agent moved the selection himself (what an ambiguous outcome needs)
    step: int = 0
    status: str = ""
    copied: list[str] = field(default_factory=list)
    log: bool | None = None  # usage log: None = as the bank / $KB_LOG say (kb.learn.log)
    _checked: float = 0.0

    # --- what the agent does ---------------------------------------------------------------

    def refresh(self, query: str) -> None:
        self.query = " ".join(query.split())  # a pasted multi-line message is one query
        self.check_reload(throttle=True)
        self._search()

    def _search(self) -> None:
        self.result = self.index.search(self.query, k=5) if self.query else None
        self.selected = 0
        self.chosen = False
        self.step = 0

    def texts(self, rank: int) -> list[tuple[str | None, str]]:
        assert self.result is not None
        return self.result.matches[rank].rendered(self.variables)

    def enter(self) -> None:
        """Enter: copy the selected reply — only when it is what search or the agent chose."""
        r = self.result
        if not r or not r.matches:
            self.status = "nothing to copy: type the buyer's message"
        elif r.outcome == "none":
            self.status = "nothing copied: no confident match (Alt+N / FN copies a candidate if you are sure)"
        elif r.outcome == "ambiguous" and not self.chosen:
            self.status = (f"nothing copied: {r.candidates} phrases fit about equally — choose one with ↑↓ "
                           "and press Enter (or Alt+N / FN)")
        else:
            self._copy(self.selected)

    def copy_rank(self, rank: int) -> None:
        """Alt+N / FN: the agent chose rank N explicitly."""
        if not self.result or rank >= len(self.result.matches):
            self.status = f"nothing copied: there is no result {rank + 1}"
            return
        self._copy(rank)

    def _copy(self, rank: int) -> None:
        parts = self.texts(rank)
        step = self.step if rank == self.selected else 0
        text = parts[min(step, len(parts) - 1)][1]
        m = self.result.matches[rank]
        what = m.id + (f" step {step + 1}/{len(parts)}" if len(parts) > 1 else "")
        try:
            how = self.copier(text)
        except Exception as e:
            self.status = f"no clipboard ({type(e).__name__}): select the reply below and copy it by hand"
            return
        self.status = COPIED.get(how, "copied {what} (" + how + ")").format(what=what)
        self.copied.append(text)
        from .learn.log import record  # opt-in usage log: what the agent copied (masked; never raises)

        record(self.index, self.result, copied=m.id, rank=rank + 1, flag=self.log)

    def move(self, delta: int) -> None:
        if self.result and self.result.matches:
            self.selected = (self.selected + delta) % len(self.result.matches)
            self.chosen = True
            self.step = 0

    def next_step(self) -> None:
        if self.result and self.result.matches:
            self.step = (self.step + 1) % len(self.texts(self.selected))

    def pasted(self, lines: int) -> None:
        self.status = f"pasted {lines} lines as one message" if lines > 1 else ""

    # --- a bank that changed on disk -----------------------------------------------------------

    def check_reload(self, throttle: bool = False) -> bool:
        """Reload the index when the bank's files changed; True when it did."""
        now = time.monotonic()
        if self.reload is None or (throttle and now - self._checked < RELOAD_EVERY):
            return False
        self._checked = now
        try:
            new = self.reload()
        except Exception as e:  # a bank broken mid-edit: keep answering from the last good one
            msg = getattr(e, "message", None) or f"{type(e).__name__}: {e}"
            self.status = f"the bank changed but cannot be loaded ({msg.splitlines()[-1]}): still using the old one"
            return False
        if new is None:
            return False
        self.index = new
        self.variables = new.variables_for(self.campaign)
        n = len(new.phrases)
        self.status = f"the bank changed on disk: reloaded ({n} phrases)"
        self._search()
        return True

    # --- what the agent sees -------------------------------------------------------------------

    def outcome_text(self) -> str:
        r = self.result
        if r is None:
            return "type a message"
        if not r.matches or r.outcome == "none":
            return "no match"
        if r.outcome == "ambiguous":
            return f"ambiguous: {r.candidates} candidates"
        return "confident"

    def header(self, width: int = 80) -> str:
        """kb · bank · campaign · outcome, cut to width cells (the bank's name gives way first)."""
        from prompt_toolkit.utils import get_cwidth

        camp = f"campaign {self.campaign}" if self.campaign else "no campaign"
        tail = f" · {camp} · {self.outcome_text()} "
        room = width - get_cwidth(" kb · ") - get_cwidth(tail)
        name = self.index.bank_name or "bank"
        if room >= 6:
            return term(f" kb · {_cut(name, room)}{tail}")
        return term(_cut(f" kb · {self.outcome_text()} · {camp} · {name}", width))

    def status_line(self) -> str:
        n = len(self.index.problems)
        partial = f"partial bank: {n} problem(s), run kb validate · " if n else ""
        return term(partial + self.status)

    def lines(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        r = self.result
        if r is None:
            return [("class:hint", "输入买家消息… " + KEYS_HINT + "\n")]
        if not r.matches:
            return [("class:warn", "no confident match: nothing in the bank is close\n")]
        if r.outcome == "none":
            out.append(("class:warn", "no confident match — nearest candidates (low confidence); "
                                      "Enter copies nothing\n"))
        elif r.outcome == "ambiguous":
            out.append(("class:warn", f"ambiguous — {r.candidates} phrases fit about equally: choose one "
                                      "(↑↓ then Enter, or Alt+N / FN)\n"))
        for i, m in enumerate(r.matches):
            sel = i == self.selected
            first = self.texts(i)[0][1].splitlines()[0] if self.texts(i) else ""
            style = "class:selected" if sel else ""
            sc = f"[{m.shortcut}]" if m.shortcut else ""
            mark = ""
            if r.outcome == "ambiguous" and i < r.candidates:
                mark = " (candidate)"
            elif r.outcome != "confident":
                mark = " (low confidence)"
            out.append((style, term(f"{'>' if sel else ' '} {i + 1}. {m.title} {sc} {m.id} {m.score:.2f}{mark}")
                        + "\n"))
            if not sel:
                preview = first[:36] + ("…" if len(first) > 36 else "")
                out.append(("class:dim", f"     {term(preview)}\n"))
        parts = self.texts(self.selected)
        out.append(("", "\n"))
        for n, (step, text) in enumerate(parts):
            mark = "▶ " if n == self.step and len(parts) > 1 else ""
            label = f"{mark}【{step}】" if step else ""
            out.append(("class:reply" if n == self.step else "class:dim", term(f"{label}{text}") + "\n"))
        out.append(("class:dim", KEYS_HINT + "\n"))
        return out


# --- input: a raw multi-line paste is text ------------------------------------------------------


def join_pastes(keys: list) -> list:
    """The key presses of one read from the terminal, with every run of text that holds line breaks
    (a multi-line paste into a terminal without bracketed paste) turned into one paste event: its
    Enter keys are text, never a copy command."""
    from prompt_toolkit.key_binding import KeyPress
    from prompt_toolkit.keys import Keys

    breaks = (Keys.ControlM, Keys.ControlJ)
    out: list = []
    run: list = []

    def flush() -> None:
        has_text = any(k.key not in breaks for k in run)
        if has_text and any(k.key in breaks for k in run):
            data = "".join("\n" if k.key in breaks else k.data for k in run)
            out.append(KeyPress(Keys.BracketedPaste, data))
        else:
            out.extend(run)
        run.clear()

    for k in keys:
        if k.key in breaks or (len(k.key) == 1 and k.key.isprintable()):
            run.append(k)
        else:
            flush()
            out.append(k)
    flush()
    return out


def _paste_aware(inp):
    read = inp.read_keys
    inp.read_keys = lambda: join_pastes(read())
    return inp


def build_app(state: State, input=None, output=None):
    from prompt_toolkit import Application
    from prompt_toolkit.application.current import get_app
    from prompt_toolkit.buffer import Buffer
    from prompt_toolkit.input import create_input
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.keys import Keys
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
    @kb.add("c-j")
    def _enter(event):
        state.enter()

    @kb.add(Keys.BracketedPaste)
    def _paste(event):
        lines = event.data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        buf.insert_text(" ".join(ln for ln in lines))
        state.pasted(len([ln for ln in lines if ln.strip()]))

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

    @kb.add("escape")
    def _esc(event):
        buf.text = ""
        state.status = ""

    for n in range(1, 10):
        @kb.add("escape", str(n))
        @kb.add(f"f{n}")
        def _rank(event, n=n):
            state.copy_rank(n - 1)

    def width() -> int:
        try:
            return get_app().output.get_size().columns
        except Exception:
            return 80

    layout = Layout(HSplit([
        Window(FormattedTextControl(lambda: [("class:header", state.header(width()))]), height=1),
        Window(BufferControl(buffer=buf), height=1, style="class:query"),
        Window(height=1, char="─", style="class:dim"),
        Window(FormattedTextControl(state.lines), wrap_lines=True),
        Window(FormattedTextControl(lambda: [("class:status", state.status_line())]), height=1),
    ]))
    style = Style.from_dict({"header": "reverse", "selected": "bold", "dim": "#888888", "warn": "#d70000",
                             "reply": "#00875f", "status": "reverse", "hint": "#888888"})
    app = Application(layout=layout, key_bindings=kb, style=style, full_screen=False,
                      input=_paste_aware(input or create_input()), output=output)
    app.ttimeoutlen = 0.05  # a lone Esc is Esc after 50 ms (Alt+N arrives as Esc N in one read)
    app.timeoutlen = 0.3
    return app


def reloader(root, index: Index) -> Reloader:
    """A Reloader for the bank at root (kb.search.cache.reloader: the hash of its files)."""
    from pathlib import Path

    from .search.cache import reloader as make

    return make(Path(root), index)


def run(index: Index, campaign: str | None, root, copier: Copier = system_copier, log: bool | None = None) -> None:
    import asyncio

    state = State(index=index, variables=index.variables_for(campaign), copier=copier, campaign=campaign,
                  reload=reloader(root, index), log=log)
    if index.problems:
        state.status = "answers come only from the books that load"
    app = build_app(state)

    async def watch() -> None:
        while True:
            await asyncio.sleep(RELOAD_EVERY)
            if state.check_reload():
                app.invalidate()

    async def main() -> None:
        task = asyncio.ensure_future(watch())
        try:
            await app.run_async()
        finally:
            task.cancel()

    asyncio.run(main())
