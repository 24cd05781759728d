"""bench/echo.py: what it leaves behind (nothing) and what it says of a bad --only."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "echo.py"


def bench(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # where its temporary directory goes
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True,
                          text=True, timeout=120, env=env)  # fmt: skip


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc) for the client")
def test_a_run_leaves_no_temporary_directory(tmp_path: Path) -> None:
    done = bench(tmp_path, "--only", "bare sync", "--rounds", "1", "--trips", "3",
                 "--conns", "2")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "| bare sync" in done.stdout
    assert not list(tmp_path.glob("pslrepl-bench-*"))


def test_a_bad_only_or_size_names_the_choices(tmp_path: Path) -> None:
    done = bench(tmp_path, "--only", "nosuch,bare sync", "--rounds", "1")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "--only: no server 'nosuch'; choose from: pslrepl sync, bare sync," in last, last
    done = bench(tmp_path, "--size", "2000000")
    assert done.returncode == 2
    assert "--size must be 1 to 1,048,576 bytes" in done.stderr
    assert not list(tmp_path.glob("pslrepl-bench-*"))
    helped = bench(tmp_path, "--help")
    assert "lock-step round trips per connection" in helped.stdout
    assert "servers: pslrepl sync, bare sync" in helped.stdout
