"""Toxics measured from outside: a `pslrepl relay --link ...` in its own process, real
peers here on loopback, and what their recv sees.

Checks (issue 13): added latency within 10% of 50 ms and 200 ms (round trips through
the linked relay to an echo server, minus the same without the toxic); bandwidth within
10% of 100 KiB/s and 1 MiB/s over 4 MiB; `slicer size=10` seen by recv as reads of at
most 10 bytes; `limit bytes=1000` delivers exactly 1000; `drop rate=0.3 --seed 1` drops
the same datagrams every run, about 30% of 10,000.
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


def slicer_reads() -> tuple[int, int]:
    """(the largest read, how many reads) of 10,000 bytes through `slicer size=10`."""
    data = bytes(range(100)) * 100

    def send(conn: socket.socket) -> None:
        conn.sendall(data)

    with server(send) as sport:
        rport = free_port()
        with (
            relay(f"tcp-listen:{rport}", f"tcp:127.0.0.1:{sport}", "--link 'slicer size=10'"),
            socket.create_connection(("127.0.0.1", rport), timeout=30) as c,
        ):
            sizes = []
            while part := c.recv(4096):
                sizes.append(len(part))
    assert sum(sizes) == len(data)
    return max(sizes), len(sizes)


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
    most, reads = slicer_reads()
    check("slicer size=10", most <= 10, f"largest recv {most} bytes, {reads} reads of 10,000")
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
