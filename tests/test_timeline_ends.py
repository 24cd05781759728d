"""timeline: who each arrow goes to, for names used again, datagrams, relays and UNIX sockets."""

from __future__ import annotations

import socket

from pslrepl.timeline.model import build
from tests.helpers import Shell


def steps(shell: Shell, *names: str) -> list[tuple[str, str, str]]:
    """The drawn steps as (from, to, label); a mark has from == to."""
    return [(s.src, s.dst, s.label) for s in build(shell.session, names=names).steps]


def test_a_name_used_again_keeps_each_sockets_bytes_with_the_peer_it_had_then(
    shell: Shell,
) -> None:
    for line in ["tcp listen srv 0", "tcp connect c srv", "accept srv s", "send c first",
                 "close c", "tcp connect c srv", "accept srv s2", "send c second",
                 "shutdown c wr", "recv s2", "recv s"]:  # fmt: skip
        shell.ok(line)
    drawn = steps(shell)
    assert ("c", "s", "send 5 b'first'") in drawn
    assert ("c", "s2", "send 6 b'second'") in drawn
    assert ("c", "s2", "FIN shutdown(SHUT_WR)") in drawn
    assert not any(s[:2] == ("c", "s2") and "first" in s[2] for s in drawn)
    assert ("srv", "s", "accept") in drawn and ("srv", "s2", "accept") in drawn


def test_an_empty_udp_datagram_is_a_datagram_not_eof(shell: Shell) -> None:
    shell.ok("udp open a --bind 127.0.0.1:0")
    shell.ok("udp open b --bind 127.0.0.1:0")
    shell.ok('sendto a b ""')
    assert "(0 bytes)" in shell.ok("recvfrom b")
    shell.ok("udp open d --connect b")
    shell.ok('send d ""')
    shell.ok("recv b")  # b'' from recv: a stream's EOF, but this is UDP
    drawn = steps(shell, "b")
    assert ("a", "b", "send 0 (an empty datagram)") in drawn
    assert ("d", "b", "send 0 (an empty datagram)") in drawn
    assert [s for s in drawn if s[2].startswith("recv")] == [
        ("b", "b", "recv 0 (an empty datagram)")
    ] * 2
    assert not any("EOF" in s[2] for s in drawn), drawn
    # A stream's b'' still is EOF.
    shell.ok("tcp listen srv 0; tcp connect c srv; accept srv s; shutdown c wr; recv s")
    assert ("s", "s", "recv EOF: b''") in steps(shell, "s")


def test_a_relay_is_drawn_as_itself_between_its_client_and_what_it_reaches(
    shell: Shell,
) -> None:
    """A client from outside the shell connects to the relay (an arrow from its address),
    and the relay's own connection to the server comes from the relay's lane."""
    shell.ok("serve web tcp 0 --handler echo")
    shell.ok("relay r tcp-listen:0 web --text")
    port = int(shell.session.volatile["r.port"])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as outside:
        me = f"127.0.0.1:{outside.getsockname()[1]}"
        outside.sendall(b"via\x00relay\n")
        got = b""
        while len(got) < 10:
            chunk = outside.recv(100)
            assert chunk
            got += chunk
    assert got == b"via\x00relay\n"
    r = shell.session.registry.get("r")
    assert shell.session.wait_for(lambda: r.moved["<"] == 10, 10)
    drawn = steps(shell)
    assert (me, "r", "accept") in drawn, drawn
    assert ("r", "web", "client connected") in drawn
    assert ("r", "web", "relay 10 b'via\\x00relay\\n'") in drawn
    assert ("web", "r", "send 10 b'via\\x00relay\\n'") in drawn
    assert ("r", me, "relay 10 b'via\\x00relay\\n'") in drawn
    lanes = build(shell.session).lanes
    assert [lane for lane in lanes if lane.startswith("127.")] == [me]


def test_socketpair_and_unix_stream_sockets_get_arrows(shell: Shell) -> None:
    shell.ok("socketpair a b")
    shell.ok("send a ping; send b pong; recv b; recv a; shutdown a wr")
    shell.ok("unix listen ul {tmp}/u.sock")
    shell.ok("unix connect uc {tmp}/u.sock")
    shell.ok("unix connect uc2 {tmp}/u.sock")
    shell.ok("accept ul us; accept ul us2")
    shell.ok("send uc viaunix; send uc2 two; send us back; recv us; recv us2; recv uc")
    drawn = steps(shell)
    assert ("a", "b", "socketpair") in drawn
    assert not any(s[0] == "b" and s[2].startswith("socketpair") for s in drawn)
    assert ("a", "b", "send 4 b'ping'") in drawn and ("b", "a", "send 4 b'pong'") in drawn
    assert ("a", "b", "FIN shutdown(SHUT_WR)") in drawn
    assert ("uc", "ul", "connect") in drawn and ("ul", "us", "accept") in drawn
    assert ("ul", "us2", "accept") in drawn
    assert ("uc", "us", "send 7 b'viaunix'") in drawn
    assert ("uc2", "us2", "send 3 b'two'") in drawn
    assert ("us", "uc", "send 4 b'back'") in drawn
