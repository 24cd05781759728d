"""Where a spawned child's stdin, stdout and stderr go: pipes, /dev/null, files, another
child's stdout (a pipeline), a pseudo-terminal; and the sockets it is passed."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pslrepl.errors import PslError

if TYPE_CHECKING:
    from pslrepl.resources.process import Process


STREAMS = ("stdin", "stdout", "stderr")


@dataclass
class Stdio:
    """Popen's stdin, stdout and stderr arguments, what each is in words (for info and
    ps), and in Python (for explain); the descriptors the shell opened for them, closed
    once the child has its own copies."""

    stdin: Any = subprocess.PIPE
    stdout: Any = subprocess.PIPE
    stderr: Any = subprocess.PIPE
    said: dict[str, str] = field(default_factory=lambda: dict.fromkeys(STREAMS, "pipe"))
    python: dict[str, str] = field(
        default_factory=lambda: dict.fromkeys(STREAMS, "subprocess.PIPE")
    )
    opened: list[int] = field(default_factory=list)
    feeder: Process | None = None  # the child whose stdout is this one's stdin
    pass_fds: tuple[int, ...] = ()
    env: dict[str, str] = field(default_factory=dict)  # PSL_FD=N for the passed sockets
    pty: tuple[int, int] | None = None  # (master, slave) for spawn --pty
    hold: bool = False  # --stdout pipe: the shell does not read the child's stdout
    terminal: str = ""  # the terminal in words: "/dev/pts/3, 80x24"
    extras: list[tuple[str, str]] = field(default_factory=list)  # info's further lines

    def close_opened(self) -> None:
        for fd in self.opened:
            try:
                os.close(fd)
            except OSError:
                pass
        self.opened.clear()


def open_input(stdio: Stdio, path: str) -> None:
    """--stdin FILE: the file opened for reading (a directory refused: the child would
    read EISDIR)."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        raise PslError(f"spawn: --stdin {path!r}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        os.close(fd)
        raise PslError(f"spawn: --stdin {path!r} is a directory; give a file")
    os.set_blocking(fd, True)  # opened without waiting (a FIFO), read by a child that may
    stdio.opened.append(fd)
    stdio.stdin = fd
    stdio.said["stdin"] = f"file {path}"
    stdio.python["stdin"] = f"open({path!r}, 'rb')"


def open_output(stdio: Stdio, stream: str, path: str) -> None:
    """--stdout FILE or --stderr FILE: created (or truncated) 0600, never written through
    a symbolic link planted at its path, nor into someone else's file."""
    from pslrepl.environment import open_private

    folder, name = os.path.split(os.path.abspath(path))
    try:
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise PslError(f"spawn: --{stream} {path!r}: {folder!r}: {exc.strerror or exc}") from None
    try:
        fd = open_private(dir_fd, name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    except OSError as exc:
        raise PslError(f"spawn: --{stream} {path!r}: {exc.strerror or exc}") from None
    finally:
        os.close(dir_fd)
    stdio.opened.append(fd)
    setattr(stdio, stream, fd)
    stdio.said[stream] = f"file {path}"
    stdio.python[stream] = f"open({path!r}, 'wb')"


def held_pipe(stdio: Stdio) -> None:
    """--stdout pipe: a pipe the shell leaves alone, for a later spawn --stdin NAME (the
    docs' p1 = Popen(..., stdout=PIPE), its parent never reading it): a pipe the shell
    drains may be read before the other child takes it."""
    stdio.said["stdout"] = HELD
    stdio.hold = True


HELD = "a pipe kept for `spawn ... --stdin NAME` (--stdout pipe): the shell does not read it"


def devnull(stdio: Stdio, stream: str) -> None:
    setattr(stdio, stream, subprocess.DEVNULL)
    stdio.said[stream] = "/dev/null"
    stdio.python[stream] = "subprocess.DEVNULL"


def merge_stderr(stdio: Stdio) -> None:
    stdio.stderr = subprocess.STDOUT
    stdio.said["stderr"] = "stdout"
    stdio.python["stderr"] = "subprocess.STDOUT"


def fed_by(stdio: Stdio, feeder: Process) -> None:
    """--stdin CHILD: the other child's stdout becomes this one's stdin (Popen(...,
    stdin=a.stdout)), as the docs build a pipeline."""
    why = _cannot_feed(feeder)
    if why:
        raise PslError(f"spawn: --stdin {feeder.name}: {why}")
    stdio.feeder = feeder
    stdio.stdin = feeder.held or feeder.popen.stdout
    stdio.said["stdin"] = f"{feeder.name}'s stdout (a pipeline)"
    stdio.python["stdin"] = f"{feeder.name}.stdout"


def _cannot_feed(feeder: Process) -> str:
    if feeder.kind != "process":
        return "an sh command's output is read by sh's own threads; spawn both children"
    if feeder.closed:
        return "it is closed"
    if feeder.terminal:
        return "its output is a terminal (--pty), not a pipe to hand over"
    if feeder.held is not None:
        return ""
    if feeder.stdout_to != "pipe" or feeder.popen.stdout is None:
        return f"its stdout goes to {feeder.stdout_to}, not to a pipe to hand over"
    return ""


def pass_sockets(stdio: Stdio, resources: list[Any]) -> None:
    """--pass SOCKET: the socket's descriptor kept open in the child at the same number
    (pass_fds), told in PSL_FD, or PSL_FD_<NAME> for each of several."""
    fds = []
    for res in resources:
        sock = getattr(res, "sock", None)
        if res.kind == "file":
            raise PslError(f"spawn: --pass {res.name}: a file object's buffer lives in "
                           "this process, and a child would get only the descriptor under "
                           "it; pass the socket it was made from")  # fmt: skip
        if res.kind == "tls" or getattr(res, "tls", False):
            raise PslError(f"spawn: --pass {res.name}: a TLS socket's keys and sequence "
                           "numbers live in this process's OpenSSL; the child would get only "
                           "the encrypted bytes under it (pass a plain socket)")  # fmt: skip
        if sock is None or sock.fileno() < 0:
            raise PslError(f"spawn: --pass {res.name}: it is a {res.kind}, not an open socket "
                           "(--pass takes a socket's NAME)")  # fmt: skip
        fds.append((res.name, sock.fileno()))
    stdio.pass_fds = tuple(fd for _, fd in fds)
    if len(fds) == 1:
        stdio.env["PSL_FD"] = str(fds[0][1])
    else:
        for name, fd in fds:
            stdio.env[f"PSL_FD_{env_name(name)}"] = str(fd)


def env_name(name: str) -> str:
    """A resource's name as an environment variable's part: upper case, - as _."""
    return "".join(c if c.isalnum() else "_" for c in name).upper()


def hand_over(feeder: Process, to: str) -> None:
    """After Popen: the shell closes its copy of the feeder's stdout (so the writer gets
    SIGPIPE once the reader is gone, as in a shell pipeline) and stops reading it; what
    it read before stays readable, then EOF."""
    pipe = feeder.held or feeder.popen.stdout
    feeder.popen.stdout = feeder.held = None
    if pipe is not None:
        pipe.close()
    feeder.stdout_to = f"{to}'s stdin (a pipeline)"
    with feeder.session.cond:
        feeder.stdout.eof = True
        feeder.session.cond.notify_all()
