"""docs/SIGNALS.md runs as written: its session blocks, in order, are one checked
transcript, the nohup lesson among them."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from pslrepl.replay import replay
from pslrepl.transcript import PROMPT, parse

DOC = Path(__file__).resolve().parent.parent / "docs" / "SIGNALS.md"


def session_blocks(text: str) -> list[list[str]]:
    """The ```text blocks that hold a session (some line starts with the prompt)."""
    blocks = re.findall(r"```text\n(.*?)```", text, re.DOTALL)
    return [b.splitlines() for b in blocks if any(x.startswith(PROMPT) for x in b.splitlines())]


def as_transcript(lines: list[str]) -> str:
    """The page shows a session as a person sees it; a replay is quiet and its pids
    differ. Events ([name] ...) are left out, and a number of three digits or more (a
    pid) matches any number, with the spaces after it (ps pads a column to its width)."""
    out = []
    for line in lines:
        if line.startswith((PROMPT, "#")) or line == "...":
            out.append(line)
        elif line.startswith("["):
            continue  # a live event: a replay shows none
        elif re.search(r"\d{3}", line):
            out.append(re.sub(r"\d{3,}(?:\\ )*", r"\\d+ *", re.escape(line)) + " (re)")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


@pytest.fixture
def defaults() -> Iterator[None]:
    """Children inherit an ignored signal from the shell, so from the test runner too
    (nohup ignores SIGHUP; a shell's background job, SIGINT): the lesson's plain child
    must start with SIGHUP at its default action, as from a terminal."""
    saved = signal.getsignal(signal.SIGHUP)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, saved)


def test_the_page_teaches_the_nohup_lesson() -> None:
    lines = [x for b in session_blocks(DOC.read_text(encoding="utf-8")) for x in b]
    commands = [x[len(PROMPT) :] for x in lines if x.startswith(PROMPT)]
    for step in ("spawn immune --ignore HUP -- sleep 60", "signal immune HUP", "poll immune",
                 "raise USR1", "trap USR2 --ignore", "signal pipe TERM --group",
                 "itimer REAL 0.25", "sigwait USR1 --timeout 0.2"):  # fmt: skip
        assert step in commands
    assert "ignored:     SIGHUP" in lines
    assert "immune: running (poll() returned None)" in lines


def test_the_numbers_rule_keeps_signal_numbers_exact() -> None:
    assert as_transcript(["plain: sent SIGHUP (1)"]) == "plain: sent SIGHUP (1)\n"
    assert as_transcript(["[signal] received SIGUSR1 (10)"]) == "\n"
    got = as_transcript(["plain: started pid 4242: sleep 60"])
    assert got == r"plain:\ started\ pid\ \d+ *:\ sleep\ 60 (re)" + "\n"
    row = as_transcript(["p       4244     4244     running"]).split(" (re)")[0]
    assert re.fullmatch(row, "p       42444    42444    running")


@pytest.mark.timeout(120)
def test_the_page_runs_as_written(defaults: None) -> None:
    lines = [x for b in session_blocks(DOC.read_text(encoding="utf-8")) for x in b]
    outcome = replay(parse(as_transcript(lines)), path="docs/SIGNALS.md")
    assert outcome.ok, outcome.report()
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL  # the replay put it back
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
