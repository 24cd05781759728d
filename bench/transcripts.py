"""Transcripts: what a replay costs, and what `--check --jobs N` gains.

replay: a 1,000-command transcript checked with `pslrepl --check` against the same
commands run as a plain script (`pslrepl FILE`), in the same run. Goal: the replay takes
under 1.5x the plain script's time (matching and placeholder binding must cost little).

jobs: examples/*.psl and tests/transcripts/*.psl checked serially and with --jobs 4,
ROUNDS times each, side by side. Goal: every round gives the serial run's verdicts, and
the parallel run takes under half the serial wall time (median).

Run with the venv's interpreter from the repository's top:
    .venv/bin/python bench/transcripts.py [replay|jobs] [--rounds N]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = 1000
GOAL = 1.5
EXE = str(Path(sys.executable).parent / "pslrepl")


def commands() -> list[str]:
    lines = ["spawn c -- cat", "py c.pid > 0"]
    i = 0
    while len(lines) < COMMANDS:
        lines += [f"writeline c line-{i}", "read c --line"]
        i += 1
    return lines[:COMMANDS]


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr}")
    return elapsed


def replay_cost() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp, "plain.txt")
        script.write_text("\n".join(commands()) + "\n")
        transcript = Path(tmp, "replay.psl")
        recording = f"record {transcript}\n" + script.read_text() + "record stop\n"
        subprocess.run([EXE], input=recording, text=True, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        plain, check = [], []
        for _ in range(5):
            plain.append(timed([EXE, str(script)]))
            check.append(timed([EXE, "--check", str(transcript)]))
    a, b = statistics.median(check), statistics.median(plain)
    ratio = a / b
    print(f"{COMMANDS} commands, medians of 5 runs, python {sys.version.split()[0]}")
    print(f"pslrepl --check transcript {a * 1000:7.1f} ms")
    print(f"pslrepl FILE (plain)       {b * 1000:7.1f} ms")
    print(f"ratio {ratio:.2f} (goal < {GOAL}): {'ok' if ratio < GOAL else 'NOT MET'}")
    return 0 if ratio < GOAL else 1


JOBS = 4
ROUNDS = 20
JOBS_GOAL = 0.5


def verdicts(stdout: str, paths: list[str]) -> list[str]:
    """Each transcript's verdict line ("FILE: pass (N commands)", "FILE: FAIL"...)."""
    heads = tuple(f"{path}: " for path in paths)
    return [line for line in stdout.splitlines() if line.startswith(heads)]


def check(paths: list[str], *extra: str) -> tuple[float, list[str]]:
    started = time.perf_counter()
    done = subprocess.run([EXE, "--check", *extra, *paths], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True, timeout=900)  # fmt: skip
    return time.perf_counter() - started, verdicts(done.stdout, paths)


def jobs(rounds: int) -> int:
    top = Path(__file__).resolve().parent.parent
    paths = sorted(str(p.relative_to(top)) for folder in ("examples", "tests/transcripts")
                   for p in (top / folder).glob("*.psl"))  # fmt: skip
    os.chdir(top)
    serial_times, parallel_times = [], []
    first: list[str] | None = None
    same = 0
    for _ in range(rounds):
        took, serial = check(paths)
        serial_times.append(took)
        took, parallel = check(paths, "--jobs", str(JOBS))
        parallel_times.append(took)
        first = serial if first is None else first
        if parallel == serial == first:
            same += 1
            continue
        if len(serial) != len(first) or len(parallel) != len(first):
            print(f"differs: {len(first)} verdicts first, {len(serial)} serial, "
                  f"{len(parallel)} --jobs")  # fmt: skip
        for want, a, b in zip(first, serial, parallel, strict=False):
            if not want == a == b:
                print(f"differs: first serial {want!r}, serial {a!r}, --jobs {b!r}")
    a, b = statistics.median(parallel_times), statistics.median(serial_times)
    ratio = a / b
    passed = sum(": pass (" in line for line in first or [])
    print(f"{len(paths)} transcripts ({passed} pass), {rounds} rounds, {os.cpu_count()} CPUs, "
          f"python {sys.version.split()[0]}")  # fmt: skip
    print(f"pslrepl --check (serial)   {b * 1000:7.0f} ms median")
    print(f"pslrepl --check --jobs {JOBS}  {a * 1000:7.0f} ms median")
    print(f"same verdicts as the first serial run: {same} of {rounds} rounds")
    print("verdicts (the first serial run):")
    for line in first or []:
        print(f"  {line}")
    ok = ratio < JOBS_GOAL and same == rounds
    print(f"ratio {ratio:.2f} (goal < {JOBS_GOAL}): {'ok' if ok else 'NOT MET'}")
    return 0 if ok else 1


def main(argv: list[str]) -> int:
    rounds = ROUNDS
    if "--rounds" in argv:
        rounds = int(argv[argv.index("--rounds") + 1])
    which = [a for a in argv if a in ("replay", "jobs")] or ["replay", "jobs"]
    status = 0
    if "replay" in which:
        status |= replay_cost()
    if "jobs" in which:
        status |= jobs(rounds)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
