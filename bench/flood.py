"""A chat flood: `serve room tcp 0 --handler chat` in a real pslrepl process, and a C
client (bench/flood_client.c, built here with cc) opening RATE connections a second for
SECONDS, each sending one line and reading for 1 s. A witness connection in the room
checks that every client's line reached it.

Goals: at least 99% of clients served (read for 1 s without an error, and the witness
saw their line); the server's threads back to their baseline within 2 s of `stop`;
`stop` answers in one line. It also reports the peak threads and resident memory.
Loopback only; bounded in count and time (the flood, then at most DRAIN_MS for the
witness, then `stop`); it stops by itself.

Run with the venv's interpreter:  .venv/bin/python bench/flood.py [RATE [SECONDS]]
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXE = str(Path(sys.executable).parent / "pslrepl")
HOLD_MS = 1000  # each client reads for 1 s
DRAIN_MS = 5000  # after the last client: how long the witness may take to see the rest
BACK_TO_BASELINE = 2.0  # the goal for the threads, after `stop`


def build_client(workdir: str) -> str:
    cc = shutil.which("cc")
    if cc is None:
        raise SystemExit("a C compiler (cc) is needed for the load generator: apt-get install gcc")
    exe = os.path.join(workdir, "flood_client")
    subprocess.run([cc, "-O2", "-o", exe, str(HERE / "flood_client.c")], check=True)
    return exe


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid: int) -> tuple[int, int]:
    """Threads and resident KiB of a process, from /proc."""
    threads = rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                threads = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return threads, rss


class Shell:
    """pslrepl reading a script on its standard input: one command, then its answer."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([EXE, "--keep-going"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1)  # fmt: skip
        self.marks = 0

    def run(self, line: str, timeout: float = 30) -> list[str]:
        """The lines `line` printed (an echo after it marks the end)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.marks += 1
        mark = f"mark-{self.marks}-done"
        self.proc.stdin.write(f"{line}\necho {mark}\n")
        self.proc.stdin.flush()
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.proc.stdout.readline()
            if not got or got.rstrip("\n") == mark:
                return lines
            lines.append(got.rstrip("\n"))
        raise SystemExit(f"pslrepl did not answer {line!r} in {timeout} s")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def main() -> int:
    rate = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    with tempfile.TemporaryDirectory(prefix="flood-") as workdir:
        client = build_client(workdir)
        shell = Shell()
        try:
            return flood(shell, client, rate, seconds)
        finally:
            shell.close()


def flood(shell: Shell, client: str, rate: int, seconds: float) -> int:
    pid = shell.proc.pid
    shell.run("serve room tcp 0 --handler chat")
    port = int(shell.run("py room.server_address[1]")[-1])
    baseline, rss_before = proc_status(pid)
    peak = [baseline, rss_before]
    sampling = True

    def sample() -> None:
        while sampling:
            threads, rss = proc_status(pid)
            peak[0], peak[1] = max(peak[0], threads), max(peak[1], rss)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu_before = cpu_seconds(pid)
    started = time.monotonic()
    done = subprocess.run([client, str(port), str(rate), str(seconds), str(HOLD_MS),
                           str(DRAIN_MS)], capture_output=True, text=True,
                          timeout=seconds + 60)  # fmt: skip
    took = time.monotonic() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (
        cpu_after.ru_stime - cpu_before.ru_stime)  # fmt: skip
    server_cpu = cpu_seconds(pid) - server_cpu_before
    if done.returncode != 0:
        raise SystemExit(f"the load generator failed: {done.stderr.strip()}")
    counts = dict(line.split("=", 1) for line in done.stdout.split())
    threads_after_flood, _ = proc_status(pid)
    cap = [line for line in shell.run("info room") if line.startswith("max clients:")]
    t = time.monotonic()
    answer = shell.run("stop room")
    stop_took = time.monotonic() - t
    back = None
    while time.monotonic() - t < 10:
        threads, _ = proc_status(pid)
        if threads <= baseline:
            back = time.monotonic() - t
            break
        time.sleep(0.01)
    sampling = False
    sampler.join()
    threads_final, _ = proc_status(pid)

    total = int(counts["started"])
    served = int(counts["served"])
    share = served / total if total else 0.0
    print(f"chat flood: {rate} connections/s for {seconds:g} s, each sends one line and "
          f"reads for {HOLD_MS / 1000:g} s; python {sys.version.split()[0]}")  # fmt: skip
    print(f"load generator: {took:.1f} s; " + ", ".join(
        f"{k} {counts[k]}" for k in ("started", "connected", "completed", "seen", "refused",
                                     "connect_timeout", "reset", "early_eof", "other_error",
                                     "witness_dropped")))  # fmt: skip
    print(f"CPU during the flood: load generator {client_cpu:.1f} s, pslrepl {server_cpu:.1f} s "
          f"of {took:.1f} s (2 cores)")  # fmt: skip
    print(f"served: {served} of {total} ({share:.2%})  goal >= 99%")
    print(f"threads: baseline {baseline}, peak {peak[0]}, after the flood "
          f"{threads_after_flood}, after stop {threads_final}")  # fmt: skip
    print(f"resident memory: {rss_before / 1024:.0f} MiB before, peak {peak[1] / 1024:.0f} MiB")
    back_text = f"{back:.2f} s" if back is not None else "not within 10 s"
    print(f"stop answered in {stop_took:.2f} s with {len(answer)} line(s), "
          f"{sum(map(len, answer))} characters: {answer[0][:100] if answer else ''!r}")  # fmt: skip
    print(f"threads back to baseline {back_text} after stop  goal <= {BACK_TO_BASELINE:g} s")
    if cap:
        print(f"info room: {' '.join(cap[0].split())}")
    ok = share >= 0.99 and back is not None and back <= BACK_TO_BASELINE and len(answer) == 1
    print("all goals met" if ok else "GOALS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
