"""export py of sh jobs as export's modules stand (no reordering): wait and close of a
job are written, and close and the script's end end its whole group, KILL after the
grace for one that ignores TERM, as the shell does."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Shell
from tests.test_export_units import check_same, script_of
from tests.test_sh_groups import ended


def test_close_of_a_job_ignoring_term_and_the_scripts_end_leave_nothing(
    shell: Shell, tmp_path: Path
) -> None:
    up, left = tmp_path / "up", tmp_path / "left"
    # Until the job's shell has set its trap (it then makes the file): at most 20 s.
    wait_up = (f"py any(__import__('time').sleep(0.01) for _ in range(2000) "
               f"if not __import__('os').path.exists({str(up)!r}))")  # fmt: skip
    out = check_same(shell, [
        f"sh rm -f {up}",
        f"sh --bg a sh -c 'trap \"\" TERM; touch {up}; exec sleep 60'",
        wait_up,
        "close a",
        "sh --bg c sh -c 'exit 3'",
        "wait c",
        f"sh --bg b sh -c 'sleep 60 & echo $! > {left}; wait'",
    ], tmp_path)  # fmt: skip
    assert "a: killed after 1 s grace: killed by SIGKILL (signal 9)" in out
    assert "c: exited with status 3 (ErrorReturnCode_3)" in out
    source = script_of(shell)
    assert "end_job(a)" in source and "c.wait()" in source
    # The script has ended: its b's leftover (the pid it wrote last) went with it.
    assert ended(int(left.read_text()))
