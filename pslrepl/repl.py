"""The interactive shell: a prompt_toolkit prompt over the same dispatcher scripts use."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.application import run_in_terminal
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.output import ColorDepth
from prompt_toolkit.styles import Style

from pslrepl.app import build, shutdown
from pslrepl.completer import PslCompleter
from pslrepl.environment import Environment, is_dumb, wants_color
from pslrepl.errors import Terminated
from pslrepl.highlight import classify
from pslrepl.history import ShellHistory as ShellHistory
from pslrepl.history import open_history as open_history
from pslrepl.key_bindings import load_paste_bindings
from pslrepl.lexer import PromptLexer
from pslrepl.line_repl import LineRepl as LineRepl
from pslrepl.loop import BANNER as BANNER
from pslrepl.loop import CANCELLED as CANCELLED
from pslrepl.loop import PROMPT as PROMPT
from pslrepl.loop import Loop
from pslrepl.output import Screen, pager_command
from pslrepl.session import Session
from pslrepl.style import STYLES
from pslrepl.toolbar import toolbar_fragments

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType

    from prompt_toolkit.input import Input
    from prompt_toolkit.output import Output

    from pslrepl.dispatch import Dispatcher
    from pslrepl.results import Line

CONTINUATION = "...  "  # before the second and later lines of a paste, as wide as PROMPT
ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)  # cli.py's handlers end the shell on them


def echo_line(session: Session, dispatcher: Dispatcher, line: str) -> Line:
    """A command as the prompt showed it, for a pasted line that runs without one."""
    pieces = classify(line, is_command=dispatcher.table.knows, names=session.registry)
    return [("prompt", PROMPT), *((f"psl.{cls}" if cls else "", text) for cls, text in pieces)]


class Repl(Loop):
    """Owns the prompt; commands run in this (the main) thread between prompts.

    ``input`` and ``output`` are prompt_toolkit's terminal (the process's own when None):
    tests give a pipe and a DummyOutput. ``history`` defaults to the user's file."""

    def __init__(
        self,
        session: Session,
        dispatcher: Dispatcher,
        *,
        color: bool,
        input: Input | None = None,
        output: Output | None = None,
        history: ShellHistory | None = None,
    ) -> None:
        self.session = session
        self.dispatcher = dispatcher
        self._init_loop()
        self._flush_scheduled = threading.Lock()
        self._ending = 0  # SIGTERM or SIGHUP came while a prompt was up
        self._ending_session: PromptSession[str] | None = None
        self.history = open_history() if history is None else history
        # The lines of a paste still to run, after the one the prompt returned.
        self.queued: list[str] = []
        self.prompt = PromptSession[str](
            input=input,
            output=output,
            history=self.history,
            auto_suggest=AutoSuggestFromHistory(),
            completer=PslCompleter(session, dispatcher.table),
            complete_while_typing=False,
            lexer=PromptLexer(session, dispatcher.table.knows),
            style=Style.from_dict(STYLES),
            bottom_toolbar=self._toolbar,
            color_depth=None if color else ColorDepth.MONOCHROME,
            enable_history_search=False,
            key_bindings=load_paste_bindings(self),
            prompt_continuation=self._continuation,
        )
        printer = session.printer
        on_terminal = _isatty(printer.out)
        pager = pager_command(os.environ) if on_terminal else None
        printer.screen = Screen(self._size, pager=pager)
        session.waker = self._wake
        session.env.ask_password = self._ask_password

    def _size(self) -> tuple[int, int]:
        size = self.prompt.app.output.get_size()
        return size.columns, size.rows

    def _toolbar(self) -> FormattedText:
        try:
            width = self.prompt.app.output.get_size().columns
        except Exception:  # no size yet: the default fits
            width = 100
        return FormattedText(toolbar_fragments(self.session, width=width))

    @staticmethod
    def _continuation(width: int, line_number: int, wrap_count: int) -> FormattedText:
        return FormattedText([] if wrap_count else [("class:prompt", CONTINUATION)])

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
                run_in_terminal(self._flush_or_end)
            app.invalidate()

    def _flush_or_end(self) -> None:
        """Events above the prompt; a terminal that is gone (EIO, EBADF) ends the shell as
        SIGHUP would, where prompt_toolkit's handler would try to show the error on it
        again and again (seen once, a flood of events as the terminal closed)."""
        try:
            self.session.flush_events()
        except OSError:
            self._ending = signal.SIGHUP
            self._ending_session = self._ending_session or self.prompt
            self._end_if_asked()

    def _ask_password(self, message: str) -> str:
        # A separate prompt with no history: the password is never stored.
        asker: PromptSession[str] = PromptSession(
            history=InMemoryHistory(), input=self.prompt.app.input, output=self.prompt.app.output
        )
        with self._ending_ends(asker):
            return asker.prompt(message, is_password=True, pre_run=self._end_if_asked)

    @contextlib.contextmanager
    def _ending_ends(self, session: PromptSession[str]) -> Iterator[None]:
        """While ``session``'s prompt runs, SIGTERM and SIGHUP (the terminal closed) end
        it from inside its event loop; the shell then ends as between prompts.

        cli.py's handlers raise Terminated wherever the signal lands. Inside asyncio that
        can be between a task's last step and its result: asyncio.run then waits on it
        for ever while closing, and the shell and every child it holds outlive the
        terminal (seen in tests under load: the main thread in Runner.close)."""
        previous = {signum: signal.getsignal(signum) for signum in ENDING_SIGNALS}
        self._ending_session = session
        for signum, handler in previous.items():
            if callable(handler):  # the user's SIG_IGN, say, stays
                signal.signal(signum, self._on_ending_signal)
        try:
            yield
        finally:
            for signum, handler in previous.items():
                if callable(handler):
                    signal.signal(signum, handler)
            self._ending_session = None
        if self._ending:  # came as the prompt was returning: too late to end it
            raise Terminated(128 + self._ending)

    def _on_ending_signal(self, signum: int, frame: FrameType | None) -> None:
        self._ending = signum
        session = self._ending_session
        loop: Any = getattr(session.app, "loop", None) if session is not None else None
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._end_if_asked)
            except RuntimeError:  # the loop has closed: the finally above raises
                pass

    def _end_if_asked(self) -> None:
        """In the prompt's loop (or as it starts): end it with Terminated if asked to."""
        session = self._ending_session
        if not self._ending or session is None:
            return
        app = session.app
        if app.is_running and app.future is not None and not app.future.done():
            app.exit(exception=Terminated(128 + self._ending))

    def _start_prompt(self) -> None:
        self._end_if_asked()
        self._catch_up()

    def _next_line(self) -> str | None:
        """The next line to run: a pasted one waiting, or what the prompt returns (None:
        nothing to run)."""
        if self.queued:
            line = self.queued.pop(0)
            self.session.printer.echo(echo_line(self.session, self.dispatcher, line))
            self.history.append_string(line)
            return line
        try:
            with self._ending_ends(self.prompt):
                return self.prompt.prompt([("class:prompt", PROMPT)], pre_run=self._start_prompt)
        except KeyboardInterrupt:
            return None  # Ctrl-C at the prompt clears the line, as in any shell

    def run(self) -> int:
        session = self.session
        session.printer.write([[("notice", BANNER)]])
        while session.exit_requested is None:
            line: str | None = None
            started = False
            try:
                self._tell_history_failure()
                session.flush_events()
                line = self._next_line()
                if line is None:
                    continue
                started = True
                self._run(line)
            except EOFError:
                break
            except KeyboardInterrupt:
                if line is not None and not started:
                    self._cancelled_before_start()
                self.interrupted = True
            if self.interrupted and self.queued:
                rest, self.queued = len(self.queued), []
                session.printer.write([[("notice", f"(the {_lines(rest)} pasted after it "
                                                   "did not run)")]])  # fmt: skip
        return session.exit_requested or 0


def _lines(n: int) -> str:
    return "line" if n == 1 else f"{n} lines"


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def run_repl(*, no_color: bool = False) -> int:
    # Colour is the shell's own business: the environment its children get is left as
    # the user's (no NO_COLOR put in it).
    color = wants_color(sys.stdout) and not no_color
    env = Environment.from_system(interactive=True)
    env.color = color
    session, dispatcher = build(env)
    try:
        if is_dumb(os.environ.get("TERM")):
            return LineRepl(session, dispatcher).run()
        return Repl(session, dispatcher, color=color).run()
    finally:
        shutdown(session)
