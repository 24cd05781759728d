"""run and spawn say why a program could not start: each reason its own clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import Shell


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "noexec").write_text("#!/bin/sh\necho hi\n")
    (tmp_path / "noexec").chmod(0o644)
    (tmp_path / "junk").write_bytes(b"\x00\x01 no #! line\n")
    (tmp_path / "junk").chmod(0o755)
    (tmp_path / "nointerp").write_text("#!/nonexistent/interpreter\n")
    (tmp_path / "nointerp").chmod(0o755)
    return tmp_path


@pytest.mark.parametrize("command", ["run --", "spawn p --"])
def test_why_a_program_could_not_start(shell: Shell, files: Path, command: str) -> None:
    prefix = "error: run: " if command.startswith("run") else "error: "
    assert shell.fails(f"{command} {files}") == (
        f"{prefix}'{files}' is a directory, not a program (EACCES)"
    )
    assert shell.fails(f"{command} {files}/noexec") == (
        f"{prefix}'{files}/noexec' can't be executed: no execute permission (EACCES); "
        "chmod +x it, or give it to its interpreter"
    )
    assert shell.fails(f"{command} {files}/junk") == (
        f"{prefix}'{files}/junk' is not a program this system can run (ENOEXEC): "
        "a script needs a #! line"
    )
    assert shell.fails(f"{command} {files}/nointerp") == (
        f"{prefix}'{files}/nointerp' names an interpreter in its #! line that isn't there (ENOENT)"
    )
    assert shell.fails(f"{command} {files}/missing") == (
        f"{prefix}no such program '{files}/missing' (ENOENT): check the name or give a path"
    )
    assert "p" not in shell.session.registry
    assert shell.ok(f"run -- /bin/sh {files}/noexec") == "hi\nexited with status 0\n"


def test_a_relative_path_is_looked_up_in_cwd(shell: Shell, files: Path) -> None:
    line = shell.fails(f"run --cwd {files} -- ./nointerp")
    assert line == (
        "error: run: './nointerp' names an interpreter in its #! line that isn't there (ENOENT)"
    )
