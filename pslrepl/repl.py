"""The interactive shell: a prompt_toolkit prompt over the same dispatcher scripts use."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.application import get_app, run_in_terminal
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.filters import Condition
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.keys import Keys
from prompt_toolkit.output import ColorDepth
from prompt_toolkit.styles import Style

from pslrepl.app import build, shutdown
from pslrepl.completer import PslCompleter
from pslrepl.dispatch import Dispatcher
from pslrepl.environment import (
    Environment,
    data_dir,
    is_dumb,
    open_private,
    private_dir,
    wants_color,
)
from pslrepl.errors import Terminated
from pslrepl.highlight import classify
from pslrepl.lexer import PromptLexer
from pslrepl.output import Screen, pager_command
from pslrepl.session import SIGNAL_LATENCY, Session
from pslrepl.style import STYLES
from pslrepl.toolbar import toolbar_fragments

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path
    from types import FrameType

    from prompt_toolkit.input import Input
    from prompt_toolkit.key_binding import KeyPressEvent
    from prompt_toolkit.output import Output

    from pslrepl.results import Line

PROMPT = "psl> "
CONTINUATION = "...  "  # before the second and later lines of a paste, as wide as PROMPT
BANNER = "pslrepl: `help` lists commands, Tab completes, Ctrl-D leaves."
CANCELLED = "cancelled by Ctrl-C; everything else carries on"
ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)  # cli.py's handlers end the shell on them


class ShellHistory(History):
    """The lines typed, one entry each, in prompt_toolkit's FileHistory format; ``path``
    None keeps them in memory only.

    The file holds every `send` and `py` line, so it is made 0600 in a 0700 directory
    and never opened through a symbolic link (environment.open_private). Each entry is
    one write to a file opened O_APPEND: two shells at once interleave whole entries,
    never parts of them. A line that starts with a space is not kept (as in bash with
    HISTCONTROL=ignorespace), for the line a user would rather not have on disk."""

    def __init__(self, path: Path | None) -> None:
        super().__init__()
        self.path = path
        self.failure: str | None = None  # why saving stopped, for the shell to say once

    def load_history_strings(self) -> Iterable[str]:
        if self.path is None:
            return []
        try:
            data = self._read()
        except OSError as exc:
            self.failure = f"history is not loaded: can't read {self.path}: {_why(exc)}"
            return []
        entries: list[str] = []
        lines: list[str] = []
        for raw in data.decode("utf-8", errors="replace").splitlines(keepends=True):
            if raw.startswith("+"):
                lines.append(raw[1:])
            elif lines:
                entries.append("".join(lines)[:-1])
                lines = []
        if lines:
            entries.append("".join(lines)[:-1])
        return reversed(entries)

    def _read(self) -> bytes:
        assert self.path is not None
        dir_fd = private_dir(self.path.parent)
        try:
            fd = open_private(dir_fd, self.path.name, os.O_RDONLY | os.O_CREAT)
        finally:
            os.close(dir_fd)
        chunks = []
        try:
            while chunk := os.read(fd, 1 << 16):
                chunks.append(chunk)
        finally:
            os.close(fd)
        return b"".join(chunks)

    def append_string(self, string: str) -> None:
        """A pasted block comes as one string: each line is an entry of its own."""
        for line in string.split("\n"):
            if line.strip() and not line.startswith(" "):
                super().append_string(line)

    def store_string(self, string: str) -> None:
        if self.path is None or self.failure is not None:
            return
        import datetime

        entry = f"\n# {datetime.datetime.now()}\n" + "".join(
            f"+{line}\n" for line in string.split("\n")
        )
        try:
            dir_fd = private_dir(self.path.parent)
            try:
                fd = open_private(dir_fd, self.path.name, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            finally:
                os.close(dir_fd)
            try:
                os.write(fd, entry.encode("utf-8", errors="replace"))  # one write: whole
            finally:
                os.close(fd)
        except OSError as exc:
            self.failure = f"history is no longer saved: can't write {self.path}: {_why(exc)}"


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def open_history() -> ShellHistory:
    """The history file in the user's data directory (XDG_DATA_HOME honoured); in memory,
    with ``failure`` saying why, if it can't be used."""
    path = data_dir() / "history"
    try:
        dir_fd = private_dir(path.parent)
        try:
            os.close(open_private(dir_fd, path.name, os.O_WRONLY | os.O_APPEND | os.O_CREAT))
        finally:
            os.close(dir_fd)
    except OSError as exc:
        history = ShellHistory(None)
        history.failure = f"history is not saved: can't write {path}: {_why(exc)}"
        return history
    return ShellHistory(path)


def echo_line(session: Session, dispatcher: Dispatcher, line: str) -> Line:
    """A command as the prompt showed it, for a pasted line that runs without one."""
    pieces = classify(line, is_command=dispatcher.table.knows, names=session.registry)
    return [("prompt", PROMPT), *((f"psl.{cls}" if cls else "", text) for cls, text in pieces)]


class _Loop:
    """What both loops share: running a line so that Ctrl-C cancels just it."""

    session: Session
    dispatcher: Dispatcher
    history: ShellHistory

    def _init_loop(self) -> None:
        self.interrupted = False  # Ctrl-C cancelled the last command
        self._failure_told = False

    def _run(self, line: str) -> None:
        """Run one line. Ctrl-C while it runs raises KeyboardInterrupt in it (the
        dispatcher turns that into one error line); the terminal echoed ^C where the
        cursor was, so what comes next starts on a line of its own."""
        self.interrupted = False
        ours = signal.getsignal(signal.SIGINT) is signal.default_int_handler
        if ours:
            signal.signal(signal.SIGINT, self._on_sigint)
        try:
            self.dispatcher.run_line(line)
        finally:
            # A `trap INT` the line set stays; only our own handler is taken back.
            if ours and signal.getsignal(signal.SIGINT) == self._on_sigint:
                signal.signal(signal.SIGINT, signal.default_int_handler)

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.interrupted = True
        self.session.printer.mid_line = True
        raise KeyboardInterrupt

    def _cancelled_before_start(self) -> None:
        """Ctrl-C came after the line was read but before it ran: say it did not run."""
        self.session.printer.mid_line = True  # after the ^C the terminal echoed
        self.session.printer.error(CANCELLED)

    def _tell_history_failure(self) -> None:
        if self.history.failure is not None and not self._failure_told:
            self._failure_told = True
            self.session.printer.warning(self.history.failure)


class Repl(_Loop):
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
            key_bindings=self._bindings(),
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

    def _bindings(self) -> KeyBindings:
        bindings = KeyBindings()

        @bindings.add(Keys.BracketedPaste)
        def _paste(event: KeyPressEvent) -> None:
            """A paste goes into the line to be looked at before Enter, as in bash and
            fish; copied from a transcript or the README, only its commands go in (the
            `psl> ` prompts and the output lines are left out, as IPython does with
            `>>> `)."""
            from pslrepl.transcript import commands_in

            data = event.data.replace("\r\n", "\n").replace("\r", "\n")
            text = "\n".join(commands_in(data)).strip("\n")
            buffer = event.current_buffer
            before = buffer.document.text_before_cursor
            if text and before and not before.endswith("\n") and ("\n" in before or "\n" in text):
                # Two blocks pasted one after the other: the second starts a line of its
                # own, or the last command of one and the first of the next would join.
                text = "\n" + text
            buffer.insert_text(text)

        pasted = Condition(lambda: "\n" in get_app().current_buffer.text)

        @bindings.add("enter", filter=pasted)
        def _run_pasted(event: KeyPressEvent) -> None:
            """Several lines: the first runs now, the others after it one by one, each
            shown as it runs and kept in the history as a line of its own."""
            buffer = event.current_buffer
            lines = [line for line in buffer.text.split("\n") if line.strip()]
            self.queued = lines[1:]
            buffer.text = lines[0] if lines else ""
            buffer.validate_and_handle()

        return bindings

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


class LineRepl(_Loop):
    """For a terminal prompt_toolkit can't draw on (TERM=dumb): a prompt, plain lines
    read as the terminal's line editing gives them, and events printed as they come,
    each on a line of its own, with the prompt again under them.

    The main thread waits in select() on the terminal and on a pipe that the session's
    waker writes to, so a background event is shown at once rather than at the next
    command. What was half typed stays with the terminal and runs with the rest of its
    line when Enter comes."""

    def __init__(
        self,
        session: Session,
        dispatcher: Dispatcher,
        *,
        fd: int = 0,
        history: ShellHistory | None = None,
    ) -> None:
        self.session = session
        self.dispatcher = dispatcher
        self._init_loop()
        self.fd = fd
        self.history = open_history() if history is None else history
        self._typed = ""  # read but not yet a whole line
        self._lines: list[str] = []
        self._reprompt = False  # Ctrl-C at the prompt: a fresh prompt under the ^C
        printer = session.printer
        printer.screen = Screen(_terminal_size)  # no pager: it would need cursor moves

    def run(self) -> int:
        import codecs

        session = self.session
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)

        def wake() -> None:
            try:
                os.write(wake_w, b"!")
            except OSError:  # full (a wake-up is already waiting) or closed
                pass

        session.waker = wake
        try:
            session.printer.write([[("notice", BANNER)]])
            while session.exit_requested is None:
                line: str | None = None
                try:
                    self._tell_history_failure()
                    line = self._read_line(wake_r, decoder)
                    if line is None:
                        break  # end of input: Ctrl-D
                    self.history.append_string(line)
                    self._run(line)
                except KeyboardInterrupt:
                    if line is not None:  # read, but Ctrl-C came before it ran
                        self._cancelled_before_start()
                    else:  # at the prompt: the terminal dropped the line
                        session.printer.mid_line = True
                        self._reprompt = True
                        self._typed = ""
                    self._lines.clear()
        finally:
            session.waker = None
            os.close(wake_r)
            os.close(wake_w)
        if session.printer.mid_line:
            session.printer.echo([])  # leave on a fresh line
        return session.exit_requested or 0

    def _read_line(self, wake_r: int, decoder: Any) -> str | None:
        import select

        session = self.session
        printer = session.printer
        while not self._lines:
            session.flush_events()
            if not printer.mid_line or self._reprompt:
                self._reprompt = False
                printer.prompt([("prompt", PROMPT)])
            ready, _, _ = select.select([self.fd, wake_r], [], [], SIGNAL_LATENCY)
            if wake_r in ready:
                while True:
                    try:
                        if not os.read(wake_r, 512):
                            break
                    except BlockingIOError:
                        break
            if self.fd not in ready:
                continue
            data = os.read(self.fd, 1 << 16)
            if not data:
                if self._typed:  # Ctrl-D after some text: run it, as Enter would
                    line, self._typed = self._typed, ""
                    printer.mid_line = True
                    return line
                return None
            self._typed += decoder.decode(data)
            *whole, self._typed = self._typed.split("\n")
            if whole:
                printer.mid_line = False  # the terminal echoed the Enter
            self._lines.extend(whole)
        return self._lines.pop(0)


def _terminal_size() -> tuple[int, int]:
    import shutil

    size = shutil.get_terminal_size()
    return size.columns, size.lines


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
    assert isinstance(dispatcher, Dispatcher)
    try:
        if is_dumb(os.environ.get("TERM")):
            return LineRepl(session, dispatcher).run()
        return Repl(session, dispatcher, color=color).run()
    finally:
        shutdown(session)
