"""A command the sh library runs in the background (sh --bg NAME), kept as a child.

sh's RunningCommand does the work: its threads read the output into the job's buffers
(its ``_out``/``_err`` targets) and its ``wait`` reaps the child, in the job's own thread,
which then reports the exit. To every command that takes a child (read, wait, poll,
signal, kill, ps, ls, info, close) the job is a Process.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time

from pslrepl.errors import PslError
from pslrepl.events import Event
from pslrepl.resources.base import Resource
from pslrepl.resources.buffers import StreamBuffer
from pslrepl.resources.process import Process
from pslrepl.signals_table import background_thread, describe_status

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from typing import Any, ClassVar

    from pslrepl.invocation import Invocation
    from pslrepl.resources.buffers import ReadResult
    from pslrepl.results import Cell
    from pslrepl.session import Session

# How long close waits for sh's threads to finish once the child is gone.
THREADS_GRACE = 5.0


class ShPopen:
    """The few members of a Popen the process code asks for (pid, args, returncode, poll,
    wait, send_signal), answered from sh's process (RunningCommand.process): sh reaps it,
    in the job's thread, so nothing here calls waitpid."""

    stdin = stdout = stderr = None

    def __init__(self, running: Any, argv: list[str]) -> None:
        self.running = running
        self.pid: int = running.pid
        self.args = argv

    @property
    def returncode(self) -> int | None:
        code: int | None = self.running.process.exit_code
        return code

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.returncode is None:
            if time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.args, timeout)
            time.sleep(0.01)  # the job's thread reaps it: nothing here to block on
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:  # once reaped, its pid may be another process's
            self.running.process.signal(signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class _Sink:
    """Where sh writes one stream of the job (its _out or _err, a file-like: sh hands it
    bytes): into the job's buffer for `read`, as a spawned child's drain thread does."""

    def __init__(self, job: ShJob, stream: str) -> None:
        self.job = job
        self.stream = stream

    def write(self, chunk: bytes) -> None:
        if chunk:
            self.job.take(self.stream, chunk)

    def __repr__(self) -> str:
        return f"<{self.job.name}'s {self.stream} buffer>"


class _Lines(_Sink):
    """--iter: each line (sh reads line-buffered, _out_bufsize=1) becomes an event shown
    as it comes, as iterating over a RunningCommand gives it; nothing is kept to read."""

    def write(self, chunk: bytes) -> None:
        if not chunk:
            return
        job = self.job
        with job.session.cond:
            job.bytes_in += len(chunk)
        text = chunk.rstrip(b"\n").decode(job.session.settings.encoding, "backslashreplace")
        shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
        job.post_line(Event(job.name, "note", shown[:500], stream=self.stream, size=len(chunk)))


class ShJob(Process):
    """sh's RunningCommand for a command started with _bg=True, under a name."""

    # A Process to every command that takes one (process_common.PROC names both kinds).
    KINDS: ClassVar[tuple[str, ...]] = ("sh",)

    def __init__(
        self,
        session: Session,
        name: str,
        *,
        command: str,
        argv: list[str],
        iterate: bool = False,
        given: int | None = None,
    ) -> None:
        # Not Process.__init__: there is no Popen and no drain thread; sh has both.
        Resource.__init__(self, session, name)
        self.command = command
        self.argv = argv
        self.merged = False
        self.stdout = StreamBuffer()
        self.stderr = StreamBuffer()
        self.stdin_closed = True  # sh writes --in's bytes, then closes it
        self.given = given
        self.exit_reported = False
        self.exited_at: float | None = None
        self.iterate = iterate
        self.raised = ""  # sh's exception once it ended: ErrorReturnCode_2, TimeoutException
        self.call_text = ""  # the sh call, as explain writes it
        self.running: Any = None
        self.thread = threading.Thread(target=self._wait, name=f"pslrepl:{name}", daemon=True)
        # --iter's lines that came before the job was told started (sh's threads read
        # from the call on): posted after its start, so the log keeps the order.
        self._early: list[Event] | None = []
        self._early_lock = threading.Lock()

    def post_line(self, event: Event) -> None:
        with self._early_lock:
            if self._early is not None:
                self._early.append(event)
                return
        self.post(event)

    def sink(self, stream: str) -> _Sink:
        return _Lines(self, stream) if self.iterate and stream == "stdout" else _Sink(self, stream)

    def start(self, running: Any) -> None:
        """The command is running: tell the watchdog, and wait for its end in a thread."""
        self.running = running
        # Duck-typed: the members of a Popen the process code uses (see ShPopen).
        self.popen = ShPopen(running, self.argv)  # type: ignore[assignment]
        pid = running.pid
        self.session.volatile[f"{self.name}.pid"] = str(pid)
        self.session.guard_child(pid)  # it leads a session of its own (_new_session)
        self.post(Event(self.name, "start", pid=pid, command=self.command))
        with self._early_lock:
            early, self._early = self._early or [], None
            for event in early:
                self.post(event)
        self.thread.start()

    def _wait(self) -> None:
        """RunningCommand.wait, as a sh user calls it: it reaps the child and returns once
        sh's threads have read all of its output; then the exit is told."""
        background_thread()
        import sh

        try:
            self.running.wait()
        except sh.TimeoutException:
            self.raised = "TimeoutException"
        except sh.ErrorReturnCode as exc:
            self.raised = type(exc).__name__
        except Exception as exc:  # a bug of ours or sh's: say so rather than die silently
            self.post(Event(self.name, "error", thread="sh's wait",
                            reason=f"{type(exc).__name__}: {exc}"))  # fmt: skip
        rc = self.popen.returncode
        self.mark_eof("stdout")
        self.mark_eof("stderr")
        if rc is None:
            return
        self.exited_at = time.time()
        self.exit_reported = True
        self.post(Event(self.name, "exit", rc=rc, pid=self.pid, exception=self.raised or None))

    @property
    def obj(self) -> Any:
        return self.running

    # -- what wait and poll call and say (sh's calls, not a Popen's) ------------------------

    WAIT_CALL = "RunningCommand.wait"

    def exit_text(self) -> str:
        """What `wait NAME` says of the job's end: as its exit event says it, sh's
        exception named ("exited with status 2 (ErrorReturnCode_2)"). The event, if it is
        still waiting to be shown, is withdrawn: the wait says the same, once."""
        rc = self.returncode
        assert rc is not None
        session = self.session
        with session.cond:
            for event in [e for e in session.pending
                          if e.source == self.name and e.kind == "exit"]:  # fmt: skip
                session.pending.remove(event)
        return describe_status(rc) + (f" ({self.raised})" if self.raised else "")

    def poll_recorded(self, ctx: Invocation) -> int | None:
        """`poll NAME` as a sh user polls: RunningCommand.is_alive() (recorded, for
        explain), then the exit code once it says the command has ended and the job's
        thread has told it."""
        alive = bool(self.running.is_alive())
        ctx.record("RunningCommand.is_alive", "", alive, on=self.running)
        if alive or not self.exit_reported:
            return None
        return self.popen.returncode

    # -- what differs from a spawned child ------------------------------------------------

    def read(
        self,
        stream: str,
        *,
        mode: str,
        until: bytes = b"",
        pattern: re.Pattern[bytes] | None = None,
        timeout: float,
    ) -> ReadResult:
        if self.iterate and stream == "stdout":
            raise PslError(f"{self.name}: its stdout is shown line by line as it comes "
                           f"(--iter), not kept to read; `log {self.name}` has it")  # fmt: skip
        return super().read(stream, mode=mode, until=until, pattern=pattern, timeout=timeout)

    def write(self, data: bytes, *, timeout: float) -> int:
        raise PslError(f"{self.name}: an sh command's input is what --in gave it as it started "
                       "(sh's _in), then EOF; write is for spawn's children")  # fmt: skip

    def close_stdin(self) -> None:
        raise PslError(f"{self.name}: sh closed its stdin once --in's bytes were written "
                       "(or at once, without --in)")  # fmt: skip

    def _stdin_text(self) -> str:
        if self.given is None:
            return "none: sh closed it at once (--in DATA gives some)"
        return f"{self.given} bytes from --in (sh's _in), then EOF"

    def info(self) -> list[tuple[str, Cell]]:
        shown: list[tuple[str, Cell]] = []
        for key, value in super().info():
            if key == "stdout" and self.iterate:
                value = "shown line by line as it came (--iter), not kept"
            shown.append((key, value))
            if key == "argv":
                shown.append(("sh call", self.call_text))
            elif key == "status" and self.raised:
                shown.append(("sh raised", self.raised))
        return shown

    def close(self) -> str:
        """TERM the job's process group, KILL it after the grace period; sh reaps it."""
        if self.closed:
            return "already closed"
        outcome = self.end_child()
        self.thread.join(timeout=THREADS_GRACE)
        self.closed = True
        self.post(Event(self.name, "close", outcome=outcome))
        return outcome
