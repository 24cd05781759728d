"""The printer on the interactive shell's screen: fitted lines, a fresh line after ^C, and
a real pager (a child program) for output taller than the screen."""

from __future__ import annotations

import io
import os
import shlex
import signal
from pathlib import Path

import pytest

from pslrepl.output import Printer, Screen, pager_command
from pslrepl.render import render_table
from pslrepl.results import Line, Table
from tests.helpers import PY

LONG: Line = [("command", "  wait    "), ("", "block until an event on NAME: " * 4)]


def printer(*, screen: Screen | None = None) -> tuple[Printer, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    p = Printer(out, err, color=False)
    p.screen = screen
    return p, out, err


def lines_of(n: int) -> list[Line]:
    return [[("", f"line {i}")] for i in range(n)]


def test_without_a_screen_lines_print_as_rendered() -> None:
    p, out, _ = printer()
    p.write([LONG])
    assert out.getvalue() == "".join(text for _, text in LONG) + "\n"


def test_on_a_screen_lines_fit_its_width_and_listeners_see_them_whole() -> None:
    p, out, _ = printer(screen=Screen(lambda: (40, 50)))
    seen: list[list[Line]] = []
    p.listeners.append(seen.append)  # a transcript recorder: the text scripts would print
    table = Table(("NAME", "REMOTE"), [["c", "x" * 80]])
    p.write([LONG, *render_table(table)])
    shown = out.getvalue().splitlines()
    assert all(len(line) <= 40 for line in shown)
    assert shown[0].startswith("  wait    block until")
    assert shown[1].startswith(" " * 10) and shown[1][10] != " "  # under the summary
    assert shown[-1].startswith("c     xxx") and shown[-1].endswith("\u2026")
    assert seen == [[LONG, *render_table(table)]]


def test_after_ctrl_c_the_next_line_starts_a_line_of_its_own() -> None:
    p, out, err = printer()
    p.mid_line = True  # the terminal echoed ^C where the cursor was
    p.error("cancelled by Ctrl-C; everything else carries on")
    assert err.getvalue() == "\nerror: cancelled by Ctrl-C; everything else carries on\n"
    p.write([[("", "next")]])
    assert out.getvalue() == "next\n"  # once only


def test_a_prompt_leaves_the_cursor_after_it_and_an_event_breaks_the_line() -> None:
    p, out, _ = printer()
    p.prompt([("prompt", "psl> ")])
    p.write([[("event", "[p] exited with status 0")]], event=True)
    p.prompt([("prompt", "psl> ")])
    assert out.getvalue() == "psl> \n[p] exited with status 0\npsl> "


PAGER = """\
import os, signal, sys
if sys.argv[2] == "interrupt":  # as a user's Ctrl-C reaches the whole foreground group
    os.kill(os.getppid(), signal.SIGINT)
    # A pager that stays after Ctrl-C (less without -K) until the user is done with it:
    # the shell must still be waiting, not have given up on it.
    import time
    time.sleep(1.5)
data = sys.stdin.buffer.read()
with open(sys.argv[1], "wb") as fh:
    fh.write(data)
"""


def fake_pager(tmp_path: Path, mode: str = "read") -> tuple[list[str], dict[str, str], Path]:
    script = tmp_path / "pager.py"
    script.write_text(PAGER)
    got = tmp_path / "paged.txt"
    environ = {"PATH": os.environ["PATH"], "PAGER": shlex.join([PY, str(script), str(got), mode])}
    found = pager_command(environ)
    assert found is not None
    return found[0], found[1], got


def test_output_taller_than_the_screen_goes_through_the_pager(tmp_path: Path) -> None:
    argv, env, got = fake_pager(tmp_path)
    p, out, err = printer(screen=Screen(lambda: (80, 10), pager=(argv, env)))
    p.write(lines_of(8))  # fits above the prompt and the toolbar: printed
    assert out.getvalue().count("\n") == 8 and not got.exists()
    p.write(lines_of(30))
    assert got.read_text() == "".join(f"line {i}\n" for i in range(30))
    assert out.getvalue() == "".join(f"line {i}\n" for i in range(8))  # nothing more
    # Errors and live events are never paged.
    p.write(lines_of(30), err=True)
    p.write(lines_of(30), event=True)
    assert err.getvalue().count("\n") == 30 and out.getvalue().count("\n") == 38


def test_the_pager_gets_colours(tmp_path: Path) -> None:
    argv, env, got = fake_pager(tmp_path)
    p, _, _ = printer(screen=Screen(lambda: (80, 5), pager=(argv, env)))
    p.color = True
    p.write([[("error", "red"), ("", f" {i}")] for i in range(10)])
    assert got.read_text().startswith("\x1b[31;1mred\x1b[0m 0\n")


def test_a_line_wider_than_the_screen_counts_as_the_rows_it_takes(tmp_path: Path) -> None:
    argv, env, got = fake_pager(tmp_path)
    p, out, _ = printer(screen=Screen(lambda: (20, 10), pager=(argv, env)))
    data = [[("stdout", "x" * 200)]]  # a child's output: not rewrapped, 10 rows on screen
    p.write(data)
    assert got.exists() and not out.getvalue()


def test_ctrl_c_while_paging_is_the_pagers(tmp_path: Path) -> None:
    """SIGINT reaches the shell and the pager alike: the shell must wait for the pager
    (less -K quits on it), not die of KeyboardInterrupt under it."""
    argv, env, got = fake_pager(tmp_path, "interrupt")
    p, _, _ = printer(screen=Screen(lambda: (80, 10), pager=(argv, env)))
    p.write(lines_of(50))
    assert got.read_text().count("\n") == 50
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_pager_that_quits_at_once_does_not_hang_the_shell(tmp_path: Path) -> None:
    # `q` at the first screen: the pager leaves without reading the rest (EPIPE here).
    quitter = [PY, "-c", "import sys; sys.stdin.buffer.read(10)"]
    p, out, _ = printer(screen=Screen(lambda: (80, 10), pager=(quitter, dict(os.environ))))
    big = [[("", "y" * 1000)] for _ in range(5000)]  # 5 MB: far more than a pipe holds
    p.write(big)
    assert out.getvalue() == ""
    p.write([[("", "after")]])
    assert out.getvalue() == "after\n"


def test_a_pager_that_cannot_run_is_said_once_and_the_output_printed(tmp_path: Path) -> None:
    missing = ([str(tmp_path / "no-such-pager")], dict(os.environ))
    p, out, err = printer(screen=Screen(lambda: (80, 10), pager=missing))
    p.write(lines_of(20))
    p.write(lines_of(20))
    assert out.getvalue().count("line 19\n") == 2
    warning = " ".join(line.strip() for line in err.getvalue().splitlines())
    assert warning.count("warning:") == 1
    assert warning.startswith("warning: can't run the pager ")
    assert warning.endswith("; printing instead (set PAGER to a pager, or to cat)")


def test_the_pager_is_pagers_else_less_with_FRXK(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    assert pager_command({"PATH": str(bindir)}) is None  # no less: print instead
    less = bindir / "less"
    less.write_text("#!/bin/sh\ncat\n")
    less.chmod(0o755)
    argv, env = pager_command({"PATH": str(bindir)}) or ([], {})
    assert argv == ["less"] and env["LESS"] == "FRXK"
    _, env = pager_command({"PATH": str(bindir), "LESS": "-S"}) or ([], {})
    assert env["LESS"] == "-S"  # the user's own choice stands, as git does
    argv, _ = pager_command({"PATH": str(bindir), "PAGER": "most -s"}) or ([], {})
    assert argv == ["most", "-s"]
    assert pager_command({"PATH": str(bindir), "PAGER": "less 'unclosed"}) is None
    blank = pager_command({"PATH": str(bindir), "PAGER": "  "})
    assert blank is not None and blank[0] == ["less"]


@pytest.mark.parametrize("rows", [3, 10, 40])
def test_too_tall_is_taller_than_the_room_above_prompt_and_toolbar(rows: int) -> None:
    screen = Screen(lambda: (80, rows))
    assert not screen.too_tall(lines_of(rows - 2))
    assert screen.too_tall(lines_of(rows - 1))
