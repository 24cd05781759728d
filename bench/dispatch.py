"""Dispatch speed: 2,000 commands (writeline/read --line pairs against `cat`) as a script.

Prints commands per second for the installed `pslrepl FILE` (start-up subtracted, measured
in the same run) and for the dispatcher in this process, next to the same 1,000 round
trips done by hand with subprocess.Popen, os.write and a line read.
Goal: at least 1,000 commands per second.
Run with the venv's interpreter:  .venv/bin/python bench/dispatch.py
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PAIRS = 1000
GOAL = 1000.0
EXE = str(Path(sys.executable).parent / "pslrepl")


def script_lines() -> list[str]:
    lines = ["spawn c -- cat"]
    for i in range(PAIRS):
        lines += [f"writeline c line-{i}", "read c --line"]
    return lines


def by_hand() -> float:
    """The same round trips straight on the stdlib: the floor of what is possible."""
    started = time.perf_counter()
    proc = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    assert proc.stdin is not None and proc.stdout is not None
    reader = io.BufferedReader(proc.stdout)  # type: ignore[arg-type]
    for i in range(PAIRS):
        os.write(proc.stdin.fileno(), f"line-{i}\n".encode())
        reader.readline()
    proc.stdin.close()
    proc.wait()
    return time.perf_counter() - started


def in_process() -> float:
    from pslrepl.cli import build, run_lines, shutdown
    from pslrepl.environment import Environment

    sink = open(os.devnull, "w")  # noqa: SIM115 - closed below
    session, dispatcher = build(Environment(stdout=sink, stderr=sink))
    lines = script_lines()
    started = time.perf_counter()
    status = run_lines(session, dispatcher, lines, keep_going=False)
    elapsed = time.perf_counter() - started
    shutdown(session)
    sink.close()
    assert status == 0
    return elapsed


def via_cli(path: str) -> tuple[float, float]:
    def timed(argv: list[str]) -> float:
        started = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        return time.perf_counter() - started

    return timed([EXE, path]), timed([EXE, "-c", "echo hi"])


def main() -> int:
    commands = len(script_lines())
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "pairs.psl")
        Path(path).write_text("\n".join(script_lines()) + "\n")
        runs = [via_cli(path) for _ in range(5)]
        hand = statistics.median(by_hand() for _ in range(5))
        inproc = statistics.median(in_process() for _ in range(5))
    cli = statistics.median(total - start for total, start in runs)
    rate_cli, rate_in = commands / cli, commands / inproc
    rate_hand = commands / hand
    print(f"{commands} commands, medians of 5 runs, python {sys.version.split()[0]}")
    print(f"pslrepl FILE (start-up subtracted) {rate_cli:8.0f} commands/s")
    print(f"dispatcher in process              {rate_in:8.0f} commands/s")
    print(
        f"same round trips by hand           {rate_hand:8.0f} operations/s "
        f"(pslrepl at {rate_in / rate_hand:.2f}x of it)"
    )
    ok = min(rate_cli, rate_in) >= GOAL
    print(f"goal >= {GOAL:.0f} commands/s: {'ok' if ok else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
