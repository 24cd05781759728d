"""Popen.communicate with bounds: a child run to its end within a time and a memory cap."""

from __future__ import annotations

import os
import selectors
import subprocess
import time

from pslrepl.resources.buffers import CHUNK, DEFAULT_CAP, StreamBuffer
from pslrepl.resources.ending import kill_group


class Finished:
    """What run_bounded collected: the newest bytes of each stream and how it ended."""

    __slots__ = ("stdout", "stderr", "returncode", "timed_out", "sent")

    def __init__(self, stdout: StreamBuffer, stderr: StreamBuffer) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.returncode: int | None = None
        self.timed_out = False
        self.sent = 0  # bytes of the input the child took before it closed its stdin


def run_bounded(
    popen: subprocess.Popen[bytes], data: bytes | None, *, timeout: float, cap: int = DEFAULT_CAP
) -> Finished:
    """Popen.communicate with a bound on memory: write ``data`` to stdin and close it,
    read stdout and stderr to EOF keeping the newest ``cap`` bytes of each (the older
    ones are counted, not kept), then wait for the exit, all within ``timeout``.

    On timeout, or anything raised meanwhile (Ctrl-C), the child's process group gets
    SIGKILL (it was started with start_new_session). The pipes are closed and the
    child reaped before this returns or raises.
    """
    done = Finished(StreamBuffer(cap), StreamBuffer(cap))
    deadline = time.monotonic() + timeout
    try:
        if _pump_pipes(popen, data, done, deadline):
            try:
                popen.wait(timeout=max(deadline - time.monotonic(), 0))
            except subprocess.TimeoutExpired:
                done.timed_out = True
        else:
            done.timed_out = True
    finally:
        if popen.returncode is None:
            kill_group(popen)
            try:
                popen.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                pass  # stuck in the kernel (state D): nothing more can be done from here
        for pipe in (popen.stdin, popen.stdout, popen.stderr):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass
    done.returncode = popen.returncode
    return done


def _pump_pipes(
    popen: subprocess.Popen[bytes], data: bytes | None, done: Finished, deadline: float
) -> bool:
    """Feed stdin and drain stdout and stderr until both are at EOF; False on timeout."""
    view = memoryview(data or b"")
    sent = 0
    with selectors.DefaultSelector() as sel:
        stdin = popen.stdin
        if stdin is not None:
            if view:
                os.set_blocking(stdin.fileno(), False)
                sel.register(stdin.fileno(), selectors.EVENT_WRITE, "stdin")
            else:
                stdin.close()  # EOF at once, as communicate() gives it
        for pipe, buf in ((popen.stdout, done.stdout), (popen.stderr, done.stderr)):
            if pipe is not None:
                sel.register(pipe.fileno(), selectors.EVENT_READ, buf)
        while sel.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            # At most half a second per select, as Session.wait_for: a signal taken by
            # another thread is handled when the main thread next runs.
            for key, _ in sel.select(min(remaining, 0.5)):
                if key.data == "stdin":
                    assert stdin is not None
                    try:
                        sent += os.write(key.fd, view[sent : sent + CHUNK])
                        done.sent = sent
                    except BlockingIOError:
                        continue
                    except BrokenPipeError:
                        sent = len(view)  # it stopped reading: not an error, as in communicate
                    if sent >= len(view):
                        sel.unregister(key.fd)
                        try:
                            stdin.close()
                        except OSError:
                            pass
                    continue
                try:
                    chunk = os.read(key.fd, CHUNK)
                except OSError:
                    chunk = b""
                if chunk:
                    key.data.feed(chunk)
                else:
                    sel.unregister(key.fd)
                    key.data.eof = True
    return True
