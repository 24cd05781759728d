"""A pygments lexer for the command language, for documentation tools and `.psl` files."""

from __future__ import annotations

from pygments.lexer import Lexer
from pygments.token import (
    Comment,
    Generic,
    Keyword,
    Name,
    Number,
    Punctuation,
    String,
    Text,
    Whitespace,
)

from pslrepl.highlight import classify
from pslrepl.transcript import PROMPT

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
    """pslrepl command lines, and ``.psl`` transcripts."""

    name = "pslrepl"
    aliases = ["psl", "pslrepl"]
    filenames = ["*.psl"]

    def get_tokens_unprocessed(self, text: str) -> Iterator[tuple[int, _TokenType, str]]:
        """Command lines; or, where lines start with ``psl> ``, a transcript: prompts and
        their commands, comments, and expected output."""
        from pslrepl.commands import all_commands
        from pslrepl.dispatch import CommandTable

        table = CommandTable(all_commands())
        lines = text.splitlines(keepends=True)
        transcript = any(line.startswith(PROMPT.rstrip()) for line in lines)
        offset = 0
        for line in lines:
            body = line.rstrip("\n")
            if transcript and not body.startswith(PROMPT.rstrip()):
                kind = Comment.Single if body.startswith("#") else Generic.Output
                yield offset, kind, body
                offset += len(body)
            else:
                if transcript:
                    prompt = PROMPT if body.startswith(PROMPT) else PROMPT.rstrip()
                    yield offset, Generic.Prompt, prompt
                    offset += len(prompt)
                    body = body[len(prompt) :]
                for cls, piece in classify(body, is_command=table.knows):
                    yield offset, TOKENS[cls], piece
                    offset += len(piece)
            rest = line[len(line.rstrip("\n")) :]
            if rest:
                yield offset, Whitespace, rest
                offset += len(rest)
