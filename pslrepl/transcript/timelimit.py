"""The time limit on a transcript's replay: it cancels the command running when it fires."""

from __future__ import annotations

import contextlib
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

# How long a cancelled command has to end before the replay gives up on it.
GRACE = 2.0
# How long matching a step's output may take past the limit (its diff must still be made).
MATCH_GRACE = 1.0


class Abandoned(BaseException):
    """Raised in a command that swallowed the cancel (``except KeyboardInterrupt``, a
    retrying loop) once the grace has passed, or at a second Ctrl-C: not a
    KeyboardInterrupt nor an Exception, so the handlers that kept it running don't catch
    it, and the replay ends with the time-limit report rather than running on."""

    def __str__(self) -> str:
        return "it went on after the time limit's cancel; the replay gave up on it"


class TimeLimit:
    """Cancels the command a replay is running once the transcript has run ``seconds``:
    SIGINT to the main thread, which the dispatcher turns into a cancelled command (a
    blocking call returns EINTR). Only while a command runs, never between them."""

    def __init__(self, seconds: float, note: str = "") -> None:
        self.seconds = seconds
        self.note = note  # where the limit comes from, for the report
        self.started = time.monotonic()
        self.fired = False
        self.interrupted = False  # a Ctrl-C (a SIGINT not from the limit) came
        self.abandoned = False  # the cancel did not end the command: it was given up on
        self.step = ""  # "FILE:LINE: psl> CMD" of the command running now
        self._running = False
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._cancelled = threading.Event()  # the command ended after the signal
        self._main = threading.main_thread().ident
        self._thread = threading.Thread(target=self._watch, name="pslrepl:replay-time-limit",
                                        daemon=True)  # fmt: skip

    def __enter__(self) -> TimeLimit:
        import signal

        # SIGINT must raise KeyboardInterrupt here (pytest may run with it ignored).
        self._old = signal.signal(signal.SIGINT, self._on_sigint)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        self._done.set()
        self._thread.join()
        signal.signal(signal.SIGINT, self._old)

    def _on_sigint(self, signum: int, frame: object) -> None:
        # The limit sets fired before it signals: any other SIGINT is a user's Ctrl-C,
        # which ends the whole replay, not only the command it cancels. A second one, or
        # the limit's after the grace, is raised as what no handler of the command catches.
        if self.abandoned or (self.interrupted and self._running):
            self.abandoned = True
            raise Abandoned
        if self.interrupted:  # one more while the replay ends: let it close what it started
            return
        if not self.fired:
            self.interrupted = True
        raise KeyboardInterrupt

    def running(self, step: str, on: bool) -> None:
        with self._lock:
            self.step, self._running = step, on
            if not on and self.fired:
                self._cancelled.set()

    @property
    def expired(self) -> bool:
        return time.monotonic() - self.started >= self.seconds

    def left(self) -> float:
        """Seconds matching a step's output may take: what the limit has left, and at
        least MATCH_GRACE (a cancelled command's diff must still be made)."""
        return max(self.started + self.seconds - time.monotonic(), MATCH_GRACE)

    def describe(self) -> str:
        return f"{self.seconds:g} s" + (f", {self.note}" if self.note else "")

    def _watch(self) -> None:
        import signal
        import sys

        if self._done.wait(max(0.0, self.started + self.seconds - time.monotonic())):
            return
        while True:  # past the limit: the next command that runs is cancelled
            with self._lock:
                if self._running and self._main is not None:
                    self.fired = True
                    signal.pthread_kill(self._main, signal.SIGINT)
                    break
            if self._done.wait(0.05):
                return
        # A command that ignores SIGINT (a trapped INT, a call that retries) keeps
        # running: say which one, then give up on it (Abandoned, raised again each grace
        # while it still runs), so the report comes rather than a hang.
        if self._cancelled.wait(GRACE):
            return
        with self._lock:
            still = self._running
        if not still:
            return
        # sys.__stderr__: py may have sys.stderr redirected to its own capture.
        err = sys.__stderr__
        if err is not None:
            took = time.monotonic() - self.started
            err.write(f"pslrepl: {self.step}: still running after {took:.0f} s; cancelling "
                      "it did not work: giving up on it\n")  # fmt: skip
            err.flush()
        for _ in range(30):  # bounded: a call that never returns to Python can't be ended
            with self._lock:
                if not self._running or self._main is None:
                    return
                self.abandoned = True
                signal.pthread_kill(self._main, signal.SIGINT)
            if self._cancelled.wait(GRACE) or self._done.is_set():
                return


class SlowPattern(Exception):
    """Matching a step's output ran past the time limit: a pattern backtracks."""


@contextlib.contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """Raise SlowPattern once ``seconds`` have passed, even inside re's C matcher: it
    holds the GIL (a watchdog thread can't run) but checks for signals as it backtracks,
    so SIGALRM from the kernel's timer ends it. The timer and SIGALRM are borrowed and
    put back as they were, a transcript's own `alarm` or `itimer` with its time left.
    Only the main thread gets a signal's handler: elsewhere this bounds nothing."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    on = [True]

    def alarm(signum: int, frame: object) -> None:
        if on[0]:
            raise SlowPattern

    old = signal.signal(signal.SIGALRM, alarm)
    started = time.monotonic()
    delay, interval = signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        while True:  # a signal just at the end raises here, once: the match is over
            try:
                on[0] = False
                break
            except SlowPattern:
                continue
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if delay > 0:
            left = delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), interval)
