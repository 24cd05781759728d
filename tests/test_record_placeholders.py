"""record writes run-to-run values as placeholders only where they stand as such values,
in real sessions (sockets, servers, children), and the transcripts replay green."""

from __future__ import annotations

import re
from pathlib import Path

from pslrepl.replay import check_file
from tests.helpers import Shell, port, run_cli


def record(shell: Shell, path: Path, lines: list[str]) -> str:
    shell.ok(f"record {path}")
    for line in lines:
        shell.ok(line)
    shell.ok("record stop")
    return path.read_text()


def assert_replays(path: Path, *, times: int = 1) -> None:
    for _ in range(times):
        outcome = check_file(str(path))
        assert outcome.ok, outcome.report()


def test_zeros_stay_zeros_beside_an_unbound_udp_socket(shell: Shell, tmp_path: Path) -> None:
    """An unbound socket's port is 0: no 0 anywhere is its port (this wrote {u.port} for
    every 0, commands included)."""
    path = tmp_path / "t.psl"
    text = record(shell, path, [
        "udp open u", "echo 100 and 0 and 2020", "htons 0", "ls", "info u",
        "py u.getsockname()", "set timeout 10",
    ])  # fmt: skip
    assert "{u.port}" not in text and "{u.laddr}" not in text
    assert "psl> echo 100 and 0 and 2020\n100 and 0 and 2020\n" in text
    assert "psl> htons 0\n0 " in text
    assert "u: udp socket 0.0.0.0:0\n" in text
    assert "psl> py u.getsockname()\n('0.0.0.0', 0)\n" in text
    assert re.search(r"\nbytes in: +0\nbytes out: +0\n", text)
    assert_replays(path)


def test_a_listener_its_client_and_the_accepted_socket(shell: Shell, tmp_path: Path) -> None:
    path = tmp_path / "t.psl"
    shell.ok(f"record {path}")
    shell.ok("tcp listen srv 0")
    srv = port(shell, "srv")
    lines = [
        "tcp connect c srv", "accept srv s", "py c.getsockname()", "py c.getpeername()[1]",
        f"tcp connect d {srv}", f"tcp connect e 127.0.0.1:{srv}", "accept srv", "accept srv",
        "ls", "info s", "send c 'one two'", "recv s",
    ]  # fmt: skip
    for line in lines:
        shell.ok(line)
    shell.ok("record stop")
    text = path.read_text()
    assert "psl> tcp listen srv 0\nsrv: listening on {srv.laddr}\n" in text
    assert "c: connected {c.laddr} -> {srv.laddr}\n" in text
    assert "s: accepted from {c.laddr} on {srv.laddr}\n" in text
    assert "psl> py c.getsockname()\n('127.0.0.1', {c.port})\n" in text
    assert "psl> py c.getpeername()[1]\n{srv.port}\n" in text
    # typed by hand: a bare PORT and HOST:PORT, each naming the listener
    assert "psl> tcp connect d {srv.port}\nd: connected {d.laddr} -> {srv.laddr}\n" in text
    assert "psl> tcp connect e {srv.laddr}\ne: connected {e.laddr} -> {srv.laddr}\n" in text
    # the address whole, never its host and port apart
    assert "127.0.0.1:{" not in text
    for name in ("srv", "c", "s", "d", "e"):
        assert str(port(shell, name)) not in text, name
    assert_replays(path, times=2)


def test_servers_relays_and_datagrams(shell: Shell, tmp_path: Path) -> None:
    path = tmp_path / "t.psl"
    text = record(shell, path, [
        "serve web tcp 0 --handler echo", "tcp connect w web", "send w hello", "recv w",
        "udp open a --bind 0", "udp open b --bind 0", "sendto a b hi", "recvfrom b",
        "relay r tcp-listen:0 tcp:web", "tcp connect x r", "info web",
    ])  # fmt: skip
    assert "web: TCPServer serving echo on {web.addr}\n" in text
    assert "w: connected {w.laddr} -> {web.addr}\n" in text
    assert "a: sent 2 bytes to {b.laddr}\n" in text
    assert "from {a.laddr}  (2 bytes)\n" in text
    assert "r: relaying tcp-listen:127.0.0.1:{r.port} <-> tcp:web\n" in text
    for name in ("web", "w", "a", "b", "r", "x"):
        assert str(port(shell, name)) not in text, name
    assert_replays(path)


def test_children_and_a_name_used_again(shell: Shell, tmp_path: Path) -> None:
    """A replay binds {p.pid} to the new child when p is spawned again (it kept the
    first child's pid and failed)."""
    path = tmp_path / "t.psl"
    text = record(shell, path, [
        "spawn p -- cat", "py p.pid", "ps", "close p", "spawn p -- cat", "py p.pid",
        "info p", "signal p TERM", "wait p",
    ])  # fmt: skip
    assert text.count("p: started pid {p.pid}: cat\n") == 2
    assert text.count("psl> py p.pid\n{p.pid}\n") == 2
    assert re.search(r"\npid: +\{p\.pid\}\n", text)
    assert str(shell.session.volatile["p.pid"]) not in text
    assert_replays(path, times=2)


def test_a_recorded_session_replays_from_the_command_line(tmp_path: Path) -> None:
    script = ("record t.psl\ntcp listen srv 0\ntcp connect c srv\naccept srv s\n"
              "py s.getpeername()\nspawn p -- cat\nps\nrecord stop\n")  # fmt: skip
    done = run_cli(input=script, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "t.psl").read_text()
    assert "psl> py s.getpeername()\n('127.0.0.1', {c.port})\n" in text
    for _ in range(3):
        check = run_cli("--check", "t.psl", cwd=str(tmp_path))
        assert check.stdout == "t.psl: pass (6 commands)\n", check.stdout + check.stderr


def test_a_socket_bound_by_its_first_sendto_is_recorded_as_a_placeholder(
    shell: Shell, tmp_path: Path
) -> None:
    """sendto from an unbound UDP socket binds it to a free port: the shell learns the
    port then, so the receiver's "from" line is written with {u.port} and replays."""
    path = tmp_path / "t.psl"
    text = record(shell, path, [
        "udp open u", "udp open v --bind 0", "sendto u v hi", "recvfrom v", "ls udp",
    ])  # fmt: skip
    assert "from 127.0.0.1:{u.port}  (2 bytes)\n" in text  # u is bound to 0.0.0.0
    assert str(port(shell, "u")) not in text
    assert_replays(path)
