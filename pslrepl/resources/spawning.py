"""spawn: a child started with pipes (or as told) in a session of its own, kept as a Process."""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING

from pslrepl.errors import PslError
from pslrepl.resources.commandline import command_text, exec_failure
from pslrepl.resources.plumbing import Stdio, hand_over
from pslrepl.resources.process import Process

if TYPE_CHECKING:
    from collections.abc import Callable

    from pslrepl.session import Session


def spawn(
    session: Session,
    name: str,
    args: list[str] | str,
    *,
    shell: bool = False,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
    merge_stderr: bool = False,
    ignore: tuple[int, ...] = (),
    stdio: Stdio | None = None,
    text: bool = False,
    bufsize: int = 0,
) -> Process:
    """``subprocess.Popen`` with pipes, in its own session so Ctrl-C at the prompt spares it;
    the signals in ``ignore`` set to SIG_IGN in the child before it execs (a disposition
    that survives exec, as nohup does it: a handler would not). ``stdio`` says where its
    streams go otherwise (files, /dev/null, another child's stdout, a pseudo-terminal)."""
    from pslrepl.resources.plumbing import merge_stderr as merge

    stdio = stdio or Stdio()
    if merge_stderr:
        merge(stdio)
    command = command_text(args)
    if stdio.env:
        env = {**(os.environ if env is None else env), **stdio.env}
    feeder = stdio.feeder
    if feeder is not None:
        feeder.pause_drain()  # its thread must not read the pipe the new child will
    popen = None
    try:
        popen = subprocess.Popen(
            args,
            stdin=stdio.stdin,
            stdout=stdio.stdout,
            stderr=stdio.stderr,
            bufsize=bufsize,
            text=text,
            shell=shell,
            cwd=cwd,
            env=env,
            start_new_session=True,
            pass_fds=stdio.pass_fds,
            preexec_fn=_preexec(ignore, pty=stdio.pty is not None),
        )
    except OSError as exc:
        raise PslError(exec_failure(args, exc, cwd=cwd)) from None
    finally:
        stdio.close_opened()  # the child has its own copies now (or there is no child)
        if feeder is not None:
            if popen is not None:
                hand_over(feeder, name)
            feeder.resume_drain()
        if popen is None and stdio.pty is not None:
            os.close(stdio.pty[0])
    if stdio.pty is not None:
        _on_terminal(popen, stdio.pty[0])
    return Process(session, name, popen, command=command, merged=stdio.stderr == subprocess.STDOUT,
                   stdio=stdio)  # fmt: skip


def _on_terminal(popen: subprocess.Popen[bytes], master: int) -> None:
    """The shell's side of the terminal as the Popen's stdout (what the drain thread
    reads: the child's output and the terminal's echo) and stdin (what write writes)."""
    popen.stdout = os.fdopen(master, "rb", buffering=0)
    popen.stdin = os.fdopen(os.dup(master), "wb", buffering=0)


def _preexec(signums: tuple[int, ...], *, pty: bool) -> Callable[[], None] | None:
    """A preexec_fn, or None when none is needed: it runs in the child between fork and
    exec (Popen has no other way to set a disposition or a controlling terminal there)."""
    if not signums and not pty:
        return None
    import signal

    from pslrepl.ptys import take_terminal

    def prepare() -> None:
        for signum in signums:
            signal.signal(signum, signal.SIG_IGN)
        if pty:
            take_terminal()

    return prepare
