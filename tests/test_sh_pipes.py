"""sh in the foreground as its users know it: piping with |, accepted exit codes, input,
working directory, environment, a terminal or a pipe, and sh's own errors."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from tests.helpers import PY, Shell, child, child_pids


def test_a_piped_sh_gives_the_same_bytes_as_the_shell_pipeline(
    shell: Shell, tmp_path: Path
) -> None:
    """3 MB with every byte value (NUL, CR, LF...) through two pipes, compared by sha256:
    sh's | and /bin/sh's | give the same bytes."""
    data = bytes(range(256)) * (3 * 4096)
    src = tmp_path / "data"
    src.write_bytes(data)
    expected = hashlib.sha256(data.replace(b"a", b"A")).hexdigest()
    ran = shell.ok(f"run --shell -- 'cat {src} | tr a A | sha256sum'")
    piped = shell.ok(f"sh cat {src} | tr a A | sha256sum")
    assert ran.split()[0] == expected
    assert piped.split()[0] == expected
    assert piped.splitlines()[-1] == "exited with status 0"


def test_the_pipe_is_shs_never_a_system_shells(shell: Shell, tmp_path: Path) -> None:
    assert shell.ok("sh echo 'a|b' '$HOME' '*'") == "a|b $HOME *\nexited with status 0\n"
    assert shell.ok("sh echo a '|' b") == "a | b\nexited with status 0\n"
    for name in ("one", "two", "three"):
        (tmp_path / name).touch()
    assert shell.ok(f"sh ls -1 {tmp_path} | wc -l") == "3\nexited with status 0\n"
    assert "put spaces around |" in shell.fails("sh ls|wc")
    assert "no command before it" in shell.fails("sh | wc")
    assert "no command after it" in shell.fails("sh ls |")


def test_explain_writes_the_pipeline_as_sh_runs_it(shell: Shell) -> None:
    out = shell.ok("sh ls -1 / | wc -l")
    line = shell.ok("explain").splitlines()[1].strip()
    call = line.split("  # ")[0]
    assert call == "sh.wc('-l', _in=sh.ls('-1', '/', _piped=True))"
    import sh

    # The line, run as Python, gives what the shell showed.
    assert str(eval(call, {"sh": sh})) == out.splitlines()[0] + "\n"


def test_ok_code_accepts_a_grep_that_finds_nothing(shell: Shell, tmp_path: Path) -> None:
    words = tmp_path / "words"
    words.write_text("apple\nbanana\n")
    assert shell.fails(f"sh grep cherry {words}") == (
        "error: sh: grep exited with status 1 (ErrorReturnCode_1)"
    )
    assert shell.ok(f"sh --ok-code 0,1 grep cherry {words}") == (
        "exited with status 1 (accepted: --ok-code 0,1)\n"
    )
    assert shell.ok(f"sh --ok-code 0,1 grep apple {words}") == "apple\nexited with status 0\n"
    assert "_ok_code=[0, 1]" in shell.ok("explain")
    assert "no exit status" in shell.fails("sh --ok-code 256 true")
    assert "takes statuses like 0,1" in shell.fails("sh --ok-code x true")


def test_in_cwd_and_env(shell: Shell, tmp_path: Path) -> None:
    assert shell.ok("sh --in 'b\\x00\\r\\na\\n' --no-tty od -An -c") == (
        # od writes backslashes itself: shown doubled, as a backslash in data always is
        "   b  \\\\0  \\\\r  \\\\n   a  \\\\n\nexited with status 0\n"
    )
    assert shell.ok(f"sh --cwd {tmp_path} pwd") == f"{tmp_path}\nexited with status 0\n"
    out = shell.ok("sh --env GREETING=hi --env EMPTY= printenv GREETING EMPTY")
    assert out == "hi\n\nexited with status 0\n"
    assert shell.ok("sh --env A=B printenv PATH") == f"{os.environ['PATH']}\nexited with status 0\n"
    explained = shell.ok("explain")
    assert "_env={**os.environ, 'A': 'B'}" in explained
    assert "--env takes K=V" in shell.fails("sh --env NOEQUALS true")


def test_tty_or_pipe(shell: Shell) -> None:
    code = "import sys; print(sys.stdout.isatty())"
    assert shell.ok(f"sh {child(code)}").startswith("True\n")  # sh's default: a terminal
    assert shell.ok(f"sh --tty {child(code)}").startswith("True\n")
    assert shell.ok(f"sh --no-tty {child(code)}").startswith("False\n")
    assert "can't be used together" in shell.fails("sh --tty --no-tty true")


def test_errors_keep_shs_names_with_what_was_printed(shell: Shell) -> None:
    ok, out, err = shell(f"sh {child('import os; print(42, flush=True); os.kill(os.getpid(), 9)')}")
    assert not ok and out == "42\n"
    assert err.endswith("killed by SIGKILL (signal 9) (SignalException_SIGKILL)\n")
    line = shell.fails("sh ls /nonexistent-dir")
    assert line == "error: sh: ls exited with status 2 (ErrorReturnCode_2)"
    assert "sh.TimeoutException" in shell.fails("sh --timeout 0.2 sleep 5")
    assert shell.fails("sh echo hi | nosuchprogram-xyz") == (
        "error: sh: no such program 'nosuchprogram-xyz' on PATH: check the name or give a "
        "path (sh.CommandNotFound)"
    )


def test_the_program_that_failed_is_named(shell: Shell) -> None:
    assert shell.fails("sh false | cat") == (
        "error: sh: false exited with status 1 (ErrorReturnCode_1)"
    )
    ok, out, err = shell(f"sh echo hi | {PY} -c 'import sys; sys.stdin.read(); sys.exit(4)'")
    assert not ok
    assert err == f"error: sh: {PY} exited with status 4 (ErrorReturnCode_4)\n"


def test_a_pipeline_left_behind_by_a_failure_is_reaped(shell: Shell) -> None:
    shell.ok("sh true")  # the session's watchdog is up: its process stays
    children = child_pids()
    code = "import sys; sys.exit(2)"
    line = shell.fails(f"sh --timeout 30 sleep 30 | {child(code)}")
    assert re.search(r"exited with status 2 \(ErrorReturnCode_2\)$", line)
    assert child_pids() == children  # sleep was killed and reaped, not left to its timeout


def test_a_failing_pipeline_leaves_no_thread_behind(shell: Shell) -> None:
    """sh's thread for a command run with _timeout ends only once it is waited for: a
    pipeline that failed must wait for every command, or one thread stays per failure."""
    import threading

    shell.ok("sh true")  # sh's own first-use threads, before counting
    before = threading.active_count()
    for _ in range(5):
        assert "ErrorReturnCode_1" in shell.fails("sh ls / | false")
    assert shell.session.wait_for(lambda: threading.active_count() <= before, 10), (
        threading.enumerate()
    )


def test_sh_says_a_bad_cwd_as_spawn_does_and_takes_empty_input(
    shell: Shell, tmp_path: Path
) -> None:
    assert shell.fails(f"sh --cwd {tmp_path}/missing pwd") == (
        f"error: sh: no such directory '{tmp_path}/missing' for --cwd"
    )
    assert shell.fails("sh --cwd /etc/passwd pwd") == (
        "error: sh: not a directory '/etc/passwd' for --cwd"
    )
    assert shell.ok("sh --in '' cat") == "exited with status 0\n"  # _in='': empty stdin


def test_ok_code_in_a_pipeline_says_it_applies_to_each_program(shell: Shell) -> None:
    assert shell.fails("sh --ok-code 1 true | wc -l").endswith(
        "error: sh: wc exited with status 0 (ErrorReturnCode_0); --ok-code 1 applies to each "
        "program in the pipeline, so this one's status is refused"
    )
    # one program: nothing to add
    assert shell.fails("sh --ok-code 2 true") == (
        "error: sh: true exited with status 0 (ErrorReturnCode_0)"
    )
