"""subprocess.call, check_call and check_output: a child run to its end, what they return shown."""

from __future__ import annotations

from pslrepl.callrecord import py_repr
from pslrepl.commands.groups import PROCESSES
from pslrepl.commands.options import SHOW_HEX, SHOW_REPR, TIMEOUT
from pslrepl.commands.process_common import show_dropped, show_output
from pslrepl.commands.processes import CWD, ENV, SHELL, argv_of, env_of
from pslrepl.commandspec import Commands, Opt
from pslrepl.errors import PslError, Timeout, UsageError
from pslrepl.kinds import Choice
from pslrepl.render import plural
from pslrepl.results import Output, Styled

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import Invocation

COMMANDS = Commands(PROCESSES)

INPUT = Opt("--input", "send DATA to its stdin, then EOF (check_output only)", "DATA")
STDERR_TO = Opt(
    "--stderr",
    "where its stderr goes: stdout (STDOUT), devnull (DEVNULL) or pipe (PIPE: "
    "check_output only, kept on the error)",
    "WHERE",
    kind=Choice(("stdout", "devnull", "pipe")),
)
TEXT = Opt("--text", "decode the output as text (text=True: check_output returns a str)")
OPTS = (SHELL, TIMEOUT, INPUT, STDERR_TO, TEXT, CWD, ENV)
STDERR_NAMES = {"stdout": "STDOUT", "devnull": "DEVNULL", "pipe": "PIPE"}


def _call_text(ctx: Invocation, args: list[str] | str) -> str:
    """The call's arguments as Python, as the user's options spell them."""
    parts = [repr(args)]
    if ctx["input"] is not None:
        parts.append(f"input={py_repr(ctx.data('input', required=False))}")
    else:
        parts.append("stdin=subprocess.DEVNULL")  # never the shell's terminal
    if ctx["stderr"]:
        parts.append(f"stderr=subprocess.{STDERR_NAMES[ctx['stderr']]}")
    if ctx["text"]:
        parts.append("text=True")
    if ctx["shell"]:
        parts.append("shell=True")
    if ctx["cwd"]:
        parts.append(f"cwd={ctx['cwd']!r}")
    pairs = [p.partition("=") for p in ctx["env"] or []]
    if pairs:
        parts.append("env={**os.environ, " + ", ".join(f"{k!r}: {v!r}" for k, _, v in pairs) + "}")
    parts.append(f"timeout={ctx.timeout:g}")
    return ", ".join([*parts, "start_new_session=True"])


def _refuse(ctx: Invocation) -> None:
    """The options call and check_call can't take, each with the reason."""
    who = ctx.command.name
    if who == "check_output":
        return
    if ctx["input"] is not None:
        raise UsageError(f"{who}: --input is check_output's: {who} passes its keywords "
                         "to Popen, which has no input (spawn, then communicate, sends "
                         "some)")  # fmt: skip
    if ctx["stderr"] == "pipe":
        raise UsageError(f"{who}: --stderr pipe: nobody would read that pipe, and a child "
                         "that fills it blocks (the docs warn against it); use check_output "
                         "--stderr pipe")  # fmt: skip
    if ctx["text"]:
        raise UsageError(f"{who}: --text changes only what check_output returns; {who} "
                         "returns the status, a number")  # fmt: skip


def _run_to_end(ctx: Invocation) -> tuple[int, bytes, bytes]:
    """Start the child, feed and drain it within the timeout; (status, stdout, stderr).
    Timeouts and missing programs raise as the stdlib's exceptions are named."""
    import subprocess

    from pslrepl.resources.process import exec_failure, run_bounded

    who = ctx.command.name
    _refuse(ctx)
    args = argv_of(ctx)
    data = ctx.data("input", required=False) if ctx["input"] is not None else None
    where = ctx["stderr"]
    stderr = {"stdout": subprocess.STDOUT, "devnull": subprocess.DEVNULL}.get(
        where, subprocess.PIPE
    )
    call = _call_text(ctx, args)
    try:
        popen = subprocess.Popen(
            args, stdin=subprocess.DEVNULL if data is None else subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=stderr, shell=bool(ctx["shell"]),
            cwd=ctx["cwd"], env=env_of(ctx), start_new_session=True,
        )  # fmt: skip
    except OSError as exc:
        ctx.record(f"subprocess.{who}", call, f"raised {type(exc).__name__}")
        raise PslError(f"{who}: {exec_failure(args, exc, cwd=ctx['cwd'])}") from None
    ctx.session.guard_child(popen.pid)  # what it leaves running ends with the shell
    done = run_bounded(popen, data, timeout=ctx.timeout)
    out, err = bytes(done.stdout.data), bytes(done.stderr.data)
    if done.timed_out:
        ctx.record(f"subprocess.{who}", call, "raised TimeoutExpired")
        show_output(ctx, out, err)
        expired = subprocess.TimeoutExpired(args, ctx.timeout)
        raise Timeout(f"{who}: TimeoutExpired: {expired}; the child was killed (SIGKILL to its "
                      "process group) and reaped; --timeout S waits longer")  # fmt: skip
    show_dropped(ctx, who, {s: (b.dropped, b.total, b.cap) for s, b in
                             (("stdout", done.stdout), ("stderr", done.stderr))})  # fmt: skip
    rc = done.returncode
    assert rc is not None
    return rc, out, err


def _failed(ctx: Invocation, rc: int, args: list[str] | str, output: bytes, err: bytes) -> None:
    """CalledProcessError as the stdlib says it, with what it holds."""
    import subprocess

    who = ctx.command.name
    exc = subprocess.CalledProcessError(rc, args)
    held = ""
    if who == "check_output":
        held = f"; its output: {plural(len(output), 'byte')}"
        if ctx["stderr"] == "pipe":
            held += f", its stderr: {plural(len(err), 'byte')}"
        if output or err:
            held += " (shown above)"
    raise PslError(f"{who}: CalledProcessError: {exc} (returncode {rc}){held}")


@COMMANDS.command(
    "call",
    "run a program to its end and show the status subprocess.call returns",
    rest=True,
    opts=OPTS,
    calls=("subprocess.call",),
    examples=(
        "call -- true",
        "call --shell -- 'exit 3'",
        "call --stderr devnull -- ls /nonexistent",
    ),
    details="call returns the status and raises nothing for a non-zero one: a status is "
    "an answer, not an error (check_call makes it one). The child's output, which call "
    "leaves on the terminal, is read through pipes and shown here (the newest 1 MiB of "
    "each stream). A negative status is a signal's number: -9 is SIGKILL. On --timeout "
    "the child is killed and reaped, and TimeoutExpired raised, as call does it.",
)
def _call(ctx: Invocation) -> None:
    rc, out, err = _run_to_end(ctx)
    ctx.record("subprocess.call", _call_text(ctx, argv_of(ctx)), rc)
    show_output(ctx, out, err)
    _returned(ctx, rc)


def _returned(ctx: Invocation, rc: int) -> None:
    from pslrepl.signals_table import describe_status

    style = "ok" if rc == 0 else "state.failed"
    ctx.emit(Styled((("notice", f"{ctx.command.name} returned "),
                     (style, f"{rc} ({describe_status(rc)})"))))  # fmt: skip


@COMMANDS.command(
    "check_call",
    "run a program to its end; a non-zero status raises CalledProcessError",
    rest=True,
    opts=OPTS,
    calls=("subprocess.check_call",),
    examples=("check_call -- true", "check_call --shell -- 'echo done'"),
    details="As call, but a non-zero status raises CalledProcessError, its returncode "
    "said; on success it returns 0. Its output is read through pipes and shown here.",
)
def _check_call(ctx: Invocation) -> None:
    rc, out, err = _run_to_end(ctx)
    args = argv_of(ctx)
    show_output(ctx, out, err)
    if rc != 0:
        ctx.record("subprocess.check_call", _call_text(ctx, args), "raised CalledProcessError")
        _failed(ctx, rc, args, out, err)
    ctx.record("subprocess.check_call", _call_text(ctx, args), rc)
    _returned(ctx, rc)


@COMMANDS.command(
    "check_output",
    "run a program to its end and show the output check_output returns",
    rest=True,
    opts=(*OPTS, SHOW_HEX, SHOW_REPR),
    calls=("subprocess.check_output",),
    examples=(
        "check_output -- echo hello",
        "check_output --input 'b\\na\\n' -- sort",
        "check_output --text --stderr stdout -- sh -c 'echo out; echo err >&2'",
    ),
    details="It returns the child's stdout (bytes, or a str with --text) and raises "
    "CalledProcessError on a non-zero status, with the output it had (exc.output, shown "
    "before the error). Its stderr goes to the terminal unless --stderr says otherwise "
    "(here it is shown apart): stdout merges it into the output, devnull drops it, pipe "
    "keeps it on the error (exc.stderr). The newest 1 MiB is kept.",
)
def _check_output(ctx: Invocation) -> None:
    rc, out, err = _run_to_end(ctx)
    args = argv_of(ctx)
    # PIPE keeps stderr for the error only (exc.stderr); the other ways have none here
    # but what a plain check_output leaves on the terminal, shown apart.
    shown_err = err if ctx["stderr"] != "pipe" or rc != 0 else b""
    if out:
        ctx.emit(Output(out, "stdout", mode=ctx.display()))
    if shown_err:
        ctx.emit(Output(shown_err, "stderr", mode=ctx.display()))
    if rc != 0:
        ctx.record("subprocess.check_output", _call_text(ctx, args), "raised CalledProcessError")
        _failed(ctx, rc, args, out, err)
    value: bytes | str = out
    if ctx["text"]:
        # text=True decodes with the locale's encoding and universal newlines, as
        # TextIOWrapper does: CRLF and CR become LF.
        encoding = ctx.session.settings.encoding
        try:
            value = out.decode(encoding)
        except UnicodeDecodeError as exc:  # as text=True raises it, strict
            ctx.record("subprocess.check_output", _call_text(ctx, args),
                       "raised UnicodeDecodeError")  # fmt: skip
            raise PslError(f"check_output: UnicodeDecodeError: {exc} (text=True decodes "
                           f"the output as {encoding}); without --text it returns the "
                           "bytes") from None  # fmt: skip
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    ctx.record("subprocess.check_output", _call_text(ctx, args), value)
    what = f"str of {plural(len(value), 'character')}" if ctx["text"] else (
        f"{plural(len(value), 'byte')}")  # fmt: skip
    ctx.emit(Styled((("notice", f"(check_output returned {what})"),)))
