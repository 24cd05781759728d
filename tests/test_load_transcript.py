"""A recorded `load` replays: its figures (rate, latency, own CPU) are written as
{measured}, which matches any figure, and its counts stay exact."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import run_cli


def test_a_recorded_load_replays(tmp_path: Path) -> None:
    path = tmp_path / "load.psl"
    done = run_cli("-c", f"serve e tcp 0 --handler echo; record {path}; "
                   "load e --requests 20 --conns 1; record stop")  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = path.read_text()
    assert "round trips: 20\n" in text
    assert "rate:        {measured}\n" in text and "own CPU:     {measured}\n" in text
    text = text.replace("psl> load", "psl> serve e tcp 0 --handler echo\n"
                        "e: TCPServer serving echo on {e.addr}\npsl> load", 1)  # fmt: skip
    path.write_text(text)
    checked = run_cli("--check", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    path.write_text(text.replace("round trips: 20", "round trips: 21"))
    assert run_cli("--check", str(path)).returncode == 1
