"""Echo server round trips: `serve e tcp P --handler echo --threading` (its event logging
left on) against `socat TCP-LISTEN:P,fork,reuseaddr PIPE`, the same load on each:
100 concurrent connections, 1,000 round trips of 64 bytes each.

Goal: pslrepl at least 1.2x socat's round trips per second.
Run with the venv's interpreter:  .venv/bin/python bench/echo.py [ROUND_TRIPS]
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

EXE = str(Path(sys.executable).parent / "pslrepl")
CONNECTIONS = 100
PROCESSES = 2
LOAD = r"""
import selectors, socket, sys, time
port, conns, trips = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
msg = b"x" * 64
sel = selectors.DefaultSelector()
left = {}
for _ in range(conns):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(msg)
    sel.register(s, selectors.EVENT_READ, bytearray())
    left[s] = trips
start = time.perf_counter()
while left:
    for key, _ in sel.select():
        s, got = key.fileobj, key.data
        got += s.recv(4096)
        while len(got) >= 64:
            del got[:64]
            left[s] -= 1
            if left[s]:
                s.sendall(msg)
            else:
                sel.unregister(s)
                s.close()
                del left[s]
                break
print(conns * trips, time.perf_counter() - start, flush=True)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def load(port: int, trips: int) -> float:
    per = CONNECTIONS // PROCESSES
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", LOAD, str(port), str(per), str(trips)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    started = time.perf_counter()
    total = 0
    for p in procs:
        out, _ = p.communicate(timeout=600)
        total += int(out.split()[0])
    return total / (time.perf_counter() - started)


def main() -> int:
    trips = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    socat = shutil.which("socat")
    if socat is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "socat"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        socat = shutil.which("socat")
    if socat is None:
        raise SystemExit("socat is needed: apt-get install socat")
    rates: dict[str, float] = {}
    for label in ("pslrepl serve echo --threading", "socat fork PIPE"):
        port = free_port()
        if label.startswith("pslrepl"):
            argv = [EXE, "-c", f"serve e tcp {port} --handler echo --threading; sleep 900"]
        else:
            argv = [socat, f"TCP-LISTEN:{port},fork,reuseaddr", "PIPE"]
        server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_listening(port)
            rates[label] = load(port, trips)
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(
        f"{CONNECTIONS} connections x {trips} round trips of 64 bytes, "
        f"python {sys.version.split()[0]}"
    )
    for label, rate in rates.items():
        print(f"{label:32} {rate:9.0f} round trips/s")
    ratio = rates["pslrepl serve echo --threading"] / rates["socat fork PIPE"]
    print(f"pslrepl vs socat: {ratio:.2f}x (goal >= 1.2)")
    return 0 if ratio >= 1.2 else 1


if __name__ == "__main__":
    sys.exit(main())
