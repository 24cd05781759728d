"""export py FILE: the session so far written as a script, 0600, never through a link."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.helpers import Shell


def test_export_py_writes_the_script_0600_and_never_through_a_link(shell: Shell, tmp_path: Path):
    shell.ok("spawn p -- cat")
    shell.ok("writeline p hi")
    shell.ok("py session.tmp")  # pslrepl's own: never exported
    target = tmp_path / "out" / "session.py"
    target.parent.mkdir()  # a missing directory is refused (tests/test_files_written.py)
    said = shell.ok(f"export py {target}")
    assert said == (f"exported the session to {target}; 1 command marked # NOT EXPORTED "
                    "(not written yet: py)\n")  # fmt: skip
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert "# psl> writeline p hi" in target.read_text()
    assert "export py" not in target.read_text()  # looking back is not exported
    link = tmp_path / "link.py"
    victim = tmp_path / "victim"
    victim.write_text("keep")
    link.symlink_to(victim)
    error = shell.fails(f"export py {link}")
    assert "symbolic link" in error
    assert victim.read_text() == "keep"
    shell.ok("echo the shell goes on")
