"""export py and --export-py: each transcript's exported script runs alone and prints
what the transcript shows; ruff finds nothing in it."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from pslrepl.export import NOT_EXPORTED, export_records
from pslrepl.export.replaying import transcript_records
from pslrepl.transcript import match_output, parse
from pslrepl.transcript.syntax import PLACEHOLDER

ROOT = Path(__file__).resolve().parent.parent
TRANSCRIPTS = sorted([*ROOT.glob("examples/*.psl"), *ROOT.glob("tests/transcripts/*.psl")])
RUFF = Path(sys.executable).parent / "ruff"

# What each transcript uses that export can't write yet (each a marked comment in its
# script): this list must only shrink. A transcript not here exports whole, and its
# script must print every output line the transcript shows.
NOT_YET: dict[str, list[str]] = {}


MAKERS = ("spawn", "tcp listen", "tcp connect", "accept", "udp open", "serve", "relay",
          "tls connect")  # fmt: skip


# Transcripts whose expected output is older than the shell they replay on: their scripts
# must still run, and their output is compared once the transcript is brought up to date
# (strict: the day it matches, this entry has to go).
STALE: dict[str, str] = {}

# Transcripts whose commands use a value captured from output ({?port}: a port a child
# chose and printed): the script is written with the session's value, not one it reads
# from its own child's output, so it can't run as the session did (must only shrink).
CAPTURED: dict[str, str] = {}


def expected_lines(path: Path) -> list[str]:
    """The transcript's output lines, every command's in order. A name made again (close
    p; spawn p) is a new resource, as replay binds it: its placeholders from there on are
    renamed ({p.pid} -> {p__2.pid}), so they bind afresh."""
    made: dict[str, int] = {}
    lines: list[str] = []
    for step in parse(path.read_text()).steps:
        try:
            words = shlex.split(step.command)
        except ValueError:  # a line the shell refuses for its quotes makes nothing
            words = []
        for maker in MAKERS:
            if " ".join(words).startswith(maker + " "):
                at = 2 if maker == "accept" else len(maker.split())
                if len(words) > at:
                    made[words[at]] = made.get(words[at], 0) + 1

        def renamed(m: re.Match[str]) -> str:
            name, dot, rest = m.group(1).partition(".")
            n = made.get(name, 1)
            return "{" + (f"{name}__{n}" if n > 1 else name) + dot + rest + "}"

        lines.extend(PLACEHOLDER.sub(renamed, line) for line in step.expected)
    return lines


def run_script(source: str, where: Path) -> subprocess.CompletedProcess[bytes]:
    """The script run alone: python -I (no site, no PYTHON* variables, no current
    directory on the path) from a directory where pslrepl is not importable."""
    script = where / "exported.py"
    script.write_text(source)
    # Bytes, not text: universal newlines would make a CR the script prints a line end.
    return subprocess.run([sys.executable, "-I", str(script)], cwd=where, capture_output=True,
                          timeout=120)  # fmt: skip


def ruff_findings(path: Path) -> str:
    done = subprocess.run([str(RUFF), "check", "--no-cache", "--config",
                           str(ROOT / "pyproject.toml"), str(path)],
                          capture_output=True, text=True)  # fmt: skip
    return "" if done.returncode == 0 else done.stdout + done.stderr


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_transcript_exports_as_a_script_that_prints_its_output(path: Path, tmp_path: Path):
    records, facts = transcript_records(str(path))
    key = f"{path.parent.name}/{path.name}"
    for record in records:  # what explain shows of each command: every line is Python
        for call in record.calls:
            try:
                compile(call.python(), "<explain>", "exec")
            except SyntaxError:
                pytest.fail(f"{key}: {record.line!r} explains as {call.python()!r}")
    script = export_records(records, source=path.name, **facts)
    source = script.text()
    assert sorted(set(script.missing)) == NOT_YET.get(key, []), (
        f"{key}: the commands marked as not exported changed; update NOT_YET (it may only shrink)"
    )
    assert (NOT_EXPORTED in source) == bool(script.missing)
    done = run_script(source, tmp_path)
    stderr = done.stderr.decode("utf-8", "replace")
    if key in CAPTURED:
        assert ruff_findings(tmp_path / "exported.py") == ""
        assert done.returncode != 0, f"{key} runs now: take it out of CAPTURED"
        pytest.xfail(CAPTURED[key])
    assert done.returncode == 0, f"{key}: the script failed:\n{stderr}\n{source}"
    assert ruff_findings(tmp_path / "exported.py") == ""
    if key in NOT_YET:
        return
    actual = done.stdout.decode("utf-8").split("\n")
    if actual[-1] == "":
        actual.pop()
    expected = expected_lines(path)
    matched = match_output(expected, actual, {}) is not None
    if key in STALE:
        assert not matched, f"{key} matches now: take it out of STALE"
        pytest.xfail(STALE[key])
    assert matched, (
        f"{key}: the script's output differs\n--- expected\n"
        + "\n".join(expected)
        + "\n--- actual\n"
        + "\n".join(actual)
        + "\n--- stderr\n"
        + stderr
    )
