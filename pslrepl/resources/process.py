"""A child process kept under a name: Popen with pipes drained by one thread per child."""

from __future__ import annotations

import os
import selectors
import subprocess
import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar

from pslrepl.errors import PslError, Timeout
from pslrepl.events import Event
from pslrepl.render import clock, plural
from pslrepl.resources.bounded import run_bounded as run_bounded
from pslrepl.resources.buffers import ReadResult, StreamBuffer, read_buffer
from pslrepl.resources.commandline import command_text as command_text
from pslrepl.resources.commandline import exec_failure as exec_failure
from pslrepl.resources.drain import ChildDrain
from pslrepl.resources.ending import end_group, end_leftovers, stop_child
from pslrepl.signals_table import describe_status, short_status, signal_label

if TYPE_CHECKING:
    import re

    from pslrepl.results import Cell
    from pslrepl.session import Session


class Process(ChildDrain):
    """A ``subprocess.Popen`` with stdin, stdout and stderr as pipes, watched by a thread.

    The thread drains stdout and stderr into bounded buffers (so a chatty child never
    blocks on a full pipe, as pexpect does it) and notices the exit through a pidfd
    (Linux 5.3+, Python 3.9+) or, failing that, by polling.
    """

    KINDS: ClassVar[tuple[str, ...]] = ("process",)
    EVENTS = ("exit", "data", "eof")
    bytes_out = 0  # what write() wrote to stdin, counted as it writes (session lock held)

    def __init__(
        self,
        session: Session,
        name: str,
        popen: subprocess.Popen[bytes],
        *,
        command: str,
        merged: bool,
    ) -> None:
        super().__init__(session, name)
        self.popen = popen
        self.command = command
        self.merged = merged
        self.stdout = StreamBuffer()
        self.stderr = StreamBuffer()
        self.stdin_closed = False
        self.exit_reported = False
        self.exited_at: float | None = None
        self._stop = False
        self._wake_r, self._wake_w = os.pipe()
        self._pidfd: int | None = None
        try:
            self._pidfd = os.pidfd_open(popen.pid)
        except (AttributeError, OSError):
            self._pidfd = None
        if popen.stdin is not None:
            os.set_blocking(popen.stdin.fileno(), False)
        if merged:
            self.stderr.eof = True
        session.volatile[f"{name}.pid"] = str(popen.pid)
        session.guard_child(popen.pid)  # even a kill -9 of the shell ends its session
        self.post(Event(name, "start", f"started pid {popen.pid}: {command}"))
        self.thread = threading.Thread(target=self._pump, name=f"pslrepl:{name}", daemon=True)
        self.thread.start()

    # -- what the commands call -------------------------------------------------------

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode if self.exit_reported else None

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def pgid(self) -> int:
        """Its process group: it leads one of its own, numbered by its pid (a new session),
        which outlives it while anything it started is still in it."""
        return self.pid

    def group_left(self) -> list[int] | None:
        """The live members of its process group (None where there is no /proc to tell)."""
        from pslrepl.resources.ending import group_members

        return group_members(self.pgid)

    @property
    def obj(self) -> Any:
        return self.popen

    @property
    def readable(self) -> bool:
        """What it printed stays readable after it exits, until it is closed."""
        return not self.closed

    @property
    def writable(self) -> bool:
        """Its stdin takes bytes while it is open and the child lives."""
        return not self.closed and not self.stdin_closed and self.returncode is None

    def buffer(self, stream: str) -> StreamBuffer:
        if stream == "stderr" and self.merged:
            raise PslError(f"{self.name}: stderr is merged into stdout (--merge-stderr)")
        return self.stderr if stream == "stderr" else self.stdout

    def read(
        self,
        stream: str,
        *,
        mode: str,
        until: bytes = b"",
        pattern: re.Pattern[bytes] | None = None,
        timeout: float,
    ) -> ReadResult:
        """Take from a stream's buffer what ``mode`` asks for (see read_buffer)."""
        buf = self.buffer(stream)
        try:
            return read_buffer(self.session, buf, label=self.name, mode=mode, until=until,
                               pattern=pattern, timeout=timeout)  # fmt: skip
        except Timeout as exc:
            raise Timeout(f"{exc}{self._timeout_hints(stream)}") from None

    def _timeout_hints(self, stream: str) -> str:
        """What a read that timed out adds: bytes that wait on the other stream, else a
        word on pipe buffering if nothing came at all; and how to wait longer."""
        other = "stdout" if stream == "stderr" else "stderr"
        with self.session.cond:
            buf = self.buffer(stream)
            waiting = 0 if self.merged else len(self.buffer(other).data)
            silent = not buf.total and self.returncode is None
        hints = ""
        if waiting:
            how = f"read {self.name}" + (" --stderr" if other == "stderr" else "")
            hints += f"; {plural(waiting, 'byte')} wait on {other}: {how}"
        elif silent:
            hints += (
                f"; it has printed nothing on {stream} yet (a program writing to a pipe "
                "may be holding its output in a buffer: python3 -u, stdbuf -oL)"
            )
        return hints + "; --timeout S waits longer"

    def write(self, data: bytes, *, timeout: float) -> int:
        """Write all of ``data`` to stdin, waiting at most ``timeout`` for the child to read."""
        if self.closed:
            raise PslError(f"{self.name} is closed")
        if self.stdin_closed or self.popen.stdin is None:
            raise PslError(
                f"{self.name}: stdin is closed (eof was sent); nothing more can be written"
            )
        fd = self.popen.stdin.fileno()
        view = memoryview(data)
        sent = 0
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_WRITE)
            while sent < len(data):
                try:
                    # Write and log under the session lock: the drain thread can't log
                    # the child's answer before the write that caused it.
                    with self.session.cond:
                        n = os.write(fd, view[sent:])
                        self._count_out(data[sent : sent + n])
                except BlockingIOError:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not sel.select(remaining):
                        raise Timeout(
                            f"{self.name}: timeout after {timeout:g} s writing: wrote {sent} of "
                            f"{plural(len(data), 'byte')}; the child is not reading its stdin; "
                            "--timeout S waits longer"
                        ) from None
                    continue
                except BrokenPipeError:
                    raise PslError(
                        f"{self.name}: the child no longer reads stdin (EPIPE): it closed it "
                        f"or exited; wrote {sent} of {plural(len(data), 'byte')}"
                    ) from None
                sent += n
        return sent

    def _count_out(self, data: bytes) -> None:
        """Count and log bytes written to stdin; called with the session lock held."""
        self.bytes_out += len(data)
        self.post(Event.traffic(self.name, "write", "stdin", "out", data))

    def close_stdin(self) -> None:
        if self.stdin_closed:
            raise PslError(f"{self.name}: stdin is already closed")
        self.stdin_closed = True
        # Closed and logged under the session lock: the child may exit the moment it sees
        # EOF, and its exit must not be logged before the EOF that caused it.
        with self.session.cond:
            if self.popen.stdin is not None:
                try:
                    self.popen.stdin.close()
                except BrokenPipeError:
                    pass
            self.post(
                Event(self.name, "eof", "stdin closed (EOF sent)", stream="stdin", direction="out")
            )

    def send_signal(self, signum: int) -> None:
        """Popen.send_signal; 0 sends nothing and only checks that the child exists."""
        if self.returncode is not None or self.popen.poll() is not None:
            rc = self.popen.returncode
            assert rc is not None
            left = self.group_left() or []
            if left:  # the leader is gone, not what it started (sleep | cat)
                many = f"{len(left)} process{'es are' if len(left) != 1 else ' is'}"
                raise PslError(
                    f"{self.name} has already ended ({describe_status(rc)}), but {many} "
                    f"left in its group: `signal {self.name} SIG --group` reaches them, "
                    f"`close {self.name}` ends them"
                )
            raise PslError(
                f"{self.name} has already ended ({describe_status(rc)}); there is nobody to signal"
            )
        try:
            self.popen.send_signal(signum)
        except ProcessLookupError:
            # Reaped between the check and the signal (sh's own thread waits for a
            # background command): said as an ended child is.
            raise PslError(f"{self.name} has just ended; there is nobody to signal "
                           f"(`wait {self.name}` says how)") from None  # fmt: skip
        # Logged, not shown live: the command that sent it has said so already
        # ("signal" events, shown live, are for signals the shell receives).
        what = (
            f"pid {self.pid} exists (signal 0)" if signum == 0 else f"sent {signal_label(signum)}"
        )
        self.post(Event(self.name, "sent", what, fields={"signum": signum}))

    # -- Resource ---------------------------------------------------------------------

    @property
    def state(self) -> str:
        if self.closed:
            return "closed"
        if self.returncode is None and self.stopped():
            return "stopped"
        return short_status(self.returncode)

    def stopped(self) -> bool:
        """Stopped by a signal (SIGSTOP, SIGTSTP...) and not yet continued: Linux's /proc
        says so (state T); Popen only knows running or ended."""
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            return False
        return data[data.rindex(b")") + 2 : data.rindex(b")") + 3] in (b"T", b"t")

    def running_text(self) -> str:
        """What a live child is doing, for ps, info and the toolbar."""
        return "stopped (SIGCONT continues it)" if self.stopped() else "running"

    @property
    def state_style(self) -> str:
        if self.closed:
            return "state.closed"
        rc = self.returncode
        if rc is None:
            return "state.running"
        return "state.exited" if rc == 0 else "state.failed"

    @property
    def local(self) -> str:
        return f"pid {self.pid}"

    @property
    def remote(self) -> str:
        return self.command

    def toolbar(self) -> str:
        rc = self.returncode
        if rc is None:
            return f"{'stopped' if self.stopped() else 'running'} pid {self.pid}"
        return short_status(rc)

    def ready(self, event: str) -> bool:
        if event == "exit":
            return self.exit_reported
        if event == "data":
            return bool(self.stdout.data or self.stderr.data)
        if event == "eof":
            return self.stdout.eof and self.stderr.eof
        return super().ready(event)

    def waited(self, event: str) -> str:
        if event == "data":
            return "output waiting: read " + self.name
        if event == "eof":
            return "its stdout and stderr are closed: nothing more will come"
        return super().waited(event)

    def announce(self, stream: str) -> tuple[int, bytes] | None:
        buf = self.stderr if stream == "stderr" else self.stdout
        return buf.announce()

    def info(self) -> list[tuple[str, Cell]]:
        pairs = super().info()
        rc = self.returncode
        argv = self.popen.args
        pairs[3:3] = [
            ("pid", str(self.pid)),
            ("command", self.command),
            ("argv", repr(argv)),
            ("status", self.running_text() if rc is None else describe_status(rc)),
            ("ended", "not yet" if self.exited_at is None else clock(self.exited_at)),
            ("returncode", "None" if rc is None else str(rc)),
            ("pgid", self._group_text()),
            *self._masks(),
            ("stdin", self._stdin_text()),
            ("stdout", self._describe(self.stdout)),
            ("stderr", "merged into stdout" if self.merged else self._describe(self.stderr)),
            ("thread", self.thread.name),
        ]
        return pairs

    def _stdin_text(self) -> str:
        return "closed" if self.stdin_closed else "open (pipe)"

    def _group_text(self) -> str:
        left = self.group_left()
        if left is None:
            return str(self.pgid)
        if not left:
            return f"{self.pgid}, empty now"
        n = len(left)
        return f"{self.pgid}, {n} process{'es' if n != 1 else ''} in it: {' '.join(map(str, left))}"

    def _masks(self) -> list[tuple[str, Cell]]:
        """What it ignores and blocks now, as Linux's /proc says (inherited across exec:
        --ignore, nohup, sh's _bg), while it runs."""
        from pslrepl.signals_table import names_text, proc_masks

        if self.returncode is not None:
            return []
        masks = proc_masks(self.pid)
        if masks is None:
            return [("signals", "unknown: no /proc/PID/status here")]
        return [(what, names_text(masks.get(what, []))) for what in ("ignored", "blocked")]

    @staticmethod
    def _describe(buf: StreamBuffer) -> str:
        text = f"{plural(len(buf.data), 'byte')} unread of {buf.total}"
        if buf.dropped:
            text += f", {buf.dropped} dropped"
        return text + (", EOF" if buf.eof else "")

    def close(self) -> str:
        """TERM the child's process group, KILL it after the grace period, reap, free all."""
        if self.closed:
            return "already closed"
        outcome = self.end_child()
        self._stop = True
        self._wake()
        self.thread.join(timeout=2.0)
        for pipe in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass
        for fd in (self._wake_r, self._wake_w, self._pidfd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.closed = True
        self.post(Event(self.name, "close", outcome))
        return outcome

    def end_child(self) -> str:
        """End the child, then what is left of its process group after it (a pipeline's
        other members), then the rest of its session: each TERM, then KILL after the
        grace period. What happened."""
        grace = self.session.settings.grace
        if self.popen.poll() is None:
            outcome = stop_child(self.popen, grace, self.name)
        else:
            outcome = f"closed ({describe_status(self.popen.returncode)})"
        left = end_group(self.pgid, grace) + end_leftovers(self.pid, grace)
        if left:
            outcome += f"; ended {left} process{'es' if left != 1 else ''} it left running"
        return outcome
