"""Ending a child and what it started: TERM to its process group, KILL after the grace,
the group kept in mind until it is empty (not only until its leader is reaped)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from pslrepl.errors import PslError
from pslrepl.signals_table import describe_status


def signal_group(popen: subprocess.Popen[bytes], signum: int) -> None:
    # The child leads its own session (start_new_session), so its group holds
    # whatever it started too: a shell pipeline's members die with it.
    try:
        os.killpg(popen.pid, signum)
    except (ProcessLookupError, PermissionError):
        try:
            popen.send_signal(signum)
        except ProcessLookupError:
            pass


def stop_child(popen: subprocess.Popen[bytes], grace: float, name: str) -> str:
    """TERM the child's group, KILL it after ``grace`` seconds; what happened."""
    signal_group(popen, signal.SIGTERM)
    try:
        popen.wait(timeout=grace)
        return f"terminated: {describe_status(popen.returncode)}"
    except subprocess.TimeoutExpired:
        pass
    signal_group(popen, signal.SIGKILL)
    try:
        popen.wait(timeout=5.0)
    except subprocess.TimeoutExpired as exc:
        raise PslError(f"{name}: pid {popen.pid} survived SIGKILL") from exc
    return f"killed after {grace:g} s grace: {describe_status(popen.returncode)}"


def group_members(pgid: int) -> list[int] | None:
    """The live processes (zombies left out) of the process group a child of the shell
    leads: its group and its session are both numbered by its pid (start_new_session),
    so a group number the kernel gave to someone else since is never taken for it.
    From Linux's /proc; None where there is none."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    found: list[int] = []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        fields = data[data.rindex(b")") + 2 :].split()
        if fields[0] != b"Z" and int(fields[2]) == pgid and int(fields[3]) == pgid:
            found.append(int(name))
    return sorted(found)


def end_group(pgid: int, grace: float, *, termed: bool = False) -> int:
    """What is left of a child's process group once its leader has ended (a pipeline's
    other members, a job it started): TERM to the group, then KILL after the grace
    period. How many there were (0 where there is no /proc to tell). ``termed``: the
    group was sent TERM with its leader, so a member still going away from it is given
    a moment (0.2 s) rather than counted as left running."""
    left = group_members(pgid)
    deadline = time.monotonic() + 0.2
    while termed and left and time.monotonic() < deadline:
        time.sleep(0.02)  # not our children: nothing to wait on but their going
        left = group_members(pgid)
    if not left:
        return 0
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, signum)
        except OSError:
            break  # gone meanwhile
        deadline = time.monotonic() + (grace if signum == signal.SIGTERM else 5.0)
        while group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.02)  # not our children: nothing to wait on but their going
        if not group_members(pgid):
            break
    return len(left)


def end_leftovers(leader: int, grace: float) -> int:
    """What the child started and left in its session (`sleep 600 &` after the shell
    that ran it ended, or one that ignores TERM): TERM, then KILL after the grace
    period. How many there were."""
    from pslrepl.watchdog import session_members

    left = session_members(leader)
    if not left:
        return 0
    for signum in (signal.SIGTERM, signal.SIGKILL):
        for pid in session_members(leader):
            try:
                os.kill(pid, signum)
            except OSError:
                pass
        deadline = time.monotonic() + grace
        while session_members(leader) and time.monotonic() < deadline:
            time.sleep(0.02)  # not our children: nothing to wait on but their going
        if not session_members(leader):
            break
    return len(left)


def kill_group(popen: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the child's process group (its pipeline too), else to the child."""
    try:
        os.killpg(popen.pid, signal.SIGKILL)
    except OSError:
        try:
            popen.kill()
        except OSError:
            pass
