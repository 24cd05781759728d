"""http servers under `wrk`: pslrepl's `serve w tcp P --handler http --dir D` (threading,
and --selectors) beside `python -m http.server` serving the same directory with the
same threading model (ThreadingHTTPServer), interleaved for ROUNDS rounds; medians, the
spread, and each server's CPU per request.

Goal (issue 15): pslrepl's http at 0.9x `python -m http.server` or better under -c 50.

  .venv/bin/python bench/http.py [--rounds 5] [--seconds 3] [--conns 50] [--size 1024]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from echo import EXE, cpu_seconds, free_port, wait_listening  # noqa: E402


def servers(directory: str) -> dict[str, list[str]]:
    return {
        "pslrepl http (threading)": [
            EXE,
            "-c",
            f"serve w tcp {{port}} --handler http --dir {directory}; sleep 3600",
        ],  # fmt: skip
        "pslrepl http --selectors": [
            EXE,
            "-c",
            f"serve w tcp {{port}} --handler http --dir {directory} --selectors; sleep 3600",
        ],  # fmt: skip
        "python -m http.server": [
            sys.executable,
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            "--directory",
            directory,
            "{port}",
        ],  # fmt: skip
    }


def children_cpu() -> float:
    """user + system of this process's reaped children (wrk, once it has ended)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk_once(wrk: str, port: int, pid: int, args: argparse.Namespace) -> dict[str, float]:
    before = cpu_seconds(pid)
    wrk_before = children_cpu()  # only wrk is reaped meanwhile (the servers run on)
    started = time.monotonic()
    done = subprocess.run([wrk, "-t1", f"-c{args.conns}", f"-d{args.seconds}s",
                           f"http://127.0.0.1:{port}/page.bin"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    took = time.monotonic() - started
    used = cpu_seconds(pid) - before
    wrk_cpu = children_cpu() - wrk_before
    out = done.stdout
    got = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if got is None:
        raise SystemExit(f"wrk said: {out} {done.stderr}")
    requests = int(got.group(1))
    return {"rate": requests / took, "server_us": used / max(requests, 1) * 1e6,
            "errors": int(errors.group(1)) if errors else 0,
            "client_cpu": wrk_cpu / took,
            "socket_errors": socket_errors.group(1) if socket_errors else ""}  # type: ignore[dict-item]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--rounds", type=int, default=5,
                        help="times every server is measured, interleaved (5)")  # fmt: skip
    parser.add_argument("--seconds", type=int, default=3, help="each wrk run's length (3)")
    parser.add_argument("--conns", type=int, default=50, help="wrk's connections (50)")
    parser.add_argument("--size", type=int, default=1024, help="the file's bytes (1024)")
    args = parser.parse_args()
    for what in ("rounds", "seconds", "conns", "size"):
        if getattr(args, what) < 1:
            parser.error(f"--{what} must be 1 or more")
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    directory = tempfile.mkdtemp(prefix="pslrepl-http-bench-")
    with open(os.path.join(directory, "page.bin"), "wb") as f:
        f.write(bytes(range(256)) * (args.size // 256) + bytes(args.size % 256))
    procs: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    results: dict[str, list[dict[str, float]]] = {}
    try:
        for name, argv in servers(directory).items():
            port = free_port()
            proc = subprocess.Popen([a.replace("{port}", str(port)) for a in argv],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)  # fmt: skip
            procs[name] = (proc, port)
            results[name] = []
            wait_listening(port)
        load_before = os.getloadavg()[0]
        for n in range(args.rounds):
            for name, (proc, port) in procs.items():
                results[name].append(wrk_once(wrk, port, proc.pid, args))
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
        shutil.rmtree(directory, ignore_errors=True)
    print(f"wrk -t1 -c{args.conns} -d{args.seconds}s, a {args.size}-byte file, {args.rounds} "
          f"rounds interleaved; python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"load average {load_before:.1f} before, {load_after:.1f} after\n")  # fmt: skip
    print("| server | requests/s (median) | spread (min-max) | server CPU per request "
          "| vs python -m http.server | errors |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    base = statistics.median(r["rate"] for r in results["python -m http.server"])
    for name, runs in results.items():
        rates = [r["rate"] for r in runs]
        median = statistics.median(rates)
        us = statistics.median(r["server_us"] for r in runs)
        errors = sum(r["errors"] for r in runs)
        busy = max(r["client_cpu"] for r in runs)
        flag = f" (wrk at {busy:.0%} CPU)" if busy > 0.9 else ""
        print(f"| {name}{flag} | {median:,.0f} | {min(rates):,.0f}-{max(rates):,.0f} "
              f"| {us:.0f} µs | {median / base:.2f}x | {errors} |")  # fmt: skip
    busiest = max(r["client_cpu"] for runs in results.values() for r in runs)
    print(f"\nwrk's CPU: at most {busiest:.0%} of one core in any run (past 90%, wrk, not "
          "the server, set the pace)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
