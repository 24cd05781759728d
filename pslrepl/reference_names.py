"""docs/NAMES.md: every API name in the notes the project grew from, and where it is in
the shell (its command, or the commands that make that call, or where the value shows).

Written with the reference (`python -m pslrepl.reference --write`); the suite checks it
is current, and that `help NAME` answers each name.
"""

from __future__ import annotations

import re
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.dispatch import CommandTable

NOTES = Path(__file__).resolve().parent.parent / "docs" / "seed-notes.txt"

INTRO = """\
# Every name in the notes

The notes this project grew from ([seed-notes.txt](seed-notes.txt)) are an API sheet:
subprocess, socket and socketserver, name by name. Each name is here with where it is
in the shell: its command, the commands that make that call, or where the value shows
and why it has no command of its own. `help NAME` says the same at the prompt. This
file is written from the command table (`python -m pslrepl.reference --write`).\
"""


def api_names(text: str | None = None) -> list[tuple[str, str]]:
    """(section, name) for the first name on each code line of the notes (`bind(address)`,
    `PIPE = -1`, `family/type/proto`), skipping comments, imports and shell lines; each
    name once, in the notes' order."""
    if text is None:
        text = NOTES.read_text(encoding="utf-8")
    found: dict[str, str] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            continue
        if not line.startswith("    "):
            continue
        code = line.split("#")[0].strip()
        if not code or code.startswith(("import", "$", "...")):
            continue
        match = re.match(r"(?:self\.)?([A-Za-z_]\w*(?:/[A-Za-z_]\w*)*)", code)
        if match:
            for name in match[1].split("/"):
                found.setdefault(name, section)
    return [(section, name) for name, section in found.items()]


def where(name: str, table: CommandTable) -> str:
    """One line on where NAME is: a command's usage and summary, or help's answer."""
    from pslrepl.commands.stdlib_names import stdlib_help

    cmd, used = table.resolve([name])
    if cmd is not None and used == 1:
        return f"`{cmd.usage()}`: {cmd.summary}"
    found = stdlib_help(name, table.commands)
    if found is None:
        return ""
    answer, makers = found
    shown = ", ".join(f"`{m}`" for m in makers)
    if not answer:
        return f"called by {shown}"
    return f"{answer} (see {shown})" if makers else answer


def names_page(table: CommandTable) -> str:
    out = [INTRO]
    section = None
    for part, name in api_names():
        if part != section:
            section = part
            out += ["", f"## {part}", "", "| name | in pslrepl |", "| --- | --- |"]
        text = where(name, table) or "**not answered**"
        out.append(f"| `{name}` | {text.replace('|', chr(92) + '|')} |")
    return "\n".join(out).rstrip("\n") + "\n"
