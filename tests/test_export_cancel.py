"""export py of a wait that Ctrl-C cancelled in the session: a bounded wait that gives
up as the Ctrl-C ended it, said as the shell said it (not a refusal)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers import Shell
from tests.test_export_units import masked, run_alone, script_of

SAID = "error: cancelled by Ctrl-C; everything else carries on"


def _ctrl_c_in_the_next_wait(shell: Shell) -> None:
    """The fault: a Ctrl-C (KeyboardInterrupt) in the session's next wait, where it
    would land when pressed while the wait waits (a real one can't be timed to it)."""
    session = shell.session
    real = session.wait_for

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        session.wait_for = real
        raise KeyboardInterrupt

    session.wait_for = interrupted  # type: ignore[method-assign]


def test_a_cancelled_wait_is_a_bounded_wait_that_gives_up(shell: Shell, tmp_path: Path):
    said = [shell.ok("spawn p -- sleep 30").strip()]
    _ctrl_c_in_the_next_wait(shell)
    said.append(shell.fails("wait p"))
    said.append(shell.ok("close p").strip())
    said.append(shell.ok("tcp listen l 0").strip())
    _ctrl_c_in_the_next_wait(shell)
    said.append(shell.fails("wait l accept"))
    assert said[1] == said[4] == SAID
    source = script_of(shell)
    assert "refused" not in source
    assert "returncode = p.wait(timeout=0.1)" in source
    assert masked(run_alone(source, tmp_path)) == masked(said)


def test_explain_of_a_cancelled_wait_says_ctrl_c_ended_it(shell: Shell):
    shell.ok("spawn p -- sleep 30")
    _ctrl_c_in_the_next_wait(shell)
    shell.fails("wait p")
    assert shell.ok("explain 2").splitlines() == [
        "# 2: wait p  (failed)",
        "# Ctrl-C ended it while it waited: the call it waited in never returned, so none "
        "is listed",
    ]
