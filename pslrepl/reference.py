"""The command reference (docs/REFERENCE.md), written from the command table itself.

``python -m pslrepl.reference`` prints it; ``--write`` updates docs/REFERENCE.md. The
suite checks that the file in the repository is what the table says, so the reference
can't drift from the shell.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.commandspec import Command, Opt

INTRO = """\
# pslrepl command reference

Every command of the shell, by group, as `help` shows it: usage, what it does, its
options, the stdlib calls behind it, and examples. This file is written from the
command table (`python -m pslrepl.reference --write`); the test suite checks it is
current and runs every example.

Notation: `NAME` is a new or existing resource's name, `ADDR` is `HOST:PORT`,
`[IPV6]:PORT`, a bare `PORT` (on 127.0.0.1) or a listening resource's name, `DATA`
is text with Python's bytes escapes (`\\r\\n`, `\\x00`), `S` is seconds. `[...]` is
optional, `...` repeats. `NAME VERB ARGS` works as `VERB NAME ARGS`. A `;` outside
quotes ends a command; `#` starts a comment.
"""


def _opt_text(opt: Opt) -> str:
    return opt.name if opt.metavar is None else f"{opt.name} {opt.metavar}"


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def command_section(cmd: Command) -> list[str]:
    out = [f"### {cmd.name}", "", cmd.summary[:1].upper() + cmd.summary[1:] + ".", ""]
    out += ["```text", cmd.usage(), "```", ""]
    if cmd.details:
        out += [cmd.details, ""]
    if cmd.aliases:
        out += ["Also: " + ", ".join(f"`{a}`" for a in cmd.aliases) + ".", ""]
    if cmd.opts:
        out += ["| option | |", "| --- | --- |"]
        out += [f"| `{_escape(_opt_text(o))}` | {_escape(o.help)} |" for o in cmd.opts]
        out.append("")
    for arg in cmd.args:
        listed = arg.kind.listing()
        if listed:
            out += [f"| {arg.kind.name} | |", "| --- | --- |"]
            out += [f"| `{key}` | {_escape(text)} |" for key, text in listed.items()]
            out.append("")
    if cmd.calls:
        out += ["Calls: " + ", ".join(f"`{c}`" for c in cmd.calls) + ".", ""]
    if cmd.examples:
        out += ["```text", *(f"psl> {e}" for e in cmd.examples), "```", ""]
    return out


def reference() -> str:
    from pslrepl.commands import all_commands
    from pslrepl.dispatch import CommandTable

    table = CommandTable(all_commands())
    out = [INTRO]
    groups = table.groups()
    out.append("Groups: " + ", ".join(
        f"[{g.title}](#{_anchor(g.title)})" for g, _ in groups
    ) + ".\n")  # fmt: skip
    for group, cmds in groups:
        out += [f"## {group.title}", ""]
        out += [f"- [`{c.name}`](#{_anchor(c.name)}): {c.summary}" for c in cmds]
        out.append("")
        for cmd in cmds:
            out += command_section(cmd)
    return "\n".join(out).rstrip("\n") + "\n"


def _anchor(title: str) -> str:
    """GitHub's anchor for a heading: lower case, spaces to -, punctuation dropped."""
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def names() -> str:
    """docs/NAMES.md: every name in the notes, and where it is in the shell."""
    from pslrepl.commands import all_commands
    from pslrepl.dispatch import CommandTable
    from pslrepl.reference_names import names_page

    return names_page(CommandTable(all_commands()))


def main(argv: list[str]) -> int:
    text = reference()
    if argv == ["--write"]:
        from pathlib import Path

        docs = Path(__file__).resolve().parent.parent / "docs"
        for path, body in ((docs / "REFERENCE.md", text), (docs / "NAMES.md", names())):
            path.write_text(body, encoding="utf-8")
            print(f"wrote {path}")
        return 0
    if argv:
        print("usage: python -m pslrepl.reference [--write]", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
