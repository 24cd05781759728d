"""Every command's reference examples, exported: the export never fails, and the script
compiles and is clean for ruff; an exporter that raised says so in a marked comment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pslrepl.commands import all_commands
from pslrepl.commandspec import Command
from pslrepl.export import export_records, session_facts
from tests.helpers import make_shell

COMMANDS = [c for c in all_commands() if c.examples]
RUFF = Path(sys.executable).parent / "ruff"
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: c.name.replace(" ", "-"))
def test_every_example_exports_to_a_clean_script(
    cmd: Command, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shell = make_shell()
    shell.session.settings.timeout = 5.0
    if cmd.name == "sudo":  # no sudo here: a stand-in that runs ARGV
        fake = tmp_path / "bin" / "sudo"
        fake.parent.mkdir()
        fake.write_text('#!/bin/sh\nread -r password\nwhile [ "$1" != -- ]; do shift; done\n'
                        'shift\nexec "$@"\n')  # fmt: skip
        fake.chmod(0o755)
        monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
        shell.session.env.ask_password = lambda prompt: "not-a-real-password"
    try:
        for line in (*cmd.setup, *cmd.examples):
            shell(line)
        script = export_records(shell.session.history, **session_facts(shell.session))
    finally:
        shell.close()
    source = script.text()
    assert "export failed on it" not in source, source
    compile(source, "exported.py", "exec")
    path = tmp_path / "exported.py"
    path.write_text(source)
    done = subprocess.run([str(RUFF), "check", "--no-cache", "--config",
                           str(ROOT / "pyproject.toml"), str(path)],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stdout + source
