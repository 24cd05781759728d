"""A command line to classified pieces (command, name, option, string, number, comment).

One classification, two adapters: the prompt's lexer (lexer.py) and the pygments lexer
for documentation tools (pygments_lexer.py). It reads the line with the parser's own
tokenizer, so what is highlighted is what will run.
"""

from __future__ import annotations

from pslrepl.parsing import tokenize

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Container


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text[:1].isdigit() or text[:2].lstrip("-+.")[:1].isdigit()


def classify(
    line: str,
    *,
    is_command: Callable[[str], bool],
    names: Container[str] = (),
    unknown: str = "text",
) -> list[tuple[str, str]]:
    """(class, text) pieces covering ``line`` exactly; classes: command, name, option,
    string, number, comment, punct, text, or "" for white space. ``unknown`` is the class
    of a word where a command should be and none is (the prompt makes it an error while
    it is typed, as fish does; documentation keeps it text)."""
    split = tokenize(line, strict=False)
    pieces: list[tuple[str, str]] = []
    pos = 0
    end_of_code = len(line) if split.comment_at is None else split.comment_at

    def gap(upto: int) -> None:
        nonlocal pos
        for ch in line[pos:upto]:
            cls = "punct" if ch == ";" else ""
            if pieces and pieces[-1][0] == cls:
                pieces[-1] = (cls, pieces[-1][1] + ch)
            else:
                pieces.append((cls, ch))
        pos = max(pos, upto)

    for tokens in split.commands:
        words = [t.text for t in tokens]
        head = 0
        if words and not is_command(words[0]) and words[0] in names:
            head = 1  # NAME VERB ...: the object first
        for i, tok in enumerate(tokens):
            gap(tok.start)
            text = line[tok.start : tok.end]
            if i == head:
                cls = "command" if is_command(tok.text) else unknown
            elif i == head + 1 and i > 0 and is_command(f"{words[i - 1]} {tok.text}"):
                cls = "command"  # the second word of `tcp connect`
            elif tok.quoted:
                cls = "string"
            elif tok.text.startswith("--"):
                cls = "option"
            elif tok.text in names:
                cls = "name"
            elif _is_number(tok.text):
                cls = "number"
            else:
                cls = "text"
            pieces.append((cls, text))
            pos = tok.end
    gap(end_of_code)
    if end_of_code < len(line):
        pieces.append(("comment", line[end_of_code:]))
    return pieces
