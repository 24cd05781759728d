"""export py of the sh command: in the foreground, piped, with --ok-code and --in, and in
the background (--bg, --iter) with wait, poll and signal on its job; each script, run
alone, prints what the shell printed."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Shell
from tests.test_export_signals import signals_exported  # noqa: F401 - the fixture
from tests.test_export_units import check_same, script_of


def test_a_pipeline_as_sh_pipes_it(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        r"sh printf 'a\nb\nc\n' | wc -l",
        r"sh --in 'b\na\n' --no-tty sort | cat -A",
        f"sh ls {tmp_path}/missing | wc -l",
        "sh --ok-code 0,1 printf 'x\n' | grep nosuchword",
        "sh printf 'x\n' | grep --silent nosuchword",
    ], tmp_path)  # fmt: skip
    assert out[:2] == ["3", "exited with status 0"]
    assert out[2:4] == ["a$", "b$"]
    assert "exited with status 1 (accepted: --ok-code 0,1)" in out
    assert out[-1] == "error: sh: grep exited with status 1 (ErrorReturnCode_1)"
    source = script_of(shell)
    assert "piped = sh.printf('a\\\\nb\\\\nc\\\\n', _err=errs[0], _timeout=5, _piped=True, " in (
        source)  # fmt: skip
    assert (
        "done = sh.wc('-l', _in=piped, _out=out, _err=errs[1], _timeout=5, _return_cmd=True)"
        in (source)
    )


def test_a_background_job_waited_polled_and_signalled(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "sh --bg j true",
        "wait j",
        "poll j",
        f"sh --bg k ls {tmp_path}/missing",
        "wait k",
        "wait k",
        "sh --bg m sleep 30",
        "poll m",
        "signal m TERM",
        "wait m",
        "signal m TERM",
        "sh --bg it --iter printf 'one\\ntwo\\n'",
        "wait it",
        "sh --bg k2 sleep 30",
        "kill k2",
        "wait k2",
        "sh --bg t sleep 30",
        "terminate t",
        "wait t",
        "close t",
        "sh --bg n sleep 30",
        "close n",
        "sh --bg left sleep 30",
    ], tmp_path)  # fmt: skip
    assert "k2: killed by SIGKILL (signal 9) (SignalException_SIGKILL)" in out
    assert "t: closed (killed by SIGTERM (signal 15))" in out
    assert "n: terminated: killed by SIGTERM (signal 15)" in out
    assert out[1:3] == ["j: exited with status 0", "j: exited with status 0"]
    assert "k: exited with status 2 (ErrorReturnCode_2)" in out
    assert "m: running (is_alive() returned True)" in out
    assert "m: killed by SIGTERM (signal 15) (SignalException_SIGTERM)" in out
    assert out[-1].startswith("left: started pid ")
    source = script_of(shell)
    assert "m = sh.sleep('30', _bg=True, _bg_exc=False, _new_session=True)" in source
    assert "_out=it_lines.append" in source
    assert "_ = end_job(left)" in source  # what the shell's exit does: its group ended


def test_reading_an_sh_job_takes_what_sh_kept(shell: Shell, tmp_path: Path):
    out = check_same(shell, ["sh --bg j printf 'hi\\n'", "wait j", "read j", "read j"],
                     tmp_path)  # fmt: skip
    assert out[-2:] == ["hi", "EOF: j closed its stdout and nothing is left"]
    assert "job_read(j, 'stdout', j_taken['stdout'], 'any', 5)" in script_of(shell)


def test_a_missing_program_and_a_timeout_are_said_and_the_script_goes_on(
    shell: Shell, tmp_path: Path
):
    out = check_same(shell, [
        "sh nosuchprogram_xyz",
        "sh --timeout 0.2 sleep 5",
        "sh echo hi | nosuchprogram_xyz",
        "sh echo after",
    ], tmp_path)  # fmt: skip
    missing = ("error: sh: no such program 'nosuchprogram_xyz' on PATH: check the name or "
               "give a path (sh.CommandNotFound)")  # fmt: skip
    assert out == [
        missing,
        "error: sh: timeout after 0.2 s; sleep was killed (sh.TimeoutException); 0 bytes of "
        "output; --timeout S waits longer",
        missing,
        "after",
        "exited with status 0",
    ]


def test_ok_code_in_a_pipeline_is_said_the_same_by_the_script(shell: Shell, tmp_path: Path):
    out = check_same(shell, ["sh --ok-code 1 true | wc -l", "sh echo after"], tmp_path)
    assert out[-3].endswith("--ok-code 1 applies to each program in the pipeline, so this "
                            "one's status is refused")  # fmt: skip
