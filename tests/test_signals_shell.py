"""Signals to the shell itself (signal shell SIG, raise SIG): real signals, real dispositions."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.helpers import Shell, make_shell, pslrepl_exe, run_cli

# signal(7): what the default action does, kept here so a wrong table in the shell can't
# hide. The rest end the process (Term or Core).
IGNORED_BY_DEFAULT = {"SIGCHLD", "SIGURG", "SIGWINCH", "SIGCONT"}
STOPPING = {"SIGTSTP", "SIGTTIN", "SIGTTOU"}


def test_a_trap_is_fed_by_signal_shell(shell: Shell) -> None:
    shell.ok("trap USR1")
    assert shell.ok("signal shell USR1") == (
        "shell: raised SIGUSR1 (10): the trap reported it (1 so far)\n"
    )
    assert shell.ok("raise USR1") == "shell: raised SIGUSR1 (10): the trap reported it (2 so far)\n"
    trap = signal.getsignal(signal.SIGUSR1)
    assert getattr(trap, "count", None) == 2  # delivered for real, twice
    log = shell.ok("log signal")
    assert "-- received SIGUSR1 (10)\n" in log
    assert "-- received SIGUSR1 (10) again: 2 so far\n" in log
    assert shell.ok("trap USR1") == "trap: SIGUSR1 (10) is already trapped: 2 received so far\n"
    assert "signal.raise_signal(signal.SIGUSR1)" in shell.ok("explain 3")


def test_the_trap_is_shown_live_with_its_count() -> None:
    shell = make_shell()
    try:
        shell.ok("set events live; trap USR2")
        out = shell.ok("raise USR2; raise USR2")
        assert "[signal] received SIGUSR2 (12)\n" in out
        assert "[signal] received SIGUSR2 (12) again: 2 so far\n" in out
    finally:
        shell.close()
    assert signal.getsignal(signal.SIGUSR2) == signal.SIG_DFL


def test_an_ignored_signal_does_not_end_the_shell(shell: Shell) -> None:
    assert shell.ok("trap USR2 --ignore") == (
        "trap: SIGUSR2 (12) is ignored (SIG_IGN): the kernel discards it, and a child "
        "started now inherits that, across exec\n"
    )
    assert signal.getsignal(signal.SIGUSR2) == signal.SIG_IGN
    assert shell.ok("signal shell USR2") == (
        "shell: raised SIGUSR2 (12): ignored (SIG_IGN): the kernel discarded it\n"
    )
    row = [r for r in shell.ok("signals").splitlines() if r.startswith("SIGUSR2 ")]
    assert row[0].split()[3] == "SIG_IGN"
    assert shell.ok("trap USR2 --off") == "trap: SIGUSR2 (12) restored to its previous handler\n"
    assert signal.getsignal(signal.SIGUSR2) == signal.SIG_DFL


def test_a_default_signal_would_end_the_shell_so_it_asks_first() -> None:
    """In a shell of its own: SIG_DFL for SIGUSR2 ends it, once --force lets it, and the
    child it had is ended by its watchdog."""
    refused = run_cli("-c", "trap USR2 --default; raise USR2")
    assert refused.returncode == 1
    assert refused.stderr == (
        "error: raise: SIGUSR2 (12) would end the shell: it is not trapped and its default "
        "action (SIG_DFL) ends the shell; `trap USR2` first to see it arrive, or --force to "
        "let it\n"
    )
    done = run_cli("-c", "trap USR2 --default; spawn z -- sleep 60; py z.pid; "
                   "signal shell USR2 --force; echo not reached")  # fmt: skip
    assert done.returncode == -signal.SIGUSR2
    lines = done.stdout.splitlines()
    assert lines[-1] == (
        "shell: raising SIGUSR2 (12): it is not trapped and its default action (SIG_DFL) "
        "ends the shell"
    )
    assert "not reached" not in done.stdout
    pid = int(lines[-2])
    deadline = time.monotonic() + 10
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _running(pid), "the watchdog should have ended the shell's child"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return False
    return data[data.rindex(b")") + 2 : data.rindex(b")") + 3] != b"Z"


def test_the_shells_own_term_handler_ends_it_cleanly_when_forced() -> None:
    refused = run_cli("-c", "raise TERM")
    assert "the shell's own handler for it closes everything and exits (status 143)" in (
        refused.stderr
    )
    done = run_cli("-c", "raise TERM --force; echo not reached")
    assert done.returncode == 143
    assert "not reached" not in done.stdout


@pytest.mark.parametrize("name", ["KILL", "STOP"])
def test_kill_and_stop_are_never_sent_to_the_shell(shell: Shell, name: str) -> None:
    for line in (f"raise {name} --force", f"signal shell {name} --force", f"raise SIG{name}"):
        assert "can't be caught or ignored" in shell.fails(line)


def test_every_signal_is_refused_or_delivered_by_its_disposition(shell: Shell) -> None:
    """Each signal Python can raise: one that would end or stop the shell is refused and
    names why; the rest are delivered (and the shell is still here to say so)."""
    for number in sorted(signal.valid_signals()):
        if number in (signal.SIGKILL, signal.SIGSTOP):
            continue
        handler = signal.getsignal(number)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = ""  # a realtime one: Term
        line = f"raise {int(number)}"
        harmless = (
            handler == signal.SIG_IGN
            or (handler == signal.SIG_DFL and name in IGNORED_BY_DEFAULT)
            or (callable(handler) and getattr(handler, "__module__", "") != "pslrepl.cli")
        )
        if harmless:
            assert shell.ok(line).startswith(f"shell: raised {name or 'SIGRT'}"), line
        elif handler == signal.SIG_DFL and name in STOPPING:
            ok, out, err = shell(line)
            # Refused; or, where the shell's process group is orphaned, discarded by the
            # kernel (which stops no process of such a group) and said so.
            assert ("would stop the shell" in err) if not ok else ("discarded it" in out)
        else:
            assert "would end the shell" in shell.fails(line), line


def test_sigint_raised_in_the_shell_is_its_keyboardinterrupt(shell: Shell) -> None:
    out = shell.ok("raise INT; echo still here")
    assert out == (
        "shell: raised SIGINT (2): Python's default_int_handler raised KeyboardInterrupt, "
        "as Ctrl-C does to a running command (caught here)\nstill here\n"
    )


def test_signal_0_and_group_to_the_shell(shell: Shell) -> None:
    assert shell.ok("signal shell 0") == (
        f"shell: pid {os.getpid()} is this process (signal 0 sends nothing)\n"
    )
    assert "--group is for a child's process group" in shell.fails("signal shell USR1 --group")
    shell.ok("spawn p -- sleep 30")
    assert "--force is for `signal shell`" in shell.fails("signal p TERM --force")


def test_a_forced_stop_stops_the_shell_until_sigcont() -> None:
    """SIGTSTP's default action stops the shell; SIGCONT from outside lets it go on. The
    shell runs in a process group of its own under the test (not orphaned: the kernel
    doesn't stop an orphaned group's processes)."""
    proc = subprocess.Popen(
        [pslrepl_exe(), "-c", "raise TSTP --force; echo continued"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=os.setpgrp,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while _state(proc.pid) != "T" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _state(proc.pid) == "T", "the shell should be stopped"
        os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out.splitlines() == [
        "shell: raising SIGTSTP (20): it is not trapped and its default action (SIG_DFL) "
        "stops the shell until SIGCONT",
        "shell: raised SIGTSTP (20): the shell was stopped (SIG_DFL), and has been continued",
        "continued",
    ]


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return ""
    return data[data.rindex(b")") + 2 : data.rindex(b")") + 3].decode()


def test_no_resource_may_be_named_shell(shell: Shell) -> None:
    """`signal shell SIG` means the shell itself: a child named shell would take it."""
    for line in ("spawn shell -- sleep 5", "sh --bg shell true", "tcp listen shell 0"):
        assert shell.fails(line) == (
            "error: 'shell' means the shell itself (`signal shell SIG`); pick another name"
        )
    assert len(shell.session.registry) == 0
