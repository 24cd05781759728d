"""Matching off the main thread, bounded: in a process of its own, killed at the bound."""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable
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
        self._proc: subprocess.Popen[bytes] | None = None

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
        import pickle
        import selectors

        from pslrepl.transcript.timelimit import MATCH_GRACE, SlowPattern

        if self._proc is None:
            self._start()
        assert self._proc is not None and self._proc.stdin and self._proc.stdout
        data = pickle.dumps((fn, args))
        self._proc.stdin.write(len(data).to_bytes(8, "big") + data)
        self._proc.stdin.flush()
        left = max(self.started + self.seconds - time.monotonic(), MATCH_GRACE)
        with selectors.DefaultSelector() as selector:
            selector.register(self._proc.stdout, selectors.EVENT_READ)
            ready = selector.select(left)
        if not ready:
            self.close()
            raise SlowPattern
        size = int.from_bytes(self._proc.stdout.read(8) or b"\0" * 8, "big")
        reply = self._proc.stdout.read(size) if size else b""
        if not reply:
            self.close()
            raise RuntimeError("the replay's matcher process ended")
        ok, value = pickle.loads(reply)
        if not ok:
            raise RuntimeError(value)
        return value

    def _start(self) -> None:
        import os
        import subprocess
        import sys

        import pslrepl

        # A program of its own (not multiprocessing's spawn, which imports the caller's
        # __main__ again, nor a fork of a process whose threads may hold locks).
        top = os.path.dirname(os.path.dirname(os.path.abspath(pslrepl.__file__)))
        path = os.environ.get("PYTHONPATH")
        env = dict(os.environ, PYTHONPATH=top + (os.pathsep + path if path else ""))
        code = "from pslrepl.transcript.offthread import serve; serve()"
        self._proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, env=env)  # fmt: skip

    def close(self) -> None:
        """End the helper process, if one was started: killed, reaped, its pipes closed."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            for pipe in (self._proc.stdin, self._proc.stdout):
                if pipe is not None:
                    pipe.close()
            self._proc = None


def serve() -> None:
    """The helper process: each call read on stdin is run, its result written on stdout
    (each a pickle after its length in 8 bytes)."""
    import pickle
    import sys

    src, dst = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = src.read(8)
        if len(head) < 8:
            return
        fn, args = pickle.loads(src.read(int.from_bytes(head, "big")))
        try:
            reply = pickle.dumps((True, fn(*args)))
        except Exception as exc:  # a bug: said in the replay's process
            reply = pickle.dumps((False, f"{type(exc).__name__}: {exc}"))
        dst.write(len(reply).to_bytes(8, "big") + reply)
        dst.flush()
