"""docs/EXPORT.md: its session replays as written, and its script is exactly what
--export-py writes for that session, and runs alone printing what the session shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from pslrepl.export import export_records
from pslrepl.export.replaying import transcript_records
from pslrepl.replay import replay
from pslrepl.transcript import PROMPT, match_output, parse
from tests.test_readme import as_transcript

PAGE = Path(__file__).resolve().parent.parent / "docs" / "EXPORT.md"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)


def session(tmp_path: Path) -> Path:
    """The page's session as a transcript (numbers of three digits or more as any)."""
    [text] = [b for b in blocks("text") if b.startswith(PROMPT)]
    path = tmp_path / "session.psl"
    path.write_text(as_transcript(text.splitlines()))
    return path


def test_the_session_on_the_page_replays(tmp_path: Path):
    path = session(tmp_path)
    outcome = replay(parse(path.read_text()), path=str(path))
    assert outcome.ok, outcome.report()


def test_the_script_on_the_page_is_what_export_writes_and_it_runs(tmp_path: Path):
    path = session(tmp_path)
    [shown] = blocks("python")
    records, facts = transcript_records(str(path))
    assert export_records(records, source="session.psl", **facts).text() == shown
    script = tmp_path / "alone" / "session.py"
    script.parent.mkdir()
    script.write_text(shown)
    done = subprocess.run([sys.executable, "-I", str(script)], cwd=script.parent,
                          capture_output=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    expected = [line for step in parse(path.read_text()).steps for line in step.expected]
    actual = done.stdout.decode().split("\n")[:-1]
    assert match_output(expected, actual, {}) is not None, actual
