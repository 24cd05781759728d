"""sigwait: a real signal from a real child, taken by signal.sigtimedwait with its siginfo.

The sender runs in a shell of its own (run_cli): there every thread but the main one
blocks signals, as in the interactive shell, so the kernel can only leave the signal
pending for sigtimedwait. The child waits until the shell waits (its main thread asleep
in sigtimedwait, or blocking the signal just before, as /proc shows) before it sends.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from tests.helpers import PY, Shell, run_cli

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "sigtimedwait"), reason="no signal.sigtimedwait on this system"
)

SENDER = """\
import os, signal, sys, time
p = os.getppid()
task = f"/proc/{p}/task/{p}/"
signum = int(sys.argv[1])
# The signal whose handling shows the shell waits (the one sent, unless another is named):
# sigwait catches it and blocks it before it sleeps, a sure sign that /proc's wchan, read
# at one instant, is not.
watched = int(sys.argv[2]) if len(sys.argv) > 2 else signum
for _ in range(3000):
    with open(task + "wchan") as fh:
        asleep = "sigtimedwait" in fh.read()
    with open(task + "status") as fh:
        status = fh.read()
    blocked = int(status.split("SigBlk:")[1].split()[0], 16) >> (watched - 1) & 1
    # Blocked is not enough: a thread being started blocks everything for a moment; the
    # shell waits once it also catches the signal (its handler is in place).
    caught = int(status.split("SigCgt:")[1].split()[0], 16) >> (watched - 1) & 1
    if asleep or (blocked and caught):
        break
    time.sleep(0.01)
os.kill(p, signum)
"""


@pytest.fixture
def sender(tmp_path: Path) -> str:
    path = tmp_path / "sender.py"
    path.write_text(SENDER)
    return f"{PY} {path}"


def test_sigwait_returns_the_senders_pid(sender: str) -> None:
    done = run_cli("-c", f"spawn k -- {sender} {int(signal.SIGUSR1)}; "
                   "sigwait USR2 USR1 --timeout 20; py k.pid; "
                   "py sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])); "
                   "py signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL")  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    pid = int(lines[2])
    assert re.fullmatch(
        rf"sigwait: SIGUSR1 \(10\) from pid {pid} \(k, a child of the shell\), uid \d+: "
        r"SI_USER: sent by kill",
        lines[1],
    ), lines[1]
    assert lines[3:] == ["[]", "True"]  # the mask and the disposition are put back


def test_ctrl_c_cancels_sigwait(sender: str) -> None:
    # SIGINT is always caught (default_int_handler) and never blocked: the sender watches
    # USR1, which only sigwait catches and blocks.
    script = (f"spawn k -- {sender} {int(signal.SIGINT)} {int(signal.SIGUSR1)}\n"
              "sigwait USR1 --timeout 20\necho after")  # fmt: skip
    done = run_cli("--keep-going", "-c", script)
    assert done.returncode == 1
    assert done.stderr == "error: cancelled by Ctrl-C; everything else carries on\n"
    assert done.stdout.splitlines()[-1] == "after"


def test_sigwait_can_take_sigint_itself(sender: str) -> None:
    done = run_cli("-c", f"spawn k -- {sender} {int(signal.SIGINT)}; sigwait INT --timeout 20")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].startswith("sigwait: SIGINT (2) from pid ")


def test_a_trap_does_not_see_what_sigwait_takes(sender: str) -> None:
    done = run_cli("-c", f"trap USR1; spawn k -- {sender} {int(signal.SIGUSR1)}; "
                   "sigwait USR1 --timeout 20; trap USR1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == (
        "trap: SIGUSR1 (10) is already trapped: 0 received so far"
    )


def test_a_timeout_says_what_did_not_come_and_puts_everything_back(shell: Shell) -> None:
    assert shell.fails("sigwait USR2 HUP --timeout 0.2") == (
        "error: sigwait: timeout after 0.2 s: no SIGUSR2 or SIGHUP came; --timeout S waits longer"
    )
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == set()
    assert signal.getsignal(signal.SIGUSR2) == signal.SIG_DFL
    explained = shell.ok("explain")
    # Every call, in order: the handlers, the block, the wait, and what put them back.
    calls = [line.strip().partition("  #")[0] for line in explained.splitlines()[1:]]
    assert calls == [
        "signal.signal(signal.SIGUSR2, lambda signum, frame: None)",
        "signal.signal(signal.SIGHUP, lambda signum, frame: None)",
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2, signal.SIGHUP})",
        "signal.sigtimedwait({signal.SIGUSR2, signal.SIGHUP}, 0.2)",
        "signal.pthread_sigmask(signal.SIG_SETMASK, set())",
        "signal.signal(signal.SIGUSR2, signal.SIG_DFL)",
        "signal.signal(signal.SIGHUP, signal.SIG_DFL)",
    ], explained
    assert "# -> {signal.SIGHUP, signal.SIGUSR2}" in explained


# A child that exits once the shell waits for SIGCHLD: it catches it (only sigwait does)
# and blocks it, or sleeps in sigtimedwait (which unblocks it while it sleeps).
EXITER = """\
import os, sys, time
task = f"/proc/{os.getppid()}/task/{os.getppid()}/"
for _ in range(3000):
    status = open(task + "status").read()
    bit = lambda key: int(status.split(key + ":")[1].split()[0], 16) >> 16 & 1
    if bit("SigCgt") and (bit("SigBlk") or "sigtimedwait" in open(task + "wchan").read()):
        break
    time.sleep(0.01)
sys.exit(int(sys.argv[1]))
"""


def test_a_childs_sigchld_is_named_by_its_si_code(tmp_path: Path) -> None:
    path = tmp_path / "exiter.py"
    path.write_text(EXITER)
    done = run_cli("-c", f"spawn c -- {PY} {path} 3; sigwait CHLD --timeout 20")
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(
        r"sigwait: SIGCHLD \(17\) from pid \d+ \(c, a child of the shell\), uid \d+: "
        r"CLD_EXITED: the child exited",
        done.stdout.splitlines()[1],
    ), done.stdout


def test_sigwait_refuses_what_cannot_be_waited_for(shell: Shell) -> None:
    assert "SIGKILL (9) can't be blocked" in shell.fails("sigwait KILL")
    assert "SIGSTOP (19) can't be blocked" in shell.fails("sigwait USR1 STOP")
    assert "the C library's own" in shell.fails("sigwait 32")
    assert "missing SIG" in shell.fails("sigwait")
    assert "unknown signal" in shell.fails("sigwait NOPE")
