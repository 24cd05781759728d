"""pslrepl --present in a real terminal (tmux): an attach step plays the lines the
transcript typed to it; going live and coming back."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("instant", [True, False], ids=["instant", "typed-out"])
def test_an_attach_step_plays_its_typed_lines(
    request: pytest.FixtureRequest, instant: bool
) -> None:
    t = present(request, ATTACH, *(["--instant"] if instant else []))
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
    request: pytest.FixtureRequest,
) -> None:
    t = present(request, "psl> spawn s -- sleep 60\ns: started pid {s.pid}: sleep 60\n"
                         "psl> wait s exit --timeout 60\n...\npsl> echo done\ndone\n",
               "--instant")  # fmt: skip
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


def test_ctrl_d_in_live_mode_returns_to_the_show(request: pytest.FixtureRequest) -> None:
    t = present(request, "psl> echo one\none\npsl> echo two\ntwo\n", "--instant")
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


def test_space_at_the_end_does_not_end_the_show(request: pytest.FixtureRequest) -> None:
    t = present(request, "psl> tcp listen srv 0\nsrv: listening on 127.0.0.1:{srv.port}\n",
               "--instant")  # fmt: skip
    step(t)
    t.wait_for(END)
    screen = step(t)  # one Space too many
    assert "the show is over: q quits (everything is closed), b steps back, l goes live" in screen
    assert "srv: closed" not in screen and not t.dead()
    t.send("q")
    assert "srv: closed" in t.wait_for("pslrepl exited with status 0")


def test_keys_pressed_while_a_command_runs_are_not_echoed_nor_kept(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    opens = f"{{python}} -c 'open(\"{gate}\").read()'"
    t = present(request, f"psl> spawn s -- {opens}\n...\npsl> wait s exit --timeout 60\n...\n"
                         "psl> echo after\nafter\n", "--instant")  # fmt: skip
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
    request: pytest.FixtureRequest,
) -> None:
    long = "tcp listen srv 0 --backlog 5 --reuseaddr   # " + "x" * 40
    t = present(request, f"psl> {long}\nsrv: listening on 127.0.0.1:{{srv.port}}\n")
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


TIMELINE = """psl> tcp listen srv 0
srv: listening on {srv.laddr}
psl> tcp connect c srv
c: connected {c.laddr} -> {srv.laddr}
psl> accept srv s
s: accepted from {c.laddr} on {srv.laddr}
psl> send c hi
c: sent 2 bytes
psl> recv s
hi
(2 bytes)
psl> timeline
            srv                        c                         s
1> tcp listen srv 0
             * listening on: {srv.laddr}
2> tcp connect c srv
             |<connect-----------------|                         |
3> accept srv s
             |-accept------------------------------------------->|
4> send c hi
             |                         |-send 2 b'hi'----------->|
5> recv s
             |                         |                         * recv 2 b'hi'
"""


def test_a_recorded_timeline_shows_as_recorded(request: pytest.FixtureRequest) -> None:
    # The terminal is 220 columns and coloured: live, timeline would draw to fit it with
    # box characters; a show's step draws what a replay draws (what --update wrote).
    t = present(request, TIMELINE, "--instant")
    t.wait_for("presenting")
    for _ in range(6):
        step(t)
    screen = t.wait_for(END)
    assert "6 commands, all as recorded" in screen, screen
    assert "~ not as recorded" not in screen
    assert "             |                         |-send 2 b'hi'----------->|" in screen
    # Live, the same command draws for the terminal again.
    t.send("l")
    t.wait_for("live: type any command")
    t.run("timeline c s")
    t.wait_for(lambda s: "●" in s.split("live: type any command")[-1])
    t.send("C-]")
    t.wait_for("back to the show at its end")
    t.send("q")
    assert t.exit_status() == 0


def test_commands_typed_live_do_not_shift_a_recorded_timeline(
    request: pytest.FixtureRequest,
) -> None:
    t = present(request, TIMELINE, "--instant")
    t.wait_for("presenting")
    step(t)
    step(t)
    t.send("l")  # a question from the class, answered live
    t.wait_for("live: type any command")
    t.run("echo typed-live", "\ntyped-live\n")
    t.run("ls", "NAME")
    t.send("C-]")
    t.wait_for("back to the show at line 5")
    for _ in range(4):
        step(t)
    screen = t.wait_for(END)
    # Numbered as the transcript numbers them: the live commands are no part of it.
    assert "6 commands, all as recorded" in screen, screen
    assert "3> accept srv s" in screen.split("psl> timeline")[-1]
    t.send("q")
    assert t.exit_status() == 0


@pytest.mark.parametrize("key", ["q", "C-d"])
def test_q_while_a_command_runs_stops_it_and_ends_the_show(
    request: pytest.FixtureRequest, key: str
) -> None:
    t = present(request, "psl> spawn p -- sleep 60\np: started pid {p.pid}: sleep 60\n"
                         "psl> wait p exit --timeout 60\n...\npsl> echo never\nnever\n",
                "--instant")  # fmt: skip
    screen = step(t)
    pid = int(re.findall(r"p: started pid (\d+)", screen)[-1])
    t.send("Space")
    t.wait_for("psl> wait p exit --timeout 60")
    t.wait_running()
    t.send("x", key)  # another key first: dropped, as ever; q stops the wait at once
    screen = t.wait_for("pslrepl exited with status 0")
    assert "error: cancelled by Ctrl-C" in screen
    assert "q: wait p exit --timeout 60 was stopped (as Ctrl-C stops it) and the show ends" in (
        screen
    )
    assert "at line 3: 1 of 3 commands run, all as recorded" in screen
    assert "psl> echo never" not in screen and "\nx" not in screen
    assert "p: terminated" in screen
    assert not os.path.exists(f"/proc/{pid}")


def test_q_while_a_command_is_typed_out_ends_the_show_without_running_it(
    request: pytest.FixtureRequest,
) -> None:
    long = "tcp listen srv 0 --backlog 5 --reuseaddr   # " + "x" * 40
    t = present(request, f"psl> {long}\nsrv: listening on 127.0.0.1:{{srv.port}}\n")
    t.send("Space")
    t.wait_for(lambda s: "psl> tcp" in s and long not in s)  # part-typed
    t.send("q")
    screen = t.wait_for("pslrepl exited with status 0")
    assert f"q: {long} was not run, and the show ends" in screen
    assert "srv: listening" not in screen
    assert "at line 1: 0 of 1 command run" in screen
