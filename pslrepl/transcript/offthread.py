"""Matching off the main thread, bounded: in a process of its own, killed at the bound."""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess
    from typing import Any

    from pslrepl.transcript.syntax import Step


class Matcher:
    """A replay's time limit over matching where no signal can reach it: only the main
    thread runs a signal's handler, and re holds the GIL as it backtracks, so a replay
    run from another thread matches a step with a pattern line in a helper process
    (started the first time one is needed), which is killed when it runs past the
    limit: SlowPattern, as in the main thread."""

    def __init__(self, seconds: float, note: str = "") -> None:
        self.seconds = seconds
        self.note = note
        self.started = time.monotonic()
        self._proc: BaseProcess | None = None
        self._conn: Connection | None = None

    def describe(self) -> str:
        return f"{self.seconds:g} s" + (f", {self.note}" if self.note else "")

    @staticmethod
    def needed(step: Step) -> bool:
        """Whether a step's lines hold a pattern that could backtrack: a (re) line or a
        capture's REGEX (a plain line or a placeholder matches in one pass)."""
        return any(line.endswith(" (re)") or "{?" in line for line in step.expected)

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in the helper process, or SlowPattern once the limit (at least
        MATCH_GRACE) has passed; fn and its arguments are pickled (fn by its name)."""
        from pslrepl.transcript.timelimit import MATCH_GRACE, SlowPattern

        if self._conn is None:
            self._start()
        assert self._conn is not None
        self._conn.send((fn, args))
        left = max(self.started + self.seconds - time.monotonic(), MATCH_GRACE)
        if not self._conn.poll(left):
            self.close()
            raise SlowPattern
        ok, value = self._conn.recv()
        if not ok:
            raise RuntimeError(value)
        return value

    def _start(self) -> None:
        import multiprocessing

        # spawn, not fork: forking a process with threads running may deadlock the child.
        context = multiprocessing.get_context("spawn")
        self._conn, theirs = context.Pipe()
        self._proc = context.Process(target=_serve, args=(theirs,), daemon=True,
                                     name="pslrepl:replay-matcher")  # fmt: skip
        self._proc.start()
        theirs.close()

    def close(self) -> None:
        """End the helper process, if one was started: killed, reaped, its pipe closed."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.join()
            self._proc.close()
            self._proc = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _serve(conn: Connection) -> None:
    """The helper process: each call received is run and its result sent back."""
    while True:
        try:
            fn, args = conn.recv()
        except EOFError:
            return
        try:
            conn.send((True, fn(*args)))
        except Exception as exc:  # a bug: said in the replay's process
            conn.send((False, f"{type(exc).__name__}: {exc}"))
