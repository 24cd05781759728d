"""pslrepl --present in a real terminal (tmux): an attach step plays the lines the
transcript typed to it; going live and coming back."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.terminal import Terminal
from tests.test_present import END, last_line, present, step

UPPER = "{python} -u -c 'import sys; [print(l.strip().upper(), flush=True) for l in sys.stdin]'"
ATTACH = f"""psl> spawn up -- {UPPER}
up: started pid {{up.pid}}: {UPPER}
psl> attach up
|> hello
|> two words
HELLO
TWO WORDS
up: detached (16 bytes sent, 16 received); its output ended (EOF)
psl> echo after
after
"""


@pytest.fixture
def cleanup() -> Iterator[list[Terminal]]:
    made: list[Terminal] = []
    yield made
    for t in made:
        t.close()


@pytest.mark.parametrize("instant", [True, False], ids=["instant", "typed-out"])
def test_an_attach_step_plays_its_typed_lines(
    tmp_path: Path, cleanup: list[Terminal], instant: bool
) -> None:
    t = present(tmp_path, ATTACH, *(["--instant"] if instant else []))
    cleanup.append(t)
    t.wait_for("presenting")
    step(t)
    screen = step(t)  # the attach: its lines typed out and sent, then EOF; no keyboard
    lines = [line.rstrip() for line in screen.splitlines()]
    at = lines.index("psl> attach up")
    assert lines[at + 1 : at + 6] == ["|> hello", "|> two words", "HELLO", "TWO WORDS",
                                      "up: detached (16 bytes sent, 16 received); its output "
                                      "ended (EOF)"]  # fmt: skip
    assert "~ not as recorded" not in screen
    step(t)
    screen = t.wait_for(END)
    assert "3 commands, all as recorded" in screen
    # Stepping back over it replays it quietly, with its lines again.
    screen = step(t, "b")
    assert "stepped back: the session was reset and 2 commands replayed quietly" in screen
    step(t)
    screen = t.wait_for(END)
    assert "3 commands, all as recorded" in screen
    t.send("q")
    assert t.exit_status() == 0


def test_stepping_back_does_not_wait_out_a_cancelled_wait_again(
    tmp_path: Path, cleanup: list[Terminal]
) -> None:
    t = present(tmp_path, "psl> spawn s -- sleep 60\ns: started pid {s.pid}: sleep 60\n"
                          "psl> wait s exit --timeout 60\n...\npsl> echo done\ndone\n",
                "--instant")  # fmt: skip
    cleanup.append(t)
    t.wait_for("presenting")
    step(t)
    t.send("Space")
    t.wait_for("psl> wait s exit --timeout 60")
    t.wait_running()
    t.send("C-c")  # the teacher gives up on the wait
    t.wait_for(lambda s: "cancelled by Ctrl-C" in s and last_line(s) == "psl>")
    step(t)
    t.wait_for(END)
    # Back from the end: echo is next again; the spawn is replayed, the wait is not
    # (the show would sit silent for a minute).
    screen = step(t, "b")
    assert "stepping back: a fresh session, 1 command replayed quietly..." in screen
    assert ("stepped back: the session was reset and 1 command replayed quietly (1 that "
            "timed out or was cancelled before not waited out again: line 3); next: "
            "echo done") in screen  # fmt: skip
    screen = step(t)
    assert screen.count("psl> echo done\ndone\n") == 2
    t.send("q")
    assert t.exit_status() == 0


def test_ctrl_d_in_live_mode_returns_to_the_show(tmp_path: Path, cleanup: list[Terminal]) -> None:
    t = present(tmp_path, "psl> echo one\none\npsl> echo two\ntwo\n", "--instant")
    cleanup.append(t)
    step(t)
    t.send("l")
    t.wait_for("live: type any command; Ctrl-] or Ctrl-D resumes the show at line 3; "
               "`exit` ends the show")  # fmt: skip
    t.run("tcp listen srv 0", "srv: listening on 127.0.0.1:")
    t.send("C-d")  # as at any inner prompt: back out, not the end of the show
    t.wait_for("back to the show at line 3")
    screen = step(t)
    assert "psl> echo two\ntwo\n" in screen
    assert "srv: closed" not in screen  # what was made live is still there
    t.wait_for(END)
    t.send("q")
    assert "srv: closed" in t.wait_for("pslrepl exited with status 0")


def test_space_at_the_end_does_not_end_the_show(tmp_path: Path, cleanup: list[Terminal]) -> None:
    t = present(tmp_path, "psl> tcp listen srv 0\nsrv: listening on 127.0.0.1:{srv.port}\n",
                "--instant")  # fmt: skip
    cleanup.append(t)
    step(t)
    t.wait_for(END)
    screen = step(t)  # one Space too many
    assert "the show is over: q quits (everything is closed), b steps back, l goes live" in screen
    assert "srv: closed" not in screen and not t.dead()
    t.send("q")
    assert "srv: closed" in t.wait_for("pslrepl exited with status 0")


def test_keys_pressed_while_a_command_runs_are_not_echoed_nor_kept(
    tmp_path: Path, cleanup: list[Terminal]
) -> None:
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    opens = f"{{python}} -c 'open(\"{gate}\").read()'"
    t = present(tmp_path, f"psl> spawn s -- {opens}\n...\npsl> wait s exit --timeout 60\n...\n"
                          "psl> echo after\nafter\n", "--instant")  # fmt: skip
    cleanup.append(t)
    step(t)
    t.send("Space")
    t.wait_for("psl> wait s exit --timeout 60")
    t.wait_running()
    t.send("x", "Space")  # impatient: a stray key, and the next command asked for early
    t.screen()
    with open(gate, "w"):  # the child exits: the wait ends
        pass
    screen = t.wait_for(lambda s: "s: exited" in s and last_line(s) == "psl>")
    assert "--timeout 60x" not in screen and "\nx" not in screen
    assert "psl> echo after" not in screen  # the Space pressed meanwhile was dropped
    screen = step(t)
    assert "psl> echo after\nafter\n" in screen
    t.send("q")
    assert t.exit_status() == 0


def test_ctrl_c_while_a_command_is_typed_out_does_not_run_it(
    tmp_path: Path, cleanup: list[Terminal]
) -> None:
    long = "tcp listen srv 0 --backlog 5 --reuseaddr   # " + "x" * 40
    t = present(tmp_path, f"psl> {long}\nsrv: listening on 127.0.0.1:{{srv.port}}\n")
    cleanup.append(t)
    t.send("Space")
    t.wait_for(lambda s: "psl> tcp" in s and long not in s)  # part-typed
    t.send("C-c")
    screen = t.wait_for("Ctrl-C: not run; Space runs it, b steps back, q quits")
    assert "srv: listening" not in screen
    screen = step(t)  # the same command again, run this time
    assert "srv: listening on 127.0.0.1:" in screen
    assert "1 command, all as recorded" in t.wait_for(END)
    t.send("q")
    assert t.exit_status() == 0
