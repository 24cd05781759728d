"""The `sh` command: a program run through the third-party `sh` library."""

from __future__ import annotations

from pslrepl.commands.options import TIMEOUT
from pslrepl.commandspec import Command
from pslrepl.errors import PslError, Timeout, UsageError
from pslrepl.results import Output, Styled
from pslrepl.signals_table import describe_status

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.invocation import Invocation


def _sh(ctx: Invocation) -> None:
    if not ctx.argv:
        raise UsageError("sh: give a program, like: sh ls -l")
    import sh  # imported here: it is slow to load and only this command needs it

    program, *args = ctx.argv
    command: Any
    try:
        command = sh.Command(program)
        ctx.record("sh.Command", repr(program), command)
    except sh.CommandNotFound:
        raise PslError(f"sh: no such program {program!r} (sh.CommandNotFound)") from None
    result: Any
    try:
        result = ctx.call(f"sh.{program}", command, *args, _return_cmd=True, _timeout=ctx.timeout)
    except sh.TimeoutException:
        raise Timeout(
            f"sh: timeout after {ctx.timeout:g} s; {program} was killed (sh.TimeoutException)"
        ) from None
    except sh.ErrorReturnCode as exc:
        _show(ctx, exc.stdout, exc.stderr)
        raise PslError(
            f"sh: {program} {describe_status(exc.exit_code)} ({type(exc).__name__})"
        ) from None
    _show(ctx, result.stdout, result.stderr)
    style = "ok" if result.exit_code == 0 else "state.failed"
    ctx.emit(Styled(((style, f"exit code {result.exit_code}"),)))


def _show(ctx: Invocation, stdout: bytes | None, stderr: bytes | None) -> None:
    if stdout:
        ctx.emit(Output(stdout, "stdout"))
    if stderr:
        ctx.emit(Output(stderr, "stderr"))


COMMANDS = (
    Command(
        "sh",
        "processes",
        "run a program through the sh library and show its result",
        _sh,
        rest=True,
        rest_name="PROGRAM [ARGS]",
        opts=(TIMEOUT,),
        calls=("sh.Command", "sh.RunningCommand"),
        examples=("sh ls -l /", "sh git --version", "sh wc -c /etc/hostname"),
        details="sh raises ErrorReturnCode_N for a non-zero exit and CommandNotFound for a "
        "missing program; both are shown as errors, with what the program printed.",
    ),
)
