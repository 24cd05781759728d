"""Keys at the shell's prompt: Ctrl-] (attach's way back) does nothing there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.terminal import Terminal


@pytest.fixture
def term(tmp_path: Path) -> Iterator[Terminal]:
    t = Terminal(tmp_path)
    try:
        yield t
    finally:
        t.close()


def test_ctrl_bracket_at_the_prompt_swallows_no_key(term: Terminal) -> None:
    term.wait_for("psl>")
    term.send("C-]")
    term.type("echo kept")  # emacs mode's Ctrl-] took the next key ("e") as its search
    term.send("Enter")
    term.wait_for(lambda screen: "\nkept" in screen or screen.startswith("kept"))
    assert "unknown command 'cho'" not in term.screen()
