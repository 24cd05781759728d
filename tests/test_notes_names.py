"""Every API name the notes list (docs/seed-notes.txt, the sheet the project grew
from) is answered by `help NAME`: a command of that name, the commands that make that
call, or where the value shows and why it has no command."""

from __future__ import annotations

import pytest

from pslrepl import reference_names
from pslrepl.reference import names
from tests.helpers import Shell


def api_names() -> list[str]:
    return [name for _, name in reference_names.api_names()]


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


def test_the_names_page_is_current_and_answers_every_name() -> None:
    page = reference_names.NOTES.parent / "NAMES.md"
    assert page.read_text(encoding="utf-8") == names(), (
        "docs/NAMES.md is out of date: python -m pslrepl.reference --write"
    )
    text = names()
    assert "**not answered**" not in text
    for name in api_names():
        assert f"| `{name}` | " in text, name
