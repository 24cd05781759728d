"""A captured value is one word's text in --export-py's replay too: it never runs as a
command of its own (a child's banner holding ';')."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import run_cli


def test_export_py_never_runs_a_captured_value_as_a_command(tmp_path: Path) -> None:
    planted = tmp_path / "PWNED"
    transcript = tmp_path / "t.psl"
    transcript.write_text(
        f"psl> run -- printf 'x;run -- touch {planted}\\n'\n"
        "{?b:.*}\n"
        "exited with status 0\n"
        "psl> echo got {b}\n"
        f"got x;run -- touch {planted}\n"
    )
    assert run_cli("--check", str(transcript)).returncode == 0
    assert not planted.exists()
    done = run_cli("--export-py", str(transcript), "-o", str(tmp_path / "out.py"))
    assert done.returncode == 0, done.stderr
    assert not planted.exists()
