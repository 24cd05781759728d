"""udp-listen and the datagram toxics (drop, duplicate, reorder, truncate), with --seed."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from typing import Any

from tests.helpers import Shell, port

SIZE = 8  # every datagram here is 8 bytes: b"%07d\n"


def numbered(i: int) -> bytes:
    return b"%07d\n" % i


@contextlib.contextmanager
def udp_relay(shell: Shell, name: str, links: str) -> Iterator[tuple[socket.socket, socket.socket]]:
    """relay NAME udp-listen:0 -> our UDP server; (client, server) test sockets."""
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with server, client:
        server.bind(("127.0.0.1", 0))
        server.settimeout(10)
        client.settimeout(10)
        shell.ok(f"relay {name} udp-listen:0 udp:127.0.0.1:{server.getsockname()[1]} {links}")
        client.connect(("127.0.0.1", port(shell, name)))
        yield client, server


def settled(shell: Shell, name: str, sent: int, per: int) -> None:
    """Wait until the relay has taken every datagram sent (`per` bytes passed on for
    each): passed on, dropped, or held back to be reordered."""
    relay = shell.session.registry.get(name)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        dropped = sum(t.acted for t in relay.link.toxics if t.kind == "drop")
        held = sum(len(t.reordered) for t in relay.link.toxics)
        if relay.moved[">"] // per + dropped + held >= sent:
            return
        time.sleep(0.005)
    raise AssertionError(f"{name} took {relay.moved['>']} bytes of {sent * SIZE}")


def drain(sock: socket.socket) -> list[bytes]:
    """Every datagram already queued on sock."""
    got = []
    sock.setblocking(False)
    try:
        while True:
            got.append(sock.recv(65536))
    except BlockingIOError:
        return got
    finally:
        sock.setblocking(True)


def through(shell: Shell, name: str, links: str, count: int, *, per: int = SIZE) -> list[bytes]:
    """`count` numbered datagrams up through a relay with `links`: what the server got."""
    got: list[bytes] = []
    with udp_relay(shell, name, links) as (client, server):
        for start in range(0, count, 100):  # in batches: no socket buffer overflows
            for i in range(start, min(count, start + 100)):
                client.send(numbered(i))
            settled(shell, name, min(count, start + 100), per)
            got += drain(server)
    return got


def test_udp_listen_takes_the_first_sender_as_its_peer(shell: Shell) -> None:
    shell.ok("serve ue udp 0 --handler upper")
    out = shell.ok("relay u udp-listen:0 ue")
    assert out.startswith("u: relaying udp-listen:127.0.0.1:")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
        c.settimeout(10)
        c.sendto(b"one\x00two\r\n", ("127.0.0.1", port(shell, "u")))
        assert c.recv(100) == b"ONE\x00TWO\r\n"
        c.sendto(b"again", ("127.0.0.1", port(shell, "u")))
        assert c.recv(100) == b"AGAIN"  # one datagram each, its boundaries kept
        peer = f"127.0.0.1:{c.getsockname()[1]}"
    assert f"connection from {peer}" in shell.ok("log u")


def test_drop_with_a_seed_drops_the_same_datagrams_every_run(shell: Shell) -> None:
    first = through(shell, "d1", "--link 'drop rate=0.3 dir=up' --seed 1", 1000)
    second = through(shell, "d2", "--link 'drop rate=0.3 dir=up' --seed 1", 1000)
    other = through(shell, "d3", "--link 'drop rate=0.3 dir=up' --seed 2", 1000)
    assert first == second
    assert first != other
    assert 600 <= len(first) <= 800  # about 30% of 1000 gone
    assert first == sorted(first)  # dropped, never reordered
    assert "drop: dropped a datagram (8 bytes)" in shell.ok("log d1")


def test_duplicate_and_truncate(shell: Shell) -> None:
    got = through(shell, "u", "--link 'duplicate rate=1 dir=up' --link 'truncate size=3 "
                  "dir=up'", 5, per=6)  # fmt: skip
    assert got == [numbered(i)[:3] for i in range(5) for _ in (0, 1)]


def test_reorder_holds_a_datagram_back_past_gap_others(shell: Shell) -> None:
    links = "--link 'reorder rate=0.3 gap=2 dir=up' --seed 7"
    got = through(shell, "u1", links, 200)
    again = through(shell, "u2", links, 200)
    assert got == again  # the same order each run
    assert got != sorted(got)
    # Every datagram is there once, except those still held at the end (not yet past
    # two others): unlink would send them.
    assert len(set(got)) == len(got) and len(got) >= 200 - 2 * 3
    late = [b for a, b in zip(got, got[1:], strict=False) if b < a]
    assert late  # some came after later ones


def test_unlinking_reorder_sends_what_it_held(shell: Shell) -> None:
    with udp_relay(shell, "u", "--link 'reorder rate=1 gap=5 dir=up'") as (client, server):
        client.send(numbered(0))
        client.send(numbered(1))
        deadline = time.monotonic() + 10
        toxic = shell.session.registry.get("u").link.toxics[0]
        while len(toxic.reordered) < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        shell.ok("unlink u")
        assert {server.recv(100), server.recv(100)} == {numbered(0), numbered(1)}


def test_stream_toxics_that_need_tcp_are_refused_on_udp(shell: Shell) -> None:
    shell.ok("serve ue udp 0 --handler echo; relay u udp-listen:0 ue")
    assert shell.fails("link u reset after=1s") == (
        "error: link: reset is for a TCP connection; a UDP relay takes drop, duplicate, "
        "reorder, truncate, latency, bandwidth"
    )
    assert shell.fails("relay v udp-listen:0 ue --link 'limit bytes=3'").startswith(
        "error: link: limit is for a TCP connection"
    )
    # each datagram is relayed whole: slicer would cut one into several
    assert shell.fails("link u slicer size=3").startswith(
        "error: link: slicer is for a TCP connection"
    )
    assert (
        shell.ok("link u latency delay=10ms") == "u: linked latency: latency delay=10ms (B -> A)\n"
    )


def test_closing_a_udp_listen_relay_before_any_datagram_is_prompt(shell: Shell) -> None:
    import threading

    shell.ok("serve ue udp 0 --handler echo; relay u udp-listen:0 ue --link 'drop rate=0.5'")
    t0 = time.monotonic()
    assert shell.ok("close u").startswith("u: closed (udp-listen:127.0.0.1:")
    assert time.monotonic() - t0 < 1
    assert not [t for t in threading.enumerate() if t.name.startswith(("pslrepl:u>", "pslrepl:u<"))]


def test_reorder_says_what_it_holds_and_counts_what_unlink_sends(shell: Shell) -> None:
    """Two held datagrams showed 'acted 0', no event, and were not counted when unlink
    sent them (trial 13, F4)."""
    with udp_relay(shell, "u", "--link 'reorder rate=1 gap=5 dir=up'") as (client, server):
        client.send(numbered(0))
        client.send(numbered(1))
        toxic = shell.session.registry.get("u").link.toxics[0]
        deadline = time.monotonic() + 10
        while len(toxic.reordered) < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert shell.ok("link u").splitlines()[1].split()[-1] == "2"  # acted twice
        shell.ok("unlink u")
        assert [server.recv(100), server.recv(100)] == [numbered(0), numbered(1)]
    said = shell.ok("close u")
    assert f"-> udp:127.0.0.1:{port_of(said)}: 16 bytes" in said, said
    log = shell.ok("log u")
    assert log.count("reorder: held a datagram (8 bytes) back to go after 5 others") == 2, log
    # (in one line, or two where a second passed between them: said at most once a second)
    assert "reorder: sent 2 held datagrams (16 bytes) on unlink" in log or (
        log.count("reorder: sent a held datagram (8 bytes) on unlink") == 2
    ), log


def port_of(said: str) -> str:
    """The server's port in a relay's close line ('udp-listen:... -> udp:H:P: N bytes')."""
    return said.split(" -> udp:127.0.0.1:")[1].split(":")[0]


def both_ways(
    shell: Shell, name: str, links: str, count: int, *, alternate: bool
) -> tuple[list[bytes], list[bytes]]:
    """`count` numbered datagrams up and `count` down through a relay acting both ways,
    all up then all down, or one up and one down in turn: what (server, client) got."""
    relay: Any = None

    def settle(sent: int) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            dropped = sum(t.acted for t in relay.link.toxics)
            if (relay.moved[">"] + relay.moved["<"]) // SIZE + dropped >= sent:
                return
            time.sleep(0.005)
        raise AssertionError(f"{name} took {relay.moved} of {sent} datagrams")

    with udp_relay(shell, name, links) as (client, server):
        relay = shell.session.registry.get(name)
        sent = 0

        def up(i: int) -> None:
            nonlocal sent
            client.send(numbered(i))
            sent += 1
            settle(sent)

        def down(i: int) -> None:
            nonlocal sent
            server.sendto(numbered(1000 + i), relay.b.sock.getsockname())
            sent += 1
            settle(sent)

        up(0)  # the relay takes its peer and reaches the server
        for i in range(1, count):
            up(i)
            if alternate:
                down(i)
        if not alternate:
            for i in range(1, count):
                down(i)
        return drain(server), drain(client)


def test_a_seed_gives_each_way_of_a_dir_both_toxic_the_same_choices_every_run(
    shell: Shell,
) -> None:
    """The up and down threads draw in whatever order they run: each way has its own
    generator, so which datagrams go does not hang on that order (trial 13 G4)."""
    links = "--link 'drop rate=0.3 dir=both' --seed 7"
    first = both_ways(shell, "b1", links, 60, alternate=False)
    second = both_ways(shell, "b2", links, 60, alternate=True)
    assert first == second
    server_got, client_got = first
    assert 25 <= len(server_got) <= 55 and 25 <= len(client_got) <= 55
    assert server_got == sorted(server_got) and client_got == sorted(client_got)


def test_a_summed_datagram_event_counts_the_datagrams(shell: Shell) -> None:
    """One line for many datagrams says how many (trial 13 G9: "dropped a datagram
    (1,928 bytes in 482 goes)" read as one datagram)."""
    links = "--link 'drop rate=1 dir=up' --link 'duplicate rate=1 dir=down'"
    with udp_relay(shell, "u", links) as (client, server):
        for i in range(20):
            client.send(numbered(i))
        settled(shell, "u", 20, SIZE)
        shell.ok("close u")  # says what was not said yet, summed
    log = shell.ok("log u")
    assert "drop: dropped a datagram (8 bytes)" in log  # the first, at once
    assert "drop: dropped 19 datagrams (152 bytes)" in log  # the rest, summed
    assert "dropped a datagram (152" not in log
