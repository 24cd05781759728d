"""The README's tour runs as written: its blocks, in order, are one checked transcript."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pslrepl.replay import replay
from pslrepl.transcript import PROMPT, parse

README = Path(__file__).resolve().parent.parent / "README.md"


def tour_blocks(text: str) -> list[list[str]]:
    """The ```text blocks that hold a session (some line starts with the prompt)."""
    blocks = re.findall(r"```text\n(.*?)```", text, re.DOTALL)
    return [b.splitlines() for b in blocks if any(line.startswith(PROMPT) for line in
                                                  b.splitlines())]  # fmt: skip


def as_transcript(lines: list[str]) -> str:
    """The README shows a session as a person sees it; a replay is quiet and its values
    differ run to run. Events ([name] ...) are left out, and a number of three digits
    or more (a pid, a port, a status code) matches any number."""
    out = []
    for line in lines:
        if line.startswith(PROMPT) or line.startswith("#"):
            out.append(line)
        elif line.startswith("["):
            continue  # a live event: a replay shows none
        elif re.search(r"\d{3}", line):
            pattern = re.sub(r"\\d\\d\\d+|\d{3,}", r"\\d+", re.escape(line))
            out.append(pattern + " (re)")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def test_the_tour_is_there() -> None:
    blocks = tour_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    commands = [line for block in blocks for line in block if line.startswith(PROMPT)]
    assert len(commands) >= 30


@pytest.mark.timeout(120)
def test_the_readme_tour_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the tour serves and exports into the current directory
    lines = [line for block in tour_blocks(README.read_text(encoding="utf-8"))
             for line in block]  # fmt: skip
    outcome = replay(parse(as_transcript(lines)), path="README.md")
    assert outcome.ok, outcome.report()


def test_the_digit_rule_keeps_small_numbers_exact() -> None:
    got = as_transcript(["p: wrote 7 bytes", "srv: listening on 127.0.0.1:41711"])
    assert got.splitlines() == [
        "p: wrote 7 bytes",
        r"srv:\ listening\ on\ \d+\.0\.0\.1:\d+ (re)",
    ]
