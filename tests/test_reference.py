"""docs/REFERENCE.md is the command table's, and every example in it runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pslrepl.commands import all_commands
from pslrepl.commandspec import Command
from pslrepl.reference import reference
from tests.helpers import make_shell

DOCS = Path(__file__).resolve().parent.parent / "docs" / "REFERENCE.md"
COMMANDS = [c for c in all_commands() if c.examples]


def test_the_reference_in_docs_is_the_command_tables() -> None:
    assert DOCS.read_text(encoding="utf-8") == reference(), (
        "docs/REFERENCE.md is out of date: python -m pslrepl.reference --write"
    )


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: c.name.replace(" ", "-"))
def test_every_example_runs(cmd: Command, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each command's setup, then its examples, in a fresh session (in a scratch
    directory, so examples may write files): every one succeeds."""
    monkeypatch.chdir(tmp_path)
    shell = make_shell()
    shell.session.settings.timeout = 5.0
    if cmd.name == "sudo":  # no sudo here, nor a password: a stand-in that runs ARGV
        fake = tmp_path / "bin" / "sudo"
        fake.parent.mkdir()
        fake.write_text('#!/bin/sh\nread -r password\nwhile [ "$1" != -- ]; do shift; done\n'
                        'shift\nexec "$@"\n')  # fmt: skip
        fake.chmod(0o755)
        monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
        shell.session.env.ask_password = lambda prompt: "not-a-real-password"
    try:
        for line in (*cmd.setup, *cmd.examples):
            ok, out, err = shell(line)
            assert ok, f"{line!r} failed: {err.strip()}"
            assert "Traceback" not in out + err
    finally:
        shell.close()
