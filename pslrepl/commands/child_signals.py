"""Signals to a child (signal, terminate, kill; the shell too) and the table of children (ps)."""

from __future__ import annotations

import os
import signal

from pslrepl.commands.groups import PROCESSES
from pslrepl.commands.process_common import CHILD, PROC, SHELL, ChildOrShell, live_process
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import PslError, UsageError
from pslrepl.events import Event
from pslrepl.kinds import SIGNAL
from pslrepl.results import Styled, Table
from pslrepl.signals_table import (
    describe_status,
    parse_signal,
    signal_expr,
    signal_label,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.invocation import Invocation

COMMANDS = Commands(PROCESSES)


def _send(ctx: Invocation, signum: int, method: str) -> None:
    proc = live_process(ctx)
    proc.send_signal(signum)
    if proc.kind == "sh":  # sh's RunningCommand (sh --bg): b.signal(10), b.kill()
        args = "" if method in ("terminate", "kill") else str(signum)
        ctx.record(f"RunningCommand.{'signal' if method == 'send_signal' else method}", args,
                   on=proc.obj)  # fmt: skip
    else:
        ctx.record(f"Popen.{method}", "" if method in ("terminate", "kill") else str(signum),
                   on=proc.obj)  # fmt: skip
    if signum == 0:
        what = f": pid {proc.pid} exists (signal 0 sends nothing: it checks the process is there)"
    else:
        what = f": sent {signal_label(signum)}"
    ctx.emit(Styled((("name", proc.name), ("", what))))


@COMMANDS.command(
    "signal",
    "send a signal to a child (or its process group), or to the shell itself",
    args=(Arg("NAME", ChildOrShell(*PROC)), Arg("SIG", SIGNAL)),
    opts=(
        Opt("--group", "send it to the child's whole process group (os.killpg)"),
        Opt("--force", "signal shell: let a signal that ends or stops the shell do so"),
    ),
    calls=("Popen.send_signal", "os.killpg", "signal.raise_signal"),
    examples=(
        "signal p 0",
        "signal p SIGUSR1",
        "signal p 10",
        "signal p RTMIN+1",
        "signal p INT",
        "signal shell USR1",
        "signal pipe TERM --group",
    ),  # fmt: skip
    # A child that reports USR1 and RTMIN+1 and dies of INT, so each example runs.
    setup=(
        'spawn p -- python3 -u -c "import signal, time; signal.signal(signal.SIGUSR1, '
        "print); signal.signal(signal.SIGRTMIN + 1, print); print('ready'); "
        'time.sleep(60)"',
        "read p --line",
        "trap USR1",
        "spawn pipe --shell -- 'sleep 60 | cat'",
    ),
    details="SIG is a name (INT, SIGINT, RTMIN+1, RTMAX-2) or a number from 1 to 64; "
    "0 sends nothing and only checks that the process exists (kill(pid, 0)). --group "
    "sends it to the process group the child leads (each child runs in a session of its "
    "own), so a --shell pipeline stops as a whole; the group can be signalled while "
    "anything is left in it, after its leader has ended too. NAME `shell` is the shell "
    "itself, as `raise SIG` (see `help raise`: a signal that would end or stop the shell "
    "needs --force).",
)
def _signal(ctx: Invocation) -> None:
    if ctx["name"] is SHELL:
        if ctx["group"]:
            raise UsageError("signal: --group is for a child's process group; the shell's "
                             "group may hold the terminal's other programs")  # fmt: skip
        from pslrepl.commands.signal_shell import raise_in_shell

        raise_in_shell(ctx, parse_signal(ctx["sig"], zero=True), force=bool(ctx["force"]))
        return
    if ctx["force"]:
        raise UsageError("signal: --force is for `signal shell`: a child is sent the signal "
                         "whatever it does to it")  # fmt: skip
    signum = parse_signal(ctx["sig"], zero=True)
    if ctx["group"]:
        _send_group(ctx, signum)
    else:
        _send(ctx, signum, "send_signal")


def _send_group(ctx: Invocation, signum: int) -> None:
    """os.killpg to the group the child leads, while anything is left in it."""
    proc = live_process(ctx)
    pgid = proc.pgid
    left = proc.group_left()
    if left is not None and not left:
        raise PslError(f"{proc.name}: its process group {pgid} is empty: everything in it has "
                       "ended; there is nobody to signal")  # fmt: skip
    if left is None and proc.returncode is not None:
        raise PslError(f"{proc.name} has ended, and without /proc the shell can't tell "
                       f"whether group {pgid} is still its own; nothing sent")  # fmt: skip
    if proc.kind == "sh":
        ctx.record("RunningCommand.signal_group", str(signum), on=proc.obj)
    else:
        ctx.record("os.killpg", f"{pgid}, {signal_expr(signum) if signum else 0}")
    os.killpg(pgid, signum)
    members = "" if left is None else f" ({len(left)} process{'es' if len(left) != 1 else ''})"
    if signum == 0:
        what = f": process group {pgid} exists{members} (signal 0 sends nothing)"
    else:
        what = f": sent {signal_label(signum)} to process group {pgid}{members}"
    proc.post(Event(proc.name, "sent", signum=signum, group=pgid,
                    count=None if left is None else len(left)))  # fmt: skip
    ctx.emit(Styled((("name", proc.name), ("", what))))


@COMMANDS.command(
    "terminate",
    "send SIGTERM (Popen.terminate)",
    args=(CHILD,),
    calls=("Popen.terminate",),
    examples=("terminate p",),
    setup=("spawn p -- sleep 30",),
)
def _terminate(ctx: Invocation) -> None:
    _send(ctx, signal.SIGTERM, "terminate")


@COMMANDS.command(
    "kill",
    "send SIGKILL (Popen.kill)",
    args=(CHILD,),
    calls=("Popen.kill",),
    examples=("kill p",),
    setup=("spawn p -- sleep 30",),
)
def _kill(ctx: Invocation) -> None:
    _send(ctx, signal.SIGKILL, "kill")


@COMMANDS.command(
    "ps",
    "the child processes: pid, process group, state, return code",
    examples=("ps",),
    details="PGID is the process group each child leads (its own session's); once a child "
    "has ended, STATE says how many of its group are still running (a pipeline's other "
    "members): `signal NAME SIG --group` reaches them, `close NAME` ends them.",
)
def _ps(ctx: Invocation) -> None:
    from pslrepl.resources.process import Process

    rows: list[Any] = []
    for res in ctx.session.registry:
        if isinstance(res, Process):
            rc = res.returncode
            if rc is None:
                state = res.running_text()
            else:
                state = describe_status(rc)
                left = res.group_left() if not res.closed else []
                if left:
                    state += f"; {len(left)} left in its group"
            rows.append(
                [
                    ("name", res.name),
                    str(res.pid),
                    str(res.pgid),
                    (res.state_style, state),
                    "" if rc is None else str(rc),
                    res.command,
                ]
            )
    ctx.emit(
        Table(
            ("NAME", "PID", "PGID", "STATE", "RC", "COMMAND"),
            rows,
            "(no child processes: `spawn NAME -- PROGRAM` starts one)",
            min_widths={1: len("4194304"), 2: len("4194304")},  # Linux's largest pid_max
        )
    )
