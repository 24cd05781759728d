"""`wait` on an sh job: sh's own words for its end, once, and sh's call in explain."""

from __future__ import annotations

from tests.helpers import Shell


def test_wait_on_a_failed_sh_job_names_shs_error_once(shell: Shell) -> None:
    shell.ok("sh --bg j -- sh -c 'exit 2'")
    out = shell.ok("wait j")
    assert out == "j: exited with status 2 (ErrorReturnCode_2)\n"
    assert shell.ok("echo after") == "after\n"  # the exit event was not said again
    assert shell.ok("explain 2") == "# 2: wait j\n  j.wait()  # -> 2\n"


def test_wait_on_a_child_stays_popen_wait(shell: Shell) -> None:
    shell.ok("spawn p -- sh -c 'exit 3'")
    assert shell.ok("wait p") == "p: exited with status 3\n"
    assert shell.ok("explain") == "# 2: wait p\n  p.wait()  # -> 3\n"
