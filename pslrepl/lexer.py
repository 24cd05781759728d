"""A pygments lexer for the command language: commands, names, options, data, numbers, comments."""

from __future__ import annotations

import re

from pygments.lexer import RegexLexer, bygroups
from pygments.token import Comment, Keyword, Name, Number, Punctuation, String, Text, Whitespace


def _command_pattern() -> str:
    from pslrepl.commands import all_commands

    names: set[str] = set()
    for cmd in all_commands():
        names.update((cmd.name, *cmd.aliases))
    # Longest first, so "tcp connect" wins over "tcp"; a word ends at space, ; or EOL.
    alternatives = "|".join(
        re.escape(n).replace(r"\ ", r"\s+") for n in sorted(names, key=len, reverse=True)
    )
    return rf"(?:{alternatives})(?=[\s;]|$)"


_END = r"(?=[\s;]|$)"


class PslLexer(RegexLexer):
    """Highlights pslrepl command lines and ``.psl`` transcripts' commands."""

    name = "pslrepl"
    aliases = ["psl", "pslrepl"]
    filenames = ["*.psl"]

    tokens = {
        "root": [
            (r"\s+", Whitespace),
            (r"#.*$", Comment.Single),
            (r";", Punctuation),
            (_command_pattern(), Keyword, "args"),
            (r"[A-Za-z_][A-Za-z0-9_-]*" + _END, Name.Variable),
            (r"\S+", Text),
        ],
        "args": [
            (r"[ \t]+", Whitespace),
            (r"\n", Whitespace, "#pop"),
            (r";", Punctuation, "#pop"),
            (r"#.*$", Comment.Single),
            (r"(--[A-Za-z][\w-]*)(=?)", bygroups(Name.Attribute, Punctuation)),
            (r"--" + _END, Punctuation),
            (r'"(\\\\|\\"|[^"])*("|$)', String.Double),
            (r"'[^']*('|$)", String.Single),
            (r"-?\d+(\.\d+)?" + _END, Number),
            (r"[^\s;'\"]+", Text),
        ],
    }
