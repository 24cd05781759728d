"""call, check_call and check_output against real children: statuses, output, errors, export."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from pslrepl.export import export_records, session_facts
from tests.helpers import Shell, child, child_pids


def test_call_returns_the_status_and_is_no_error(shell: Shell) -> None:
    assert shell.ok("call -- true") == "call returned 0 (exited with status 0)\n"
    out = shell.ok("call --shell -- 'echo hi; exit 3'")
    assert out == "hi\ncall returned 3 (exited with status 3)\n"
    out = shell.ok("call --shell -- 'kill -9 $$'")
    assert out == "call returned -9 (killed by SIGKILL (signal 9))\n"


def test_call_stderr_devnull_and_stdout(shell: Shell) -> None:
    # The child's stderr is shown too (after its stdout), unless sent elsewhere.
    both = "sh -c 'echo out; echo err >&2'"
    assert shell.ok(f"call -- {both}") == "out\nerr\ncall returned 0 (exited with status 0)\n"
    assert shell.ok(f"call --stderr devnull -- {both}") == (
        "out\ncall returned 0 (exited with status 0)\n"
    )
    # STDOUT: one pipe, so the order is the child's own.
    both = "sh -c 'echo err >&2; echo out'"
    assert shell.ok(f"call --stderr stdout -- {both}").startswith("err\nout\n")


def test_check_call_raises_called_process_error(shell: Shell) -> None:
    assert shell.ok("check_call -- true") == "check_call returned 0 (exited with status 0)\n"
    line = shell.fails("check_call -- false")
    assert line == ("error: check_call: CalledProcessError: Command '['false']' returned "
                    "non-zero exit status 1. (returncode 1)")  # fmt: skip
    line = shell.fails("check_call --shell -- 'kill -TERM $$'")
    assert "died with <Signals.SIGTERM: 15>" in line and "(returncode -15)" in line


def test_check_output_returns_the_bytes_exactly(shell: Shell) -> None:
    assert shell.ok("check_output -- echo hello") == "hello\n(check_output returned 6 bytes)\n"
    out = shell.ok("check_output --repr -- printf 'a\\0b\\r\\n'")
    assert out == "b'a\\x00b\\r\\n'  (5 bytes)\n(check_output returned 5 bytes)\n"
    assert shell.ok("check_output --input 'b\\na\\n' -- sort").startswith("a\nb\n(check_output")


def test_check_output_large_output_and_binary_input_exactly(shell: Shell) -> None:
    line = bytes(range(32, 127)) + b"\n"  # printable: shown as it is, but \ doubled
    code = f"import sys; sys.stdout.buffer.write({line!r} * 6000)"
    out = shell.ok("check_output -- " + child(code))
    tail = f"(check_output returned {len(line) * 6000} bytes)\n"
    assert out.endswith(tail)
    got = hashlib.sha256(out[: -len(tail)].encode()).hexdigest()
    assert got == hashlib.sha256(line.replace(b"\\", b"\\\\") * 6000).hexdigest()
    echo = "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())"
    out = shell.ok("check_output --repr --input 'a\\0b\\r\\n' -- " + child(echo))
    assert out.startswith("b'a\\x00b\\r\\n'  (5 bytes)\n")


def test_check_output_failure_keeps_its_output(shell: Shell) -> None:
    ok, out, err = shell("check_output --shell -- 'echo partial; exit 4'")
    assert not ok and out == "partial\n"
    assert err == ("error: check_output: CalledProcessError: Command 'echo partial; exit 4' "
                   "returned non-zero exit status 4. (returncode 4); its output: 8 bytes "
                   "(shown above)\n")  # fmt: skip


def test_check_output_stderr_choices(shell: Shell) -> None:
    both = "sh -c 'echo out; echo err >&2'"
    assert shell.ok(f"check_output --stderr stdout -- {both}").startswith("out\nerr\n")
    assert shell.ok(f"check_output -- {both}") == "out\nerr\n(check_output returned 4 bytes)\n"
    assert shell.ok(f"check_output --stderr devnull -- {both}") == (
        "out\n(check_output returned 4 bytes)\n"
    )
    # PIPE: kept for the error only, so a success shows none of it.
    assert shell.ok(f"check_output --stderr pipe -- {both}") == (
        "out\n(check_output returned 4 bytes)\n"
    )
    ok, out, err = shell("check_output --stderr pipe -- sh -c 'echo err >&2; exit 1'")
    assert not ok and "its output: 0 bytes, its stderr: 4 bytes (shown above)" in err


def test_check_output_text_decodes_newlines(shell: Shell) -> None:
    out = shell.ok("check_output --text -- printf 'a\\r\\nb\\rc'")
    assert out.endswith("(check_output returned str of 5 characters)\n")
    line = shell.fails("check_output --text -- printf 'ok\\377'")
    assert line.startswith("error: check_output: UnicodeDecodeError: 'utf-8' codec can't "
                           "decode byte 0xff in position 2")  # fmt: skip
    assert line.endswith("without --text it returns the bytes")


def test_timeout_kills_and_reaps(shell: Shell) -> None:
    line = shell.fails("check_output --timeout 0.3 -- sleep 30")
    assert line.startswith("error: check_output: TimeoutExpired: Command '['sleep', '30']' "
                           "timed out after 0.3 seconds; the child was killed")  # fmt: skip
    for pid in child_pids():  # the shell's watchdog aside, nobody: killed and reaped
        assert Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0] != b"sleep"
        assert b") Z " not in Path(f"/proc/{pid}/stat").read_bytes()


@pytest.mark.parametrize("cmd", ["call", "check_call"])
def test_options_that_only_check_output_takes(shell: Shell, cmd: str) -> None:
    assert "--input is check_output's" in shell.fails(f"{cmd} --input x -- cat")
    assert "--stderr pipe" in shell.fails(f"{cmd} --stderr pipe -- true")
    assert "--text changes only" in shell.fails(f"{cmd} --text -- true")
    assert "no such program 'nosuch'" in shell.fails(f"{cmd} -- nosuch")
    assert "give the program" in shell.fails(cmd)


def test_explain_records_the_calls(shell: Shell) -> None:
    shell.ok("set explain on")
    out = shell.ok("check_output --input hi -- cat")
    assert "subprocess.check_output(['cat'], input=b'hi', timeout=5, " in out
    assert "# -> b'hi'" in out
    ok, out, err = shell("check_call --stderr devnull -- false")
    assert (
        "subprocess.check_call(['false'], stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL"
        in out
        and "raised CalledProcessError" in out
    )


def test_export_runs_the_same(shell: Shell, tmp_path: Path) -> None:
    lines = ["check_output -- printf 'x\\ty'", "call --shell -- 'exit 2'",
             "check_call --env A=1 --env B=2 -- sh -c 'echo $A$B'",
             "check_output --text -- echo t"]  # fmt: skip
    shown = "".join(shell.ok(line) for line in lines)
    script = export_records(shell.session.history, **session_facts(shell.session)).text()
    assert "subprocess.check_call(" in script and "subprocess.call(" in script
    path = tmp_path / "s.py"
    path.write_text(script)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          timeout=30)  # fmt: skip
    assert done.stdout == shown
