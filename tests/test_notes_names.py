"""Every API name the notes list (tests/data/seed-notes.txt, the sheet the project grew
from) is answered by `help NAME`: a command of that name, the commands that make that
call, or where the value shows and why it has no command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import Shell

NOTES = Path(__file__).parent / "data" / "seed-notes.txt"


def api_names() -> list[str]:
    """The first name on each code line of the notes (`bind(address)`, `PIPE = -1`,
    `family/type/proto`), skipping comments, imports and shell lines."""
    names: list[str] = []
    for line in NOTES.read_text(encoding="utf-8").splitlines():
        if not line.startswith("    "):
            continue
        code = line.split("#")[0].strip()
        if not code or code.startswith(("import", "$", "...")):
            continue
        found = re.match(r"(?:self\.)?([A-Za-z_]\w*(?:/[A-Za-z_]\w*)*)", code)
        if found:
            names += [n for n in found[1].split("/") if n not in names]
    return names


def test_the_notes_are_read_whole() -> None:
    names = api_names()
    # A change that reads fewer names (a broken pattern) must not pass quietly.
    assert len(names) >= 85
    for name in ("Popen", "check_output", "PIPE", "connect_ex", "recv_into", "fromfd",
                 "family", "rfile", "serve_forever", "handle_request", "UDPServer"):  # fmt: skip
        assert name in names


@pytest.mark.parametrize("name", api_names())
def test_help_answers_every_name_in_the_notes(shell: Shell, name: str) -> None:
    out = shell.ok(f"help {name}")
    assert out.strip(), name
    assert "unknown command" not in out


def test_help_by_stdlib_name_says_where_it_is(shell: Shell) -> None:
    assert shell.ok("help create_connection").splitlines()[0] == (
        "create_connection is called by: tcp connect, relay, tls connect"
    )
    out = shell.ok("help returncode")
    assert out.startswith("returncode: Popen.returncode: ")
    assert "see: info" in out
    # A dotted name is looked up by its last part; an option's name finds its commands.
    assert shell.ok("help Popen.returncode").startswith("Popen.returncode: Popen.returncode")
    assert "see: run, spawn" in shell.ok("help env")
    assert "Python 2 internal" in shell.ok("help pipe_cloexec")
    assert (
        shell.fails("help nonsense") == "error: unknown command 'nonsense'; `help` lists commands"
    )
