"""Process commands: subprocess.run and Popen kept under a name, their pipes, and sudo."""

from __future__ import annotations

import os
import signal

from pslrepl.commands.options import FILE_IN, HEX_IN, SHOW_HEX, SHOW_REPR, TIMEOUT
from pslrepl.commandspec import Arg, Command, Opt
from pslrepl.errors import PslError, Timeout, UsageError
from pslrepl.render import plural, preview
from pslrepl.results import Output, Styled, Table, Text
from pslrepl.signals_table import describe_status, parse_signal, signal_label

# subprocess and the Process resource are imported inside the handlers that use
# them: loading the command table must stay cheap (`pslrepl -c 'echo hi'`).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.resources.process import Process

PROC = ("process",)
SHELL = Opt("--shell", "run ARGV as one command line through /bin/sh (shell=True)")
CWD = Opt("--cwd", "working directory for the child", "DIR", kind="file")
ENV = Opt("--env", "set an environment variable for the child", "K=V", repeat=True)
STDERR = Opt("--stderr", "read the child's stderr instead of stdout")


def _argv(ctx: Invocation) -> list[str] | str:
    argv = ctx.argv
    if not argv:
        raise UsageError(
            f"{ctx.command.name}: give the program to run, after --; usage: {ctx.command.usage()}"
        )
    if ctx.values.get("shell"):
        return " ".join(argv)
    return argv


def _env(ctx: Invocation) -> dict[str, str] | None:
    pairs = ctx.values.get("env") or []
    if not pairs:
        return None
    env = dict(os.environ)
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise UsageError(f"{ctx.command.name}: --env takes K=V, not {pair!r}")
        env[key] = value
    return env


def _status(ctx: Invocation, name: str, returncode: int) -> None:
    style = "ok" if returncode == 0 else "state.failed"
    prefix = (("name", name), ("", ": ")) if name else ()
    ctx.emit(Styled((*prefix, (style, describe_status(returncode)))))


def _show_output(ctx: Invocation, stdout: bytes | None, stderr: bytes | None) -> None:
    if stdout:
        ctx.emit(Output(stdout, "stdout"))
    if stderr:
        ctx.emit(Output(stderr, "stderr"))


def _run(ctx: Invocation) -> None:
    import subprocess

    args = _argv(ctx)
    data = ctx.data("input", required=False) if ctx["input"] else None
    timeout = ctx.timeout
    kwargs: dict[str, Any] = dict(
        input=data, capture_output=True, timeout=timeout, shell=bool(ctx["shell"]),
        cwd=ctx["cwd"], env=_env(ctx), check=bool(ctx["check"]), start_new_session=True,
    )  # fmt: skip
    if data is None:
        kwargs["stdin"] = subprocess.DEVNULL  # never the shell's terminal
    try:
        done: subprocess.CompletedProcess[bytes]
        done = ctx.call("subprocess.run", subprocess.run, args, **kwargs)
    except subprocess.TimeoutExpired as exc:
        _show_output(ctx, exc.stdout, exc.stderr)
        got = (exc.stdout or b"") + (exc.stderr or b"")
        raise Timeout(
            f"run: timeout after {timeout:g} s; the child was killed; "
            f"{plural(len(got), 'byte')} of output" + (f": {preview(got)}" if got else "")
        ) from None
    except subprocess.CalledProcessError as exc:
        _show_output(ctx, exc.stdout, exc.stderr)
        raise PslError(
            f"run: {describe_status(exc.returncode)} (CalledProcessError, from --check)"
        ) from None
    except FileNotFoundError:
        if ctx["cwd"] and not os.path.isdir(ctx["cwd"]):
            raise PslError(f"run: no such directory {ctx['cwd']!r} for --cwd") from None
        prog = args if isinstance(args, str) else args[0]
        raise PslError(
            f"run: no such program {prog!r} (ENOENT): check the name or give a path"
        ) from None
    _show_output(ctx, done.stdout, done.stderr)
    _status(ctx, "", done.returncode)


def _spawn(ctx: Invocation) -> None:
    from pslrepl.resources.process import spawn

    session = ctx.session
    name = session.registry.check_free(ctx["name"])
    args = _argv(ctx)
    proc = spawn(
        session,
        name,
        args,
        shell=bool(ctx["shell"]),
        cwd=ctx["cwd"],
        env=_env(ctx),
        merge_stderr=bool(ctx["merge_stderr"]),
    )
    ctx.record(
        "subprocess.Popen",
        f"{args!r}, stdin=PIPE, stdout=PIPE, "
        f"stderr={'STDOUT' if ctx['merge_stderr'] else 'PIPE'}, start_new_session=True",
        proc.popen,
    )
    session.registry.add(proc)
    ctx.emit(Styled((("name", name), ("", f": started pid {proc.pid}: {proc.command}"))))


def _proc(ctx: Invocation) -> Process:
    from pslrepl.resources.process import Process

    res = ctx.resource(ctx["name"], PROC)
    assert isinstance(res, Process)
    if res.closed:
        raise PslError(f"{res.name} is closed")
    return res


def _write(ctx: Invocation, *, newline: bool = False) -> None:
    proc = _proc(ctx)
    data = ctx.data(newline=newline)
    n = proc.write(data, timeout=ctx.timeout)
    ctx.record("Popen.stdin.write", repr(data), n)
    ctx.emit(Styled((("name", proc.name), ("notice", f": wrote {plural(n, 'byte')}"))))


def _writeline(ctx: Invocation) -> None:
    _write(ctx, newline=True)


def _eof(ctx: Invocation) -> None:
    proc = _proc(ctx)
    proc.close_stdin()
    ctx.record("Popen.stdin.close", "")
    ctx.emit(Styled((("name", proc.name), ("notice", ": stdin closed"))))


def _read(ctx: Invocation) -> None:
    proc = _proc(ctx)
    stream = "stderr" if ctx["stderr"] else "stdout"
    mode, until = "any", b""
    if ctx["line"]:
        mode = "line"
    elif ctx["all"]:
        mode = "all"
    elif ctx["until"] is not None:
        mode = "until"
        until = ctx.data("until")
        if not until:
            raise UsageError("read: --until needs some text to wait for")
    got = proc.read(stream, mode=mode, until=until, timeout=ctx.timeout)
    ctx.record(f"Popen.{stream}.read", mode, got.data)
    _show_read(ctx, proc, stream, got.data, got.eof, got.dropped, mode)


def _show_read(
    ctx: Invocation, proc: Process, stream: str, data: bytes, eof: bool, dropped: int, mode: str
) -> None:
    if dropped:
        ctx.say(
            f"warning: {plural(dropped, 'byte')} of {stream} were dropped before this "
            f"read: the buffer keeps {plural(proc.buffer(stream).cap, 'byte')}",
            "warning",
        )
    if data:
        ctx.emit(Output(data, stream, mode=ctx.display()))
    if eof and not data:
        ctx.emit(Text(f"EOF: {proc.name} closed its {stream} and nothing is left", "notice"))
    elif eof and mode in ("line", "until", "expect") and data:
        ctx.emit(Text(f"(EOF before the {'newline' if mode == 'line' else 'match'})", "notice"))


def _poll(ctx: Invocation) -> None:
    proc = _proc(ctx)
    rc = ctx.call("Popen.poll", proc.popen.poll)
    if rc is None:
        ctx.emit(
            Styled(
                (
                    ("name", proc.name),
                    ("state.running", ": running"),
                    ("notice", " (poll() returned None)"),
                )
            )
        )
    else:
        _status(ctx, proc.name, rc)


def _communicate(ctx: Invocation) -> None:
    proc = _proc(ctx)
    data = ctx.data(required=False)
    if data:
        proc.write(data, timeout=ctx.timeout)
    if not proc.stdin_closed:
        proc.close_stdin()
    session = ctx.session
    done = session.wait_for(
        lambda: proc.exit_reported and proc.stdout.eof and proc.stderr.eof, ctx.timeout
    )
    if not done:
        with session.cond:
            held = len(proc.stdout.data) + len(proc.stderr.data)
        raise Timeout(
            f"{proc.name}: timeout after {ctx.timeout:g} s waiting for the child to "
            f"exit; {plural(held, 'byte')} buffered; it is still running"
        )
    with session.cond:
        out, err = proc.stdout.take(), proc.stderr.take()
    rc = proc.returncode
    assert rc is not None
    ctx.record("Popen.communicate", repr(data), (out, err))
    _show_output(ctx, out, err)
    _status(ctx, proc.name, rc)


def _send(ctx: Invocation, signum: int, call: str) -> None:
    proc = _proc(ctx)
    proc.send_signal(signum)
    ctx.record(call, str(signum))
    ctx.emit(Styled((("name", proc.name), ("", f": sent {signal_label(signum)}"))))


def _signal(ctx: Invocation) -> None:
    _send(ctx, parse_signal(ctx["sig"]), "Popen.send_signal")


def _terminate(ctx: Invocation) -> None:
    _send(ctx, signal.SIGTERM, "Popen.terminate")


def _kill(ctx: Invocation) -> None:
    _send(ctx, signal.SIGKILL, "Popen.kill")


def _ps(ctx: Invocation) -> None:
    from pslrepl.resources.process import Process

    rows: list[Any] = []
    for res in ctx.session.registry:
        if isinstance(res, Process):
            rc = res.returncode
            rows.append(
                [
                    ("name", res.name),
                    str(res.pid),
                    (res.state_style, res.state),
                    "" if rc is None else str(rc),
                    res.command,
                ]
            )
    ctx.emit(
        Table(
            ("NAME", "PID", "STATE", "RC", "COMMAND"),
            rows,
            "(no child processes: `spawn NAME -- PROGRAM` starts one)",
            min_widths={1: len("4194304")},  # Linux's largest pid_max
        )
    )


def _sudo(ctx: Invocation) -> None:
    import getpass
    import shlex
    import subprocess

    argv = ctx.argv
    if not argv:
        raise UsageError("sudo: give the command after --, like: sudo -- id")
    user = ctx["user"]
    password = ctx.session.env.ask_password(f"[sudo] password for {getpass.getuser()}: ")
    cmd = ["sudo", "-S", "-p", "", *(["-u", user] if user else []), "--", *argv]
    try:
        child = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise PslError("sudo: sudo is not installed here (ENOENT)") from None
    secret = password.encode()
    try:
        out, err = ctx.call(
            "Popen.communicate", child.communicate, secret + b"\n", timeout=ctx.timeout, redact=True
        )
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise Timeout(f"sudo: timeout after {ctx.timeout:g} s; the command was killed") from None
    except BaseException:
        child.kill()
        child.communicate()
        raise
    finally:
        del password
    # If sudo asked nothing (cached or NOPASSWD), the command itself read stdin:
    # whatever it printed of it must not show the password.
    if secret:
        out = out.replace(secret, b"********")
        err = err.replace(secret, b"********")
    _show_output(ctx, out, err)
    _status(ctx, "", child.returncode)
    if child.returncode != 0:
        raise PslError(f"sudo: {shlex.join(argv)} {describe_status(child.returncode)}")


WRITE_OPTS = (HEX_IN, FILE_IN, TIMEOUT)
COMMANDS = (
    Command(
        "run",
        "processes",
        "run a program to completion and show its output and status",
        _run,
        rest=True,
        calls=("subprocess.run",),
        opts=(
            SHELL,
            TIMEOUT,
            Opt("--check", "fail on a non-zero status (check=True)"),
            Opt("--input", "send DATA to its stdin", "DATA"),
            CWD,
            ENV,
        ),
        examples=(
            "run -- ls -l /",
            "run --input 'b\\na\\n' -- sort",
            "run --shell -- 'echo $HOME | tr a-z A-Z'",
        ),
    ),
    Command(
        "spawn",
        "processes",
        "start a program with pipes and keep it under NAME",
        _spawn,
        args=(Arg("NAME", "new"),),
        rest=True,
        opts=(SHELL, CWD, ENV, Opt("--merge-stderr", "stderr into stdout (stderr=STDOUT)")),
        calls=("subprocess.Popen",),
        examples=(
            "spawn p -- sort",
            "spawn repl -- python3 -u -i",
            "spawn s --shell -- 'yes | head'",
        ),
        details="The child's stdout and stderr are drained all the time into buffers of 1 MiB "
        "each (older bytes are dropped, and said so), so it never blocks on a full pipe; "
        "`read` takes from them. It runs in its own session (start_new_session), so Ctrl-C "
        "at the prompt does not reach it.",
    ),
    Command(
        "write",
        "processes",
        "write DATA to a child's stdin",
        _write,
        args=(Arg("NAME", "resource", kinds=PROC), Arg("DATA", "data", optional=True, many=True)),
        opts=WRITE_OPTS,
        calls=("Popen.stdin.write",),
        examples=("write p 'hello\\n'", "write p --hex '68 69 0a'"),
    ),
    Command(
        "writeline",
        "processes",
        "write DATA and a newline to a child's stdin",
        _writeline,
        args=(Arg("NAME", "resource", kinds=PROC), Arg("DATA", "data", optional=True, many=True)),
        opts=WRITE_OPTS,
        calls=("Popen.stdin.write",),
        examples=("writeline p banana",),
    ),
    Command(
        "eof",
        "processes",
        "close a child's stdin, so it sees end of input",
        _eof,
        args=(Arg("NAME", "resource", kinds=PROC),),
        calls=("Popen.stdin.close",),
        examples=("eof p",),
    ),
    Command(
        "read",
        "processes",
        "read what a child printed (stdout, or --stderr)",
        _read,
        args=(Arg("NAME", "resource", kinds=PROC),),
        opts=(
            STDERR,
            Opt("--line", "read one line", exclusive="mode"),
            Opt("--until", "read through TEXT", "TEXT", exclusive="mode"),
            Opt("--all", "read until the child closes the stream (EOF)", exclusive="mode"),
            TIMEOUT,
            SHOW_HEX,
            SHOW_REPR,
        ),
        calls=("Popen.stdout.read", "Popen.stderr.read"),
        examples=("read p", "read p --line", "read p --until '> '", "read p --stderr --all"),
        details="Without a mode it returns what is buffered, waiting for the first bytes if "
        "there are none yet.",
    ),
    Command(
        "poll",
        "processes",
        "has the child exited? (Popen.poll)",
        _poll,
        args=(Arg("NAME", "resource", kinds=PROC),),
        calls=("Popen.poll",),
        examples=("poll p",),
    ),
    Command(
        "communicate",
        "processes",
        "send DATA, close stdin, read everything until exit (Popen.communicate)",
        _communicate,
        args=(Arg("NAME", "resource", kinds=PROC), Arg("DATA", "data", optional=True, many=True)),
        opts=(HEX_IN, FILE_IN, TIMEOUT),
        calls=("Popen.communicate",),
        examples=("communicate p 'b\\na\\n'",),
    ),
    Command(
        "signal",
        "processes",
        "send a signal to a child, by name or number",
        _signal,
        args=(Arg("NAME", "resource", kinds=PROC), Arg("SIG", "signal")),
        calls=("Popen.send_signal",),
        examples=("signal p INT", "signal p SIGUSR1", "signal p 15"),
    ),
    Command(
        "terminate",
        "processes",
        "send SIGTERM (Popen.terminate)",
        _terminate,
        args=(Arg("NAME", "resource", kinds=PROC),),
        calls=("Popen.terminate",),
        examples=("terminate p",),
    ),
    Command(
        "kill",
        "processes",
        "send SIGKILL (Popen.kill)",
        _kill,
        args=(Arg("NAME", "resource", kinds=PROC),),
        calls=("Popen.kill",),
        examples=("kill p",),
    ),
    Command(
        "ps", "processes", "the child processes: pid, state, return code", _ps, examples=("ps",)
    ),
    Command(
        "sudo",
        "processes",
        "run a command with sudo -S, asking the password without echo",
        _sudo,
        rest=True,
        opts=(Opt("--user", "run as USER (sudo -u)", "USER"), TIMEOUT),
        calls=("subprocess.Popen", "Popen.communicate"),
        examples=("sudo -- id", "sudo --user nobody -- id"),
        details="The password is read without echo and written to sudo's stdin; it is never "
        "shown, logged, kept in history or recorded.",
    ),
)
