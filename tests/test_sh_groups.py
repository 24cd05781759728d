"""A foreground `sh` runs in a session (so a process group) of its own, as spawn's child:
a program signalling its group can't reach the shell, and what it started ends with it
on --timeout, on Ctrl-C and when it leaves something running."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.helpers import PY, Shell, child, child_pids, pslrepl_exe

# A child that starts a grandchild (printing its pid), then lives on.
STARTER = (
    "import signal, subprocess, sys, time; {before}"
    "p = subprocess.Popen(['sleep', '60']); print(p.pid, flush=True); {after}time.sleep(60)"
)


def ended(pid: int) -> bool:
    """Gone, or a zombie waiting for a parent that is not us: no longer running."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_program_signalling_its_group_does_not_end_the_shell() -> None:
    # Run in a session of its own: with the old code the signal reached this test's group.
    done = subprocess.run(
        [pslrepl_exe(), "--keep-going", "-c",
         "sh sh -c 'kill -USR2 0; echo after'; py print('shell alive')"],
        capture_output=True, text=True, timeout=30, start_new_session=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 1, done
    assert done.stdout == "shell alive\n"
    assert done.stderr == (
        "error: sh: sh killed by SIGUSR2 (signal 12) (SignalException_SIGUSR2)\n"
    )


def test_sh_runs_in_a_group_of_its_own(shell: Shell) -> None:
    code = "import os; print(os.getpgid(0), os.getsid(0), os.getpid())"
    pgid, sid, pid = map(int, shell.ok(f"sh --no-tty {child(code)}").split()[:3])
    assert pgid == sid == pid != os.getpgid(0)
    explain = shell.ok("explain")
    assert "_new_session=True" in explain


def test_timeout_ends_what_the_program_started(shell: Shell) -> None:
    shell.ok("sh true")  # the session's watchdog is up: its process stays
    children = child_pids()
    code = STARTER.format(before="", after="")
    ok, out, err = shell(f"sh --timeout 0.5 {child(code)}")
    assert not ok and "sh.TimeoutException" in err
    grandchild = int(out.split()[0])
    assert ended(grandchild)  # sh's _timeout KILLs only its child; its group went too
    assert child_pids() == children


def test_a_pipeline_timing_out_leaves_nothing(shell: Shell) -> None:
    code = STARTER.format(before="", after="")
    ok, out, err = shell(f"sh --timeout 0.5 {child(code)} | cat")
    assert not ok and "sh.TimeoutException" in err
    assert ended(int(out.split()[0]))


def test_ctrl_c_ends_a_program_that_ignores_sigint_and_what_it_started(
    shell: Shell, tmp_path: Path
) -> None:
    shell.ok("sh true")  # the session's watchdog is up: its process stays
    children = child_pids()
    # The child ignores SIGINT (as `trap "" INT` does), starts a grandchild, writes its
    # pid to a file, then sends this process a real SIGINT: the Ctrl-C cancelling the wait.
    pid_file = tmp_path / "pid"
    code = (
        "import os, signal, subprocess, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        "p = subprocess.Popen(['sleep', '60']); "
        f"open({str(pid_file)!r}, 'w').write(str(p.pid)); "
        "os.kill(os.getppid(), signal.SIGINT); time.sleep(60)"
    )
    ok, out, err = shell(f"sh --timeout 30 {child(code)}")
    assert not ok
    assert err == "error: cancelled by Ctrl-C; everything else carries on\n"
    assert child_pids() == children
    assert ended(int(pid_file.read_text()))


def test_what_a_finished_program_left_running_is_ended_and_said(shell: Shell) -> None:
    out = shell.ok("sh sh -c 'sleep 60 & echo $!'")
    lines = out.splitlines()
    assert lines[1] == "exited with status 0"
    assert lines[2].startswith(
        "warning: sh: ended 1 process it left running in its group (TERM, then KILL after "
        "the grace)"
    )
    assert ended(int(lines[0]))


def test_a_program_that_leaves_nothing_gets_no_warning(shell: Shell) -> None:
    assert shell.ok(f"sh {PY} -c 'print(1)' | cat") == "1\nexited with status 0\n"
