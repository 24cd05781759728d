"""export py of the signal commands: raise and signal shell, trap --ignore/--default,
alarm, itimer, sigwait, spawn --ignore and signal --group; each script, run alone,
prints what the shell printed."""

from __future__ import annotations

import re
import signal
import threading
from pathlib import Path

import pytest

from tests.helpers import Shell
from tests.test_export_units import check_same, run_alone, script_of


@pytest.fixture(autouse=True)
def signals_exported(monkeypatch: pytest.MonkeyPatch) -> None:
    """export/signals.py's and shlib.py's exporters extend processes' and session_cmds'
    (signal, trap, spawn, wait, poll): their modules come last in export's MODULES."""
    import pslrepl.export as export

    if export.MODULES[-2:] != ("shlib", "signals"):
        modules = tuple(m for m in export.MODULES if m not in ("shlib", "signals"))
        monkeypatch.setattr(export, "MODULES", (*modules, "shlib", "signals"))
    if "sigwait" not in export.FAILURES:  # its exporter writes what a timeout says
        monkeypatch.setattr(export, "FAILURES", (*export.FAILURES, "sigwait"))


def test_raise_and_signal_shell_to_a_trap_an_ignored_and_a_default(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "trap USR1",
        "raise USR1",
        "signal shell USR1",
        "trap USR2 --ignore",
        "raise USR2",
        "trap USR2 --default",
        "raise CHLD",
        "raise WINCH",
        "signal shell 0",
        "raise INT",
        "trap USR1 --off",
    ], tmp_path)  # fmt: skip
    assert out[1:3] == ["shell: raised SIGUSR1 (10): the trap reported it (1 so far)",
                        "shell: raised SIGUSR1 (10): the trap reported it (2 so far)"]  # fmt: skip
    assert "shell: raised SIGUSR2 (12): ignored (SIG_IGN): the kernel discarded it" in out
    assert (
        "trap: SIGUSR2 (12) takes its default action (SIG_DFL): it ends the shell (Term in "
        "signal(7))"
    ) in out
    assert out[-2].startswith("shell: raised SIGINT (2): Python's default_int_handler raised")
    source = script_of(shell)
    assert "signal.raise_signal(signal.SIGUSR1)" in source
    assert "signal.signal(signal.SIGUSR2, signal.SIG_IGN)" in source


def test_real_time_signals_ignored_and_raised(shell: Shell, tmp_path: Path):
    out = check_same(shell, ["trap RTMIN+2 --ignore", "raise RTMIN+2", "trap RTMAX-1",
                             "raise SIGRTMAX-1"], tmp_path)  # fmt: skip
    assert out[1] == (f"shell: raised SIGRTMIN+2 ({signal.SIGRTMIN + 2}): ignored (SIG_IGN): "
                      "the kernel discarded it")  # fmt: skip
    assert "signal.raise_signal(signal.SIGRTMAX - 1)" in script_of(shell)


def test_alarm_and_itimer_set_shown_and_stopped(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "itimer",
        "alarm 30",
        "alarm 0",
        "itimer REAL 20 5",
        "itimer REAL 0",
        "itimer REAL 0",
        "itimer VIRTUAL 0",
    ], tmp_path)  # fmt: skip
    assert out[-3].startswith("itimer: ITIMER_REAL stopped (it had ")
    assert out[-2] == "itimer: ITIMER_REAL was not running"
    source = script_of(shell)
    assert "signal.setitimer(signal.ITIMER_REAL, 20.0, 5.0)" in source
    assert "signal.signal(signal.SIGALRM, report)" in source


def test_a_repeating_timer_delivers_to_the_trap(shell: Shell, tmp_path: Path):
    out = check_same(shell, ["itimer REAL 0.01 0.01", "sigwait ALRM --timeout 5",
                             "itimer REAL 0"], tmp_path)  # fmt: skip
    assert out[2].startswith("sigwait: SIGALRM (14) from pid ")
    assert out[2].endswith("SI_KERNEL: sent by the kernel")


def test_sigwait_that_times_out_says_so(shell: Shell, tmp_path: Path):
    out = check_same(shell, ["sigwait USR2 HUP --timeout 0.05", "echo after"], tmp_path)
    assert out == ["error: sigwait: timeout after 0.05 s: no SIGUSR2 or SIGHUP came; "
                   "--timeout S waits longer", "after"]  # fmt: skip


def test_spawn_ignore_survives_exec_and_signal_group_reaches_a_pipeline(shell: Shell,
                                                                      tmp_path: Path):  # fmt: skip
    out = check_same(shell, [
        "spawn p --ignore HUP,INT -- sleep 30",
        "signal p HUP",
        "signal p INT",
        "poll p",
        "signal p TERM",
        "wait p",
        # Its right side says so once it runs: the left was forked before it.
        "spawn q -- sh -c 'sleep 30 | (echo up; exec sleep 31)'",
        "read q --line",
        "signal q 0 --group",
        "signal q TERM --group",
        "wait q",
    ], tmp_path)  # fmt: skip
    assert "p: running (poll() returned None)" in out
    assert "p: killed by SIGTERM (signal 15)" in out
    assert any(line.startswith("q: sent SIGTERM (15) to process group ") and
               line.endswith("(3 processes)") for line in out)  # fmt: skip
    source = script_of(shell)
    assert "preexec_fn=lambda: [signal.signal(s, signal.SIG_IGN) for s in (signal.SIGHUP, " \
           "signal.SIGINT)]," in source  # fmt: skip
    assert "os.killpg(q.pid, signal.SIGTERM)" in source


def test_sigwait_takes_a_pending_real_time_signal_the_shell_raised(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "py mask = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGRTMIN + 3])",
        "py signal.raise_signal(signal.SIGRTMIN + 3)",
        "sigwait RTMIN+3 --timeout 5",
        "py mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGRTMIN + 3])",
    ], tmp_path)  # fmt: skip
    assert out[0].startswith(f"sigwait: SIGRTMIN+3 ({signal.SIGRTMIN + 3}) from pid ")
    assert " (the shell itself), uid " in out[0]
    assert re.search(r": SI_(USER|TKILL): sent by (kill|tkill)", out[0]), out[0]


def test_refused_sigwaits_are_written_as_the_refusal_not_as_calls(shell: Shell, tmp_path: Path):
    out = check_same(shell, ["sigwait KILL", "sigwait STOP CONT", "sigwait 32", "echo after"],
                     tmp_path)  # fmt: skip
    assert out == [
        "error: sigwait: SIGKILL (9) can't be blocked, so it can't be waited for: the kernel "
        "acts on it at once",
        "error: sigwait: SIGSTOP (19) can't be blocked, so it can't be waited for: the "
        "kernel acts on it at once",
        "error: sigwait: signal 32 is the C library's own",
        "after",
    ]
    assert "sigtimedwait" not in script_of(shell)


def test_spawn_pty_with_ignore_has_one_preexec_fn_doing_both(shell: Shell, tmp_path: Path):
    out = check_same(shell, ["spawn p --pty --ignore INT,QUIT -- sleep 30", "signal p INT",
                             "signal p QUIT", "poll p", "kill p", "wait p"], tmp_path)  # fmt: skip
    assert out[3:] == ["p: running (poll() returned None)", "p: sent SIGKILL (9)",
                       "p: killed by SIGKILL (signal 9)"]  # fmt: skip
    source = script_of(shell)
    assert source.count("preexec_fn=") == 1
    assert "fcntl.ioctl(0, termios.TIOCSCTTY, 0)" in source


def test_close_of_a_child_ignoring_term_kills_it_after_the_grace(shell: Shell, tmp_path: Path):
    out = check_same(shell, ["spawn a --ignore TERM -- sleep 60", "close a"], tmp_path)
    assert out[1] == "a: killed after 1 s grace: killed by SIGKILL (signal 9)"


def test_close_and_ps_of_a_shell_pipeline_reach_its_whole_group(shell: Shell, tmp_path: Path):
    from tests.test_export_units import masked, shell_output
    from tests.test_sh_groups import ended

    # Each pipeline's shell writes its background sleep's pid to a file: a member of its
    # group to look for once the shell's close and the script's have run.
    q_pids = tmp_path / "q-pids"
    lines = [f"spawn q --shell -- 'sleep 60 & echo $! >> {q_pids}; echo up; wait'",
             "spawn p --shell -- 'sleep 60 & wait'",
             "read q --line --timeout 10", "signal q TERM", "wait q", "ps",
             "close q", "close p"]  # fmt: skip
    expected = shell_output(shell, lines)
    out = run_alone(script_of(shell), tmp_path)

    def settled(found: list[str]) -> list[str]:
        # p's close: its sleep gets the same TERM as its shell, and may not have gone yet
        # when the leader's end is seen (then it is counted as left running, and ended).
        return [re.sub(r"^(p: terminated: .*?); ended 1 process it left running$", r"\1",
                       line) for line in masked(found)]  # fmt: skip

    assert settled(out) == settled(expected)
    assert [line for line in out if line.startswith("q ")][0].endswith(
        "killed by SIGTERM (signal 15); 1 left in its group  -15  "
        f"sleep 60 & echo $! >> {q_pids}; echo up; wait"
    )
    assert out[-2] == "q: closed (killed by SIGTERM (signal 15)); ended 1 process it left running"
    pids = [int(p) for p in q_pids.read_text().split()]
    assert len(pids) == 2  # one from the shell's run, one from the script's
    assert all(ended(pid) for pid in pids)  # the script's close ended q's leftover too


def test_trap_off_and_default_stop_a_running_timer_first(shell: Shell, tmp_path: Path):
    out = check_same(shell, ["itimer REAL 30 30", "trap ALRM --off", "itimer REAL 30",
                             "trap ALRM --default", "itimer", "echo alive"], tmp_path)  # fmt: skip
    assert out[3] == ("warning: itimer REAL stopped first (30 s left, then every 30 s): its "
                      "next SIGALRM would have ended the shell at SIG_DFL; `itimer REAL S` "
                      "sets it again")  # fmt: skip
    assert out[-1] == "alive"
    assert "signal.setitimer(signal.ITIMER_REAL, 0)" in script_of(shell)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    shell.ok("trap ALRM --off")


def _ctrl_c_once_sigwait_waits(signum: int) -> threading.Thread:
    """A thread of this process that sends it a real SIGINT (the Ctrl-C) once its main
    thread waits for ``signum`` in sigwait (asleep in sigtimedwait, or blocking and
    catching it just before), as /proc shows; at most 20 s."""
    import os
    import time

    task = f"/proc/{os.getpid()}/task/{os.getpid()}/"

    def bit(status: str, key: str) -> int:
        return int(status.split(key + ":")[1].split()[0], 16) >> (signum - 1) & 1

    def watch() -> None:
        for _ in range(2000):
            with open(task + "wchan") as fh:
                asleep = "sigtimedwait" in fh.read()
            with open(task + "status") as fh:
                status = fh.read()
            if asleep or (bit(status, "SigBlk") and bit(status, "SigCgt")):
                break
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_commands_cancelled_by_ctrl_c_are_said_not_run(shell: Shell, tmp_path: Path):
    from tests.helpers import child

    said = "error: cancelled by Ctrl-C; everything else carries on"
    watcher = _ctrl_c_once_sigwait_waits(int(signal.SIGUSR1))
    assert shell.fails("sigwait USR1 --timeout 20") == said
    watcher.join()
    code = "import os, signal, time; os.kill(os.getppid(), signal.SIGINT); time.sleep(30)"
    assert shell.fails(f"sh --timeout 30 {child(code)}") == said
    shell.ok("echo after")
    source = script_of(shell)
    assert "sigtimedwait" not in source and "_timeout=30" not in source
    assert run_alone(source, tmp_path) == [said, said, "after"]


def test_a_refused_spawn_ignore_is_written_as_the_refusal(shell: Shell, tmp_path: Path):
    out = check_same(shell, ["spawn a --ignore KILL -- true", "echo after"], tmp_path)
    assert out[0].startswith("error: spawn: ") and "SIGKILL" in out[0]
    assert out[1] == "after"
