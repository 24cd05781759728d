"""sh --bg NAME: sh's RunningCommand kept under a name, a child to every process command."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from tests.helpers import PY, Shell, child, child_pids, make_shell, open_fds


def settle(check: object, timeout: float = 10.0) -> bool:
    """Wait for what /proc or the thread count shows to catch up (bounded)."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_sh_bg_is_waited_on_and_read(shell: Shell) -> None:
    code = "import sys; print('hello'); sys.stderr.write('oops\\n'); sys.exit(3)"
    out = shell.ok(f"sh --bg b {child(code)}")
    pid = int(shell.session.volatile["b.pid"])
    assert out.startswith(f"b: started pid {pid}: {PY} -u -c ")
    assert shell.ok("wait b") == "b: exited with status 3 (ErrorReturnCode_3)\n"
    assert shell.ok("read b --all") == "hello\n"
    assert shell.ok("read b --stderr --all") == "oops\n"
    assert shell.ok("poll b") == "b: exited with status 3\n"
    log = shell.ok("log b")
    assert "-- exited with status 3 (ErrorReturnCode_3)\n" in log
    info = dict(line.split(":", 1) for line in shell.ok("info b").splitlines())
    assert info["kind"].strip() == "sh"
    assert info["sh raised"].strip() == "ErrorReturnCode_3"
    assert info["sh call"].strip().startswith("sh.Command(") and "_bg=True)" in info["sh call"]


def test_ls_ps_and_py_see_the_running_command(shell: Shell) -> None:
    shell.ok("sh --bg b sleep 30")
    pid = int(shell.session.volatile["b.pid"])
    ls = shell.ok("ls").splitlines()
    assert ls[1].split()[:4] == ["b", "sh", "running", "pid"]
    assert shell.ok("ps").splitlines()[1].split()[:4] == ["b", str(pid), str(pid), "running"]
    assert shell.ok("py type(b).__name__") == "'RunningCommand'\n"
    assert shell.ok("py b.pid") == f"{pid}\n"
    assert shell.ok("poll b") == "b: running (is_alive() returned True)\n"
    assert shell.ok("explain").splitlines()[1] == "  b.is_alive()  # -> True"
    assert shell.ok("explain 1").splitlines()[1] == (
        "  b = sh.sleep('30', _bg=True)  # equivalent: the shell also passes _out/_err "
        "targets keeping the newest 1 MiB of each stream"
    )


def test_signal_terminate_and_kill_a_background_command(shell: Shell) -> None:
    shell.ok("sh --bg s sleep 30; sh --bg t sleep 30; sh --bg k sleep 30")
    assert shell.ok("signal s USR1") == "s: sent SIGUSR1 (10)\n"
    assert shell.ok("wait s") == "s: killed by SIGUSR1 (signal 10) (SignalException_SIGUSR1)\n"
    assert "s has already ended" in shell.fails("signal s USR1")
    shell.ok("terminate t")
    assert shell.ok("wait t") == "t: killed by SIGTERM (signal 15) (SignalException_SIGTERM)\n"
    shell.ok("kill k")
    assert shell.ok("wait k") == "k: killed by SIGKILL (signal 9) (SignalException_SIGKILL)\n"
    assert "  k.kill()" in shell.ok("explain 9").splitlines()
    assert "  s.signal(10)" in shell.ok("explain 4").splitlines()
    log = shell.ok("log k")
    assert "(SignalException_SIGKILL)" in log


def test_a_background_command_leads_its_own_group(shell: Shell) -> None:
    shell.ok("sh --bg g sh -c 'sleep 100 | cat'")
    pgid = int(shell.session.volatile["g.pid"])
    assert settle(lambda: len(_group(pgid)) == 3)
    assert shell.ok("signal g TERM --group") == (
        f"g: sent SIGTERM (15) to process group {pgid} (3 processes)\n"
    )
    assert shell.ok("wait g") == "g: killed by SIGTERM (signal 15) (SignalException_SIGTERM)\n"
    assert settle(lambda: _group(pgid) == [])
    assert "  g.signal_group(15)" in shell.ok("explain 2").splitlines()


def _group(pgid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            fields = data[data.rindex(b")") + 2 :].split()
            if int(fields[2]) == pgid and fields[0] != b"Z":
                found.append(int(name))
    return found


def test_the_child_gets_the_shells_signal_mask_and_shs_sighup(shell: Shell) -> None:
    """sh's threads start with signals blocked (so they never take one meant for the
    shell), the child is given the shell's mask back; and sh's _bg ignores SIGHUP."""
    before = set(os.listdir("/proc/self/task"))
    shell.ok("sh --bg m sleep 30")
    info = dict(line.split(":", 1) for line in shell.ok("info m").splitlines())
    assert info["blocked"].strip() == "none"
    assert "SIGHUP" in info["ignored"]
    new = set(os.listdir("/proc/self/task")) - before
    assert new, "sh's threads"
    for task in new:
        try:
            with open(f"/proc/self/task/{task}/status") as fh:
                blocked = int(fh.read().split("SigBlk:")[1].split()[0], 16)
        except OSError:
            continue  # ended meanwhile
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGALRM):
            assert blocked >> (signum - 1) & 1, (task, signum)


def test_in_gives_input_and_write_explains_itself(shell: Shell) -> None:
    shell.ok("sh --bg x --in 'b\\na\\x00\\n' sort")
    assert shell.ok("wait x") == "x: exited with status 0\n"
    assert shell.ok("read x --all --repr") == "b'a\\x00\\nb\\n'  (5 bytes)\n"
    shell.ok("sh --bg y cat")
    assert shell.ok("wait y") == "y: exited with status 0\n"  # no --in: sh closes stdin
    assert "write is for spawn's children" in shell.fails("write y hi")
    assert "sh closed its stdin" in shell.fails("eof y")


def test_iter_shows_each_line_as_it_comes() -> None:
    shell = make_shell()
    try:
        shell.ok("set events live")
        code = "print('one'); print('two\\tthree')"
        # The lines may come while sh --bg is still answering, or during the wait.
        out = shell.ok(f"sh --bg t --iter {child(code)}") + shell.ok("wait t")
        assert "[t] one\n" in out and "[t] two\\tthree\n" in out
        assert out.endswith("t: exited with status 0\n")
        assert "shown line by line as it comes (--iter)" in shell.fails("read t")
        info = dict(line.split(":", 1) for line in shell.ok("info t").splitlines())
        assert info["stdout"].strip() == "shown line by line as it came (--iter), not kept"
        assert "  t = sh.Command(" in shell.ok("explain 2")
        assert "_bg=True, _iter=True)" in shell.ok("explain 2")
    finally:
        shell.close()


def test_timeout_kills_a_background_command(shell: Shell) -> None:
    shell.ok("sh --bg t --timeout 0.3 sleep 30")
    assert shell.ok("wait t") == "t: killed by SIGKILL (signal 9) (TimeoutException)\n"
    assert "(TimeoutException)" in shell.ok("log t")


def test_bad_uses_are_refused(shell: Shell) -> None:
    assert "give it a name, like: sh --bg t --iter" in shell.fails("sh --iter ls")
    assert "--bg runs one program" in shell.fails("sh --bg p ls | wc -l")
    assert "p" not in shell.session.registry
    shell.ok("sh --bg b true")
    assert "the name 'b' is taken" in shell.fails("sh --bg b true")
    assert "is a command" in shell.fails("sh --bg read true")
    assert "sh.CommandNotFound" in shell.fails("sh --bg c nosuchprogram-xyz")
    assert "c" not in shell.session.registry


def test_close_ends_the_command_and_what_it_started_and_leaks_nothing() -> None:
    warm = make_shell()
    warm.ok("sh --bg w true; wait w; close w")  # sh's first use starts what it keeps
    warm.close()
    fds, threads, children = open_fds(), threading.active_count(), child_pids()
    shell = make_shell()
    shell.session.settings.grace = 0.3
    try:
        for i in range(10):
            shell.ok(f"sh --bg a{i} {PY} -c 'import time; time.sleep(60)'")
            shell.ok(f"sh --bg b{i} sh -c 'sleep 60 & sleep 60'")
            shell.ok(f"sh --bg c{i} true; wait c{i}")
            assert "terminated" in shell.ok(f"close a{i}")
            shell.ok(f"close b{i} c{i}")
    finally:
        shell.close()
    assert settle(lambda: threading.active_count() <= threads)
    assert threading.active_count() == threads
    assert child_pids() == children
    assert open_fds() == fds


def test_exit_leaves_no_background_command() -> None:
    shell = make_shell()
    shell.session.settings.grace = 0.3
    try:
        shell.ok("sh --bg a sleep 60; sh --bg b sh -c 'trap \"\" TERM; sleep 60 & wait'")
        pids = [int(shell.session.volatile[f"{n}.pid"]) for n in "ab"]
        assert settle(lambda: len(_group(pids[1])) == 2)
        shell.ok("exit")
    finally:
        shell.close()
    assert [_group(p) for p in pids] == [[], []]


def test_a_job_reaped_between_the_check_and_the_signal_says_it_has_ended(
    shell: Shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sh's own thread may reap a background command between the shell's look and its
    signal: the kill then meets ESRCH (injected here: the window is too narrow to hit)."""
    shell.ok("sh --bg j sleep 30")
    job = shell.session.registry.get("j")

    def gone(signum: int) -> None:
        raise ProcessLookupError(3, "No such process")

    monkeypatch.setattr(job.popen, "send_signal", gone)
    assert shell.fails("kill j") == (
        "error: j has just ended; there is nobody to signal (`wait j` says how)"
    )


def test_an_iter_jobs_log_has_its_start_before_its_lines(shell: Shell) -> None:
    # sh's threads read from the call on: a fast program's lines may come before the
    # shell has the job's pid. Several jobs, so the early case comes up.
    for index in range(5):
        shell.ok(f"sh --bg it{index} --iter printf 'a\\nb\\n'")
        shell.ok(f"wait it{index}")
        kinds = [line.split(" -- ", 1)[1].split()[0] for line in
                 shell.ok(f"log it{index}").splitlines()]  # fmt: skip
        assert kinds == ["started", "a", "b", "exited"], kinds


def test_a_running_jobs_lines_can_be_read_as_they_come(shell: Shell) -> None:
    """sh hands the shell each line the job prints (line-buffered sinks), not 64 KiB
    pieces: a read of a job that printed a line and sleeps gets the line."""
    code = "import sys, time; print('one'); sys.stderr.write('err\\n'); time.sleep(30)"
    shell.ok(f"sh --bg j {child(code)}")
    assert shell.ok("read j --line --timeout 10") == "one\n"
    assert shell.ok("read j --stderr --line --timeout 10") == "err\n"
    shell.ok("close j")
