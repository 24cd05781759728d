"""Toxics measured from outside: a `pslrepl relay --link ...` in its own process, real
peers here on loopback, and what their recv sees.

Checks (issue 13): added latency within 10% of 50 ms and 200 ms (round trips through
the linked relay to an echo server, minus the same without the toxic); bandwidth within
10% of 100 KiB/s and 1 MiB/s over 4 MiB; `slicer size=10` seen by recv as reads of at
most 10 bytes (checked on the segments the peer's kernel got, captured on lo, each what
a recv keeping up returns: run as root, or the reads alone are checked);
`limit bytes=1000` delivers exactly 1000; `drop rate=0.3 --seed 1` drops the same
datagrams every run, about 30% of 10,000.
Run with the venv's interpreter:  .venv/bin/python bench/link.py [--quick]
(--quick: 1 MiB for the bandwidth checks instead of 4 MiB; the rest as above.)
"""

from __future__ import annotations

import contextlib
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

EXE = str(Path(sys.executable).parent / "pslrepl")
ROUND_TRIPS = 20


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def relay(a: str, b: str, links: str = "", seed: str = "") -> Iterator[None]:
    """`pslrepl -c 'relay r A B --link ...'` in its own process, for one client."""
    line = f"relay r {a} {b} {links} {seed}; wait r close --timeout 600"
    proc = subprocess.Popen([EXE, "-c", line], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    assert proc.stdout is not None
    first = proc.stdout.readline()
    if not first.startswith("r: relaying"):
        proc.kill()
        raise SystemExit(f"relay did not start: {first}{proc.communicate()[1]}")
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        if proc.stderr is not None:
            proc.stderr.close()


@contextlib.contextmanager
def server(serve: Callable[[socket.socket], None]) -> Iterator[int]:
    """A TCP server for one client, `serve(conn)` in a thread; yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))

    def run() -> None:
        conn, _ = listener.accept()
        with conn:
            serve(conn)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(timeout=5)


def echo(conn: socket.socket) -> None:
    while data := conn.recv(65536):
        conn.sendall(data)


def round_trip_ms(links: str) -> float:
    """The median of ROUND_TRIPS one-byte round trips through a relay with `links`."""
    with server(echo) as eport:
        rport = free_port()
        with (
            relay(f"tcp-listen:{rport}", f"tcp:127.0.0.1:{eport}", links),
            socket.create_connection(("127.0.0.1", rport), timeout=10) as c,
        ):
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            times = []
            for _ in range(ROUND_TRIPS):
                t0 = time.monotonic()
                c.sendall(b"x")
                assert c.recv(1) == b"x"
                times.append(time.monotonic() - t0)
            c.shutdown(socket.SHUT_WR)
    return statistics.median(times) * 1000


def bandwidth(rate: str, size: int) -> float:
    """Bytes a second the client sees, a server sending `size` bytes down the relay."""
    payload = bytes(range(256)) * (size // 256)

    def send(conn: socket.socket) -> None:
        conn.sendall(payload)

    with server(send) as sport:
        rport = free_port()
        with (
            relay(
                f"tcp-listen:{rport}", f"tcp:127.0.0.1:{sport}", f"--link 'bandwidth rate={rate}'"
            ),
            socket.create_connection(("127.0.0.1", rport), timeout=60) as c,
        ):
            first = c.recv(1 << 20)
            t0, got = time.monotonic(), 0
            while part := c.recv(1 << 20):
                got += len(part)
            took = time.monotonic() - t0
    assert len(first) + got == size, f"{len(first) + got} of {size} bytes"
    return got / took


class Segments:
    """The TCP segments sent from one port over loopback, as the peer's kernel got them:
    a packet socket on lo (needs CAP_NET_RAW). ``sizes``: the payload of each, by its
    sequence number (a retransmission counted once); ``error``: why there are none."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sizes: dict[tuple[int, int], int] = {}
        self.stop = threading.Event()
        self.error = ""
        try:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
            self.sock.bind(("lo", 3))  # ETH_P_ALL
        except (OSError, AttributeError) as exc:
            self.error = f"no packet capture ({exc}; it needs CAP_NET_RAW)"
            return
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import struct

        while not self.stop.is_set():
            try:
                frame, addr = self.sock.recvfrom(1 << 17)
            except TimeoutError:
                continue
            # Each loopback packet shows twice, going out and coming in: take it coming in.
            if addr[2] == socket.PACKET_OUTGOING or frame[12:14] != b"\x08\x00":
                continue
            ip = frame[14:]
            ihl = (ip[0] & 0x0F) * 4
            if ip[9] != socket.IPPROTO_TCP:
                continue
            tcp = ip[ihl:]
            sport, dport, seq = struct.unpack("!HHI", tcp[:8])
            payload = struct.unpack("!H", ip[2:4])[0] - ihl - (tcp[12] >> 4) * 4
            if sport == self.port and payload > 0:
                self.sizes[(dport, seq)] = payload

    def got(self, dport: int) -> list[int]:
        return [n for (port, _), n in sorted(self.sizes.items()) if port == dport]

    def done(self, dport: int, total: int) -> list[int]:
        """The payload sizes of the segments sent to ``dport``, in sequence order, once
        they add up to ``total`` (the capture reads behind the peer: lo is busy)."""
        if self.error:
            return []
        deadline = time.monotonic() + 10
        while sum(self.got(dport)) < total and time.monotonic() < deadline:
            time.sleep(0.05)
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()
        return self.got(dport)


def slicer_reads(size: int = 10) -> tuple[bool, str]:
    """Whether 10,000 bytes through `slicer size=SIZE` reached the peer in writes of at
    most SIZE bytes, and what its recv saw. A recv returns what has queued: a reader
    not scheduled for a millisecond (a loaded machine) finds two slices and gets both in
    one read, which says nothing about the slicer. So the check is on the segments the
    peer's kernel got, each what one recv of a reader keeping up returns; the reads are
    shown beside it. Without a packet capture, the reads are all there is to check."""
    data = bytes(range(100)) * 100

    def send(conn: socket.socket) -> None:
        conn.sendall(data)

    with server(send) as sport:
        rport = free_port()
        segments = Segments(rport)
        with (
            relay(f"tcp-listen:{rport}", f"tcp:127.0.0.1:{sport}", f"--link 'slicer size={size}'"),
            socket.create_connection(("127.0.0.1", rport), timeout=30) as c,
        ):
            cport = c.getsockname()[1]
            reads = []
            while part := c.recv(4096):
                reads.append(len(part))
        sizes = segments.done(cport, len(data))
    assert sum(reads) == len(data)
    joined = [n for n in reads if n > size]
    seen = f"recv: {len(reads)} reads, largest {max(reads)}"
    if segments.error:
        return not joined, f"{seen}; {segments.error}: a late reader can't be told apart"
    if sum(sizes) != len(data):
        return False, f"{seen}; the capture saw {sum(sizes):,} of {len(data):,} bytes"
    good = max(sizes) <= size
    if good and joined:
        seen += f" ({len(joined)} joined slices that came apart, the reader away)"
    return good, f"{len(sizes)} segments, largest {max(sizes)} bytes; {seen}"


def limit_delivers() -> int:
    def send(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.sendall(bytes(100_000))

    with server(send) as sport:
        rport = free_port()
        with (
            relay(f"tcp-listen:{rport}", f"tcp:127.0.0.1:{sport}", "--link 'limit bytes=1000'"),
            socket.create_connection(("127.0.0.1", rport), timeout=30) as c,
        ):
            got = 0
            while part := c.recv(65536):
                got += len(part)
    return got


def dropped(seed: int, count: int = 10_000) -> list[int]:
    """Which of `count` numbered datagrams `drop rate=0.3` dropped on the way up."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(("127.0.0.1", 0))
    rport = free_port(socket.SOCK_DGRAM)
    arrived: set[int] = set()
    target = f"udp:127.0.0.1:{srv.getsockname()[1]}"
    links = "--link 'drop rate=0.3 dir=up'"
    with (
        srv,
        relay(f"udp-listen:{rport}", target, links, f"--seed {seed}"),
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c,
    ):
        c.connect(("127.0.0.1", rport))
        for start in range(0, count, 100):
            # A batch, then what came: no socket buffer on the way can overflow.
            for i in range(start, min(count, start + 100)):
                c.send(b"%d" % i)
            srv.settimeout(0.2)
            with contextlib.suppress(TimeoutError):
                while True:
                    arrived.add(int(srv.recv(100)))
                    if max(arrived) == min(count, start + 100) - 1:
                        srv.settimeout(0.05)  # the last came; any stragglers?
    return [i for i in range(count) if i not in arrived]


def main() -> int:
    quick = "--quick" in sys.argv
    ok = True

    def check(label: str, good: bool, said: str) -> None:
        nonlocal ok
        ok = ok and good
        print(f"{'ok  ' if good else 'FAIL'} {label:34} {said}")

    print(f"python {sys.version.split()[0]}")
    base = round_trip_ms("")
    for delay in (50, 200):
        added = round_trip_ms(f"--link 'latency delay={delay}ms'") - base
        check(f"latency delay={delay}ms", abs(added - delay) <= delay / 10,
              f"added {added:.1f} ms per round trip (base {base:.2f} ms)")  # fmt: skip
    size = (1 if quick else 4) << 20
    for rate, want in (("100KiB/s", 100 * 1024), ("1MiB/s", 1 << 20)):
        got = bandwidth(rate, size)
        check(f"bandwidth rate={rate}", abs(got - want) <= want / 10,
              f"{got / 1024:,.1f} KiB/s over {size >> 20} MiB")  # fmt: skip
    good, said = slicer_reads()
    check("slicer size=10", good, said)
    got = limit_delivers()
    check("limit bytes=1000", got == 1000, f"delivered {got} bytes of 100,000")
    first, second = dropped(1), dropped(1)
    share = len(first) / 10_000
    check("drop rate=0.3 --seed 1", first == second and 0.28 <= share <= 0.32,
          f"{len(first):,} of 10,000 dropped ({share:.1%}); same both runs: "
          f"{first == second}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
