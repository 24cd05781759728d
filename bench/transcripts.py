"""Transcript replay cost: a 1,000-command transcript checked with `pslrepl --check`
against the same commands run as a plain script (`pslrepl FILE`), in the same run.

Goal: the replay takes under 1.5x the plain script's time (matching and placeholder
binding must cost little). Run with the venv's interpreter:
    .venv/bin/python bench/transcripts.py
"""

from __future__ import annotations

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


def main() -> int:
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


if __name__ == "__main__":
    sys.exit(main())
