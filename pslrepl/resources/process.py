"""A child process kept under a name: Popen with pipes drained by one thread per child."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import threading
import time
from typing import TYPE_CHECKING, Any

from pslrepl.errors import PslError, Timeout, describe_oserror
from pslrepl.events import Event
from pslrepl.render import clock, plural
from pslrepl.resources.base import Resource
from pslrepl.resources.buffers import DEFAULT_CAP, ReadResult, StreamBuffer, read_buffer
from pslrepl.signals_table import background_thread, describe_status, short_status, signal_label

if TYPE_CHECKING:
    import re

    from pslrepl.results import Cell
    from pslrepl.session import Session

CHUNK = 65536


class Process(Resource):
    """A ``subprocess.Popen`` with stdin, stdout and stderr as pipes, watched by a thread.

    The thread drains stdout and stderr into bounded buffers (so a chatty child never
    blocks on a full pipe, as pexpect does it) and notices the exit through a pidfd
    (Linux 5.3+, Python 3.9+) or, failing that, by polling.
    """

    kind = "process"
    wait_events = ("exit", "data", "eof")

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

    # -- the drain thread -------------------------------------------------------------

    def _pump(self) -> None:
        background_thread()
        sel = selectors.DefaultSelector()
        try:
            self._pump_loop(sel)
        except Exception as exc:  # a bug of ours: say so rather than die silently
            self.post(Event(self.name, "note", f"drain thread failed: {type(exc).__name__}: {exc}"))
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
        buf = self.stdout if stream == "stdout" else self.stderr
        if not chunk:
            sel.unregister(fd)
            # No event: which of stdout and stderr reads EOF first is a race (it depends
            # on how data and EOF fall into reads), and a log must replay the same way
            # every time. `read` reports EOF; `wait NAME eof` waits for it.
            with self.session.cond:
                buf.eof = True
                self.session.cond.notify_all()
            return 0
        with self.session.cond:
            dropped = buf.feed(chunk)
            self.bytes_in += len(chunk)
            # Said once each time the buffer fills: again only after a read made room.
            report_drop = dropped and buf.dropped_unread == dropped
        self.post(Event.traffic(self.name, "data", stream, "in", chunk))
        if report_drop:
            self.post(
                Event(
                    self.name,
                    "dropped",
                    f"{stream} buffer full ({plural(buf.cap, 'byte')}): dropping the oldest "
                    "unread output; read it to keep up",
                    stream=stream,
                )
            )
        return len(chunk)

    def _note_exit(self) -> bool:
        returncode = self.popen.poll()
        if returncode is None:
            return False  # another thread holds Popen's waitpid lock; poll again later
        self.exited_at = time.time()
        self.exit_reported = True
        self.post(Event(self.name, "exit", describe_status(returncode), fields={"rc": returncode}))
        return True

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    # -- what the commands call -------------------------------------------------------

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode if self.exit_reported else None

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def obj(self) -> Any:
        return self.popen

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
            raise PslError(
                f"{self.name} has already ended ({describe_status(rc)}); there is nobody to signal"
            )
        self.popen.send_signal(signum)
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
            ("stdin", "closed" if self.stdin_closed else "open (pipe)"),
            ("stdout", self._describe(self.stdout)),
            ("stderr", "merged into stdout" if self.merged else self._describe(self.stderr)),
            ("thread", self.thread.name),
        ]
        return pairs

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
        outcome = "closed"
        if self.popen.poll() is None:
            outcome = self._stop_child()
        else:
            outcome = f"closed ({describe_status(self.popen.returncode)})"
        left = self._end_leftovers()
        if left:
            outcome += f"; ended {left} process{'es' if left != 1 else ''} it left running"
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

    def _signal_group(self, signum: int) -> None:
        # The child leads its own session (start_new_session), so its group holds
        # whatever it started too: a shell pipeline's members die with it.
        try:
            os.killpg(self.pid, signum)
        except (ProcessLookupError, PermissionError):
            try:
                self.popen.send_signal(signum)
            except ProcessLookupError:
                pass

    def _end_leftovers(self) -> int:
        """What the child started and left in its session (`sleep 600 &` after the shell
        that ran it ended, or one that ignores TERM): TERM, then KILL after the grace
        period. How many there were."""
        from pslrepl.watchdog import session_members

        left = session_members(self.pid)
        if not left:
            return 0
        for signum in (signal.SIGTERM, signal.SIGKILL):
            for pid in session_members(self.pid):
                try:
                    os.kill(pid, signum)
                except OSError:
                    pass
            deadline = time.monotonic() + self.session.settings.grace
            while session_members(self.pid) and time.monotonic() < deadline:
                time.sleep(0.02)  # not our children: nothing to wait on but their going
            if not session_members(self.pid):
                break
        return len(left)

    def _stop_child(self) -> str:
        grace = self.session.settings.grace
        self._signal_group(signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace)
            return f"terminated: {describe_status(self.popen.returncode)}"
        except subprocess.TimeoutExpired:
            pass
        self._signal_group(signal.SIGKILL)
        try:
            self.popen.wait(timeout=5.0)
        except subprocess.TimeoutExpired as exc:
            raise PslError(f"{self.name}: pid {self.pid} survived SIGKILL") from exc
        return f"killed after {grace:g} s grace: {describe_status(self.popen.returncode)}"


def spawn(
    session: Session,
    name: str,
    args: list[str] | str,
    *,
    shell: bool = False,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
    merge_stderr: bool = False,
) -> Process:
    """``subprocess.Popen`` with pipes, in its own session so Ctrl-C at the prompt spares it."""
    command = command_text(args)
    try:
        popen = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
            bufsize=0,
            shell=shell,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        raise PslError(exec_failure(args, exc, cwd=cwd)) from None
    return Process(session, name, popen, command=command, merged=merge_stderr)


def exec_failure(args: list[str] | str, exc: OSError, *, cwd: str | None) -> str:
    """Why Popen could not start a program, in words: a missing --cwd directory, a
    missing program, a directory or a file without execute permission, not a program."""
    import errno

    prog = "/bin/sh" if isinstance(args, str) else args[0]
    if exc.errno == errno.ENOENT:
        if cwd and not os.path.isdir(cwd):
            return f"no such directory {cwd!r} for --cwd"
        import shutil

        found = os.path.join(cwd or "", prog) if "/" in prog else shutil.which(prog)
        if found and os.path.isfile(found):  # there, but exec said ENOENT: its #! line
            return f"{prog!r} names an interpreter in its #! line that isn't there (ENOENT)"
        return f"no such program {prog!r} (ENOENT): check the name or give a path"
    if exc.errno == errno.EACCES:
        if os.path.isdir(prog):
            return f"{prog!r} is a directory, not a program (EACCES)"
        return (
            f"{prog!r} can't be executed: no execute permission (EACCES); chmod +x it, "
            "or give it to its interpreter"
        )
    if exc.errno == errno.ENOEXEC:
        return f"{prog!r} is not a program this system can run (ENOEXEC): a script needs a #! line"
    return f"can't run {command_text(args)!r}: {describe_oserror(exc)}"


# What shlex.quote leaves bare; anything else is quoted.
_BARE = re.compile(r"[\w@%+=:,./-]+", re.ASCII)
# Control characters, shown escaped so a command stays on one line (a table row) and
# can't drive the terminal.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}
_CONTROL.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})


def quote_word(word: str) -> str:
    """One word as a user would type it: bare, in single quotes, or in double quotes
    when it holds a single quote (shlex.quote's '"'"' reads badly). Both this shell's
    parser and /bin/sh read it back as the same word, control characters aside."""
    if _BARE.fullmatch(word):
        return word
    if "'" not in word:
        return f"'{word}'".translate(_CONTROL)
    return ('"' + re.sub(r'(["\\$`])', r"\\\1", word) + '"').translate(_CONTROL)


def command_text(args: list[str] | str) -> str:
    """A command as spawn, ps, ls and info show it: the argv quoted as typed, or the
    --shell string as given; on one line."""
    if isinstance(args, str):
        return args.translate(_CONTROL)
    return " ".join(quote_word(w) for w in args)


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
            _kill_group(popen)
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


def _kill_group(popen: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the child's process group (its pipeline too), else to the child."""
    try:
        os.killpg(popen.pid, signal.SIGKILL)
    except OSError:
        try:
            popen.kill()
        except OSError:
            pass
