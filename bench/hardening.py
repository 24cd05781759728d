"""Hardening figures: what `exit` and a kill -9 leave behind, and how long they take.

1. `exit` with 25 live resources of every kind (children, a pipeline, sockets, a UNIX
   listener, servers of each mode, a relay): its time, next to the same shell exiting
   with nothing live (the reference), and what is left after it (processes of the
   shell's sessions, socket files, the temp dir).
2. kill -9 of the shell holding children (one ignores TERM, one has a grandchild): how
   long until the last of them is gone (goal: 2 s).
3. A thousand open/close cycles of each socket kind and a hundred spawn/close cycles in
   one session: descriptors and threads before and after.
Loopback only; every loop is bounded. Run with the venv's interpreter:
    .venv/bin/python bench/hardening.py
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BIN = Path(sys.executable).parent
PSLREPL = str(BIN / "pslrepl")
ROUNDS = 5
IGNORES_TERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"


def members_of(sids: set[int]) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            data = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:
            continue
        fields = data[data.rindex(b")") + 2 :].split()
        if fields[0] != b"Z" and int(fields[3]) in sids:
            found.append(int(name))
    return found


def ignores_term(pid: int) -> bool:
    """Whether the process has set SIGTERM to be ignored yet (SigIgn in /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigIgn:"):
                return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    except OSError:
        pass
    return False


def live_script(tmp: str) -> list[str]:
    return [
        *(f"spawn p{i} -- sleep 600" for i in range(8)),
        "spawn pipe --shell -- 'sleep 600 | cat'",
        f"spawn stubborn -- {sys.executable} -c '{IGNORES_TERM}'",
        "tcp listen srv 0", "tcp connect c1 srv", "accept srv s1",
        "tcp connect c2 srv", "accept srv s2", "udp open u --bind 0", "socketpair a b",
        f"unix listen ux {tmp}/ux.sock",
        "serve e tcp 0 --handler echo", "serve t tcp 0 --handler echo --threading",
        "serve f tcp 0 --handler echo --forking", "serve room tcp 0 --handler chat",
        "relay r tcp-listen:0 e",
        "py print('pids', *[o.pid for o in res.values() if hasattr(o, 'pid')])",
        "echo ready",
    ]  # fmt: skip


def start_shell(lines: list[str]) -> tuple[subprocess.Popen[str], set[int]]:
    """pslrepl running the lines, up to their `ready`; the child pids it printed."""
    shell = subprocess.Popen([PSLREPL], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    assert shell.stdin is not None and shell.stdout is not None
    shell.stdin.write("\n".join(lines) + "\n")
    shell.stdin.flush()
    sids: set[int] = set()
    for line in shell.stdout:
        if line.startswith("pids "):
            sids = {int(p) for p in line.split()[1:]}
        if line.strip() == "ready":
            break
    return shell, sids


def exit_round(lines: list[str]) -> tuple[float, list[int]]:
    """Start a shell on the lines, then time `exit` from when it is told; what is left."""
    shell, sids = start_shell(lines)
    assert shell.stdin is not None and shell.stdout is not None
    started = time.perf_counter()
    shell.stdin.write("exit\n")
    shell.stdin.close()
    shell.wait()
    took = time.perf_counter() - started
    shell.stdout.close()
    return took, members_of(sids)


def kill9_round(tmp: str) -> tuple[float, int]:
    lines = [
        "spawn a --shell -- 'sleep 600 & sleep 601'",
        f"spawn b -- {sys.executable} -c '{IGNORES_TERM}'",
        "py print('pids', a.pid, b.pid)",
        "echo ready",
        "sleep 600",
    ]
    shell, sids = start_shell(lines)
    assert shell.stdin is not None and shell.stdout is not None
    deadline = time.monotonic() + 10
    while (len(members_of(sids)) < 4 or not ignores_term(max(sids))) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.01)
    count = len(members_of(sids))
    shell.kill()
    shell.wait()
    started = time.perf_counter()
    while members_of(sids) and time.perf_counter() - started < 10:
        time.sleep(0.005)
    took = time.perf_counter() - started
    for stream in (shell.stdin, shell.stdout):
        stream.close()
    return took, count


def cycles() -> tuple[tuple[int, int], tuple[int, int]]:
    from pslrepl.app import build, shutdown
    from pslrepl.cli import run_lines
    from pslrepl.environment import Environment

    sink = open(os.devnull, "w")  # noqa: SIM115 - closed below
    session, dispatcher = build(Environment(stdout=sink, stderr=sink))
    tmp = tempfile.mkdtemp()
    warm = ["tcp listen w 0", "tcp connect wc w", "accept w ws", "close wc ws w",
            "spawn wp -- cat", "close wp"]  # fmt: skip
    assert run_lines(session, dispatcher, warm, keep_going=False) == 0
    fds_before, threads_before = len(os.listdir("/proc/self/fd")), threading.active_count()
    lines: list[str] = []
    for i in range(1000):
        lines += [f"tcp listen l{i} 0; tcp connect c{i} l{i}; accept l{i} s{i}",
                  f"sendline c{i} x; recv s{i} --line; close c{i} s{i} l{i}",
                  f"udp open u{i} --bind 0; socketpair a{i} b{i}; close u{i} a{i} b{i}",
                  f"unix listen x{i} {tmp}/s{i}.sock; close x{i}"]  # fmt: skip
    for i in range(100):
        lines.append(f"spawn p{i} -- cat; writeline p{i} hi; read p{i} --line; close p{i}")
    assert run_lines(session, dispatcher, lines, keep_going=False) == 0
    deadline = time.monotonic() + 5
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        time.sleep(0.01)
    after = (len(os.listdir("/proc/self/fd")), threading.active_count())
    shutdown(session)
    sink.close()
    os.rmdir(tmp)
    return (fds_before, threads_before), after


def main() -> None:
    print(f"python {sys.version.split()[0]}, {ROUNDS} rounds, medians (min-max)")
    with tempfile.TemporaryDirectory() as tmp:
        full, empty, left_total = [], [], 0
        for _ in range(ROUNDS):  # interleaved: the reference and the measured in turn
            took, _ = exit_round(["echo ready"])
            empty.append(took)
            took, left = exit_round(live_script(tmp))
            full.append(took)
            left_total += len(left)
        print(f"exit with 25 live resources   {statistics.median(full) * 1000:7.0f} ms "
              f"({min(full) * 1000:.0f}-{max(full) * 1000:.0f}); with nothing live "
              f"{statistics.median(empty) * 1000:.0f} ms; processes left: {left_total}; "
              f"socket file left: {os.path.exists(f'{tmp}/ux.sock')}")  # fmt: skip
        times, counts = [], []
        for _ in range(ROUNDS):
            took, count = kill9_round(tmp)
            times.append(took)
            counts.append(count)
        print(f"kill -9, {max(counts)} processes left behind   gone after "
              f"{statistics.median(times) * 1000:.0f} ms ({min(times) * 1000:.0f}-"
              f"{max(times) * 1000:.0f}); goal <= 2000 ms")  # fmt: skip
    (fds0, threads0), (fds1, threads1) = cycles()
    print(
        f"4,000 socket and 100 child open/close cycles: descriptors {fds0} -> {fds1}, "
        f"threads {threads0} -> {threads1}"
    )


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    main()
