"""Signals to a child (signal, terminate, kill) and the table of children (ps)."""

from __future__ import annotations

import signal

from pslrepl.commands.groups import PROCESSES
from pslrepl.commands.process_common import CHILD, live_process
from pslrepl.commandspec import Arg, Commands
from pslrepl.kinds import SIGNAL
from pslrepl.results import Styled, Table
from pslrepl.signals_table import describe_status, parse_signal, signal_label

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.invocation import Invocation

COMMANDS = Commands(PROCESSES)


def _send(ctx: Invocation, signum: int, call: str) -> None:
    proc = live_process(ctx)
    proc.send_signal(signum)
    ctx.record(call, str(signum))
    if signum == 0:
        what = f": pid {proc.pid} exists (signal 0 sends nothing: it checks the process is there)"
    else:
        what = f": sent {signal_label(signum)}"
    ctx.emit(Styled((("name", proc.name), ("", what))))


@COMMANDS.command(
    "signal",
    "send a signal to a child, by name or number",
    args=(CHILD, Arg("SIG", SIGNAL)),
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
)
def _signal(ctx: Invocation) -> None:
    _send(ctx, parse_signal(ctx["sig"], zero=True), "Popen.send_signal")


@COMMANDS.command(
    "terminate",
    "send SIGTERM (Popen.terminate)",
    args=(CHILD,),
    calls=("Popen.terminate",),
    examples=("terminate p",),
    setup=("spawn p -- sleep 30",),
)
def _terminate(ctx: Invocation) -> None:
    _send(ctx, signal.SIGTERM, "Popen.terminate")


@COMMANDS.command(
    "kill",
    "send SIGKILL (Popen.kill)",
    args=(CHILD,),
    calls=("Popen.kill",),
    examples=("kill p",),
    setup=("spawn p -- sleep 30",),
)
def _kill(ctx: Invocation) -> None:
    _send(ctx, signal.SIGKILL, "Popen.kill")


@COMMANDS.command("ps", "the child processes: pid, state, return code", examples=("ps",))
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
