"""A pygments lexer for the command language, for documentation tools and `.psl` files."""

from __future__ import annotations

from pygments.lexer import Lexer
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Punctuation,
    String,
    Text,
    Whitespace,
)

from pslrepl.highlight import classify

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from pygments.token import _TokenType

TOKENS = {
    "command": Keyword,
    "name": Name.Variable,
    "option": Name.Attribute,
    "string": String,
    "number": Number,
    "comment": Comment.Single,
    "punct": Punctuation,
    "text": Text,
    "": Whitespace,
}


class PslLexer(Lexer):
    """pslrepl command lines; in a transcript, the ``psl> `` lines' commands."""

    name = "pslrepl"
    aliases = ["psl", "pslrepl"]
    filenames = ["*.psl"]

    def get_tokens_unprocessed(self, text: str) -> Iterator[tuple[int, _TokenType, str]]:
        from pslrepl.commands import all_commands
        from pslrepl.dispatch import CommandTable

        table = CommandTable(all_commands())
        offset = 0
        for line in text.splitlines(keepends=True):
            body = line.rstrip("\n")
            for cls, piece in classify(body, is_command=table.knows):
                yield offset, TOKENS[cls], piece
                offset += len(piece)
            if len(body) < len(line):
                yield offset, Whitespace, line[len(body) :]
                offset += len(line) - len(body)
