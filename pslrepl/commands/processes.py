"""Starting children: run (to completion, its output bounded) and spawn (kept under a name)."""

from __future__ import annotations

import os

from pslrepl.callrecord import py_repr
from pslrepl.commands.groups import PROCESSES
from pslrepl.commands.options import TIMEOUT
from pslrepl.commands.process_common import PROC as PROC
from pslrepl.commands.process_common import STDERR as STDERR
from pslrepl.commands.process_common import (
    show_dropped,
    show_output,
    show_read,
    show_status,
    size_text,
    stdio_of,
)
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import PslError, Timeout, UsageError
from pslrepl.kinds import ANY_RESOURCE, NEW, PATH, SIGNAL, Int
from pslrepl.render import plural, preview
from pslrepl.results import Styled
from pslrepl.signals_table import describe_status, parse_signal, signal_expr, signal_label

# subprocess and the Process resource are imported inside the handlers that use
# them: loading the command table must stay cheap (`pslrepl -c 'echo hi'`).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import Invocation
    from pslrepl.resources.plumbing import Stdio

COMMANDS = Commands(PROCESSES)

# expect.py imports these three from here (PROC and STDERR above).
_show_read = show_read

SHELL = Opt("--shell", "run ARGV as one command line through /bin/sh (shell=True)")
CWD = Opt("--cwd", "working directory for the child", "DIR", kind=PATH)
ENV = Opt("--env", "set an environment variable for the child", "K=V", repeat=True)


def argv_of(ctx: Invocation) -> list[str] | str:
    argv = ctx.argv
    if not argv:
        raise UsageError(
            f"{ctx.command.name}: give the program to run, after --; usage: {ctx.command.usage()}"
        )
    if ctx.values.get("shell"):
        return " ".join(argv)
    return argv


def env_of(ctx: Invocation) -> dict[str, str] | None:
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


def _ignored(words: list[str]) -> tuple[int, ...]:
    """--ignore's signals, each given once or as SIG,SIG: KILL and STOP can't be ignored."""
    import signal

    found: set[int] = set()
    for word in words:
        for part in word.split(","):
            signum = parse_signal(part)
            if signum in (signal.SIGKILL, signal.SIGSTOP):
                raise UsageError(f"spawn: --ignore {signal_label(signum)}: SIGKILL and "
                                 "SIGSTOP can't be ignored (the kernel handles them)")  # fmt: skip
            if signum not in signal.valid_signals():
                raise UsageError(f"spawn: --ignore {signal_label(signum)}: the C library "
                                 "keeps it for itself")  # fmt: skip
            found.add(signum)
    return tuple(sorted(found))


def _popen_text(ctx: Invocation, args: list[str] | str, stdin: str) -> str:
    """The Popen call as Python, for explain: the environment only as the user changed it
    (the whole of os.environ would be long, and may hold secrets)."""
    parts = [repr(args), f"stdin=subprocess.{stdin}", "stdout=subprocess.PIPE",
             "stderr=subprocess.PIPE"]  # fmt: skip
    if ctx.values.get("shell"):
        parts.append("shell=True")
    if ctx.values.get("cwd"):
        parts.append(f"cwd={ctx.values['cwd']!r}")
    pairs = [p.partition("=") for p in ctx.values.get("env") or []]
    if pairs:
        parts.append("env={**os.environ, " + ", ".join(f"{k!r}: {v!r}" for k, _, v in pairs) + "}")
    return ", ".join([*parts, "start_new_session=True"])


@COMMANDS.command(
    "run",
    "run a program to completion and show its output and status",
    rest=True,
    calls=("subprocess.Popen", "Popen.communicate", "Popen.wait"),
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
)
def _run(ctx: Invocation) -> None:
    import subprocess

    from pslrepl.resources.process import exec_failure, run_bounded

    args = argv_of(ctx)
    data = ctx.data("input", required=False) if ctx["input"] else None
    timeout = ctx.timeout
    env = env_of(ctx)
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
    ctx.name(popen, "popen")
    # Told to the watchdog and never released: what the child leaves running in its
    # session (`sleep 600 &`) ends when the shell does, however it ends.
    ctx.session.guard_child(popen.pid)
    done = run_bounded(popen, data, timeout=timeout)
    out, err = done.stdout, done.stderr
    ctx.record("Popen.communicate", "" if data is None else py_repr(data),
               (bytes(out.data), bytes(err.data)), on=popen, exact=False,
               note=f"stdout and stderr read to EOF, the newest {size_text(out.cap)} of "
               "each kept" + ("; the input written first" if data is not None else ""))  # fmt: skip
    show_output(ctx, bytes(out.data), bytes(err.data))
    show_dropped(ctx, "run", {s: (b.dropped, b.total, b.cap) for s, b in
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
    ctx.record("Popen.wait", "", rc, on=popen)
    if ctx["check"] and rc != 0:
        raise PslError(f"run: {describe_status(rc)} (CalledProcessError, from --check)")
    show_status(ctx, "", rc)


IGNORE = Opt(
    "--ignore",
    "start it with SIG ignored (SIG_IGN survives exec); repeat it, or SIG,SIG",
    "SIG",
    kind=SIGNAL,
    repeat=True,
)


PIPING = (
    Opt("--stdin", "its stdin: a FILE, devnull, or a CHILD's stdout (a pipeline: "
        "stdin=CHILD.stdout)", "FROM"),
    Opt("--stdout", "its stdout: a FILE (created 0600), devnull, or pipe (kept for a later "
        "spawn --stdin NAME: the shell does not read it)", "TO"),
    Opt("--stderr", "its stderr: stdout (STDOUT), devnull or a FILE", "TO"),
    Opt("--text", "text mode (text=True): Popen's stdin and stdout are text files"),
    Opt("--bufsize", "Popen's bufsize for its stdin and stdout files (default 0)", "N",
        kind=Int(-1, 1 << 30)),
    Opt("--pass", "keep SOCKET open in the child (pass_fds); its fd number is in PSL_FD "
        "(PSL_FD_<NAME> for several)", "SOCKET", kind=ANY_RESOURCE, repeat=True),
    Opt("--pty", "run it on a pseudo-terminal (os.openpty): isatty is true, stdio "
        "line-buffered"),
    Opt("--size", "the terminal's size with --pty, as stty's columns x rows", "WxH"),
)  # fmt: skip


@COMMANDS.command(
    "spawn",
    "start a program with pipes and keep it under NAME",
    args=(Arg("NAME", NEW),),
    rest=True,
    opts=(
        SHELL,
        CWD,
        ENV,
        Opt("--merge-stderr", "stderr into stdout (stderr=STDOUT)"),
        IGNORE,
        *PIPING,
    ),  # fmt: skip
    calls=("subprocess.Popen", "os.openpty"),
    setup=("tcp listen srv 0",),
    examples=(
        "spawn p -- sort",
        "spawn repl -- python3 -u -i",
        "spawn s --shell -- 'yes | head'",
        "spawn immune --ignore HUP,INT -- sleep 30",
        "spawn quiet --stdout devnull --stderr stdout -- ls /",
        "spawn first --stdout pipe -- printf 'b\\na\\n'",
        "spawn second --stdin first -- sort",
        "spawn worker --pass srv -- sh -c 'echo socket on fd $PSL_FD'",
        "spawn tty --pty --size 100x30 -- python3 -c 'import os; print(os.get_terminal_size())'",
    ),
    details="The child's stdout and stderr are drained all the time into buffers of 1 MiB "
    "each (older bytes are dropped, and said so), so it never blocks on a full pipe; "
    "`read` takes from them. It runs in its own session (start_new_session), so Ctrl-C "
    "at the prompt does not reach it. --ignore sets each SIG to SIG_IGN in the child "
    "before it execs (Popen's preexec_fn): an ignored signal stays ignored across exec, "
    "where a handler would not, which is how nohup works; `info NAME` shows what it "
    "ignores and blocks. --stdin CHILD builds the docs' pipeline, Popen(..., "
    "stdin=a.stdout): the shell stops reading CHILD's stdout (what it read stays "
    "readable), hands the pipe over and closes its own copy, so the writer gets SIGPIPE "
    "once the reader is gone; ps shows who feeds whom. --pass SOCKET keeps the socket's "
    "descriptor open in the child at the same number (pass_fds), said in PSL_FD: "
    "socket.socket(fileno=int(os.environ['PSL_FD'])) there takes it over. --pty puts the "
    "child on a pseudo-terminal, its controlling terminal, for stdin, stdout and stderr: "
    "programs line-buffer and prompt as in a terminal window; it echoes what write "
    "sends, ends lines with CR LF, and eof sends ^D (VEOF).",
)
def _spawn(ctx: Invocation) -> None:
    from pslrepl.resources.spawning import spawn

    session = ctx.session
    name = ctx["name"]
    args = argv_of(ctx)
    ignore = _ignored(ctx["ignore"])
    stdio = stdio_of(ctx)
    try:
        proc = spawn(
            session,
            name,
            args,
            shell=bool(ctx["shell"]),
            cwd=ctx["cwd"],
            env=env_of(ctx),
            merge_stderr=bool(ctx["merge_stderr"]),
            ignore=ignore,
            stdio=stdio,
            text=bool(ctx["text"]),
            bufsize=0 if ctx["bufsize"] is None else ctx["bufsize"],
        )
    finally:
        stdio.close_opened()
    ctx.record("subprocess.Popen", _spawn_text(ctx, args, ignore, stdio), proc.popen)
    if stdio.feeder is not None:
        ctx.record(f"{stdio.feeder.name}.stdout.close", "", None,
                   note="the shell's copy: the reader's end is the child's now")  # fmt: skip
    session.registry.add(proc)
    ctx.emit(Styled((("name", name), ("", f": started pid {proc.pid}: {proc.command}"))))
    if stdio.pass_fds:
        told = ", ".join(f"{k}={v}" for k, v in sorted(stdio.env.items()))
        ctx.emit(Styled((("name", name), ("notice", f": passed fd {told} (pass_fds)"))))


def _spawn_text(ctx: Invocation, args: list[str] | str, ignore: tuple[int, ...],
                stdio: Stdio) -> str:  # fmt: skip
    """The Popen call as Python, for explain."""
    preexec = ""
    if ignore:
        exprs = [signal_expr(n) for n in ignore]
        if len(exprs) == 1:
            body = f"signal.signal({exprs[0]}, signal.SIG_IGN)"
        else:
            body = f"[signal.signal(s, signal.SIG_IGN) for s in ({', '.join(exprs)})]"
        preexec = f", preexec_fn=lambda: {body}"
    if stdio.pty is not None:
        ioctl = "fcntl.ioctl(0, termios.TIOCSCTTY, 0)"
        preexec = f", preexec_fn=lambda: {ioctl}" if not ignore else preexec + f" or {ioctl}"
    py = stdio.python
    if ctx["merge_stderr"]:
        py["stderr"] = "subprocess.STDOUT"
    parts = [repr(args), *(f"{s}={py[s]}" for s in ("stdin", "stdout", "stderr"))]
    if ctx["text"]:
        parts.append("text=True")
    if ctx["bufsize"] is not None:
        parts.append(f"bufsize={ctx['bufsize']}")
    if ctx["shell"]:
        parts.append("shell=True")
    if ctx["cwd"]:
        parts.append(f"cwd={ctx['cwd']!r}")
    # The environment as the user changed it (os.environ's whole may hold secrets).
    changed = dict(p.partition("=")[::2] for p in ctx.values.get("env") or [])
    if stdio.pass_fds:
        parts.append(f"pass_fds={stdio.pass_fds!r}")
        changed.update(stdio.env)
    if changed:
        env = ", ".join(f"{k!r}: {v!r}" for k, v in changed.items())
        parts.append(f"env={{**os.environ, {env}}}")
    return ", ".join(parts) + f", start_new_session=True{preexec}"
