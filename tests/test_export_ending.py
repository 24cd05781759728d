"""An exported script's end closes what is still open as the shell's exit does: a
child's whole process group (a --shell child's background members too), not only it."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.helpers import Shell
from tests.test_export_units import check_same, script_of


def test_the_scripts_end_ends_a_shell_childs_whole_group(shell: Shell, tmp_path: Path):
    from tests.test_sh_groups import ended

    # The child's shell writes its background sleep's pid to a file: a member of its
    # group, left running when the session (and the script) ends with it open.
    pids = tmp_path / "pids"
    check_same(shell, [f"spawn q --shell -- 'sleep 60 & echo $! >> {pids}; echo up; wait'",
                       "read q --line --timeout 10"], tmp_path)  # fmt: skip
    source = script_of(shell)
    # end_child is defined before the ending that calls it
    assert source.index("def end_child(") < source.index("end_child(q)")
    found = [int(p) for p in pids.read_text().split()]
    shell.ok("close q")
    left = [pid for pid in found if not ended(pid)]
    for pid in left:  # (where the script left it, the test ends it: nothing stays behind)
        os.kill(pid, signal.SIGKILL)
    assert len(found) == 2  # one from the shell's run, one from the script's
    assert not left  # the script's end ended its child's sleep too
