"""attach at a terminal shows what came as it is: a character cut between two reads
once and whole, and with --hex or --repr each read in that form (trial 13 G3, G7)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.terminal import Terminal


@pytest.fixture
def term(tmp_path: Path) -> Iterator[Terminal]:
    t = Terminal(tmp_path, cols=120)
    try:
        yield t
    finally:
        t.close()


def test_a_character_cut_in_two_by_a_slicer_shows_whole(term: Terminal) -> None:
    term.run("serve e tcp 0 --handler echo --threading", "e:")
    term.run("relay r tcp-listen:0 e --link 'slicer size=2'", "r:")
    term.run("tcp connect c r", "c: connected")
    term.run("attach c", "attached to c:")
    term.type("ünï")  # ï is c3 af: the slicer cuts it after c3
    term.send("Enter")
    screen = term.wait_for(lambda s: s.count("ünï") >= 2)
    assert "\ufffd" not in screen
    term.send("C-]")
    assert "c: detached (6 bytes sent, 6 received)" in term.wait_for("c: detached")


@pytest.mark.parametrize(
    ("option", "shown"),
    [("--hex", "00000000  68 69 0a"), ("--repr", "b'hi\\n'  (3 bytes)")],
)
def test_hex_and_repr_show_each_read_at_a_terminal(term: Terminal, option: str, shown: str) -> None:
    term.run("serve e tcp 0 --handler echo --threading; tcp connect c e", "c: connected")
    term.run(f"attach c {option}", "attached to c:")
    term.type("hi")
    term.send("Enter")
    term.wait_for(shown)
    term.send("C-]")
    assert "c: detached (3 bytes sent, 3 received)" in term.wait_for("c: detached")
