"""`sh` against bad input: each mistake is one error line that says what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import PY, Shell, child


def test_sh_says_exited_with_status_as_everything_else(shell: Shell) -> None:
    assert shell.ok("sh true") == "exited with status 0\n"
    assert shell.ok("run -- true") == "exited with status 0\n"
    assert shell.fails("sh false") == "error: sh: false exited with status 1 (ErrorReturnCode_1)"


def test_a_directory_is_not_a_program(shell: Shell, tmp_path: Path) -> None:
    line = shell.fails(f"sh {tmp_path}")
    assert line == f"error: sh: '{tmp_path}' is a directory, not a program (sh.CommandNotFound)"


def test_a_file_without_execute_permission(shell: Shell, tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    line = shell.fails(f"sh {script}")
    assert line == (
        f"error: sh: '{script}' can't be executed: no execute permission (EACCES); "
        "chmod +x it, or give it to its interpreter (sh.CommandNotFound)"
    )
    assert shell.ok(f"sh /bin/sh {script}") == "hi\nexited with status 0\n"


def test_a_file_that_is_not_a_program(shell: Shell, tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x00\x01 not an ELF, no #! line\n")
    junk.chmod(0o755)
    line = shell.fails(f"sh {junk}")
    assert line == (
        f"error: sh: can't run '{junk}': Exec format error (ENOEXEC): it is not a program "
        "this system can run (a script needs a #! line) (sh.ForkException)"
    )


def test_a_script_whose_interpreter_is_missing(shell: Shell, tmp_path: Path) -> None:
    script = tmp_path / "script"
    script.write_text("#!/nonexistent/interpreter\n")
    script.chmod(0o755)
    line = shell.fails(f"sh {script}")
    assert line == (
        f"error: sh: can't run '{script}': No such file or directory (ENOENT): its #! line "
        "names an interpreter that isn't there (sh.ForkException)"
    )


def test_missing_programs(shell: Shell) -> None:
    assert shell.fails("sh nosuchprogram-xyz") == (
        "error: sh: no such program 'nosuchprogram-xyz' on PATH: check the name or give a "
        "path (sh.CommandNotFound)"
    )
    assert shell.fails("sh /nonexistent/prog") == (
        "error: sh: no such program '/nonexistent/prog': check the path (sh.CommandNotFound)"
    )
    assert shell.fails("sh ''") == "error: sh: give a program, like: sh ls -l"


def test_a_program_on_path_without_permission(
    shell: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = tmp_path / "mytool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o600)
    monkeypatch.setenv("PATH", str(tmp_path))
    line = shell.fails("sh mytool")
    assert line.startswith(f"error: sh: '{tool}' can't be executed: no execute permission")


def test_a_timeout_shows_what_came_and_names_the_option(shell: Shell) -> None:
    ok, out, err = shell(f"sh --timeout 0.5 {child('import time; print(1234); time.sleep(30)')}")
    assert not ok
    assert out == "1234\n"
    assert err == (
        "error: sh: timeout after 0.5 s; " + PY + " was killed (sh.TimeoutException); "
        "5 bytes of output: b'1234\\n'; --timeout S waits longer\n"
    )


def test_output_that_is_not_utf8(shell: Shell) -> None:
    code = "import sys; sys.stdout.buffer.write(b'caf\\xe9 \\xff\\x00 ok\\n'); sys.exit(3)"
    ok, out, err = shell(f"sh {child(code)}")
    assert not ok
    assert out == "caf\\xe9 \\xff\\x00 ok\n"  # shown escaped, never a decoding error
    assert err == f"error: sh: {PY} exited with status 3 (ErrorReturnCode_3)\n"
    assert shell.ok(f"sh --timeout 5 {PY} -c 'print(1)'") == "1\nexited with status 0\n"


def test_a_signal_is_named(shell: Shell) -> None:
    code = "import os, signal; os.kill(os.getpid(), signal.SIGHUP)"
    assert shell.fails(f"sh {child(code)}") == (
        f"error: sh: {PY} killed by SIGHUP (signal 1) (SignalException_SIGHUP)"
    )
