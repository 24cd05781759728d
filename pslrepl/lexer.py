"""The prompt's lexer: highlights the line being typed, live resource names included."""

from __future__ import annotations

from prompt_toolkit.lexers import Lexer

from pslrepl.highlight import classify

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from prompt_toolkit.document import Document
    from prompt_toolkit.formatted_text import StyleAndTextTuples

    from pslrepl.session import Session


class PromptLexer(Lexer):
    """Classes each piece as ``class:psl.<kind>``; style.py gives them colours."""

    def __init__(self, session: Session, is_command: Callable[[str], bool]) -> None:
        self.session = session
        self.is_command = is_command

    def lex_document(self, document: Document) -> Callable[[int], StyleAndTextTuples]:
        lines = document.lines

        def get_line(number: int) -> StyleAndTextTuples:
            if number >= len(lines):
                return []
            pieces = classify(lines[number], is_command=self.is_command,
                              names=self.session.registry, unknown="error")  # fmt: skip
            return [(f"class:psl.{cls}" if cls else "", text) for cls, text in pieces]

        return get_line
