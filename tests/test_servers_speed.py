"""What the servers' cheap counting must keep: every chunk logged as the same event
Event.traffic makes, and waiters still woken by traffic alone."""

from __future__ import annotations

import socket

from pslrepl.events import LOG_DATA_LIMIT, Event, describe
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
