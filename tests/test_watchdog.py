"""Nothing the shell started outlives it by more than 2 s, even after kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.helpers import PY, pslrepl_exe

IGNORES_TERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"


def alive(pid: int) -> bool:
    """Running (not a zombie waiting for its reaper)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return False
    return data[data.rindex(b")") + 2 : data.rindex(b")") + 3] != b"Z"


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.02)
    return [p for p in pids if alive(p)]


def session_members(sid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            if int(data[data.rindex(b")") + 2 :].split()[3]) == sid:
                found.append(int(name))
    return found


def test_a_killed_owner_takes_its_childrens_sessions_along(tmp_path: Path) -> None:
    """The Watchdog on its own: an owner process starts children in their own sessions
    (one with a grandchild, one that ignores TERM), a socket file and a directory; then
    it dies of SIGKILL."""
    owner_code = textwrap.dedent(f"""
        import os, socket, subprocess, sys, time
        from pslrepl.watchdog import Watchdog
        dog = Watchdog()
        a = subprocess.Popen(["sh", "-c", "sleep 600 & sleep 601"], start_new_session=True)
        b = subprocess.Popen([{PY!r}, "-c", {IGNORES_TERM!r}], start_new_session=True)
        dog.guard_session(a.pid)
        dog.guard_session(b.pid)
        s = socket.socket(socket.AF_UNIX)
        s.bind({str(tmp_path / "left.sock")!r})
        dog.guard_path({str(tmp_path / "left.sock")!r})
        os.mkdir({str(tmp_path / "tree")!r})
        dog.guard_tree({str(tmp_path / "tree")!r})
        print(a.pid, b.pid, flush=True)
        time.sleep(600)
    """)
    owner = subprocess.Popen([sys.executable, "-c", owner_code], stdout=subprocess.PIPE,
                             text=True)  # fmt: skip
    assert owner.stdout is not None
    a, b = (int(x) for x in owner.stdout.readline().split())
    try:
        deadline = time.monotonic() + 10
        while len(session_members(a)) < 3:  # sh, and both sleeps
            assert time.monotonic() < deadline
            time.sleep(0.01)
        children = session_members(a) + [b]
        owner.kill()
        owner.wait()
        assert wait_gone(children, timeout=2.0) == [], "children outlived the owner by 2 s"
        deadline = time.monotonic() + 2
        while (tmp_path / "left.sock").exists() or (tmp_path / "tree").exists():
            assert time.monotonic() < deadline, "the watchdog left files behind"
            time.sleep(0.01)
    finally:
        owner.kill()
        for pid in session_members(a) + [b]:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def test_a_clean_exit_leaves_no_watchdog(tmp_path: Path) -> None:
    from pslrepl.watchdog import Watchdog

    dog = Watchdog()
    child = subprocess.Popen(["sleep", "600"], start_new_session=True)
    dog.guard_session(child.pid)
    watchdog_pid = dog._proc.pid  # type: ignore[union-attr]
    child.kill()
    child.wait()
    dog.release_session(child.pid)
    dog.close()
    assert not alive(watchdog_pid)
    with pytest.raises(ChildProcessError):
        os.waitpid(watchdog_pid, os.WNOHANG)  # reaped: no zombie


def test_the_next_start_removes_what_a_dead_session_left(tmp_path: Path) -> None:
    """A session killed with its watchdog: the next pslrepl removes its temp directory
    and the socket files it listed, and says so."""
    from pslrepl.watchdog import SOCKETS_LIST, TMP_PREFIX

    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid nobody holds now
    # A temp dir of its own (TMPDIR): another pslrepl starting meanwhile (a second test
    # run beside this one) would clean the shared one first.
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    left = tmpdir / f"{TMP_PREFIX}{dead.pid}-testleft"
    left.mkdir()
    import socket

    sock_path = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(sock_path))
    s.close()
    (left / SOCKETS_LIST).write_text(f"{sock_path}\n{tmp_path / 'not-a-socket'}\n")
    (tmp_path / "not-a-socket").write_text("keep me")
    done = subprocess.run([pslrepl_exe(), "-c", "echo hi"], capture_output=True, text=True,
                          timeout=30, env={**os.environ, "TMPDIR": str(tmpdir)})  # fmt: skip
    assert done.returncode == 0
    assert not left.exists()
    assert not sock_path.exists()
    assert (tmp_path / "not-a-socket").read_text() == "keep me"
    assert f"removed {left}" in done.stderr
    assert f"(pid {dead.pid}) that ended without closing" in done.stderr
    assert done.stdout == "hi\n"


def shell_script_pids(lines: list[str]) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start pslrepl on a script whose py lines print `key=value`; return the shell and
    what it printed up to `ready`."""
    shell = subprocess.Popen([pslrepl_exe()], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert shell.stdin is not None and shell.stdout is not None
    shell.stdin.write("\n".join([*lines, "echo ready", "sleep 600", ""]))
    shell.stdin.flush()
    seen: dict[str, str] = {}
    for line in shell.stdout:
        if line.strip() == "ready":
            return shell, seen
        key, eq, value = line.strip().partition("=")
        if eq:
            seen[key] = value
    raise AssertionError(f"the shell ended early: {shell.stderr.read() if shell.stderr else ''}")


def test_kill_9_of_the_shell_ends_everything_it_started_within_2_s(tmp_path: Path) -> None:
    sock = tmp_path / "left.sock"
    shell, seen = shell_script_pids([
        f"unix listen l {sock}",
        "spawn a --shell -- 'sleep 600 & sleep 601'",
        f"spawn b -- {PY} -c '{IGNORES_TERM}'",
        "run --shell -- 'sleep 602 >/dev/null 2>&1 & echo left'",  # its sleep stays
        "serve f tcp 0 --handler echo --forking",
        "py print(f'port={f.server_address[1]}')",
        "py print(f'a={a.pid}')",
        "py print(f'b={b.pid}')",
        "py print(f'tmp={session.tmp}')",
    ])  # fmt: skip
    a, b, tmp = int(seen["a"]), int(seen["b"]), seen["tmp"]
    import socket

    # A client from here, which outlives the shell: its --forking handler must not.
    client = socket.create_connection(("127.0.0.1", int(seen["port"])), timeout=10)
    client.sendall(b"ping")
    assert client.recv(4) == b"ping"
    forked = [p for p in _children_of(shell.pid) if _cmdline(p) == _cmdline(shell.pid)]
    try:
        deadline = time.monotonic() + 10
        while len(session_members(a)) < 3 or not any(
            b"sleep\x00602" in Path(f"/proc/{p}/cmdline").read_bytes()
            for p in map(int, filter(str.isdigit, os.listdir("/proc")))
            if Path(f"/proc/{p}/cmdline").exists()
        ):
            assert time.monotonic() < deadline, "the children did not start"
            time.sleep(0.02)
        leftover = [
            p for p in map(int, filter(str.isdigit, os.listdir("/proc")))
            if _cmdline(p) == b"sleep\x00602\x00"
        ]  # fmt: skip
        children = [*session_members(a), b, *leftover, *forked]
        assert forked, "the forking server's child was not found"
        shell.kill()
        shell.wait()
        assert wait_gone(children, timeout=2.0) == [], "children outlived the shell by 2 s"
        deadline = time.monotonic() + 2
        while os.path.exists(tmp) or sock.exists():
            assert time.monotonic() < deadline, "the temp dir or socket file outlived it"
            time.sleep(0.01)
    finally:
        client.close()
        shell.kill()
        shell.wait()
        for stream in (shell.stdin, shell.stdout, shell.stderr):
            if stream is not None:
                stream.close()


def _children_of(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            found += [int(p) for p in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            pass
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_exit_ends_what_children_left_running(tmp_path: Path) -> None:
    """A child's background job outlives the child itself; `close` and `exit` end it."""
    marker = f"sleep {600 + os.getpid() % 100}"
    done = subprocess.run(
        [pslrepl_exe(), "-c",
         f"spawn a --shell -- '{marker} & exit 0'; wait a; py print(a.pid); close a; "
         f"run --shell -- '{marker} >/dev/null 2>&1 &'"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "ended 1 process it left running" in done.stdout
    deadline = time.monotonic() + 5
    while True:
        left = [
            p for p in map(int, filter(str.isdigit, os.listdir("/proc")))
            if _cmdline(p) == marker.replace(" ", "\x00").encode() + b"\x00"
        ]  # fmt: skip
        if not left:
            break
        assert time.monotonic() < deadline, f"{marker} outlived the shell: {left}"
        time.sleep(0.02)
