"""Process commands: subprocess.run and Popen kept under a name, their pipes, and sudo."""

from __future__ import annotations

import os
import signal

from pslrepl.commands.groups import PROCESSES
from pslrepl.commands.options import FILE_IN, HEX_IN, SHOW_HEX, SHOW_REPR, TIMEOUT
from pslrepl.commandspec import Arg, Command, Opt
from pslrepl.errors import PslError, Timeout, UsageError, describe_oserror
from pslrepl.kinds import DATA, NEW, PATH, SIGNAL, ResourceOf
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
CWD = Opt("--cwd", "working directory for the child", "DIR", kind=PATH)
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


def _show_dropped(ctx: Invocation, who: str, buffers: dict[str, tuple[int, int, int]]) -> None:
    """One warning per stream that lost bytes: {stream: (dropped, total, cap)}."""
    for stream, (dropped, total, cap) in buffers.items():
        if dropped:
            in_all = f" ({plural(total, 'byte')} in all)" if total else ""
            ctx.say(
                f"warning: {stream}: {plural(dropped, 'byte')} dropped: the oldest output; "
                f"{who} keeps {size_text(cap)} per stream{in_all}",
                "warning",
            )


def size_text(n: int) -> str:
    """1 MiB, 64 KiB, or 100 bytes."""
    if n and n % (1 << 20) == 0:
        return f"{n >> 20} MiB"
    if n and n % 1024 == 0:
        return f"{n >> 10} KiB"
    return plural(n, "byte")


def _popen_text(ctx: Invocation, args: list[str] | str, stdin: str) -> str:
    """The Popen call as Python, for explain: the environment only as the user changed it
    (the whole of os.environ would be long, and may hold secrets)."""
    parts = [repr(args), f"stdin={stdin}", "stdout=PIPE", "stderr=PIPE"]
    if ctx.values.get("shell"):
        parts.append("shell=True")
    if ctx.values.get("cwd"):
        parts.append(f"cwd={ctx.values['cwd']!r}")
    pairs = [p.partition("=") for p in ctx.values.get("env") or []]
    if pairs:
        parts.append("env={**os.environ, " + ", ".join(f"{k!r}: {v!r}" for k, _, v in pairs) + "}")
    return ", ".join([*parts, "start_new_session=True"])


def _run(ctx: Invocation) -> None:
    import subprocess

    from pslrepl.resources.process import exec_failure, run_bounded

    args = _argv(ctx)
    data = ctx.data("input", required=False) if ctx["input"] else None
    timeout = ctx.timeout
    env = _env(ctx)
    stdin = "DEVNULL" if data is None else "PIPE"  # never the shell's terminal
    call = _popen_text(ctx, args, stdin)
    try:
        popen = subprocess.Popen(
            args, stdin=subprocess.DEVNULL if data is None else subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, shell=bool(ctx["shell"]),
            cwd=ctx["cwd"], env=env, start_new_session=True,
        )  # fmt: skip
    except OSError as exc:
        ctx.record("subprocess.Popen", call, exc)
        raise PslError(f"run: {exec_failure(args, exc, cwd=ctx['cwd'])}") from None
    ctx.record("subprocess.Popen", call, popen)
    # Told to the watchdog and never released: what the child leaves running in its
    # session (`sleep 600 &`) ends when the shell does, however it ends.
    ctx.session.guard_child(popen.pid)
    done = run_bounded(popen, data, timeout=timeout)
    out, err = done.stdout, done.stderr
    if data is not None:
        ctx.record("os.write", f"stdin, {preview(data, 60)}, then Popen.stdin.close()", done.sent)
    ctx.record(
        "os.read",
        f"stdout and stderr to EOF, keeping the newest {size_text(out.cap)} of each",
        (bytes(out.data), bytes(err.data)),
    )
    _show_output(ctx, bytes(out.data), bytes(err.data))
    _show_dropped(ctx, "run", {s: (b.dropped, b.total, b.cap) for s, b in
                               (("stdout", out), ("stderr", err))})  # fmt: skip
    rc = done.returncode
    assert rc is not None
    if done.timed_out:
        ctx.record("os.killpg", f"{popen.pid}, signal.SIGKILL")
        total = out.total + err.total
        got = bytes(out.data[:64] + err.data[:64])
        raise Timeout(
            f"run: timeout after {timeout:g} s; the child was killed (SIGKILL to its process "
            f"group); {plural(total, 'byte')} of output"
            + (f": {preview(got)}" if got else "")
            + "; --timeout S waits longer"
        )
    ctx.record("Popen.wait", "", rc)
    if ctx["check"] and rc != 0:
        raise PslError(f"run: {describe_status(rc)} (CalledProcessError, from --check)")
    _status(ctx, "", rc)


def _spawn(ctx: Invocation) -> None:
    from pslrepl.resources.process import spawn

    session = ctx.session
    name = ctx["name"]
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

    res = ctx["name"]
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
    # What a script would call for the same bytes (the drain thread already read them).
    call, args = {"line": ("readline", ""), "all": ("read", "")}.get(
        mode, ("read", str(len(got.data)) if mode == "until" else "65536")
    )
    ctx.record(f"Popen.{stream}.{call}", args, got.data)
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
                    ("state.running", f": {proc.running_text()}"),
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
            f"exit; {plural(held, 'byte')} buffered; it is still running; "
            "--timeout S waits longer"
        )
    with session.cond:
        out, err = proc.stdout.take(), proc.stderr.take()
        dropped = {
            stream: (buf.take_dropped(), 0, buf.cap)
            for stream, buf in (("stdout", proc.stdout), ("stderr", proc.stderr))
        }
    rc = proc.returncode
    assert rc is not None
    ctx.record("Popen.communicate", repr(data), (out, err))
    _show_output(ctx, out, err)
    _show_dropped(ctx, "communicate", dropped)
    _status(ctx, proc.name, rc)


def _send(ctx: Invocation, signum: int, call: str) -> None:
    proc = _proc(ctx)
    proc.send_signal(signum)
    ctx.record(call, str(signum))
    if signum == 0:
        what = f": pid {proc.pid} exists (signal 0 sends nothing: it checks the process is there)"
    else:
        what = f": sent {signal_label(signum)}"
    ctx.emit(Styled((("name", proc.name), ("", what))))


def _signal(ctx: Invocation) -> None:
    _send(ctx, parse_signal(ctx["sig"], zero=True), "Popen.send_signal")


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
                    (res.state_style, res.running_text() if rc is None else describe_status(rc)),
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
    import shutil
    import subprocess

    from pslrepl.resources.process import command_text, run_bounded

    argv = ctx.argv
    if not argv:
        raise UsageError("sudo: give the command after --, like: sudo -- id")
    # Before the password is asked: one typed for a sudo that isn't there is wasted.
    if shutil.which("sudo") is None:
        raise PslError("sudo: sudo is not installed here (not found on PATH); try: run -- ARGV")
    user = ctx["user"]
    cmd = ["sudo", "-S", "-p", "", *(["-u", user] if user else []), "--", *argv]
    secret = ctx.session.env.ask_password(f"[sudo] password for {getpass.getuser()}: ").encode()
    try:
        child = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise PslError(f"sudo: can't run sudo: {describe_oserror(exc)}") from None
    ctx.record("subprocess.Popen", f"{cmd!r}, stdin=PIPE, stdout=PIPE, stderr=PIPE", child)
    ctx.session.guard_child(child.pid)
    try:
        # The password is sudo's stdin; what comes back may hold it too (a command run
        # without a password asked reads it), so the call keeps neither side.
        done = ctx.call(
            "os.write+os.read", run_bounded, child, secret + b"\n", timeout=ctx.timeout,
            redact=True,
        )  # fmt: skip
        out = _redact(done.stdout.data, secret, cut=bool(done.stdout.dropped))
        err = _redact(done.stderr.data, secret, cut=bool(done.stderr.dropped))
        # The raw output may hold the password: keep it no longer than needed.
        done.stdout.data.clear()
        done.stderr.data.clear()
    finally:
        del secret
    _show_output(ctx, out, err)
    _show_dropped(ctx, "sudo", {s: (b.dropped, b.total, b.cap) for s, b in
                                (("stdout", done.stdout), ("stderr", done.stderr))})  # fmt: skip
    if done.timed_out:
        raise Timeout(
            f"sudo: timeout after {ctx.timeout:g} s; the command was killed; "
            "--timeout S waits longer"
        )
    rc = done.returncode
    assert rc is not None
    ctx.record("Popen.wait", "", rc)
    _status(ctx, "", rc)
    if rc != 0:
        raise PslError(f"sudo: {command_text(argv)} {describe_status(rc)}")


def _redact(data: bytearray, secret: bytes, *, cut: bool) -> bytes:
    """The output with every copy of the password starred out; when its oldest bytes were
    dropped, a start that is the end of the password is starred too."""
    out = bytes(data)
    if not secret:
        return out
    out = out.replace(secret, b"********")
    if cut:
        for n in range(len(secret) - 1, 0, -1):
            if out.startswith(secret[-n:]):
                return b"********" + out[n:]
    return out


WRITE_OPTS = (HEX_IN, FILE_IN, TIMEOUT)
COMMANDS = (
    Command(
        "run",
        PROCESSES,
        "run a program to completion and show its output and status",
        _run,
        rest=True,
        calls=("subprocess.Popen", "os.read", "Popen.wait"),
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
        details="What subprocess.run(..., capture_output=True) does, but with a bound: "
        "subprocess.run keeps all the output in memory (`run -- yes` would fill it), so run "
        "starts the child with subprocess.Popen, reads its stdout and stderr itself and keeps "
        "the newest 1 MiB of each (the older bytes are counted and said so), then "
        "Popen.wait. On timeout the child's process group gets SIGKILL. --check fails as "
        "check=True would (CalledProcessError).",
    ),
    Command(
        "spawn",
        PROCESSES,
        "start a program with pipes and keep it under NAME",
        _spawn,
        args=(Arg("NAME", NEW),),
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
        PROCESSES,
        "write DATA to a child's stdin",
        _write,
        args=(Arg("NAME", ResourceOf(*PROC)), Arg("DATA", DATA, optional=True, many=True)),
        opts=WRITE_OPTS,
        calls=("Popen.stdin.write",),
        examples=("write p 'hello\\n'", "write p --hex '68 69 0a'"),
        setup=("spawn p -- cat",),
    ),
    Command(
        "writeline",
        PROCESSES,
        "write DATA and a newline to a child's stdin",
        _writeline,
        args=(Arg("NAME", ResourceOf(*PROC)), Arg("DATA", DATA, optional=True, many=True)),
        opts=WRITE_OPTS,
        calls=("Popen.stdin.write",),
        examples=("writeline p banana",),
        setup=("spawn p -- sort",),
    ),
    Command(
        "eof",
        PROCESSES,
        "close a child's stdin, so it sees end of input",
        _eof,
        args=(Arg("NAME", ResourceOf(*PROC)),),
        calls=("Popen.stdin.close",),
        examples=("eof p",),
        setup=("spawn p -- cat",),
    ),
    Command(
        "read",
        PROCESSES,
        "read what a child printed (stdout, or --stderr)",
        _read,
        args=(Arg("NAME", ResourceOf(*PROC)),),
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
        examples=("read p --line", "read p --until '> '", "read p", "read p --stderr --all"),
        setup=("spawn p --shell -- \"printf 'one\\n> rest'; printf oops >&2\"", "wait p"),
        details="Without a mode it returns what is buffered, waiting for the first bytes if "
        "there are none yet.",
    ),
    Command(
        "poll",
        PROCESSES,
        "has the child exited? (Popen.poll)",
        _poll,
        args=(Arg("NAME", ResourceOf(*PROC)),),
        calls=("Popen.poll",),
        examples=("poll p",),
        setup=("spawn p -- sleep 30",),
    ),
    Command(
        "communicate",
        PROCESSES,
        "send DATA, close stdin, read everything until exit (Popen.communicate)",
        _communicate,
        args=(Arg("NAME", ResourceOf(*PROC)), Arg("DATA", DATA, optional=True, many=True)),
        opts=(HEX_IN, FILE_IN, TIMEOUT),
        calls=("Popen.communicate",),
        examples=("communicate p 'b\\na\\n'",),
        setup=("spawn p -- sort",),
        details="The output comes from the buffers spawn drains into: the newest 1 MiB of "
        "each stream, the older bytes counted and said so.",
    ),
    Command(
        "signal",
        PROCESSES,
        "send a signal to a child, by name or number",
        _signal,
        args=(Arg("NAME", ResourceOf(*PROC)), Arg("SIG", SIGNAL)),
        calls=("Popen.send_signal",),
        examples=(
            "signal p 0",
            "signal p SIGUSR1",
            "signal p 10",
            "signal p RTMIN+1",
            "signal p INT",
        ),  # fmt: skip
        # A child that reports USR1 and RTMIN+1 and dies of INT, so each example runs.
        setup=(
            'spawn p -- python3 -u -c "import signal, time; signal.signal(signal.SIGUSR1, '
            "print); signal.signal(signal.SIGRTMIN + 1, print); print('ready'); "
            'time.sleep(60)"',
            "read p --line",
        ),
        details="SIG is a name (INT, SIGINT, RTMIN+1, RTMAX-2) or a number from 1 to 64; "
        "0 sends nothing and only checks that the process exists (kill(pid, 0)).",
    ),
    Command(
        "terminate",
        PROCESSES,
        "send SIGTERM (Popen.terminate)",
        _terminate,
        args=(Arg("NAME", ResourceOf(*PROC)),),
        calls=("Popen.terminate",),
        examples=("terminate p",),
        setup=("spawn p -- sleep 30",),
    ),
    Command(
        "kill",
        PROCESSES,
        "send SIGKILL (Popen.kill)",
        _kill,
        args=(Arg("NAME", ResourceOf(*PROC)),),
        calls=("Popen.kill",),
        examples=("kill p",),
        setup=("spawn p -- sleep 30",),
    ),
    Command(
        "ps", "processes", "the child processes: pid, state, return code", _ps, examples=("ps",)
    ),
    Command(
        "sudo",
        PROCESSES,
        "run a command with sudo -S, asking the password without echo",
        _sudo,
        rest=True,
        opts=(Opt("--user", "run as USER (sudo -u)", "USER"), TIMEOUT),
        calls=("subprocess.Popen", "Popen.communicate"),
        examples=("sudo -- id", "sudo --user nobody -- id"),
        details="The password is read without echo and written to sudo's stdin; it is never "
        "shown, logged, kept in history or recorded: where the output holds it, it is shown as "
        "********. Output is read as run reads it: the newest 1 MiB of each stream is kept.",
    ),
)
