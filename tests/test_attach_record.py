"""record while attached at a real terminal (tmux): the transcript holds an attach block
(the typed lines, what came back) that `pslrepl --check` replays green."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Shell, run_cli
from tests.terminal import Terminal


@pytest.fixture
def term(tmp_path: Path) -> Iterator[Terminal]:
    t = Terminal(tmp_path, cols=120)
    try:
        yield t
    finally:
        t.close()


def test_record_writes_attach_blocks_that_replay(term: Terminal, tmp_path: Path) -> None:
    out = tmp_path / "att.psl"
    term.run(f"record {out}", "record: writing")
    term.run("serve e tcp 0 --handler upper --threading; tcp connect c e", "c: connected")
    term.run("attach c", "attached to c:")
    term.type("hello there")
    term.send("Enter")
    term.wait_for("HELLO THERE")
    term.send("Enter")  # a bare Enter: a `|>` line of its own
    term.type("two  spaces")
    term.send("Enter")
    term.wait_for("TWO  SPACES")
    term.send("C-]")  # left before the peer ended: the replay's EOF ends it there
    term.wait_for("c: detached (25 bytes sent, 25 received)")
    term.run("spawn b -- bc -q", "b: started")
    term.run("attach b", "attached to b:")
    term.type("2+3")
    term.send("Enter")
    term.wait_for(lambda s: "\n5" in s)
    term.type("6*7")
    term.send("Enter")
    term.wait_for("42")
    term.send("C-d")  # EOF: bc ends, as it will in the replay
    term.wait_for("b: detached (8 bytes sent, 5 received); its output ended (EOF)")
    term.run("record stop", "record: wrote")
    text = out.read_text()
    assert (
        "psl> attach c\n"
        "|> hello there\n"
        "|>\n"
        "|> two  spaces\n"
        "HELLO THERE\n"
        "\n"
        "TWO  SPACES\n"
        "c: detached (25 bytes sent, 25 received)* (glob)\n"
    ) in text, text
    assert (
        "psl> attach b\n|> 2+3\n|> 6*7\n5\n42\n"
        "b: detached (8 bytes sent, 5 received); its output ended (EOF)\n"
    ) in text, text
    done = run_cli("--check", str(out))
    assert done.returncode == 0, done.stdout + done.stderr + text


def test_attach_to_a_pty_child_shows_each_typed_line_once(term: Terminal) -> None:
    """The child's terminal echoes the line (readline here): the prompt's copy goes, and
    the child's own prompt (">>> ", no newline after it) is what the line is typed after."""
    term.run(f"spawn p --pty -- {sys.executable} -q -i", "p: started")
    term.run("attach p", "attached to p:")
    term.wait_for(">>>")
    term.type("'ab' + 'cd'")
    term.send("Enter")
    screen = term.wait_for("'abcd'\n>>>")
    # As at a terminal: typed after the child's prompt, once.
    assert screen.count("'ab' + 'cd'") == 1 and ">>> 'ab' + 'cd'\n'abcd'\n>>>" in screen, screen
    term.send("C-]")
    term.wait_for("p: detached")


def test_record_of_a_piped_attach_keeps_its_lines(shell: Shell, tmp_path: Path) -> None:
    out = tmp_path / "piped.psl"
    shell.ok(f"record {out}")
    shell.ok("spawn b -- bc -q")
    shell.session.env.stdin = io.StringIO("2+3\n\n6*7\n")
    assert shell.ok("attach b").startswith("5\n42\nb: detached (9 bytes sent, 5 received)")
    shell.ok("wait b; record stop")
    text = out.read_text()
    assert "psl> attach b\n|> 2+3\n|>\n|> 6*7\n5\n42\nb: detached" in text, text
    done = run_cli("--check", str(out))
    assert done.returncode == 0, done.stdout + done.stderr + text


def test_record_warns_that_a_ctrl_c_while_attached_is_not_in_the_transcript(
    term: Terminal, tmp_path: Path
) -> None:
    out = tmp_path / "c.psl"
    term.run(f"record {out}", "record: writing")
    term.run("spawn k -- cat", "k: started")
    term.run("attach k", "attached to k:")
    term.type("kept")
    term.send("Enter")
    term.wait_for(lambda s: s.count("kept") >= 2)
    term.send("C-c")  # SIGINT: cat ends, and so does the attach
    screen = term.wait_for("k: detached")
    term.wait_for("record: the Ctrl-C pressed while attached is not in the transcript")
    term.run("record stop", "record: wrote")
    assert "psl> attach k\n|> kept\nkept\n" in out.read_text(), screen


def test_record_says_an_attach_to_python_i_may_not_replay(shell: Shell, tmp_path: Path) -> None:
    """python3 -i's prompts go to stderr, its answers to stdout, and on a --pty its
    terminal echoes lines as it reads them: record says why such a step may not replay,
    at once and in the transcript (trial 13 G2: it failed --check with no word)."""
    out = tmp_path / "py.psl"
    shell.ok(f"record {out}")
    shell.ok(f"spawn pi -- {sys.executable} -q -i")
    shell.session.env.stdin = io.StringIO("print(6*7)\n")
    ok, said, warned = shell("attach pi --timeout 5")
    assert ok and "42\n" in said
    assert "record: this attach may not replay: the child wrote to both stdout and" in warned
    shell.ok(f"spawn pt --pty -- {sys.executable} -q -i")
    shell.session.env.stdin = io.StringIO("print(6*7)\n")
    ok, said, warned = shell("attach pt --timeout 5")
    assert ok and "record: this attach may not replay: a child on a terminal (--pty)" in warned
    shell.ok("record stop")
    text = out.read_text()
    assert "# may not replay: the child wrote to both stdout and stderr" in text, text
    assert "# may not replay: a child on a terminal (--pty)" in text, text
    assert text.index("# may not replay: the child") < text.index("psl> attach pi")


def test_record_of_an_attach_to_bc_has_no_doubt(shell: Shell, tmp_path: Path) -> None:
    out = tmp_path / "bc.psl"
    shell.ok(f"record {out}; spawn b -- bc -q")
    shell.session.env.stdin = io.StringIO("2+3\n")
    assert shell.ok("attach b").startswith("5\n")  # no warning: ok() takes none
    shell.ok("record stop")
    assert "may not replay" not in out.read_text()
