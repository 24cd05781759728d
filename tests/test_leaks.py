"""After many spawn/close cycles: descriptors, threads and children back where they began."""

from __future__ import annotations

import threading
import time

from tests.helpers import Shell, child_pids, make_shell, open_fds


def settle(check: object, timeout: float = 5.0) -> None:
    """Let reaped children and ended threads be noticed (bounded wait)."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_spawn_close_cycles_leak_nothing() -> None:
    sh: Shell = make_shell()
    sh.ok("spawn warmup -- cat; close warmup")
    fds, threads, children = open_fds(), threading.active_count(), child_pids()
    for i in range(150):
        kind = i % 3
        if kind == 0:
            sh.ok(f"spawn p{i} -- cat; writeline p{i} hello; read p{i} --line; close p{i}")
        elif kind == 1:
            sh.ok(f"spawn p{i} -- true; wait p{i}; close p{i}")
        else:
            sh.ok(f"spawn p{i} --shell -- 'sleep 30 | cat'; close p{i}")
    settle(lambda: threading.active_count() <= threads)
    assert open_fds() == fds
    assert threading.active_count() == threads
    assert child_pids() == children
    sh.close()


def test_exit_closes_many_live_children() -> None:
    fds, threads, children = open_fds(), threading.active_count(), child_pids()
    sh = make_shell()
    for i in range(40):
        sh.ok(f"spawn p{i} -- sleep 30")
    assert len(child_pids() - children) == 41  # and the session's watchdog
    sh.ok("exit")
    sh.close()
    settle(lambda: threading.active_count() <= threads)
    assert child_pids() == children
    assert open_fds() == fds
    assert threading.active_count() == threads


def test_run_and_sh_leak_nothing() -> None:
    warm = make_shell()
    warm.ok("sh true")  # sh's first use starts what it keeps for the process
    warm.close()
    fds, children = open_fds(), child_pids()
    sh = make_shell()
    for _ in range(50):
        sh.ok("run -- echo x")
        sh.fails("run --timeout 0.01 -- sleep 5")
    sh.close()
    assert open_fds() == fds
    assert child_pids() == children


def test_socket_open_close_cycles_leak_nothing(tmp_path: object) -> None:
    sh = make_shell()
    sh.ok("tcp listen warm 0; tcp connect w warm; accept warm ws; close w ws warm")
    fds, threads = open_fds(), threading.active_count()
    for i in range(1000):  # a thousand of each kind
        sh.ok(f"tcp listen l{i} 0; tcp connect c{i} l{i}; accept l{i} s{i}")
        sh.ok(f"sendline c{i} x; recv s{i} --line; close c{i} s{i} l{i}")
        sh.ok(f"udp open u{i} --bind 0; socketpair a{i} b{i}; close u{i} a{i} b{i}")
        sh.ok(f"unix listen x{i} {tmp_path}/s{i}.sock; close x{i}")
    assert open_fds() == fds
    assert threading.active_count() == threads
    sh.close()
    settle(lambda: threading.active_count() < threads)
    assert threading.active_count() == threads - 1  # the socket watcher ended with the shell
