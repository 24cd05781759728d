"""relay: two endpoints joined both ways, half-close passed on; against real peers."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.helpers import Shell, port, python_http_server


def test_relay_to_pythons_http_server(shell: Shell, tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("relayed\n")
    with python_http_server(tmp_path) as target:
        out = shell.ok(f"relay r tcp-listen:0 tcp:127.0.0.1:{target}")
        assert out.startswith("r: relaying tcp-listen:127.0.0.1:")
        shell.ok("tcp connect c r")
        shell.ok('sendall c "GET /r.txt HTTP/1.0\\r\\n\\r\\n"')
        got = shell.ok("recv c --all")
        assert got.startswith("HTTP/1.0 200 OK") and "relayed" in got
        shell.ok("shutdown c wr")
        assert shell.ok("wait r close").startswith("r: both directions closed (tcp-listen:")
        info = shell.ok("info r")
        assert "a -> b:      23 bytes" in info and "os.splice" in info


def test_relay_through_a_program_passes_half_close(shell: Shell) -> None:
    shell.ok("relay x tcp-listen:0 exec:sort --text")
    shell.ok("tcp connect d x; sendline d pear; sendline d apple; shutdown d wr")
    # sort answers only after EOF: the relay closed its stdin when d shut down writing.
    assert shell.ok("recv d --all") == (
        "apple\npear\n(11 bytes)\nEOF: the peer closed its side (recv returned b'')\n"
    )
    shell.ok("wait x close")
    log = shell.ok("log x")
    # The two sendlines may cross as one chunk or two: what matters is each way's bytes.
    assert "-- exec:sort -> tcp-listen:127.0.0.1:" in log and " 11 bytes: apple\\npear\\n" in log
    assert "11 bytes" in shell.ok("info x").split("a -> b:")[1].splitlines()[0]


def test_relay_joins_two_of_the_shells_sockets(shell: Shell) -> None:
    shell.ok("tcp listen l1 0; tcp connect a l1; accept l1 a2")
    shell.ok("tcp listen l2 0; tcp connect b l2; accept l2 b2")
    shell.ok("relay r a2 b2")
    shell.ok("sendline a across")
    assert shell.ok("recv b --line") == "across\n(7 bytes)\n"
    shell.ok("sendline b back")
    assert shell.ok("recv a --line") == "back\n(5 bytes)\n"
    assert "r: closed" in shell.ok("close r")


def test_relay_udp_and_unix(shell: Shell, tmp_path: Path) -> None:
    shell.ok("serve ue udp 0 --handler upper")
    shell.ok("relay u tcp-listen:0 udp:ue")
    shell.ok("tcp connect c u; send c datagram")
    assert shell.ok("recv c") == "DATAGRAM\n(8 bytes)\n"
    path = tmp_path / "e.sock"
    shell.ok(f"serve ux unix {path} --handler echo --threading")
    shell.ok(f"relay v tcp-listen:0 unix:{path}")
    shell.ok("tcp connect w v; sendline w via-unix")
    assert shell.ok("recv w --line") == "via-unix\n(9 bytes)\n"


def test_relay_to_a_server_by_its_name(shell: Shell, tmp_path: Path) -> None:
    """A server's (or listener's) bare NAME is somewhere to connect to, whatever its kind."""
    shell.ok(f"serve ux unix {tmp_path}/n.sock --handler upper --threading")
    shell.ok("serve uu udp 0 --handler upper; serve ut tcp 0 --handler upper --threading")
    out = shell.ok("relay r1 tcp-listen:0 ux")
    assert out.endswith(f" <-> unix:{tmp_path}/n.sock\n")
    assert f" <-> udp:127.0.0.1:{port(shell, 'uu')}\n" in shell.ok("relay r2 tcp-listen:0 uu")
    assert f" <-> tcp:127.0.0.1:{port(shell, 'ut')}\n" in shell.ok("relay r3 tcp-listen:0 ut")
    for relay in ("r1", "r2", "r3"):
        shell.ok(f"tcp connect c{relay} {relay}; sendline c{relay} via-{relay}")
        assert shell.ok(f"recv c{relay} --line") == f"VIA-{relay.upper()}\n(7 bytes)\n"
    assert shell.fails("relay r4 tcp-listen:0 tcp:ux") == (
        f"error: relay: ux is a UNIX socket; give unix:{tmp_path}/n.sock"
    )
    shell.ok("udp open q")
    assert "q is a udp; a relay joins" in shell.fails("relay r5 q ut")
    # and a udp socket can't sendto a UNIX server's address (it was an internal error)
    assert "ux is a UNIX socket's address; q is a udp socket" in shell.fails("sendto q ux hi")


def test_relay_errors(shell: Shell, tmp_path: Path) -> None:
    assert "'nowhere' is no resource's name, nor one of: the NAME of" in shell.fails(
        "relay r nowhere tcp:127.0.0.1:1"
    )
    assert "unknown endpoint kind 'sctp'" in shell.fails("relay r sctp:1 tcp-listen:0")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    # The side it reaches is connected once a client comes (as socat does): refused
    # then, the client sees EOF and the relay's log says why.
    shell.ok(f"relay r tcp-listen:0 tcp:127.0.0.1:{free}")
    shell.ok("tcp connect rc r")
    assert "EOF" in shell.ok("recv rc --all")
    assert shell.session.wait_for(lambda: "(ECONNREFUSED)" in shell.ok("log r"), 10)
    assert "the client that came is closed" in shell.ok("log r")
    shell.ok("close rc r")
    assert "no such program" in shell.fails(f"relay r tcp-listen:0 exec:{tmp_path}/none")
    assert shell.fails(f"relay r tcp-listen:0 exec:{tmp_path}") == (
        f"error: relay: {tmp_path} can't be run (EACCES): a directory, or a file without "
        "execute permission; give a program's path"
    )
    assert shell.fails("""relay r "exec:'sort -r" tcp-listen:0""") == (
        "error: relay: can't split \"exec:'sort -r\": No closing quotation; close the quote"
    )
    assert shell.fails("relay r tcp-listen:0 unix:/nonexistent/s") == (
        "error: r: No such file or directory (ENOENT): /nonexistent/s: no socket there, or "
        "no directory to make it in"
    )
    shell.ok("udp open u")
    assert (
        "u is a udp; a relay joins tcp, tls or unix sockets, children, and what listens"
        in shell.fails("relay r u tcp-listen:0")
    )
    assert len([n for n in shell.session.registry.names() if n.startswith("r")]) == 0


def test_closing_a_relay_ends_its_threads(shell: Shell) -> None:
    import threading

    shell.ok("relay idle tcp-listen:0 tcp-listen:0")
    assert any(t.name.startswith("pslrepl:idle") for t in threading.enumerate())
    shell.ok("close idle")
    assert not any(t.name.startswith("pslrepl:idle") for t in threading.enumerate())


def test_relay_with_a_spawned_child(shell: Shell) -> None:
    shell.ok("spawn up -- tr a-z A-Z")
    shell.ok("relay r tcp-listen:0 up")
    shell.ok("tcp connect c r; sendline c through-the-child; shutdown c wr")
    assert shell.ok("recv c --all") == (
        "THROUGH-THE-CHILD\n(18 bytes)\nEOF: the peer closed its side (recv returned b'')\n"
    )
    assert shell.ok("wait up") == "up: exited with status 0\n"
    shell.ok("spawn cat2 -- cat; relay r2 tcp-listen:0 cat2")
    assert "r2: closed" in shell.ok("close r2")  # closing ends the relay's wait on the child
    assert shell.ok("poll cat2") == "cat2: running (poll() returned None)\n"


def test_live_relay_traffic_is_capped_per_flush(shell: Shell) -> None:
    """A bulk transfer under --text gives a line per chunk: past TRAFFIC_LINES at once,
    the rest becomes one summing line, and the log keeps every chunk."""
    from pslrepl.events import Event
    from pslrepl.session import TRAFFIC_LINES

    shell.ok("set events live")
    for i in range(TRAFFIC_LINES + 30):
        event = Event.traffic("r", "relay", "a -> b", "", b"x" * (i + 1))
        event.fields["show"] = "text"
        shell.session.post(event)
    shown = shell.session.take_pending()
    assert [e.kind for e in shown].count("relay") == TRAFFIC_LINES
    extra = sum(range(TRAFFIC_LINES + 1, TRAFFIC_LINES + 31))
    assert shown[-1].detail == (
        f"... and 30 more chunks ({extra} bytes) not shown; `log r` keeps them"
    )
    assert shell.ok("log r").count(" -> b ") == TRAFFIC_LINES + 30


def test_a_listening_relay_reaches_its_other_side_only_when_a_client_comes(
    shell: Shell,
) -> None:
    """As socat does: connecting at once would hand a server that closes idle clients
    (http's --idle) a connection that is gone by the time a client comes."""
    shell.ok("serve e tcp 0 --handler echo --idle 5 --threading")
    shell.ok("relay r tcp-listen:0 e")
    server = shell.session.registry.get("e")
    assert server.served == 0  # type: ignore[attr-defined]
    assert "waiting for a connection" in shell.ok("ls relay")
    shell.ok("tcp connect c r; sendline c hello")
    assert shell.ok("recv c --line") == "hello\n(6 bytes)\n"
    assert server.served == 1  # type: ignore[attr-defined]
    shell.ok("close c")
    assert shell.ok("wait r close").startswith("r: both directions closed")


def test_a_tcp_listen_relay_refuses_a_second_client_at_once(shell: Shell) -> None:
    """Its port stayed open after its one client: the next connected and hung for ever
    (trial 13, F3)."""
    shell.ok("serve e tcp 0 --handler echo --threading; relay r tcp-listen:0 e")
    where = ("127.0.0.1", port(shell, "r"))
    with socket.create_connection(where, timeout=10) as first:
        first.sendall(b"one\x00\r\n")
        assert first.recv(100) == b"one\x00\r\n"
        with pytest.raises(ConnectionRefusedError):  # at once, while the first is served
            socket.create_connection(where, timeout=10).close()
    shell.ok("wait r close --timeout 10")
    assert shell.fails("tcp connect c2 r").startswith("error: c2: Connection refused")
    assert shell.fails("link r latency delay=1s") == (
        "error: link: r is done (both directions have closed) and carries nothing more: a "
        "relay takes one client; make a new relay, with --link, for the next"
    )
    assert "latency" not in shell.ok("link r")


def test_info_says_which_way_a_toxic_moves_into_python(shell: Shell) -> None:
    """info said 'os.splice (in the kernel)' while latency held the down way in Python."""
    shell.ok("serve e tcp 0 --handler echo --threading")
    shell.ok("relay r tcp-listen:0 e --link 'latency delay=1ms'")
    with socket.create_connection(("127.0.0.1", port(shell, "r")), timeout=10) as c:
        c.sendall(b"x\n")
        assert c.recv(10) == b"x\n"
        assert "method:      os.splice (in the kernel); B -> A: read/write in Python " in (
            shell.ok("info r")
        )
        shell.ok("link r latency delay=1ms --dir up --name up")
        assert "method:      read/write in Python both ways (toxics act)" in shell.ok("info r")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("udp-listen:0", "udp:127.0.0.1:0"),
        ("udp-listen:0", "udp:{s.laddr}"),  # a socket not bound yet: 0.0.0.0:0
        ("tcp-listen:0", "tcp:127.0.0.1:0"),
        ("tcp:{e.addr}", "tcp:127.0.0.1:0"),
    ],
)
def test_a_relay_to_port_0_is_refused_in_one_line(shell: Shell, a: str, b: str) -> None:
    """An unbound socket's address (0.0.0.0:0) was taken and the relay said relaying."""
    shell.ok("serve e tcp 0 --handler echo --threading; udp open s")
    error = shell.fails(f"relay r {a} {b}")
    assert error.startswith("error: relay: ") and "has port 0, where nothing listens" in error
    assert error.endswith("give the port its server is bound to")
    assert "r" not in shell.session.registry


def test_the_relays_onward_connection_is_logged_with_its_addresses(shell: Shell) -> None:
    """When the side a relay reaches connects, the log says from which address to which:
    the timeline matches that connection to the server's client by it."""
    shell.ok("tcp listen l 0")
    target = shell.session.volatile["l.port"]
    shell.ok(f"relay r tcp-listen:0 tcp:127.0.0.1:{target}")
    shell.ok("tcp connect c r; accept l s")
    peer = next(line.split(":", 1)[1].strip() for line in shell.ok("info s").splitlines()
                if line.startswith("getpeername"))  # fmt: skip
    # The relay's thread logs it once its connect() has returned, which may be after
    # accept here has: wait for it.
    want = f"-- connected {peer} -> 127.0.0.1:{target}\n"
    deadline = time.monotonic() + 10
    while want not in (log := shell.ok("log r")) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert want in log, log


def test_a_recorded_relay_log_replays(tmp_path: Path) -> None:
    """The relay's onward connection is {NAME.onward} in a recording: the kernel picks
    its port anew each run, so a literal one would fail the next check."""
    from tests.helpers import run_cli

    path = tmp_path / "relay-log.psl"
    path.write_text("psl> serve e tcp 0 --handler echo\npsl> relay r tcp-listen:0 e\n"
                    "psl> tcp connect c r\npsl> sendline c hi\npsl> recv c --line\n"
                    "psl> log r\n")  # fmt: skip
    assert run_cli("--update", str(path)).returncode == 0
    assert "-- connected {r.onward} -> {e.addr}\n" in path.read_text()
    for _ in range(2):
        done = run_cli("--check", str(path))
        assert done.returncode == 0, done.stdout + done.stderr
