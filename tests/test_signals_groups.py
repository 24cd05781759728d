"""Children's signal masks and process groups: spawn --ignore (nohup's lesson), signal
--group, ps's PGID, and close and exit ending a group after its leader. Checked in /proc."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.helpers import Shell, child, make_shell

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs Linux's /proc")


def members(pgid: int) -> list[int]:
    """The processes of a group that have not ended (a zombie has: it waits to be reaped)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        fields = data[data.rindex(b")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != b"Z":
            found.append(int(name))
    return sorted(found)


def until(check: object, timeout: float = 10.0) -> bool:
    """Wait for what the test looks for in /proc (bounded): it changes as processes go."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def ignored(pid: int) -> set[int]:
    with open(f"/proc/{pid}/status") as fh:
        mask = int(fh.read().split("SigIgn:")[1].split()[0], 16)
    return {n for n in range(1, 65) if mask >> (n - 1) & 1}


def pid_of(shell: Shell, name: str) -> int:
    return int(shell.session.volatile[f"{name}.pid"])


def test_an_ignored_signal_survives_exec(shell: Shell) -> None:
    """--ignore INT: sleep, a program that never heard of signals, ignores SIGINT (SIG_IGN
    outlives exec) and still dies of SIGTERM. A handler would not have outlived it."""
    shell.ok("spawn immune --ignore INT -- sleep 60")
    pid = pid_of(shell, "immune")
    assert signal.SIGINT in ignored(pid)
    info = dict(line.split(":", 1) for line in shell.ok("info immune").splitlines())
    assert "SIGINT" in info["ignored"].strip().split(", ")
    assert shell.ok("signal immune INT") == "immune: sent SIGINT (2)\n"
    shell.ok("signal immune TERM")
    # Had SIGINT not been ignored, it (sent first, and a lower number) would have ended it.
    assert shell.ok("wait immune") == "immune: killed by SIGTERM (signal 15)\n"


def test_without_ignore_the_same_child_dies_of_sigint(shell: Shell) -> None:
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        pytest.skip("the test runner ignores SIGINT, and its children inherit that")
    shell.ok("spawn plain -- sleep 60")
    assert signal.SIGINT not in ignored(pid_of(shell, "plain"))
    shell.ok("signal plain INT")
    assert shell.ok("wait plain") == "plain: killed by SIGINT (signal 2)\n"


def test_ignore_takes_several_and_explains_them(shell: Shell) -> None:
    shell.ok("spawn p --ignore HUP,usr1 --ignore RTMIN+2 -- sleep 60")
    assert {signal.SIGHUP, signal.SIGUSR1, signal.SIGRTMIN + 2} <= ignored(pid_of(shell, "p"))
    line = [c for c in shell.ok("explain").splitlines() if "Popen(" in c][0]
    assert line.endswith(
        "start_new_session=True, preexec_fn=lambda: [signal.signal(s, signal.SIG_IGN) for s in "
        "(signal.SIGHUP, signal.SIGUSR1, signal.SIGRTMIN + 2)])"
    )
    compile(line.strip(), "<explain>", "exec")
    for bad, why in (("KILL", "can't be ignored"), ("STOP", "can't be ignored"),
                     ("32", "keeps it for itself"), ("NOPE", "unknown signal")):  # fmt: skip
        assert why in shell.fails(f"spawn q --ignore {bad} -- sleep 1")
    assert "q" not in shell.session.registry


def test_info_shows_what_a_child_blocks(shell: Shell) -> None:
    code = """
        import signal, time
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1, signal.SIGUSR2])
        print("ready", flush=True)
        time.sleep(60)
    """
    shell.spawn("b", code)
    assert shell.ok("read b --line") == "ready\n"
    info = dict(line.split(":", 1) for line in shell.ok("info b").splitlines())
    assert info["blocked"].strip() == "SIGUSR1, SIGUSR2"
    shell.ok("kill b; wait b")
    info = dict(line.split(":", 1) for line in shell.ok("info b").splitlines())
    assert "blocked" not in info  # nothing to read once it has ended


def test_signal_group_ends_every_process_of_a_pipeline(shell: Shell) -> None:
    shell.ok("spawn p --shell -- 'sleep 100 | cat'")
    pgid = pid_of(shell, "p")
    assert until(lambda: len(members(pgid)) == 3), members(pgid)  # sh, sleep and cat
    assert shell.ok("ps").splitlines()[1].split()[:4] == ["p", str(pgid), str(pgid), "running"]
    assert shell.ok("signal p TERM --group") == (
        f"p: sent SIGTERM (15) to process group {pgid} (3 processes)\n"
    )
    assert shell.ok("wait p") == "p: killed by SIGTERM (signal 15)\n"
    assert until(lambda: members(pgid) == []), members(pgid)
    assert f"os.killpg({pgid}, signal.SIGTERM)" in shell.ok("explain 3")


def test_the_group_outlives_its_leader(shell: Shell) -> None:
    """TERM to the child reaches sh alone: sleep and cat live on in its group, which ps
    and info still show and --group still reaches."""
    shell.ok("spawn p --shell -- 'sleep 100 | cat'")
    pgid = pid_of(shell, "p")
    assert until(lambda: len(members(pgid)) == 3)
    shell.ok("signal p TERM; wait p")
    assert until(lambda: len(members(pgid)) == 2)
    row = shell.ok("ps").splitlines()[1]
    assert "killed by SIGTERM (signal 15); 2 left in its group" in row
    info = dict(line.split(":", 1) for line in shell.ok("info p").splitlines())
    assert info["pgid"].strip().startswith(f"{pgid}, 2 processes in it: ")
    assert "but 2 processes are left in its group" in shell.fails("signal p TERM")  # leader gone
    assert shell.ok("signal p TERM --group") == (
        f"p: sent SIGTERM (15) to process group {pgid} (2 processes)\n"
    )
    assert until(lambda: members(pgid) == [])
    assert shell.fails("signal p TERM --group") == (
        f"error: p: its process group {pgid} is empty: everything in it has ended; there is "
        "nobody to signal"
    )


def test_close_ends_the_group_after_its_leader(shell: Shell) -> None:
    shell.ok("spawn p --shell -- 'sleep 100 | cat'")
    pgid = pid_of(shell, "p")
    assert until(lambda: len(members(pgid)) == 3)
    shell.ok("signal p TERM; wait p")
    assert until(lambda: len(members(pgid)) == 2)
    out = shell.ok("close p")
    assert out == "p: closed (killed by SIGTERM (signal 15)); ended 2 processes it left running\n"
    assert members(pgid) == []


def test_exit_leaves_no_group_member_even_one_that_ignores_term() -> None:
    shell = make_shell()
    shell.session.settings.grace = 0.2
    try:
        shell.ok("spawn p --ignore TERM --shell -- 'sleep 100 | cat'")
        pgid = pid_of(shell, "p")
        assert until(lambda: len(members(pgid)) == 3)
        assert signal.SIGTERM in ignored(members(pgid)[-1])  # inherited by all three
        shell.ok(f"spawn q -- {child('import time; time.sleep(100)')}")
        other = pid_of(shell, "q")
        shell.ok("exit")
    finally:
        shell.close()
    assert members(pgid) == [] and members(other) == []


def test_kill_after_the_leader_ended_names_what_is_left_in_its_group(shell: Shell) -> None:
    shell.ok("spawn pipe --shell -- 'sleep 105 | cat'")
    proc = shell.session.registry.get("pipe")
    assert shell.session.wait_for(lambda: len(proc.group_left() or []) >= 3, 10)
    shell.ok("signal pipe KILL; wait pipe")
    line = shell.fails("kill pipe")
    assert line.startswith("error: pipe has already ended (killed by SIGKILL (signal 9)), but ")
    assert "left in its group: `signal pipe SIG --group` reaches them" in line
    assert "ended 2 processes it left running" in shell.ok("close pipe")
