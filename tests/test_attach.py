"""attach: the terminal joined to a child or a socket (tmux), and as nc in a pipe."""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Shell
from tests.terminal import Terminal

# -- without a terminal: stdin's lines, then EOF, then what comes back ----------------


def piped(shell: Shell, text: str) -> None:
    shell.session.env.stdin = io.StringIO(text)


def test_piped_attach_sends_each_line_then_eof_and_shows_the_answer(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --handler echo --threading; tcp connect c e")
    piped(shell, "one\x00two\r\n\nlast\n")  # NUL, CR and an empty line go as they are
    out = shell.ok("attach c --repr")
    assert out == (
        "b'one\\x00two\\r\\n\\nlast\\n'  (15 bytes)\n"
        "c: detached (15 bytes sent, 15 received); the peer closed its side (EOF)\n"
    )
    assert re.search(r"\bc +tcp +.* 15 +15 ", shell.ok("ls")), shell.ok("ls")  # IN, OUT moved
    log = shell.ok("log c")
    for sent in ("9 bytes: one\\x00two\\r\\n", "1 byte: \\n", "5 bytes: last\\n"):
        assert f" ->  {sent}\n" in log  # a line at a time, each logged
    assert log.index(" -> ") < log.index(" <- ")  # before the answer it brought


def test_piped_attach_to_bc(shell: Shell) -> None:
    shell.ok("spawn b -- bc -q")
    piped(shell, "2+3\n6*7\n")
    assert shell.ok("attach b") == (
        "5\n42\nb: detached (8 bytes sent, 5 received); its output ended (EOF)\n"
    )
    assert shell.ok("wait b") == "b: exited with status 0\n"


def test_attach_refuses_what_is_not_a_stream(shell: Shell) -> None:
    shell.ok("tcp listen l 0; udp open u")
    assert shell.fails("attach l") == (
        "error: l is a listener; attach takes a process, a tcp socket, a unix socket or a "
        "tls connection"
    )
    shell.ok("socket bare tcp")
    assert shell.fails("attach bare") == (
        "error: attach: bare is not a connected stream socket; connect or accept first"
    )
    assert shell.fails("attach u").startswith("error: ")
    assert shell.fails("attach nobody").startswith("error: no resource named 'nobody'")


# -- in a real terminal ------------------------------------------------------------


@pytest.fixture
def term(tmp_path: Path) -> Iterator[Terminal]:
    t = Terminal(tmp_path, cols=120)
    try:
        yield t
    finally:
        t.close()


def attached(term: Terminal, name: str) -> None:
    term.run(f"attach {name}", f"attached to {name}:")


def detach(term: Terminal, name: str) -> str:
    term.send("C-]")
    return term.wait_for(f"{name}: detached")


def test_echo_server_both_ways_logged_and_an_empty_enter_stays(term: Terminal) -> None:
    """pwntools' interactive() logged one direction (#100), broke after the first
    command (#1843) and ended on an empty Enter (#2342)."""
    term.run("serve e tcp 0 --handler echo --threading; tcp connect c e", "c: connected")
    attached(term, "c")
    term.type("first")
    term.send("Enter")
    term.wait_for(lambda s: s.count("first") >= 2)  # typed, and echoed back
    term.send("Enter")  # a bare Enter: sends "\n", stays attached
    term.type("second")
    term.send("Enter")
    term.wait_for(lambda s: s.count("second") >= 2)
    assert "c: detached (14 bytes sent, 14 received)" in detach(term, "c")
    screen = term.run("log c", "second\\n")
    assert "->  1 byte: \\n" in screen and "<-  1 byte: \\n" in screen
    assert "->  6 bytes: first\\n" in screen and "<-  6 bytes: first\\n" in screen
    term.run("send c after", "c: sent 5 bytes")  # the shell and c carry on


def test_python_interactive_ctrl_c_is_sigint_and_ctrl_d_is_eof(term: Terminal) -> None:
    term.run(f"spawn pyi -- {sys.executable} -u -i -q", "pyi: started")
    attached(term, "pyi")
    term.wait_for(">>>")  # its prompt comes on stderr, shown as it comes
    term.type("6*7")
    term.send("Enter")
    # Typed after its prompt (">>> " with no newline), as at a terminal: that prompt was
    # drawn over by attach's own before.
    assert ">>> 6*7\n42\n" in term.wait_for("42")
    # Ctrl-C only once python runs the line: one sent while it still reads would
    # interrupt the read, and the sleep would then run its full minute.
    term.type("import time; print('sl' + 'eeping'); time.sleep(60)")
    term.send("Enter")
    term.wait_for("\nsleeping")
    term.send("C-c")
    term.wait_for("KeyboardInterrupt")  # the child's, not the shell's
    term.type("'still' + 'here'")
    term.send("Enter")
    term.wait_for("'stillhere'")
    term.send("C-d")
    term.wait_for("pyi: detached")
    term.wait_for("its output ended (EOF)")  # python read EOF and exited: attach ended
    term.run("wait pyi", "pyi: exited with status 0")


def test_bc(term: Terminal) -> None:
    term.run("spawn b -- bc -q", "b: started")
    attached(term, "b")
    term.type("2^10")
    term.send("Enter")
    term.wait_for("1024")
    assert "b: detached (5 bytes sent, 5 received)" in detach(term, "b")


def test_tls_connection(term: Terminal) -> None:
    term.run("serve ts tcp 0 --handler upper --tls --threading", "ts:")
    term.run("tls connect t ts", "t: ")
    attached(term, "t")
    term.type("over tls")
    term.send("Enter")
    term.wait_for("OVER TLS")
    assert "t: detached (9 bytes sent, 9 received)" in detach(term, "t")


def test_received_data_shows_when_the_shell_runs_a_file(tmp_path: Path) -> None:
    """pwntools' interactive() showed nothing received when run from a file (#2159)."""
    script = tmp_path / "s.psl"
    script.write_text("serve e tcp 0 --handler upper --threading\ntcp connect c e\nattach c\n")
    from tests.helpers import run_cli

    done = run_cli(str(script), input="from a file\n")
    assert "FROM A FILE" in done.stdout, done.stdout + done.stderr
    assert "c: detached (12 bytes sent, 12 received)" in done.stdout


def test_a_file_run_at_a_terminal_attaches_interactively(tmp_path: Path) -> None:
    """From a file with the terminal on stdin: the banner, answers as they come, Ctrl-]
    back to the file's next line; Ctrl-] was sent to bc as a byte (trial 13, F9)."""
    script = tmp_path / "a.psl"
    script.write_text("echo psl>\nspawn b -- bc -q\nattach b\necho after-attach\n")
    t = Terminal(tmp_path, cols=120, args=(str(script),))
    try:
        t.wait_for("attached to b:")
        t.type("2+3")
        t.send("Enter")
        t.wait_for(lambda s: "\n5" in s)  # shown before the input ends
        t.send("C-]")
        screen = t.wait_for("after-attach")
        assert "b: detached (4 bytes sent, 2 received)" in screen
        assert "illegal character" not in screen
    finally:
        t.close()


def test_help_says_timeout_is_the_quiet_time_of_a_piped_attach(shell: Shell) -> None:
    """At a terminal attach never gives up (trial 13, F10): the help says what S is."""
    line = next(ln for ln in shell.ok("help attach").splitlines() if "  --timeout S" in ln)
    assert "in a pipe: end once S seconds pass with nothing new after the EOF" in line
    assert "at a terminal attach waits until you leave" in line


def test_piped_attach_to_a_child_whose_stdin_is_closed_says_so_and_shows_its_output(
    shell: Shell,
) -> None:
    shell.ok("spawn sc -- sh -c 'cat; echo after-eof'")
    shell.ok("eof sc")
    piped(shell, "hello\n")
    out = shell.ok("attach sc")
    assert "after-eof\n" in out
    assert "error: sc: stdin is closed (eof was sent); nothing more can be written\n" in out
    assert out.endswith("sc: detached (0 bytes sent, 10 received); its output ended (EOF)\n")


def test_attach_says_a_reset_is_a_reset(shell: Shell) -> None:
    import socket
    import struct

    with socket.create_server(("127.0.0.1", 0)) as server:
        shell.ok(f"tcp connect c 127.0.0.1:{server.getsockname()[1]}")
        conn, _ = server.accept()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # RST
        piped(shell, "")
        out = shell.ok("attach c")
    assert (
        out
        == "c: detached (0 bytes sent, 0 received); the peer reset the connection (ECONNRESET)\n"
    )


def test_attach_at_a_terminal_to_a_child_whose_stdin_is_closed(term: Terminal) -> None:
    term.run("spawn sc -- sh -c 'sleep 30 | cat'", "sc: started")
    term.run("eof sc", "sc: stdin closed")
    term.run("attach sc", "sc's stdin is closed (eof was sent): what you type can't reach it")
    term.type("hello")
    term.send("Enter")
    term.wait_for("error: sc: stdin is closed (eof was sent)")
    assert "sc: detached (0 bytes sent, 0 received)" in detach(term, "sc")  # still attached
    term.run("close sc", "sc: ")


def test_attach_at_a_terminal_to_a_child_that_has_exited_says_so(term: Terminal) -> None:
    term.run("spawn z -- sh -c 'echo last words; exit 3'", "z: started")
    term.run("wait z", "z: exited with status 3")
    term.run("attach z", "z has ended (exited with status 3): what it printed is shown")
    term.wait_for("z: detached (0 bytes sent")


def test_raw_ctrl_c_sends_the_half_typed_line_before_the_byte(term: Terminal) -> None:
    """`ab`, Ctrl-C, `cd`, Enter with --raw sends ab 0x03 cd newline (trial 13 G8: the
    `ab` was thrown away)."""
    term.run("spawn cv -- cat -v", "cv: started")
    term.run("attach cv --raw", "attached to cv:")
    term.type("ab")
    term.send("C-c")
    term.wait_for("sent 'ab' and ^C (0x03)")
    term.type("cd")
    term.send("Enter")
    term.wait_for("\nab^Ccd\n")  # what cat -v read, one line
    assert "cv: detached (6 bytes sent, 7 received)" in detach(term, "cv")
