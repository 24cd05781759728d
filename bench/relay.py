"""Relay throughput: 1 GiB over loopback through `pslrepl relay` against socat doing the
same relay with `-b 262144` and with its defaults, all in this one run.

Goals: pslrepl at least 1.25x `socat -b 262144` and at least 2x plain socat.
socat comes from Debian's package; this script installs it when it is missing (apt).
Run with the venv's interpreter:  .venv/bin/python bench/relay.py [MiB]
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import sys
from pathlib import Path

ROUNDS = 5
EXE = str(Path(sys.executable).parent / "pslrepl")
SINK = r"""
import socket, sys, time
# The sink discards what arrives with MSG_TRUNC (the kernel drops the bytes without
# copying them), so it costs the least CPU and is never what limits the relays.
l = socket.create_server(("127.0.0.1", int(sys.argv[1])))
print("ready", flush=True)
c, _ = l.accept()
buf = bytearray(1 << 20)
total = 0
while n := c.recv_into(buf, len(buf), socket.MSG_TRUNC):
    total += n
print(total, time.monotonic(), flush=True)  # the last byte's time (CLOCK_MONOTONIC)
"""
SOURCE = r"""
import os, socket, sys, tempfile, time
# The source sends with sendfile from a 64 MiB file in memory, so it is never what
# limits the relays either.
port, mib = int(sys.argv[1]), int(sys.argv[2])
with tempfile.TemporaryFile(dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as f:
    f.write(bytes(64 << 20))
    f.flush()
    deadline = time.monotonic() + 10
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port))
            break
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    print(time.monotonic(), flush=True)  # the first byte's time: the clock starts here
    left = mib << 20
    while left:
        offset, size = 0, min(left, 64 << 20)
        while offset < size:
            offset += os.sendfile(s.fileno(), f.fileno(), offset, size - offset)
        left -= size
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_socat() -> str:
    found = shutil.which("socat")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-qq", "socat"], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    found = shutil.which("socat")
    if not found:
        raise SystemExit("socat is needed: apt-get install socat")
    return found


def run(relay_argv: list[str], relay_port: int, sink_port: int, mib: int) -> float:
    """MiB/s through the relay: source -> relay -> sink, timed from the source's first
    byte to the sink's last. (Timed at the sink alone, the clock would start when the
    relay connects to the sink: for pslrepl that is before the source has even started,
    for socat only after it accepted the source.)"""
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(sink_port)],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert sink.stdout is not None
    sink.stdout.readline()
    relay = subprocess.Popen(relay_argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        argv = [sys.executable, "-c", SOURCE, str(relay_port), str(mib)]
        source = subprocess.run(argv, check=True, timeout=300, capture_output=True, text=True)
        start = float(source.stdout)
        total, end = sink.stdout.readline().split()
        assert int(total) == mib << 20, f"sink got {total} bytes"
        return mib / (float(end) - start)
    finally:
        sink.wait(timeout=30)
        try:
            relay.wait(timeout=30)
        except subprocess.TimeoutExpired:
            relay.kill()
            relay.wait()


def main() -> int:
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    socat = ensure_socat()
    results: dict[str, list[float]] = {"pslrepl relay": [], "socat -b 262144": [], "socat": []}
    for _ in range(ROUNDS):
        for label in results:
            rp, sp = free_port(), free_port()
            if label == "pslrepl relay":
                argv = [EXE, "-c", f"relay r tcp-listen:{rp} tcp:127.0.0.1:{sp}; "
                                   "wait r close --timeout 300"]  # fmt: skip
            elif label == "socat":
                argv = [socat, f"TCP-LISTEN:{rp},reuseaddr", f"TCP:127.0.0.1:{sp}"]
            else:
                argv = [socat, "-b", "262144", f"TCP-LISTEN:{rp},reuseaddr",
                        f"TCP:127.0.0.1:{sp}"]  # fmt: skip
            results[label].append(run(argv, rp, sp, mib))
    best = {k: max(v) for k, v in results.items()}
    print(f"{mib} MiB through each relay, best of {ROUNDS}, python {sys.version.split()[0]}")
    for label, rate in best.items():
        print(f"{label:18} {rate:8.0f} MiB/s  (median {statistics.median(results[label]):.0f})")
    big = best["pslrepl relay"] / best["socat -b 262144"]
    plain = best["pslrepl relay"] / best["socat"]
    print(f"pslrepl vs socat -b 262144: {big:.2f}x (goal >= 1.25)")
    print(f"pslrepl vs plain socat:     {plain:.2f}x (goal >= 2)")
    return 0 if big >= 1.25 and plain >= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
