"""docs/SOCKETS.md: its lesson runs as written, and its table names every socket name in
the notes with a command that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pslrepl.replay import replay
from pslrepl.transcript import PROMPT, parse
from tests.helpers import Shell
from tests.test_readme import as_transcript, tour_blocks

DOC = Path(__file__).resolve().parent.parent / "docs" / "SOCKETS.md"
NOTES = Path(__file__).resolve().parent.parent / "docs" / "seed-notes.txt"


def socket_names() -> list[str]:
    """The first name on each code line of the notes' socket section (as
    test_notes_names reads the whole sheet)."""
    text = NOTES.read_text(encoding="utf-8")
    section = text.split("\n## socket\n", 1)[1].split("\n## ", 1)[0]
    names: list[str] = []
    for line in section.splitlines():
        if not line.startswith("    "):
            continue
        code = line.split("#")[0].strip()
        if not code or code.startswith(("import", "$", "...")):
            continue
        found = re.match(r"([A-Za-z_]\w*(?:/[A-Za-z_]\w*)*)", code)
        if found:
            names += [n for n in found[1].split("/") if n not in names]
    return names


def table() -> dict[str, str]:
    """The page's table: each name in the notes, and its command cell."""
    rows = re.findall(r"^\| `(\w+)` \| (.+) \|$", DOC.read_text(encoding="utf-8"), re.M)
    return dict(rows)


def test_the_notes_socket_section_is_read_whole() -> None:
    names = socket_names()
    assert len(names) >= 50
    for name in ("bind", "connect_ex", "recv_into", "makefile", "fromfd", "family",
                 "socketpair", "create_connection"):  # fmt: skip
        assert name in names


def test_every_socket_name_in_the_notes_has_a_row_whose_command_exists(shell: Shell) -> None:
    rows = table()
    assert set(socket_names()) <= set(rows), set(socket_names()) - set(rows)
    commands = shell.dispatcher.table
    for name, cell in rows.items():
        spelled = re.findall(r"`([^`]+)`", cell)
        assert spelled, name
        for usage in spelled:
            words = usage.replace("\\|", "|").split()
            assert commands.knows(words[0]) or words[0] == "py", (name, usage)
            cmd, used = commands.resolve(words)
            if cmd is None or cmd.name != name:
                continue
            # The command of the call's own name is spelled as help says: each argument
            # and option the row names.
            shown = cmd.usage()
            for word in words[used:]:
                for part in re.split(r"[\[\]|.]+", word):
                    if part and (part.isupper() or part.startswith("--")):
                        assert part in shown, (name, usage, shown)


@pytest.mark.timeout(120)
def test_the_lesson_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    blocks = tour_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 3
    lines = [line for block in blocks for line in block]
    assert sum(line.startswith(PROMPT) for line in lines) >= 15
    outcome = replay(parse(as_transcript(lines)), path="docs/SOCKETS.md")
    assert outcome.ok, outcome.report()
