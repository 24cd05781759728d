"""pslrepl --present in a real terminal (tmux): stepping, going live, stepping back,
drift marked, Ctrl-C and q."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from pslrepl.transcript import parse
from tests.terminal import Terminal

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.psl"))
END = "(the end: q quits, b steps back, l goes live)"


def present(request: pytest.FixtureRequest, text_or_path: str | Path, *args: str) -> Terminal:
    """``pslrepl --present`` in a terminal of its own (closed when the test ends) on a
    file, or on ``text`` written to show.psl in the test's tmp_path."""
    tmp_path: Path = request.getfixturevalue("tmp_path")
    path = text_or_path
    if isinstance(text_or_path, str):
        path = tmp_path / "show.psl"
        path.write_text(text_or_path)
    t = Terminal(tmp_path, args=("--present", *args, str(path)), cols=220)
    request.addfinalizer(t.close)
    return t


def last_line(screen: str) -> str:
    lines = [line.rstrip() for line in screen.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def step(t: Terminal, key: str = "Space") -> str:
    """Press a key and wait until the show waits for the next one (the prompt is back,
    with something new above it)."""
    before = t.screen()
    t.send(key)
    return t.wait_for(lambda s: s != before and last_line(s) in ("psl>", END))


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_each_example_steps_through_as_recorded(
    example: Path, request: pytest.FixtureRequest
) -> None:
    steps = parse(example.read_text()).steps
    t = present(request, example, "--instant")
    t.wait_for(f"presenting {example}: {len(steps)} commands")
    for _ in steps:
        step(t)
    screen = t.wait_for(END)
    assert f"end of {example}: {len(steps)} commands, all as recorded" in screen, screen
    assert "~ not as recorded" not in screen
    t.send("q")
    assert t.exit_status() == 0


def test_notes_show_above_their_command_and_titles_as_headings(
    request: pytest.FixtureRequest,
) -> None:
    t = present(request, "## Pipes, part one\n# sort reads everything first\n"
                         "psl> echo one\none\n# now the second\npsl> echo two\ntwo\n",
               "--instant")  # fmt: skip
    screen = t.wait_for("psl>")
    lines = [line.rstrip() for line in screen.splitlines()]
    assert "Pipes, part one" in lines and "sort reads everything first" in lines
    assert "now the second" not in screen  # a note shows only when its command is next
    coloured = t.coloured()
    assert re.search(r"\x1b\[1;4m(\x1b\[\d+m)*Pipes, part one", coloured), (
        coloured
    )  # bold, underlined
    assert re.search(r"\x1b\[90m(\x1b\[\d+m)*sort reads everything first", coloured), coloured
    screen = step(t)
    lines = [line.rstrip() for line in screen.splitlines() if line.strip()]
    assert lines[-4:] == ["psl> echo one", "one", "now the second", "psl>"]


def test_a_drifted_output_is_marked_in_place_and_the_show_goes_on(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    t = present(request, "psl> echo hello\ngoodbye\npsl> echo same\nsame\n", "--instant")
    screen = step(t)
    lines = [line.rstrip() for line in screen.splitlines()]
    at = lines.index("psl> echo hello")
    assert lines[at + 1 : at + 4] == [
        "hello",
        f"~ not as recorded at {tmp_path / 'show.psl'}:1 (- recorded, + now):",
        "~ -goodbye",
    ]
    assert lines[at + 4] == "~ +hello"
    step(t)
    screen = t.wait_for(END)
    assert "2 commands; 1 not as recorded (line 1)" in screen
    t.send("q")
    assert t.exit_status() == 0


def test_going_live_then_ctrl_bracket_resumes_where_it_was(request: pytest.FixtureRequest) -> None:
    t = present(request, "psl> echo one\none\npsl> echo two\ntwo\n", "--instant")
    step(t)
    t.send("l")
    t.wait_for("live: type any command; Ctrl-] or Ctrl-D resumes the show at line 3")
    t.run("tcp listen srv 0", "srv: listening on 127.0.0.1:")
    t.run("echo typed-live", "\ntyped-live\n")
    t.send("C-]")
    t.wait_for("back to the show at line 3")
    screen = step(t)
    assert "psl> echo two\ntwo\n" in screen
    screen = t.wait_for(END)
    assert "end of" in screen and "2 commands, all as recorded" in screen
    t.send("q")
    # What was made live is closed with the rest.
    assert "srv: closed" in t.wait_for("pslrepl exited with status 0")


def test_stepping_back_resets_and_replays_quietly(request: pytest.FixtureRequest) -> None:
    t = present(request, "psl> echo one\none\npsl> spawn p -- sleep 60\n"
                         "p: started pid {p.pid}: sleep 60\npsl> echo three\nthree\n",
               "--instant")  # fmt: skip
    step(t)
    screen = step(t)
    first = int(re.findall(r"p: started pid (\d+)", screen)[-1])
    step(t)
    screen = step(t, "b")
    assert "stepped back: the session was reset and 2 commands replayed quietly" in screen
    assert screen.count("p: started pid") == 1  # the replay shows nothing
    assert not os.path.exists(f"/proc/{first}")  # the child of before is gone: reset
    t.send("Space")
    t.wait_for(lambda s: s.count("psl> echo three") == 2 and last_line(s) == END)
    t.send("q")
    screen = t.wait_for("pslrepl exited with status 0")
    assert "3 commands, all as recorded" in screen
    assert "p: terminated" in screen  # the child the replay made, closed at the end


def test_back_at_the_first_command_says_so(request: pytest.FixtureRequest) -> None:
    t = present(request, "psl> echo one\none\n", "--instant")
    screen = step(t, "b")
    assert "already at the first command: there is nothing to step back to" in screen


def test_ctrl_c_cancels_only_the_running_command(request: pytest.FixtureRequest) -> None:
    t = present(request, "psl> sleep 30\npsl> echo after\nafter\n", "--instant")
    t.send("Space")
    t.wait_for("psl> sleep 30")
    t.wait_running()
    t.send("C-c")
    t.wait_for(lambda s: last_line(s) == "psl>")
    screen = step(t)
    assert "error: cancelled by Ctrl-C" in screen
    assert "psl> echo after\nafter\n" in screen
    t.send("q")
    assert t.exit_status() == 0


def test_q_quits_midway_and_closes_everything(request: pytest.FixtureRequest) -> None:
    t = present(request, "psl> spawn p -- sleep 60\np: started pid {p.pid}: sleep 60\n"
                         "psl> echo never\nnever\n", "--instant")  # fmt: skip
    screen = step(t)
    pid = int(re.findall(r"p: started pid (\d+)", screen)[-1])
    t.send("q")
    screen = t.wait_for("pslrepl exited with status 0")
    assert "at line 3: 1 of 2 commands run, all as recorded" in screen
    assert "p: terminated" in screen
    assert not os.path.exists(f"/proc/{pid}")


def test_commands_are_typed_out_and_a_key_hurries_them(request: pytest.FixtureRequest) -> None:
    long = "echo " + "x" * 60
    t = present(request, f"psl> {long}\n{'x' * 60}\n")
    t.send("Space")
    # Seen part-typed at least once: the command is typed out, not shown at once.
    t.wait_for(lambda s: "psl> echo x" in s and long not in s)
    t.send("Space")  # the rest at once
    screen = t.wait_for(lambda s: last_line(s) == END)
    assert f"psl> {long}\n{'x' * 60}\n" in screen


def test_embedded_files_and_python_are_there_as_in_a_replay(request: pytest.FixtureRequest) -> None:
    t = present(request, 'psl> run -- cat {tmp}/hello.txt\nhello from a file\n'
                         'exited with status 0\npsl> run -- {python} -c "print(6*7)"\n42\n'
                         'exited with status 0\n-- hello.txt --\nhello from a file\n',
               "--instant")  # fmt: skip
    step(t)
    step(t)
    screen = t.wait_for(END)
    assert "2 commands, all as recorded" in screen, screen


def test_events_show_while_the_show_waits_for_a_key(request: pytest.FixtureRequest) -> None:
    t = present(request, "psl> spawn p -- sh -c 'read x; echo late'\n"
                         "p: started pid {p.pid}: sh -c 'read x; echo late'\n"
                         "psl> writeline p go\np: wrote 3 bytes\n", "--instant")  # fmt: skip
    step(t)
    step(t)
    # The child answers after the command is over: shown above the prompt, as it comes.
    screen = t.wait_for("[p] exited with status 0")
    assert last_line(screen) == END
    assert "2 commands, all as recorded" in screen


def test_sighup_ends_the_show_and_closes_what_it_made(request: pytest.FixtureRequest) -> None:
    import signal

    t = present(request, "psl> spawn p -- sleep 60\np: started pid {p.pid}: sleep 60\n"
                         "psl> echo never\nnever\n", "--instant")  # fmt: skip
    screen = step(t)
    pid = int(re.findall(r"p: started pid (\d+)", screen)[-1])
    os.kill(t.shell_pid(), signal.SIGHUP)  # the terminal closing
    assert t.exit_status() == 128 + signal.SIGHUP
    assert not os.path.exists(f"/proc/{pid}")
    assert "Traceback" not in t.screen()


def test_ctrl_c_and_question_mark_at_the_prompt_say_what_the_keys_do(
    request: pytest.FixtureRequest,
) -> None:
    t = present(request, "psl> echo one\none\n", "--instant")
    screen = step(t, "C-c")
    assert "(q quits the show; Ctrl-C cancels a command while it runs)" in screen
    screen = step(t, "?")
    assert screen.count("b steps back; q quits") == 2  # once at the start, once asked
    screen = step(t)
    assert "psl> echo one\none\n" in screen  # the show went on
