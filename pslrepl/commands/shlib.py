"""The `sh` command: a program run through the third-party `sh` library."""

from __future__ import annotations

import os

from pslrepl.commands.groups import PROCESSES
from pslrepl.commands.options import TIMEOUT
from pslrepl.commandspec import Commands
from pslrepl.errors import PslError, Timeout, UsageError
from pslrepl.invocation import Shown
from pslrepl.render import plural, preview
from pslrepl.results import Output, Styled
from pslrepl.signals_table import describe_status

# sh reads a stream in reads of this size (its default, line buffering, reads 1 KiB at a
# time and its unbuffered mode a byte at a time: `sh yes` would crawl).
CHUNK = 65536

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.invocation import Invocation


class _Keep:
    """Where sh writes a stream (its ``_out``/``_err``): the newest bytes are kept, the
    older ones counted. Left to itself sh keeps every byte in memory (`sh yes`)."""

    def __init__(self) -> None:
        from pslrepl.resources.buffers import StreamBuffer

        self.buf = StreamBuffer()

    def write(self, chunk: bytes) -> None:  # sh passes bytes to a file-like with no encoding
        self.buf.feed(chunk)

    def __repr__(self) -> str:
        return f"<the newest {self.buf.cap >> 20} MiB>"


COMMANDS = Commands(PROCESSES)


@COMMANDS.command(
    "sh",
    "run a program through the sh library and show its result",
    rest=True,
    rest_name="PROGRAM [ARGS]",
    opts=(TIMEOUT,),
    calls=("sh.Command", "sh.RunningCommand"),
    examples=("sh ls -l /", "sh git --version", "sh wc -c /etc/hostname"),
    details="sh raises ErrorReturnCode_N for a non-zero exit, SignalException_SIGNAME for "
    "a signal and CommandNotFound for a missing program; each is shown as an error, with "
    "what the program printed. Output goes to _out/_err targets that keep the newest "
    "1 MiB of each stream (sh itself would keep everything).",
)
def _sh(ctx: Invocation) -> None:
    if not ctx.argv or not ctx.argv[0]:
        raise UsageError("sh: give a program, like: sh ls -l")
    import sh  # imported here: it is slow to load and only this command needs it

    program, *args = ctx.argv
    command: Any
    try:
        command = sh.Command(program)
    except sh.CommandNotFound:
        raise PslError(f"sh: {_not_found(program)} (sh.CommandNotFound)") from None
    ctx.record("sh.Command", repr(program), command)
    out, err = _Keep(), _Keep()
    # In the foreground, as sh runs a command by default: with _bg the child would
    # ignore SIGHUP. _timeout bounds it even if Ctrl-C leaves sh's wait early.
    kwargs: dict[str, Any] = dict(
        _return_cmd=True, _out=out, _err=err, _out_bufsize=CHUNK, _err_bufsize=CHUNK,
        _no_pipe=True, _timeout=ctx.timeout,
    )  # fmt: skip
    # out and err are callbacks keeping the newest 1 MiB: named so, the line stays Python.
    named = {"_out": "out", "_err": "err"}
    shown = ", ".join([*(repr(a) for a in args),
                       *(f"{k}={named.get(k) or repr(v)}" for k, v in kwargs.items())])  # fmt: skip
    death = _parent_death_signal()
    if death is not None:
        kwargs["_preexec_fn"] = death
    try:
        running = command(*args, **kwargs)
    except sh.ForkException as exc:
        ctx.record(f"sh.{program}", shown, f"raised {type(exc).__name__}")
        raise PslError(f"sh: can't run {program!r}: {_fork_reason(exc)}") from None
    except sh.TimeoutException:
        ctx.record(f"sh.{program}", shown, "raised TimeoutException")
        _show(ctx, out, err)
        got = bytes(out.buf.data[:64] + err.buf.data[:64])
        raise Timeout(
            f"sh: timeout after {ctx.timeout:g} s; {program} was killed (sh.TimeoutException); "
            f"{plural(out.buf.total + err.buf.total, 'byte')} of output"
            + (f": {preview(got)}" if got else "")
            + "; --timeout S waits longer"
        ) from None
    except sh.ErrorReturnCode as exc:
        ctx.record(f"sh.{program}", shown, f"raised {type(exc).__name__}")
        _show(ctx, out, err)
        raise PslError(
            f"sh: {program} {describe_status(exc.exit_code)} ({type(exc).__name__})"
        ) from None
    exit_code = running.exit_code
    ctx.record(f"sh.{program}", shown, Shown(f"<RunningCommand: exit_code={exit_code}>"))
    _show(ctx, out, err)
    style = "ok" if exit_code == 0 else "state.failed"
    ctx.emit(Styled(((style, describe_status(exit_code)),)))


def _show(ctx: Invocation, *streams: _Keep) -> None:
    for name, keep in zip(("stdout", "stderr"), streams, strict=True):
        if keep.buf.data:
            ctx.emit(Output(bytes(keep.buf.data), name))
    for name, keep in zip(("stdout", "stderr"), streams, strict=True):
        buf = keep.buf
        if buf.dropped:
            ctx.say(
                f"warning: {name}: {plural(buf.dropped, 'byte')} dropped: the oldest output; "
                f"sh keeps 1 MiB per stream here ({plural(buf.total, 'byte')} in all)",
                "warning",
            )


def _not_found(program: str) -> str:
    """Why sh.Command refused: sh says CommandNotFound for a directory or a file that
    can't be executed as much as for a missing one; say which it is."""
    if "/" in program:
        candidates = [program]
    else:
        path = os.environ.get("PATH", os.defpath).split(os.pathsep)
        candidates = [os.path.join(d or ".", program) for d in path]
    for candidate in candidates:
        if os.path.isdir(candidate):
            if candidate == program:
                return f"{program!r} is a directory, not a program"
            continue  # a directory named like it on PATH doesn't stop the search
        if os.path.exists(candidate) and not os.access(candidate, os.X_OK):
            return (
                f"{candidate!r} can't be executed: no execute permission (EACCES); "
                f"chmod +x it, or give it to its interpreter"
            )
    if "/" in program:
        return f"no such program {program!r}: check the path"
    return f"no such program {program!r} on PATH: check the name or give a path"


def _fork_reason(exc: Exception) -> str:
    """sh's ForkException carries the child's traceback as text; its last OSError line
    (FileNotFoundError, PermissionError...) says why exec failed: ENOEXEC for a file
    with no #! line, ENOENT for a #! interpreter that isn't there."""
    import errno
    import re

    found = re.findall(r"\w*Error: \[Errno (\d+)\] ([^\n]*)", str(exc))
    if not found:
        return "the child failed before it could exec (sh.ForkException)"
    code, reason = int(found[-1][0]), found[-1][1].strip()
    name = errno.errorcode.get(code, str(code))
    hint = {
        errno.ENOEXEC: ": it is not a program this system can run (a script needs a #! line)",
        errno.ENOENT: ": its #! line names an interpreter that isn't there",
        errno.EACCES: ": no permission to execute it",
    }.get(code, "")
    return f"{reason} ({name}){hint} (sh.ForkException)"


def _parent_death_signal() -> Any:
    """A preexec function asking Linux to KILL the child if the shell dies before it
    (prctl PR_SET_PDEATHSIG): sh's child stays in the shell's own process group, where
    the watchdog doesn't look. None where there is no prctl."""
    import ctypes
    import signal

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def die_with_the_shell() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)

    return die_with_the_shell
