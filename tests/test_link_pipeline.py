"""latency is a delay, not a queue: each chunk leaves DELAY after it was read while the
relay goes on reading (trial 13, F1), over TCP and UDP; in order, and nothing passes
the EOF or a chunk still held."""

from __future__ import annotations

import socket
import time

from tests.helpers import Shell
from tests.test_link import joined, recv_exactly, sha
from tests.test_link_udp import udp_relay


def holding(shell: Shell, name: str) -> None:
    """Wait until the relay's latency toxic holds something (the relay has read it)."""
    relay = shell.session.registry.get(name)
    deadline = time.monotonic() + 10
    while not any(t.holding for t in relay.link.toxics):
        assert time.monotonic() < deadline, "the relay never read the first message"
        time.sleep(0.002)


def test_a_message_sent_while_another_is_held_is_not_queued_behind_it(shell: Shell) -> None:
    delay = 0.5
    with joined(shell, f"relay r tcp-listen:0 {{b}} --link 'latency delay={delay}s'") as (c, s):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.monotonic()
        s.sendall(b"m0\n")  # down: B back to A
        holding(shell, "r")
        t1 = time.monotonic()
        s.sendall(b"m1\n")
        got = b""
        while len(got) < 6:
            part = c.recv(100)
            assert part, got
            got += part
        done = time.monotonic()
    assert got == b"m0\nm1\n"
    assert done - t1 >= delay * 0.95  # m1 is delayed too
    # m1 left DELAY after it was read, not DELAY after m0 left (then: 2 x DELAY)
    assert done - t0 < delay * 1.5, (t1 - t0, done - t0)


def test_udp_datagrams_each_take_the_delay_not_one_after_another(shell: Shell) -> None:
    delay, count = 0.2, 8
    with udp_relay(shell, "u", f"--link 'latency delay={delay}s dir=up'") as (client, server):
        t0 = time.monotonic()
        for i in range(count):
            client.send(b"%04d" % i)
        got = [server.recv(100) for _ in range(count)]
        first_late = time.monotonic() - t0
    assert got == [b"%04d" % i for i in range(count)]  # all, in order
    # All within about one delay (old: one delay each, one after another: 1.6 s).
    assert delay * 0.95 <= first_late < delay * count / 2, first_late


def test_held_bytes_go_before_the_eof_and_whole(shell: Shell) -> None:
    payload = bytes(range(256)) * 4096 + b"\x00\r\n"  # 1 MiB and a bit
    with joined(shell, "relay r tcp-listen:0 {b} --link 'latency delay=100ms'") as (c, s):
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        got = recv_exactly(c, len(payload))
        assert sha(got) == sha(payload)
        assert c.recv(1) == b""  # the EOF came after every held byte
        c.sendall(b"back")
        assert recv_exactly(s, 4) == b"back"  # the other way still open
    assert shell.ok("wait r close --timeout 10").startswith("r: ")


def test_unlinking_keeps_the_order_held_bytes_go_first(shell: Shell) -> None:
    with joined(shell, "relay r tcp-listen:0 {b} --link 'latency delay=60s'") as (c, s):
        s.sendall(b"first\n")
        holding(shell, "r")
        shell.ok("unlink r latency")
        s.sendall(b"second\n")
        assert recv_exactly(c, 13) == b"first\nsecond\n"


def test_closing_the_relay_drops_what_latency_holds_at_once(shell: Shell) -> None:
    with joined(shell, "relay r tcp-listen:0 {b} --link 'latency delay=60s'") as (c, s):
        s.sendall(b"held\n")
        holding(shell, "r")
        assert "  0 (holding 5 bytes)\n" in shell.ok("link r")  # it acts, not '0' alone
        t0 = time.monotonic()
        said = shell.ok("close r")
        assert said.startswith("r: closed") and said.endswith(
            "; dropped 5 bytes a latency toxic held\n"
        ), said
        assert time.monotonic() - t0 < 3
        assert c.recv(10) == b""  # dropped, as documented: the client sees the close
    names = [t.name for t in __import__("threading").enumerate()]
    assert not any(n.startswith("pslrepl:r~") for n in names), names
