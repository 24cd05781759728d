"""export py of what the shell does to an sh job beside its children and file objects:
read (sh keeps the job's output), signal 0 and --group, ps; and each command's other
resources still reach their own exporters (export's MODULES order)."""

from __future__ import annotations

from pathlib import Path

from pslrepl.export import MODULES, NOT_EXPORTED
from tests.helpers import Shell
from tests.test_export_units import check_same, script_of

# The job's sleep starts before it prints, and the job waits for it: its group holds two
# until they are signalled.
JOB = 'sh --bg j -- sh -c \'sleep 30 & printf "one\\ntwo" ; printf "x\\000y\\n" >&2; wait\''


def test_read_signal_and_ps_of_an_sh_job(shell: Shell, tmp_path: Path) -> None:
    out = check_same(shell, [
        "set notes off",
        JOB,
        "read j --line",  # while it runs: what it printed comes as it prints it
        "read j --stderr --repr",
        "signal j 0",
        "ps",
        "signal j TERM --group",
        "wait j",
        "read j --line",
        "read j",
        "ps",
        "close j",
    ], tmp_path)  # fmt: skip
    assert out[4].startswith("j: pid ") and out[4].endswith(
        " exists (signal 0 sends nothing: it checks the process is there)"
    )
    assert any(line.startswith("j: sent SIGTERM (15) to process group ") and
               line.endswith(" (2 processes)") for line in out)  # fmt: skip
    assert out[2:4] == ["one", "b'x\\x00y\\n'  (4 bytes)"]  # read while it runs
    at = out.index("two")
    assert out[at : at + 2] == ["two", "(EOF before the newline)"]
    assert "EOF: j closed its stdout and nothing is left" in out
    assert sum(line.startswith("j ") and "running" in line for line in out) == 1
    assert sum(line.startswith("j ") and "killed by SIGTERM" in line for line in out) == 1
    source = script_of(shell)
    assert "j.signal_group(signal.SIGTERM)" in source and "job_read(j, 'stderr'" in source


def test_close_and_read_reach_a_file_object_a_child_and_an_sh_job(
    shell: Shell, tmp_path: Path
) -> None:
    # shlib (sh jobs) comes after socket_files (file objects) and session_cmds: each hands
    # what is not its own on to the one before it.
    assert MODULES.index("shlib") > MODULES.index("socket_files") > MODULES.index("session_cmds")
    out = check_same(shell, [
        "socketpair a b",
        "makefile f b rb",
        "spawn p -- cat",
        "sh --bg j -- sh -c 'echo job'",
        "wait j",
        r'send a "one\n"',
        "read f --line",
        "writeline p two",
        "read p --line",
        "read j",
        "close f",
        "close p",
        "close j",
        "close a",
        "wait p",
    ], tmp_path)  # fmt: skip
    assert "f: closed; b stays open" in out
    assert out.count("job") == 1 and "one" in out and "two" in out
    assert NOT_EXPORTED not in script_of(shell)
