"""The interactive shell: a prompt_toolkit prompt over the same dispatcher scripts use."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.application import run_in_terminal
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.output import ColorDepth
from prompt_toolkit.styles import Style

from pslrepl.cli import build, shutdown
from pslrepl.completer import PslCompleter
from pslrepl.dispatch import Dispatcher
from pslrepl.environment import Environment, data_dir, wants_color
from pslrepl.lexer import PromptLexer
from pslrepl.session import Session
from pslrepl.style import STYLES
from pslrepl.toolbar import toolbar_fragments

PROMPT = "psl> "


def open_history(warnings: list[str]) -> History:
    """History in the user's data directory; in memory if that can't be written."""
    path = data_dir() / "history"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
        return FileHistory(str(path))
    except OSError as exc:
        warnings.append(f"history is not saved: can't write {path}: {exc.strerror or exc}")
        return InMemoryHistory()


class Repl:
    """Owns the prompt; commands run in this (the main) thread between prompts."""

    def __init__(self, session: Session, dispatcher: Dispatcher, *, color: bool) -> None:
        self.session = session
        self.dispatcher = dispatcher
        self._flush_scheduled = threading.Lock()
        warnings: list[str] = []
        self.prompt = PromptSession[str](
            history=open_history(warnings),
            auto_suggest=AutoSuggestFromHistory(),
            completer=PslCompleter(session, dispatcher.table),
            complete_while_typing=False,
            lexer=PromptLexer(session, dispatcher.table.knows),
            style=Style.from_dict(STYLES),
            bottom_toolbar=self._toolbar,
            color_depth=None if color else ColorDepth.MONOCHROME,
            enable_history_search=False,
        )
        for text in warnings:
            session.printer.warning(text)
        session.waker = self._wake
        session.env.ask_password = self._ask_password

    def _toolbar(self) -> FormattedText:
        try:
            width = self.prompt.app.output.get_size().columns
        except Exception:  # no size yet: the default fits
            width = 100
        return FormattedText(toolbar_fragments(self.session, width=width))

    def _wake(self) -> None:
        """From any thread: if the prompt is up, show pending events above it."""
        app = self.prompt.app
        loop: Any = getattr(app, "loop", None)
        if not app.is_running or loop is None:
            return  # a command is running: the main thread shows events itself
        if not self._flush_scheduled.acquire(blocking=False):
            return  # a flush is already on its way and will take this event too
        try:
            loop.call_soon_threadsafe(self._show_events)
        except RuntimeError:  # the loop closed between the check and the call
            self._flush_scheduled.release()

    def _catch_up(self) -> None:
        """An event that came between the last flush and the prompt's start found no
        prompt to wake: show it now that there is one."""
        if self.session.pending:
            self._wake()

    def _show_events(self) -> None:
        self._flush_scheduled.release()
        app = self.prompt.app
        if app.is_running:
            if self.session.pending:
                run_in_terminal(self.session.flush_events)
            app.invalidate()

    def _ask_password(self, message: str) -> str:
        # A separate prompt with no history: the password is never stored.
        asker: PromptSession[str] = PromptSession(history=InMemoryHistory())
        return asker.prompt(message, is_password=True)

    def run(self) -> int:
        session = self.session
        session.printer.write(
            [[("notice", "pslrepl: `help` lists commands, Tab completes, Ctrl-D leaves.")]]
        )
        while session.exit_requested is None:
            session.flush_events()
            try:
                line = self.prompt.prompt([("class:prompt", PROMPT)], pre_run=self._catch_up)
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt clears the line, as in any shell
            except EOFError:
                break
            self.dispatcher.run_line(line)
        return session.exit_requested or 0


def run_repl(*, no_color: bool = False) -> int:
    color = wants_color(sys.stdout) and not no_color
    if not color:
        os.environ.setdefault("NO_COLOR", "1")  # prompt_toolkit honours it too
    env = Environment.from_system(interactive=True)
    env.color = color
    session, dispatcher = build(env)
    assert isinstance(dispatcher, Dispatcher)
    try:
        return Repl(session, dispatcher, color=color).run()
    finally:
        shutdown(session)
