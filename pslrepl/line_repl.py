"""The loop for a terminal prompt_toolkit can't draw on (TERM=dumb): plain lines in,
events printed as they come."""

from __future__ import annotations

import os

from pslrepl.history import ShellHistory, open_history
from pslrepl.loop import BANNER, PROMPT, Loop
from pslrepl.output import Screen
from pslrepl.session import SIGNAL_LATENCY

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.dispatch import Dispatcher
    from pslrepl.session import Session


class LineRepl(Loop):
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
            # Leave on a fresh line: the newline that ends the prompt's, and no more (a
            # write when mid-line starts with a newline of its own: a blank line).
            session.printer.mid_line = False
            session.printer.echo([])
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
