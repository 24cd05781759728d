"""spawn --pty against real children on a real pseudo-terminal: isatty, the window size,
line buffering, echo, ^D, ^C, and every descriptor released on close."""

from __future__ import annotations

import hashlib

from tests.helpers import PY, Shell, child, open_fds


def test_the_child_sees_a_terminal_of_the_given_size(shell: Shell) -> None:
    code = "import os, sys; print(sys.stdin.isatty(), sys.stdout.isatty(), os.get_terminal_size())"
    shell.ok(f"spawn t --pty --size 100x30 -- {child(code)}")
    out = shell.ok("read t --all")
    assert out == "True True os.terminal_size(columns=100, lines=30)\\r\n"
    info = shell.ok("info t")
    assert "terminal:    /dev/pts/" in info and "100x30" in info
    assert "stdin:       the terminal" in info


def test_default_size_and_controlling_terminal(shell: Shell) -> None:
    code = (
        "import os; "
        "print(os.get_terminal_size(), os.getsid(0) == os.getpid(), open('/dev/tty').isatty())"
    )
    shell.ok(f"spawn t --pty -- {child(code)}")
    assert shell.ok("read t --all") == "os.terminal_size(columns=80, lines=24) True True\\r\n"


def test_python_line_buffers_on_a_terminal(shell: Shell) -> None:
    # No -u: on a pipe this print stays in Python's buffer while it sleeps; on a terminal
    # it comes at once.
    code = "import time; print('hello'); time.sleep(30)"
    shell.ok(f"spawn t --pty --env PYTHONUNBUFFERED= -- {PY} -c {code!r}")
    assert shell.ok("read t --line --timeout 10") == "hello\\r\n"


def test_an_interactive_interpreter_answers_and_echoes(shell: Shell) -> None:
    # Without -u: on a terminal the prompt and the answers come at once. (The basic REPL:
    # 3.13's new one draws with escape sequences.)
    shell.ok(f"spawn calc --pty --env PYTHON_BASIC_REPL=1 -- {PY} -q -i")
    assert shell.ok("expect calc '>>> ' --timeout 10").endswith(">>> \n")
    shell.ok("writeline calc 6*7")
    assert shell.ok("read calc --line") == "6*7\\r\n"  # the terminal echoes what it got
    assert shell.ok("read calc --line") == "42\\r\n"
    assert "stderr goes to the same terminal" in shell.fails("read calc --stderr")
    shell.ok("writeline calc 'raise SystemExit(3)'")
    assert shell.ok("wait calc").startswith("calc: exited with status 3\n")


def test_eof_sends_the_terminals_eof_character(shell: Shell) -> None:
    shell.ok("spawn c --pty -- cat")
    shell.ok("writeline c hi")
    assert shell.ok("read c --line") + shell.ok("read c --line") == "hi\\r\nhi\\r\n"
    assert shell.ok("eof c") == "c: sent ^D (the terminal's EOF character, VEOF)\n"
    assert shell.ok("wait c").startswith("c: exited with status 0\n")
    shell.ok("spawn again --pty -- cat")
    assert shell.ok("communicate again 'x\\n'").endswith("again: exited with status 0\n")


def test_ctrl_c_written_to_the_terminal_interrupts(shell: Shell) -> None:
    shell.ok("spawn s --pty -- sleep 30")
    shell.ok("write s --hex 03")  # ^C: the terminal's line discipline sends SIGINT
    assert shell.ok("wait s").startswith("s: killed by SIGINT (signal 2)\n")


def test_a_large_output_comes_whole(shell: Shell) -> None:
    lines = "".join(f"row {i:05d} {'x' * 60}\n" for i in range(4000))  # about 280 KB
    code = (
        "import sys; sys.stdout.write(''.join(f'row {i:05d} {\"x\" * 60}\\n' for i in range(4000)))"
    )
    shell.ok(f"spawn big --pty -- {child(code)}")
    shell.ok("wait big")
    out = shell.ok("read big --all")
    got = out.replace("\\r\n", "\n")  # the terminal's ONLCR: LF is sent as CR LF
    assert hashlib.sha256(got.encode()).hexdigest() == hashlib.sha256(lines.encode()).hexdigest()


def test_close_releases_every_descriptor(shell: Shell) -> None:
    import threading

    shell.ok("spawn warmup -- true; close warmup")  # the watchdog starts with the first child
    before, threads = open_fds(), threading.active_count()
    shell.ok("spawn t --pty -- cat")
    shell.ok("writeline t hi; read t --line; read t --line")
    assert shell.ok("close t").startswith("t: terminated")
    assert open_fds() == before
    assert threading.active_count() == threads


def test_size_errors(shell: Shell) -> None:
    assert "--size takes COLUMNSxROWS" in shell.fails("spawn t --pty --size 80 -- true")
    assert "from 1 to 9999" in shell.fails("spawn t --pty --size 0x24 -- true")
    assert "--size is the terminal's, for --pty" in shell.fails("spawn t --size 80x24 -- true")
    assert "no such program" in shell.fails("spawn t --pty -- /nonexistent/prog")
    assert "t" not in shell.session.registry
