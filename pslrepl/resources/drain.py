"""A child's drain thread: stdout and stderr read into buffers as they come, and the exit."""

from __future__ import annotations

import os
import selectors
import time

from pslrepl.events import Event
from pslrepl.resources.base import Resource
from pslrepl.resources.buffers import CHUNK
from pslrepl.signals_table import background_thread

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess

    from pslrepl.resources.buffers import StreamBuffer


class ChildDrain(Resource):
    """The part of a Process that its thread runs (see process.Process, which sets this
    state up and starts the thread): so a chatty child never blocks on a full pipe, as
    pexpect does it, and its exit is noticed through a pidfd (Linux 5.3+) or by polling."""

    popen: subprocess.Popen[bytes]
    merged: bool
    stdout: StreamBuffer
    stderr: StreamBuffer
    exit_reported: bool
    exited_at: float | None
    _stop: bool
    _wake_r: int
    _wake_w: int
    _pidfd: int | None
    bytes_in = 0  # what the child wrote, counted as this thread reads it (session lock held)

    def _pump(self) -> None:
        background_thread()
        sel = selectors.DefaultSelector()
        try:
            self._pump_loop(sel)
        except Exception as exc:  # a bug of ours: say so rather than die silently
            self.post(Event(self.name, "error", thread="drain thread",
                            reason=f"{type(exc).__name__}: {exc}"))  # fmt: skip
        finally:
            sel.close()

    def _pump_loop(self, sel: selectors.BaseSelector) -> None:
        streams = {"stdout": self.popen.stdout}
        if not self.merged:
            streams["stderr"] = self.popen.stderr
        for stream, pipe in streams.items():
            if pipe is not None:
                sel.register(pipe.fileno(), selectors.EVENT_READ, stream)
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        if self._pidfd is not None:
            sel.register(self._pidfd, selectors.EVENT_READ, "exit")
        open_pipes = len(streams)
        # Without a pidfd (or when waitpid lost a race with a wait() in the main
        # thread) the exit is found by polling every 50 ms instead.
        polling = self._pidfd is None
        while not self._stop:
            if open_pipes == 0 and self.exit_reported:
                break
            timeout = 0.05 if polling and not self.exit_reported else None
            for key, _ in sel.select(timeout):
                tag = key.data
                if tag == "wake":
                    os.read(self._wake_r, 512)
                elif tag == "exit":
                    sel.unregister(key.fd)
                    self._drain_ready(sel)
                    polling = not self._note_exit()
                elif self._read(sel, key.fd, tag) == 0:
                    open_pipes -= 1
            if polling and not self.exit_reported and self.popen.poll() is not None:
                self._drain_ready(sel)
                self._note_exit()

    def _drain_ready(self, sel: selectors.BaseSelector) -> None:
        """Read what is already in the pipes, so output is logged before the exit."""
        for key, _ in sel.select(0):
            if key.data in ("stdout", "stderr"):
                self._read(sel, key.fd, key.data)

    def _read(self, sel: selectors.BaseSelector, fd: int, stream: str) -> int:
        """Read one chunk; 0 at EOF (the fd is then unregistered), -1 if already gone."""
        if fd not in sel.get_map():
            return -1  # an earlier drain in this same batch already saw its EOF
        try:
            chunk = os.read(fd, CHUNK)
        except OSError:
            chunk = b""
        if not chunk:
            sel.unregister(fd)
            self.mark_eof(stream)
            return 0
        self.take(stream, chunk)
        return len(chunk)

    def mark_eof(self, stream: str) -> None:
        # No event: which of stdout and stderr reads EOF first is a race (it depends
        # on how data and EOF fall into reads), and a log must replay the same way
        # every time. `read` reports EOF; `wait NAME eof` waits for it.
        buf = self.stdout if stream == "stdout" else self.stderr
        with self.session.cond:
            buf.eof = True
            self.session.cond.notify_all()

    def take(self, stream: str, chunk: bytes) -> None:
        """Keep what the child wrote on ``stream`` for `read`, log it, and say once when
        the buffer fills (again only after a read made room)."""
        buf = self.stdout if stream == "stdout" else self.stderr
        with self.session.cond:
            dropped = buf.feed(chunk)
            self.bytes_in += len(chunk)
            report_drop = dropped and buf.dropped_unread == dropped
        self.post(Event.traffic(self.name, "data", stream, "in", chunk))
        if report_drop:
            self.post(Event(self.name, "dropped", stream=stream, cap=buf.cap))

    def _note_exit(self) -> bool:
        returncode = self.popen.poll()
        if returncode is None:
            return False  # another thread holds Popen's waitpid lock; poll again later
        self.exited_at = time.time()
        self.exit_reported = True
        self.post(Event(self.name, "exit", rc=returncode, pid=self.popen.pid))
        return True

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
