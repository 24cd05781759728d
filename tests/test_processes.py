"""Processes against real children: spawn, pipes, reads, signals, run, sh, sudo's plumbing."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from tests.helpers import PY, Shell, child


def test_sort_round_trip(shell: Shell) -> None:
    assert "p: started pid" in shell.ok("spawn p -- sort")
    shell.ok("writeline p banana; writeline p apple; eof p")
    assert shell.ok("read p --all") == "apple\nbanana\n"
    assert shell.ok("wait p") == "p: exited with status 0\n"


def test_cat_echoes_line_by_line(shell: Shell) -> None:
    shell.ok("spawn c -- cat")
    for word in ("one", "two", "three"):
        shell.ok(f"writeline c {word}")
        assert shell.ok("read c --line") == f"{word}\n"
    assert "running" in shell.ok("poll c")


def test_bc_calculates(shell: Shell) -> None:
    if not os.path.exists("/usr/bin/bc"):
        pytest.skip("bc is not installed")
    shell.ok("spawn calc -- bc -q")
    shell.ok("writeline calc '2^64'")
    assert shell.ok("read calc --line") == "18446744073709551616\n"
    shell.ok("writeline calc 'scale=3; 1/7'")
    assert shell.ok("read calc --line") == ".142\n"


def test_stdout_and_stderr_are_apart(shell: Shell) -> None:
    shell.spawn("p", 'import sys; print("out"); print("err", file=sys.stderr)')
    shell.ok("wait p")
    assert shell.ok("read p --stderr --all") == "err\n"
    assert shell.ok("read p --all") == "out\n"


def test_merge_stderr(shell: Shell) -> None:
    shell.spawn("p", "import sys; print(1); print(2, file=sys.stderr)", opts="--merge-stderr")
    shell.ok("wait p")
    assert shell.ok("read p --all") == "1\n2\n"
    assert "merged" in shell.fails("read p --stderr")


def test_read_modes(shell: Shell) -> None:
    shell.spawn("p", 'print("a: b> rest", end="")')
    assert shell.ok("read p --until '> '") == "a: b> \n"
    assert shell.ok("read p --all") == "rest\n"
    assert shell.ok("read p") == "EOF: p closed its stdout and nothing is left\n"


def test_read_line_at_eof_without_newline(shell: Shell) -> None:
    shell.spawn("p", 'print("partial", end="")')
    assert shell.ok("read p --line") == "partial\n(EOF before the newline)\n"


def test_read_timeout_says_what_is_buffered(shell: Shell) -> None:
    shell.spawn("p", 'import time; print("no newline", end=""); time.sleep(30)')
    shell.ok("read p --until no")
    line = shell.fails("read p --line --timeout 0.3")
    assert line == (
        "error: p: timeout after 0.3 s waiting for a line; 8 bytes buffered: b' newline'; "
        "--timeout S waits longer"
    )
    assert shell.ok("read p") == " newline\n"


def test_read_display_modes(shell: Shell) -> None:
    shell.ok("spawn p -- cat")
    shell.ok("write p 'hi\\x00\\n'")
    out = shell.ok("read p --line --hex")
    assert out.splitlines()[0] == "00000000  68 69 00 0a" + " " * 38 + "|hi..|"
    shell.ok("write p 'x\\n'")
    assert shell.ok("read p --repr --line") == "b'x\\n'  (2 bytes)\n"
    shell.ok("set display repr; write p 'y\\n'")
    assert shell.ok("read p --line") == "b'y\\n'  (2 bytes)\n"


def test_control_characters_are_shown_escaped(shell: Shell) -> None:
    shell.ok("spawn p -- cat")
    shell.ok("write p '\\x1b[31mred\\n'")
    assert shell.ok("read p --line") == "\\x1b[31mred\n"


def test_write_hex_and_file(shell: Shell, tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "data.bin"
    path.write_bytes(b"from a file\n")
    shell.ok("spawn p -- cat")
    shell.ok("write p --hex '68 65 78 0a'")
    assert shell.ok("read p --line") == "hex\n"
    shell.ok(f"write p --file {path}")
    assert shell.ok("read p --line") == "from a file\n"
    assert "only one of them" in shell.fails("write p abc --hex 00")
    assert "can't read" in shell.fails("write p --file /nonexistent/x")


def test_expect_shows_match_and_groups(shell: Shell) -> None:
    shell.spawn("p", 'import os; print("hello pid", os.getpid(), "end")')
    out = shell.ok("expect p 'pid (\\d+)'")
    lines = out.splitlines()
    assert lines[0].startswith("hello pid ")
    assert lines[1].startswith("group 1: ") and lines[1][9:].isdigit()
    assert shell.ok("read p --all") == " end\n"
    assert "closed its stdout before" in shell.fails("expect p never")
    assert "bad regular expression" in shell.fails("expect p '('")


def test_expect_timeout(shell: Shell) -> None:
    shell.ok("spawn p -- cat")
    shell.ok("writeline p hello")
    line = shell.fails("expect p bye --timeout 0.2")
    assert "timeout after 0.2 s waiting for a match for b'bye'; 6 bytes buffered" in line


def test_communicate(shell: Shell) -> None:
    shell.ok("spawn p -- sort")
    assert shell.ok("communicate p 'b\\nc\\na\\n'") == "a\nb\nc\np: exited with status 0\n"


def test_exit_status_and_signal_names(shell: Shell) -> None:
    shell.spawn("p", "raise SystemExit(3)")
    assert shell.ok("wait p") == "p: exited with status 3\n"
    assert shell.ok("poll p") == "p: exited with status 3\n"
    shell.ok("spawn s -- sleep 30")
    shell.ok("signal s INT")
    assert shell.ok("wait s") == "s: killed by SIGINT (signal 2)\n"
    shell.ok("spawn t -- sleep 30; terminate t")
    assert shell.ok("wait t") == "t: killed by SIGTERM (signal 15)\n"
    shell.ok("spawn k -- sleep 30; kill k")
    assert shell.ok("wait k") == "k: killed by SIGKILL (signal 9)\n"
    assert "nobody to signal" in shell.fails("signal k TERM")


def test_signal_by_number_and_handler_in_child(shell: Shell) -> None:
    code = """
        import signal, sys, time
        signal.signal(signal.SIGUSR1, lambda *a: print("got usr1", flush=True))
        print("ready", flush=True)
        time.sleep(30)
    """
    shell.spawn("p", code)
    shell.ok("read p --line")
    shell.ok(f"signal p {int(signal.SIGUSR1)}")
    assert shell.ok("read p --line") == "got usr1\n"
    assert "unknown signal" in shell.fails("signal p NOPE")
    assert "no signal number" in shell.fails("signal p 999")


def test_chatty_child_is_bounded_and_never_blocks(shell: Shell) -> None:
    # 8 MiB through a 1 MiB buffer: the child must finish although nobody reads.
    shell.spawn("p", "import sys; sys.stdout.write(chr(120) * (8 << 20))")
    assert shell.ok("wait p --timeout 20") == "p: exited with status 0\n"
    info = shell.ok("info p")
    assert "1048576 bytes unread of 8388608, 7340032 dropped" in info
    out = shell.ok("read p --all")
    assert out.startswith("warning: 7340032 bytes of stdout were dropped")
    assert out.count("x") == 1 << 20


def test_write_to_a_child_that_does_not_read_times_out(shell: Shell) -> None:
    shell.ok("spawn p -- sleep 30")
    line = shell.fails("write p --timeout 0.3 " + "x" * 140000)
    assert "timeout after 0.3 s writing: wrote" in line
    assert "the child is not reading its stdin" in line


def test_write_after_exit_is_epipe(shell: Shell) -> None:
    shell.ok("spawn p -- true; wait p")
    line = shell.fails("writeline p hello")
    assert "no longer reads stdin (EPIPE)" in line


def test_write_after_eof(shell: Shell) -> None:
    shell.ok("spawn p -- cat; eof p")
    assert "stdin is closed" in shell.fails("write p x")
    assert "already closed" in shell.fails("eof p")


def test_run_shows_output_and_status(shell: Shell) -> None:
    assert shell.ok("run -- echo hello") == "hello\nexited with status 0\n"
    assert shell.ok("run --input 'b\\na\\n' -- sort") == "a\nb\nexited with status 0\n"
    out = shell.ok("run -- " + child("import sys; print(1); sys.exit(4)"))
    assert out == "1\nexited with status 4\n"
    assert shell.ok("run --shell -- 'echo $((6*7)) | tr 4 X'") == "X2\nexited with status 0\n"
    assert shell.ok("run --env GREETING=hey -- sh -c 'echo $GREETING'").startswith("hey\n")
    assert shell.ok("run --cwd / -- pwd").startswith("/\n")


def test_run_errors(shell: Shell) -> None:
    assert "no such program 'nosuchprog'" in shell.fails("run -- nosuchprog")
    assert "CalledProcessError" in shell.fails("run --check -- false")
    line = shell.fails("run --timeout 0.3 -- sleep 5")
    assert line.startswith("error: run: timeout after 0.3 s; the child was killed")
    assert "give the program" in shell.fails("run")
    assert "no such directory" in shell.fails("run --cwd /nonexistent -- ls")
    assert "--env takes K=V" in shell.fails("run --env NOPE -- ls")


def test_spawn_errors(shell: Shell) -> None:
    assert "no such program" in shell.fails("spawn p -- /nonexistent/prog")
    assert "p" not in shell.session.registry
    shell.ok("spawn p -- cat")
    assert "taken by a process" in shell.fails("spawn p -- cat")
    assert "is a command" in shell.fails("spawn read -- cat")
    assert "not a valid name" in shell.fails("spawn 9x -- cat")
    assert "give the program" in shell.fails("spawn q")


def test_ps_and_ls(shell: Shell) -> None:
    assert "no child processes" in shell.ok("ps")
    shell.ok("spawn a -- cat; spawn b -- true; wait b")
    ps = shell.ok("ps").splitlines()
    assert ps[0].split() == ["NAME", "PID", "PGID", "STATE", "RC", "COMMAND"]
    a, b = (shell.session.registry.get(n).pid for n in "ab")  # type: ignore[attr-defined]
    # Each child leads its own process group (start_new_session): its pid is the group's.
    assert ps[1].split()[:4] == ["a", str(a), str(a), "running"]
    assert ps[2].split()[:8] == ["b", str(b), str(b), "exited", "with", "status", "0", "0"]
    ls = shell.ok("ls process").splitlines()
    assert ls[0].split() == ["NAME", "KIND", "STATE", "LOCAL", "REMOTE", "IN", "OUT", "AGE"]
    assert len(ls) == 3


def test_sh_library(shell: Shell) -> None:
    assert shell.ok("sh echo via sh") == "via sh\nexited with status 0\n"
    line = shell.fails("sh ls /nonexistent-dir")
    assert "ErrorReturnCode_2" in line
    assert "sh.CommandNotFound" in shell.fails("sh nosuchprogram")
    assert "sh.TimeoutException" in shell.fails("sh --timeout 0.3 sleep 5")


def test_close_terms_then_kills_a_stubborn_child(shell: Shell) -> None:
    code = """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("stubborn", flush=True)
        time.sleep(60)
    """
    shell.spawn("p", code)
    shell.ok("read p --line; set grace 0.3")
    proc = shell.session.registry.get("p")
    pid = proc.pid  # type: ignore[attr-defined]
    started = time.monotonic()
    out = shell.ok("close p")
    assert "killed after 0.3 s grace: killed by SIGKILL" in out
    assert time.monotonic() - started < 5
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped: no zombie left


def test_close_takes_the_whole_process_group(shell: Shell) -> None:
    shell.ok("spawn p --shell -- 'sleep 60 & echo $!; wait'")
    grandchild = int(shell.ok("read p --line"))
    shell.ok("close p")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the background sleep outlived close")


def test_py_sees_the_popen(shell: Shell) -> None:
    shell.ok("spawn p -- cat")
    pid = shell.session.registry.get("p").pid  # type: ignore[attr-defined]
    assert shell.ok("py p.pid") == f"{pid}\n"
    assert shell.ok("py type(p).__name__") == "'Popen'\n"
    assert shell.ok("py p.args") == "['cat']\n"


def test_interpreter_dialogue(shell: Shell) -> None:
    shell.ok(f"spawn pyi -- {PY} -u -i -q")
    shell.ok("expect pyi --stderr '>>> '")
    shell.ok("writeline pyi 6*7")
    assert shell.ok("read pyi --line") == "42\n"


def test_read_timeout_hints_at_pipe_buffering(shell: Shell) -> None:
    # Python without -u holds print() output in a buffer when stdout is a pipe.
    code = "print('held'); import time; time.sleep(30)"
    shell.ok(f'spawn p --env PYTHONUNBUFFERED= -- {PY} -c "{code}"')
    line = shell.fails("read p --timeout 0.3")
    assert "it has printed nothing on stdout yet" in line and "python3 -u" in line


def test_a_stopped_child_is_said_to_be_stopped(shell: Shell) -> None:
    shell.ok("spawn st -- sleep 60")
    proc = shell.session.registry.get("st")
    shell.ok("signal st STOP")
    assert shell.session.wait_for(proc.stopped, 5)  # type: ignore[attr-defined]
    assert "st: stopped (SIGCONT continues it)" in shell.ok("poll st")
    assert "stopped (SIGCONT continues it)" in shell.ok("ps")
    assert re.search(r"status: +stopped", shell.ok("info st"))
    assert "stopped" in shell.ok("ls process")
    shell.ok("signal st CONT")
    assert shell.session.wait_for(lambda: not proc.stopped(), 5)  # type: ignore[attr-defined]
    assert "st: running" in shell.ok("poll st")


@pytest.mark.parametrize(
    "line",
    ["write p x", "writeline p x", "eof p", "read p", "poll p", "communicate p",
     "signal p 0", "terminate p", "kill p"],
)  # fmt: skip
def test_a_child_closed_behind_the_shells_back_is_refused(shell: Shell, line: str) -> None:
    """The parser hands each command the Process its NAME names; one closed from py (still
    under its name) is refused in one line, not written to, read or signalled."""
    shell.ok("spawn p -- cat")
    pid = int(shell.ok("py p.pid"))
    shell.ok("py session.registry.find('p').close()")
    assert shell.fails(line) == "error: p is closed"
    assert "p" in shell.session.registry  # still named: the parser found it
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the close ended the child; the refused command started nothing


def test_close_does_not_count_a_member_the_groups_term_ended(shell: Shell, tmp_path: Path) -> None:
    """close TERMs the child's whole group: a member that goes with that TERM, even a
    moment after its leader, was not 'left running' (only one that outlives it is)."""
    slow = tmp_path / "slow.py"
    slow.write_text("import signal, sys, time\n"
                    "signal.signal(signal.SIGTERM, lambda *a: (time.sleep(0.05), sys.exit(0)))\n"
                    "print('up', flush=True)\ntime.sleep(60)\n")  # fmt: skip
    shell.ok(f"spawn p --shell -- '{PY} {slow} & wait'")
    assert shell.ok("read p --line --timeout 10") == "up\n"
    assert shell.ok("close p") == "p: terminated: killed by SIGTERM (signal 15)\n"
