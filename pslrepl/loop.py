"""What the two interactive loops share: the prompt's words, and running a line so that
Ctrl-C cancels just it."""

from __future__ import annotations

import signal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType

    from pslrepl.dispatch import Dispatcher
    from pslrepl.history import ShellHistory
    from pslrepl.session import Session

PROMPT = "psl> "
BANNER = "pslrepl: `help` lists commands, Tab completes, Ctrl-D leaves."
CANCELLED = "cancelled by Ctrl-C; everything else carries on"


class Loop:
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
