"""Files the user names (export py, timeline --svg/--html, save, --export-py -o) go
where they said, as open() would: a missing directory is an error, never made, and the
directory written into keeps its permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.helpers import Shell, run_cli

WRITERS = ["export py {}", "timeline --svg {}", "timeline --html {}", "save {}"]


@pytest.mark.parametrize("line", WRITERS, ids=lambda s: s.split(" {")[0].replace(" ", "-"))
def test_a_missing_directory_is_refused_and_not_made(shell: Shell, tmp_path: Path,
                                                     line: str) -> None:  # fmt: skip
    target = tmp_path / "missing" / "deeper" / "out.file"
    error = shell.fails(line.format(target))
    assert f"the directory {target.parent} does not exist" in error
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("line", WRITERS, ids=lambda s: s.split(" {")[0].replace(" ", "-"))
def test_the_directory_written_into_keeps_its_mode(shell: Shell, tmp_path: Path,
                                                   line: str) -> None:  # fmt: skip
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o755)
    shell.ok("echo hi")
    shell.ok(line.format(folder / "out.file"))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "out.file").stat().st_mode) == 0o600


def test_export_py_option_o_into_a_missing_directory(tmp_path: Path) -> None:
    transcript = tmp_path / "t.psl"
    transcript.write_text("psl> echo hi\nhi\n")
    target = tmp_path / "nope" / "out.py"
    done = run_cli("--export-py", str(transcript), "-o", str(target))
    assert done.returncode != 0
    assert f"the directory {target.parent} does not exist" in done.stderr
    assert not target.parent.exists() and "Traceback" not in done.stderr


def test_ca_issue_makes_its_own_folder(shell: Shell, tmp_path: Path) -> None:
    folder = tmp_path / "certs" / "server"
    shell.ok(f"ca issue srv {folder}")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(os.listdir(folder)) == ["srv.key", "srv.pem"]
