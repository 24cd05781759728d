"""trap, signals and alarm: real signals delivered to this process."""

from __future__ import annotations

import os
import re
import signal

from tests.helpers import Shell


def test_trap_reports_a_real_signal(shell: Shell) -> None:
    assert "will be reported" in shell.ok("trap USR1")
    shell.ok(f"run -- kill -USR1 {os.getpid()}")
    shell.ok("sleep 0.05")  # the handler runs between bytecodes; give it a moment
    assert "received SIGUSR1 (10)" in shell.ok("log signal")
    assert "trapped (1 received)" in shell.ok("signals")
    assert "restored" in shell.ok("trap USR1 --off")
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL
    assert "is not trapped" in shell.fails("trap USR1 --off")


def test_traps_are_removed_when_the_shell_ends(shell: Shell) -> None:
    shell.ok("trap HUP; trap USR2")
    shell.close()
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL
    assert signal.getsignal(signal.SIGUSR2) == signal.SIG_DFL


def test_uncatchable(shell: Shell) -> None:
    assert "can't be caught" in shell.fails("trap KILL")
    assert "can't be caught" in shell.fails("trap SIGSTOP")


def test_trap_int_warns(shell: Shell) -> None:
    out = shell.ok("trap INT")
    assert "Ctrl-C reports instead of cancelling" in out
    shell.ok("trap INT --off")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_signal_table(shell: Shell) -> None:
    rows = {line.split()[0]: line for line in shell.ok("signals").splitlines()[1:]}
    assert rows["SIGINT"].split()[1:4] == ["2", "Term", "python:"]
    assert rows["SIGSEGV"].split()[2] == "Core"
    assert rows["SIGCHLD"].split()[2] == "Ign"
    assert rows["SIGTSTP"].split()[2] == "Stop"
    assert "Interrupt" in rows["SIGINT"]


def test_alarm_is_trapped_and_delivered(shell: Shell) -> None:
    out = shell.ok("alarm 1")
    assert "SIGALRM is now trapped" in out and "SIGALRM in 1 s" in out
    shell.session.wait_for(lambda: any(e.kind == "signal" for e in shell.session.log), timeout=5)
    assert "received SIGALRM (14)" in shell.ok("log signal")
    assert shell.ok("alarm 5").endswith("SIGALRM in 5 s\n")
    assert re.fullmatch(
        r"alarm: cancelled \(the previous alarm had [45] s left\)\n", shell.ok("alarm 0")
    )
    assert "must be a whole number" in shell.fails("alarm 1.5")
