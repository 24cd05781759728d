"""Echo servers of every model, measured with a load client that is not the bottleneck:
pslrepl's `serve e tcp P --handler echo [--threading|--forking|--selectors]` (its counting
and event log on), beside the bare stdlib server of the same model and socat.

The load client is bench/echo_client.c (built here with cc): one epoll loop, CONNS
connections x TRIPS lock-step round trips of SIZE bytes, every answer checked. Every
server runs in each of ROUNDS rounds, interleaved (round 1: every server, round 2: every
server...), so a busy machine weighs on all alike; medians, with the spread, and the
server's CPU (user+system, its reaped children's too) per round trip. A client that used
most of a CPU is flagged: then it, not the server, set the pace.

Goals (issue 15): each pslrepl model at 0.85x its bare stdlib server or better, and
--selectors at 2x socat fork or better.

  .venv/bin/python bench/echo.py [--rounds 5] [--trips 300] [--conns 100] [--size 64]
                                 [--only NAME,NAME]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXE = str(Path(sys.executable).parent / "pslrepl")
TICK = os.sysconf("SC_CLK_TCK")
MAX_SIZE = 1 << 20  # echo_client.c's limit on SIZE

BARE = r"""
import socketserver, sys
model, port = sys.argv[1], int(sys.argv[2])

class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(65536):
            self.request.sendall(data)

base = {"sync": socketserver.TCPServer, "threading": socketserver.ThreadingTCPServer,
        "forking": socketserver.ForkingTCPServer}[model]

class Server(base):
    request_queue_size = 4096  # as pslrepl's (SOMAXCONN): 100 connects at once
    allow_reuse_address = True
    daemon_threads = True

Server(("127.0.0.1", port), Echo).serve_forever()
"""

BARE_SELECTORS = r"""
import selectors, socket, sys
sel = selectors.DefaultSelector()
lsock = socket.create_server(("127.0.0.1", int(sys.argv[1])), backlog=4096)
lsock.setblocking(False)
sel.register(lsock, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        sock = key.fileobj
        if sock is lsock:
            conn, _ = lsock.accept()
            conn.setblocking(False)
            sel.register(conn, selectors.EVENT_READ)
            continue
        try:
            data = sock.recv(65536)
        except ConnectionError:
            data = b""
        if data:
            sock.sendall(data)  # a round trip's 64 bytes always fit the send buffer
        else:
            sel.unregister(sock)
            sock.close()
"""


def servers(socat: str | None) -> dict[str, tuple[str, list[str]]]:
    """name -> (the bare server it is compared with, argv with {port})."""
    py = sys.executable
    table: dict[str, tuple[str, list[str]]] = {}
    for model, flag in (("sync", ""), ("threading", " --threading"), ("forking", " --forking"),
                        ("selectors", " --selectors")):  # fmt: skip
        table[f"pslrepl {model}"] = (f"bare {model}", [
            EXE, "-c", f"serve e tcp {{port}} --handler echo{flag}; sleep 3600"])  # fmt: skip
        if model == "selectors":
            table["bare selectors"] = ("", [py, "-c", BARE_SELECTORS, "{port}"])
        else:
            table[f"bare {model}"] = ("", [py, "-c", BARE, model, "{port}"])
    if socat:
        table["socat fork PIPE"] = ("", [socat, "TCP-LISTEN:{port},fork,reuseaddr", "PIPE"])
    return table


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def cpu_seconds(pid: int) -> float:
    """utime + stime + cutime + cstime: the process, its threads and reaped children."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return sum(int(v) for v in fields[11:15]) / TICK


def build_client(directory: str) -> str:
    """echo_client.c built into directory (which main removes when it is done)."""
    cc = shutil.which("cc")
    if cc is None:
        raise SystemExit("a C compiler (cc) is needed for the load client: apt-get install gcc")
    exe = os.path.join(directory, "echo_client")
    subprocess.run([cc, "-O2", "-o", exe, str(HERE / "echo_client.c")], check=True)
    return exe


def run_once(client: str, port: int, pid: int, args: argparse.Namespace) -> dict[str, float]:
    before = cpu_seconds(pid)
    done = subprocess.run([client, str(port), str(args.conns), str(args.trips), str(args.size)],
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    used = cpu_seconds(pid) - before
    got = dict(line.split("=", 1) for line in done.stdout.split())
    if done.returncode != 0:
        said = (done.stdout + done.stderr).strip() or "no output"
        raise SystemExit(f"the load client failed (exit status {done.returncode}): {said}")
    trips, seconds = int(got["trips"]), float(got["seconds"])
    return {"rate": trips / seconds, "server_us": used / trips * 1e6,
            "client_cpu": float(got["cpu"]) / seconds}  # fmt: skip


def main() -> int:
    socat = shutil.which("socat")
    table = servers(socat)
    names = ", ".join(table)
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0].replace("\n", " "),
        epilog=f"servers: {names}",
    )
    parser.add_argument("--rounds", type=int, default=5,
                        help="times every server is measured, interleaved (5)")  # fmt: skip
    parser.add_argument("--trips", type=int, default=300,
                        help="lock-step round trips per connection in a run (300)")  # fmt: skip
    parser.add_argument("--conns", type=int, default=100, help="connections at once (100)")
    parser.add_argument("--size", type=int, default=64,
                        help=f"bytes per round trip, 1 to {MAX_SIZE:,} (64)")  # fmt: skip
    parser.add_argument("--only", default="", metavar="NAME,NAME",
                        help="only these servers (a pslrepl one brings its bare one)")  # fmt: skip
    args = parser.parse_args()
    for what in ("rounds", "trips", "conns"):
        if getattr(args, what) < 1:
            parser.error(f"--{what} must be 1 or more")
    if not 1 <= args.size <= MAX_SIZE:
        parser.error(f"--size must be 1 to {MAX_SIZE:,} bytes (what echo_client.c takes)")
    if socat is None:
        print("note: socat is not installed (apt-get install socat): left out", file=sys.stderr)
    if args.only:
        keep = {name.strip() for name in args.only.split(",") if name.strip()}
        unknown = sorted(keep - set(table))
        if unknown or not keep:
            parser.error(f"--only: no server {', '.join(map(repr, unknown)) or 'named'}; "
                         f"choose from: {names}")  # fmt: skip
        table = {k: v for k, v in table.items() if k in keep or v[0] in keep}
    built = tempfile.mkdtemp(prefix="pslrepl-bench-")
    try:
        client = build_client(built)
        results, load = measure(table, client, args)
    finally:
        shutil.rmtree(built, ignore_errors=True)
    report(table, results, args, load)
    return 0


def measure(
    table: dict[str, tuple[str, list[str]]], client: str, args: argparse.Namespace
) -> tuple[dict[str, list[dict[str, float]]], tuple[float, float]]:
    """Every server's runs, and the load average before and after."""
    procs: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in table}
    try:
        for name, (_, argv) in table.items():
            port = free_port()
            argv = [a.replace("{port}", str(port)) for a in argv]
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)  # fmt: skip
            procs[name] = (proc, port)
            wait_listening(port)
        load_before = os.getloadavg()[0]
        for n in range(args.rounds):
            for name, (proc, port) in procs.items():
                results[name].append(run_once(client, port, proc.pid, args))
            print(f"round {n + 1} of {args.rounds} done", file=sys.stderr)
        load_after = os.getloadavg()[0]
    finally:
        for proc, _ in procs.values():
            proc.terminate()
        for proc, _ in procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return results, (load_before, load_after)


def report(table: dict[str, tuple[str, list[str]]], results: dict[str, list[dict[str, float]]],
           args: argparse.Namespace, load: tuple[float, float]) -> None:  # fmt: skip
    print(f"{args.conns} connections x {args.trips} lock-step round trips of {args.size} "
          f"bytes, {args.rounds} rounds interleaved; python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, load average {load[0]:.1f} before, "
          f"{load[1]:.1f} after")  # fmt: skip
    print()
    print("| server | round trips/s (median) | spread (min-max) | server CPU per round trip "
          "| vs its bare stdlib server |")  # fmt: skip
    print("|---|---|---|---|---|")
    medians = {name: statistics.median(r["rate"] for r in runs) for name, runs in results.items()}
    for name, runs in results.items():
        rates = [r["rate"] for r in runs]
        us = statistics.median(r["server_us"] for r in runs)
        bare = table[name][0]
        ratio = f"{medians[name] / medians[bare]:.2f}x" if bare in medians else ""
        busy = max(r["client_cpu"] for r in runs)
        flag = f" (client at {busy:.0%} CPU)" if busy > 0.9 else ""
        print(f"| {name}{flag} | {medians[name]:,.0f} | {min(rates):,.0f}-{max(rates):,.0f} "
              f"| {us:.0f} µs | {ratio} |")  # fmt: skip
    if "pslrepl selectors" in medians and "socat fork PIPE" in medians:
        print(
            f"\npslrepl --selectors vs socat fork: "
            f"{medians['pslrepl selectors'] / medians['socat fork PIPE']:.2f}x (goal >= 2)"
        )
    busiest = max(r["client_cpu"] for runs in results.values() for r in runs)
    print(f"the load client's CPU: at most {busiest:.0%} of one core in any run")


if __name__ == "__main__":
    sys.exit(main())
