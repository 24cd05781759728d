"""What the servers' cheap counting must keep: every chunk logged as the same event
Event.traffic makes, and waiters still woken by traffic alone."""

from __future__ import annotations

import hashlib
import socket

import pytest

from pslrepl.events import LOG_DATA_LIMIT, Event, describe
from pslrepl.resources.counting import Connection
from pslrepl.resources.server_clients import traffic_event
from tests.helpers import Shell, port


def test_a_traffic_event_is_what_event_traffic_makes_slot_by_slot() -> None:
    data = b"\0\r\n" * (LOG_DATA_LIMIT // 2)  # past the preview's limit
    fast = traffic_event("e", "recv", "in", data, "127.0.0.1:5000")
    slow = Event.traffic("e", "recv", "client", "in", data, peer="127.0.0.1:5000")
    for slot in Event.__slots__:
        if slot != "t":
            assert getattr(fast, slot) == getattr(slow, slot), slot
    assert abs(fast.t - slow.t) < 60
    assert describe(fast) == describe(slow)
    assert fast.truncated and fast.size == len(data)


def test_traffic_alone_wakes_a_waiter_and_every_chunk_is_logged(shell: Shell) -> None:
    shell.ok("serve d tcp 0 --handler discard --selectors")
    server = shell.session.registry.get("d")
    with socket.create_connection(("127.0.0.1", port(shell, "d")), timeout=10) as c:
        for n in range(20):
            c.sendall(bytes([n]) * 10)
            # No other event comes meanwhile: only the traffic's own wake-up ends this.
            assert shell.session.wait_for(lambda n=n: server.bytes_in == 10 * (n + 1), 5)
    chunks = [e for e in shell.session.log if e.source == "d" and e.kind == "recv"]
    assert b"".join(e.data for e in chunks) == b"".join(bytes([n]) * 10 for n in range(20))
    assert [e for e in server.log if e.kind == "recv"] == chunks


def test_a_chunk_is_logged_unbuilt_and_made_into_its_event_when_read(shell: Shell) -> None:
    """Per chunk a server stores a tuple: the Event's slots are filled by the first read,
    with the whole size, a prefix of at most LOG_DATA_LIMIT bytes, and a copy of a
    buffer the handler may reuse."""
    from pslrepl.resources.counting import Chunk

    shell.ok("serve e tcp 0 --handler echo")
    server = shell.session.registry.get("e")
    conn = Connection("127.0.0.1:5000", None)
    buffer = bytearray(b"\0\r\nab")
    server.traffic(conn, "in", buffer)
    big = bytes(range(256)) * 40
    server.traffic(conn, "out", big)
    buffer[:] = b"XXXXX"  # the handler's next recv_into
    small, large = list(server.log)[-2:]
    assert type(small) is Chunk and type(large) is Chunk
    with pytest.raises(AttributeError):  # not built yet: the slot itself is empty
        Event.__dict__["data"].__get__(small)
    assert (small.kind, small.direction, small.data, small.size) == ("recv", "in", b"\0\r\nab", 5)
    assert small.facts == {"peer": "127.0.0.1:5000"} and small.stream == "client"
    assert Event.__dict__["data"].__get__(small) == b"\0\r\nab"  # built once, kept
    assert large.size == len(big) and large.data == big[:LOG_DATA_LIMIT] and large.truncated
    assert large in shell.session.log and (conn.bytes_in, conn.bytes_out) == (5, len(big))
    text = shell.ok("log e --last 2 --repr")
    assert "b'\\x00\\r\\nab'" in text and f"{len(big)}" in text
    with pytest.raises(AttributeError):
        _ = small.nosuch  # not a slot: no event is built for it


def test_a_servers_byte_counts_add_clients_gone_and_connected(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --handler echo --selectors")
    server = shell.session.registry.get("e")
    payload = bytes(range(256)) * 1000
    with socket.create_connection(("127.0.0.1", port(shell, "e")), timeout=10) as gone:
        gone.sendall(payload)
        gone.shutdown(socket.SHUT_WR)
        got = b""
        while chunk := gone.recv(65536):
            got += chunk
    assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()
    assert shell.session.wait_for(lambda: not server.connections, 10)
    with socket.create_connection(("127.0.0.1", port(shell, "e")), timeout=10) as live:
        live.sendall(b"\n\0\r")
        assert live.recv(3) == b"\n\0\r"
        assert shell.session.wait_for(lambda: server.bytes_out == len(payload) + 3, 10)
        assert server.bytes_in == len(payload) + 3
        row = shell.ok("ls").splitlines()
        assert any(f"{len(payload) + 3}" in line and line.startswith("e") for line in row)


@pytest.mark.parametrize("model", ["", " --threading", " --forking", " --selectors"])
def test_echo_of_every_model_sends_back_and_counts_every_byte(shell: Shell, model: str) -> None:
    """The echo loop counts and logs in its own loop (a forked child only counts, for
    its parent to read when it reaps it): a megabyte of every byte value comes back
    whole, and the client's line and the log's chunks say how much."""
    import re

    shell.ok(f"serve e tcp 0 --handler echo{model}")
    payload = bytes(range(256)) * 4096
    with socket.create_connection(("127.0.0.1", port(shell, "e")), timeout=10) as c:
        c.sendall(payload)
        c.shutdown(socket.SHUT_WR)
        got = bytearray()
        while chunk := c.recv(65536):
            got += chunk
    assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()
    n = len(payload)
    left = f"(in {n}, out {n}"
    assert shell.session.wait_for(lambda: left in shell.ok("log e"), 10), shell.ok("log e")
    assert re.search(
        rf"client 127\.0\.0\.1:\d+ left after [\d.]+s \(in {n}, out {n}", shell.ok("log e")
    )
    if model != " --forking":  # a forked child logs no chunks (see Server.traffic)
        chunks = [e for e in list(shell.session.log) if e.source == "e" and e.kind == "recv"]
        assert sum(e.size for e in chunks) == n and payload.startswith(chunks[0].data)


def test_a_clients_news_is_shown_live_and_only_logged_when_quiet(shell: Shell) -> None:
    """Server.tell: with `set events live` a client's coming and going is shown as it
    happens; in a quiet session (a script's default) it is in the log, never shown."""
    import re

    shell.ok("serve e tcp 0 --handler echo --threading")
    server = shell.session.registry.get("e")

    def left() -> int:
        return sum("left after" in e.detail for e in list(server.log))

    def visit(name: str, live: bool = False) -> str:
        before = left()
        said = shell.ok(f"tcp connect {name} e; sendline {name} hi; recv {name} --line")
        said += shell.ok(f"close {name}")
        if not live:  # logged at once, never shown
            assert shell.session.wait_for(lambda: left() > before, 10)
            return said + shell.ok("echo shown")
        # Live: told to the shell within about 20 ms (the server's own pace) and shown by
        # a command after that. (Not session.wait_for here: it shows live events itself,
        # outside any command's output.)
        for _ in range(500):  # bounded: each echo is a command's worth of time
            if "left after" in said and "] client 127.0.0.1" in said.split("left after")[0]:
                break
            said += shell.ok("echo shown")
        return said

    quiet = visit("c")
    assert "[e] client" not in quiet, quiet
    assert re.search(r"client 127\.0\.0\.1:\d+ connected", shell.ok("log e"))
    shell.ok("set events live")
    live = visit("d", live=True)
    assert re.search(r"\[e\] client 127\.0\.0\.1:\d+ connected", live), live
    assert re.search(r"\[e\] client 127\.0\.0\.1:\d+ left after", live), live
