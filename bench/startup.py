"""Start-up time: `pslrepl -c 'echo hi'` against `python -c pass`, and the interactive
shell's first prompt against `python -c "import prompt_toolkit, pygments.lexers"`.

Both pairs run interleaved in this one process, so the ratios hold on a noisy machine.
Run with the venv's interpreter (not the pyenv shim):  .venv/bin/python bench/startup.py
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 25
PY = sys.executable
EXE = str(Path(PY).parent / "pslrepl")


# As on a user's machine: Python caches compiled modules (.pyc). This workplace sets
# PYTHONDONTWRITEBYTECODE, which would make every start compile pslrepl from source.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_plain(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   env=ENV)  # fmt: skip
    return time.perf_counter() - started


def run_in_pty(argv: list[str], until: bytes | None, env: dict[str, str]) -> float:
    """Seconds until ``until`` appears on the terminal (or, with None, until exit)."""
    master, slave = pty.openpty()
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    seen = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 10)
            if not ready:
                raise RuntimeError(f"{argv[0]} showed nothing for 10 s")
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                chunk = b""
            if not chunk:
                if until is None:
                    break
                raise RuntimeError(f"{argv[0]} exited before {until!r}")
            seen += chunk
            if until is not None and until in seen:
                break
        elapsed = time.perf_counter() - started
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
    return elapsed


def compare(name: str, ours: list[float], ref: list[float], goal: float) -> bool:
    a, b = statistics.median(ours) * 1000, statistics.median(ref) * 1000
    ratio = a / b
    verdict = "ok" if ratio <= goal else "SLOWER THAN GOAL"
    print(
        f"{name:<34} {a:7.1f} ms vs reference {b:7.1f} ms   ratio {ratio:4.2f}"
        f"  (goal <= {goal})  {verdict}"
    )
    return ratio <= goal


def main() -> int:
    if not os.path.exists(EXE):
        print(f"no pslrepl next to {PY}: install the project into this venv first")
        return 2
    home = tempfile.mkdtemp(prefix="pslrepl-bench-")
    env = {**ENV, "XDG_DATA_HOME": home, "TERM": "xterm", "COLUMNS": "100", "LINES": "30"}
    script_ours, script_ref = [], []
    prompt_ours, prompt_ref = [], []
    ref_imports = [PY, "-c", "import prompt_toolkit, pygments.lexers"]
    run_plain([EXE, "-c", "echo warm"])  # warm the page cache and .pyc files
    run_in_pty([EXE], b"psl>", env)
    for _ in range(RUNS):
        script_ref.append(run_plain([PY, "-c", "pass"]))
        script_ours.append(run_plain([EXE, "-c", "echo hi"]))
        prompt_ref.append(run_in_pty(ref_imports, None, env))
        prompt_ours.append(run_in_pty([EXE], b"psl>", env))
    shutil.rmtree(home, ignore_errors=True)
    print(f"python {sys.version.split()[0]}, {RUNS} runs each, medians")
    ok = compare("pslrepl -c 'echo hi'", script_ours, script_ref, 4.0)
    ok = compare("first interactive prompt", prompt_ours, prompt_ref, 1.15) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
