"""A child process kept under a name: Popen with pipes drained by one thread per child."""

from __future__ import annotations

import os
import selectors
import subprocess
import threading
import time
from typing import IO, TYPE_CHECKING, Any, ClassVar

from pslrepl.errors import PslError, Timeout
from pslrepl.events import Event
from pslrepl.render import plural
from pslrepl.resources.bounded import run_bounded as run_bounded
from pslrepl.resources.buffers import ReadResult, StreamBuffer, read_buffer
from pslrepl.resources.commandline import command_text as command_text
from pslrepl.resources.commandline import exec_failure as exec_failure
from pslrepl.resources.drain import ChildDrain
from pslrepl.resources.ending import end_group, end_leftovers, stop_child
from pslrepl.resources.process_info import ProcessInfo
from pslrepl.signals_table import describe_status, short_status

if TYPE_CHECKING:
    import re

    from pslrepl.resources.plumbing import Stdio
    from pslrepl.session import Session


class Process(ProcessInfo, ChildDrain):
    """A ``subprocess.Popen`` with stdin, stdout and stderr as pipes, watched by a thread.

    The thread drains stdout and stderr into bounded buffers (so a chatty child never
    blocks on a full pipe, as pexpect does it) and notices the exit through a pidfd
    (Linux 5.3+, Python 3.9+) or, failing that, by polling.
    """

    KINDS: ClassVar[tuple[str, ...]] = ("process",)
    EVENTS = ("exit", "data", "eof")
    bytes_out = 0  # what write() wrote to stdin, counted as it writes (session lock held)
    held: IO[bytes] | None = None  # --stdout pipe: its stdout, left for spawn --stdin NAME

    def __init__(
        self,
        session: Session,
        name: str,
        popen: subprocess.Popen[bytes],
        *,
        command: str,
        merged: bool,
        stdio: Stdio | None = None,
    ) -> None:
        super().__init__(session, name)
        self.popen = popen
        self.command = command
        self.merged = merged
        if stdio is not None:
            self.stdin_from, self.stdout_to, self.stderr_to = (
                stdio.said[s] for s in ("stdin", "stdout", "stderr"))  # fmt: skip
            self.terminal, self.extras = stdio.terminal, tuple(stdio.extras)
            if stdio.hold:  # kept from the drain thread, which reads popen.stdout
                self.held, popen.stdout = popen.stdout, None
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
        # A stream that is no pipe of the shell's (merged, /dev/null, a file) has nothing
        # to read: at EOF from the start.
        self.stdout.eof = popen.stdout is None
        self.stderr.eof = merged or popen.stderr is None
        session.volatile[f"{name}.pid"] = str(popen.pid)
        session.guard_child(popen.pid)  # even a kill -9 of the shell ends its session
        self.post(Event(name, "start", pid=popen.pid, command=self.command))
        self.resume_drain()

    def pause_drain(self) -> None:
        """Stop the drain thread (to hand its stdout to another child): the caller
        resumes it."""
        self._stop = True
        self._wake()
        self.thread.join(timeout=2.0)
        if self.thread.is_alive():
            self._stop = False
            raise PslError(f"{self.name}: its drain thread did not stop; try again")

    def _note_exit(self) -> bool:
        # A drain thread started again (resume_drain) finds the pidfd readable once more:
        # the exit is told once.
        return True if self.exit_reported else super()._note_exit()

    def resume_drain(self) -> None:
        self._stop = False
        self.thread = threading.Thread(target=self._pump, name=f"pslrepl:{self.name}", daemon=True)
        self.thread.start()

    @property
    def command(self) -> str:
        """The command as typed, and who feeds whom in a pipeline (for ps)."""
        links = [
            f"{s}: {w.removesuffix(' (a pipeline)')}"
            for s, w in (("stdin", self.stdin_from), ("stdout", self.stdout_to))
            if "pipeline" in w
        ]
        return self.argv_text + (f" ({'; '.join(links)})" if links else "")  # fmt: skip

    @command.setter
    def command(self, text: str) -> None:
        self.argv_text = text

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
        if stream == "stderr" and self.terminal:
            raise PslError(f"{self.name}: stderr goes to the same terminal as stdout (--pty): "
                           f"read {self.name} takes both")  # fmt: skip
        if stream == "stderr" and self.merged:
            raise PslError(f"{self.name}: stderr is merged into stdout (--merge-stderr)")
        where = self.stderr_to if stream == "stderr" else self.stdout_to
        if self.held is not None and stream == "stdout":
            raise PslError(f"{self.name}: its stdout is kept for another child (--stdout "
                           f"pipe), and the shell does not read it: `spawn NEW --stdin "
                           f"{self.name} -- ARGV` takes it")  # fmt: skip
        if where not in ("pipe", "the terminal") and "pipeline" not in where:
            raise PslError(f"{self.name}: its {stream} goes to {where}, not to a pipe the "
                           "shell reads")  # fmt: skip
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
        if self.stdin_from not in ("pipe", "the terminal"):
            raise PslError(f"{self.name}: its stdin is {self.stdin_from}, not a pipe from "
                           "the shell; nothing can be written to it")  # fmt: skip
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
        if self.terminal:  # a terminal is not closed: its EOF is a character (^D)
            from pslrepl.ptys import eof_char

            assert self.popen.stdin is not None
            self.write(eof_char(self.popen.stdin.fileno()), timeout=self.session.settings.timeout)
            return
        if self.stdin_from != "pipe":
            raise PslError(f"{self.name}: its stdin is {self.stdin_from}, not a pipe from the "
                           "shell; it gets EOF from there")  # fmt: skip
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
            self.post(Event(self.name, "eof", stream="stdin", direction="out"))

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
        self.post(Event(self.name, "sent", signum=signum, pid=self.pid))

    # -- Resource ---------------------------------------------------------------------

    @property
    def state(self) -> str:
        if self.closed:
            return "closed"
        if self.returncode is None and self.stopped():
            return "stopped"
        return short_status(self.returncode)

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

    def close(self) -> str:
        """TERM the child's process group, KILL it after the grace period, reap, free all."""
        if self.closed:
            return "already closed"
        outcome = self.end_child()
        self._stop = True
        self._wake()
        self.thread.join(timeout=2.0)
        for pipe in (self.popen.stdin, self.popen.stdout, self.popen.stderr, self.held):
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
        self.post(Event(self.name, "close", outcome=outcome))
        return outcome

    def end_child(self) -> str:
        """End the child, then what is left of its process group after it (a pipeline's
        other members), then the rest of its session: each TERM, then KILL after the
        grace period. What happened."""
        grace = self.session.settings.grace
        termed = self.popen.poll() is None
        if termed:
            outcome = stop_child(self.popen, grace, self.name)
        else:
            outcome = f"closed ({describe_status(self.popen.returncode)})"
        left = end_group(self.pgid, grace, termed=termed) + end_leftovers(self.pid, grace)
        if left:
            outcome += f"; ended {left} process{'es' if left != 1 else ''} it left running"
        return outcome
