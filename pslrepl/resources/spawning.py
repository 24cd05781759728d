"""spawn: a child started with pipes in a session of its own, kept as a Process."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

from pslrepl.errors import PslError
from pslrepl.resources.commandline import command_text, exec_failure
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
) -> Process:
    """``subprocess.Popen`` with pipes, in its own session so Ctrl-C at the prompt spares it;
    the signals in ``ignore`` set to SIG_IGN in the child before it execs (a disposition
    that survives exec, as nohup does it: a handler would not)."""
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
            preexec_fn=_ignoring(ignore) if ignore else None,
        )
    except OSError as exc:
        raise PslError(exec_failure(args, exc, cwd=cwd)) from None
    return Process(session, name, popen, command=command, merged=merge_stderr)


def _ignoring(signums: tuple[int, ...]) -> Callable[[], None]:
    """A preexec_fn: runs in the child between fork and exec (Popen has no other way to
    set a disposition there)."""
    import signal

    def ignore() -> None:
        for signum in signums:
            signal.signal(signum, signal.SIG_IGN)

    return ignore
