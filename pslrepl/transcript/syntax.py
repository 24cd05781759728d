"""Transcripts as text: the prompt and the other marks, and parsing a .psl file into steps."""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

PROMPT = "psl> "
TYPED = "|> "  # under `psl> attach NAME`: a line typed to it (`|>` alone: a bare Enter)
ANY_LINES = "..."
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_]\w*)?)\}")
# A placeholder with its braces doubled is its own text: `{{tmp}}` is the five
# characters `{tmp}`, in a command and in an expected line (group 1: an escaped name,
# group 2: a placeholder's). Found left to right, so `{{{x}}}` is `{` `{{x}}` `}`.
ESCAPED_OR_PLACEHOLDER = re.compile(
    r"\{\{([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_]\w*)?)\}\}"
    r"|\{([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_]\w*)?)\}"
)


def placeholders_in(text: str) -> list[str]:
    """The names of the placeholders in ``text``, escaped ones (``{{NAME}}``) left out."""
    return [m.group(2) for m in ESCAPED_OR_PLACEHOLDER.finditer(text) if m.group(2)]


def unescape_braces(text: str) -> str:
    """``text`` with each ``{{NAME}}`` written as the ``{NAME}`` it stands for."""
    return ESCAPED_OR_PLACEHOLDER.sub(lambda m: "{" + m.group(1) + "}" if m.group(1)
                                      else m.group(0), text)  # fmt: skip


def escape_braces(text: str) -> str:
    """Literal text written so that no part of it reads as a placeholder: each
    ``{NAME}`` in it doubled (``{{NAME}}``)."""
    return PLACEHOLDER.sub(lambda m: "{" + m.group(0) + "}", text)


# The start of a capture in an expected line: {?NAME} or {?NAME:REGEX}.
CAPTURE_START = re.compile(r"\{\?([A-Za-z_][A-Za-z0-9_-]*)([:}])")
# After the last command's output, a line like this starts an embedded file (txtar's mark).
FILE_MARK = re.compile(r"-- (\S(?:.*\S)?) --")
# A directive line before the first command: #! require COND..., #! timeout S.
DIRECTIVE = "#!"
# Placeholders that match a shape rather than bind a value: they differ on every line.
FREE = {
    "time": r"\d\d:\d\d:\d\d(?:\.\d{3})?",
    # The day of an HTTP or mail date: "Mon, 30 Nov 2026".
    "date": r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4}",
    "age": r"\d+(?:\.\d)?s|\d+m\d\ds|\d+h\d\dm",
    # A hexdump row of bytes that differ on every run (a TLS record's random parts).
    "hexrow": r"[0-9a-f]{8}(?:  [0-9a-f ]+\|.*\|)?|\*",
    # A count of bytes or records that differs from run to run (a TLS record's length).
    "size": r"\d+",
    # What a TLS record holds, with its messages' sizes: the sizes differ between runs.
    "inside": r".*",
    # A figure a measurement gave (load's rate, latency, CPU): never the same twice.
    "measured": r".*",
}

Bindings = dict[str, str]


class Step:
    """One command and the output expected under it; ``line`` is its 1-based line number.
    ``typed``: for `attach`, the lines typed to it (``|> LINE`` right under the prompt),
    its standard input in a replay."""

    __slots__ = ("command", "expected", "line", "comments", "typed")

    def __init__(self, command: str, expected: list[str], line: int) -> None:
        self.command = command
        self.expected = expected
        self.line = line
        # Comment lines between this step's output lines: (index in expected, text).
        self.comments: list[tuple[int, str]] = []
        self.typed: list[str] = []

    @property
    def takes_typing(self) -> bool:
        """An attach command: lines typed to it may follow its prompt."""
        return self.command.split(None, 1)[:1] == ["attach"]


class EmbeddedFile:
    """A file after the last command's output: ``-- NAME --`` then its lines."""

    __slots__ = ("name", "lines", "line")

    def __init__(self, name: str, lines: list[str], line: int) -> None:
        self.name = name
        self.lines = lines
        self.line = line  # the 1-based line number of its mark

    @property
    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)


class Transcript:
    """A parsed transcript: the preamble (comments before the first command), the steps
    and the embedded files."""

    __slots__ = ("preamble", "steps", "files", "newline")

    def __init__(self, preamble: list[str], steps: list[Step],
                 files: list[EmbeddedFile] | None = None) -> None:  # fmt: skip
        self.preamble = preamble
        self.steps = steps
        self.files = files if files is not None else []
        # How its lines end: "\r\n" for a file whose every line ends so (a Windows
        # checkout), written back the same way.
        self.newline = "\n"

    def directives(self) -> list[tuple[int, str, list[str]]]:
        """The ``#!`` lines of the preamble as (line number, word, arguments); a ``#!/``
        line is a shebang, no directive."""
        found = []
        for number, line in enumerate(self.preamble, 1):
            if line.startswith(DIRECTIVE) and not line.startswith("#!/"):
                words = line[len(DIRECTIVE) :].split()
                found.append((number, words[0] if words else "", words[1:]))
        return found


def lines_of(text: str) -> list[str]:
    """A transcript's lines: split at LF only (CRLF too). str.splitlines would also split
    at form feed, NEL or U+2028 inside an output line; the writer escapes those."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def parse(text: str) -> Transcript:
    preamble: list[str] = []
    steps: list[Step] = []
    files: list[EmbeddedFile] = []
    raw = text.split("\n")
    if raw[-1] == "":
        raw.pop()
    # A file whose every line ends CRLF has CRLF line ends; in any other, a CR at the end
    # of an embedded file's line is its own byte (an HTTP request fixture) and is kept.
    crlf = bool(raw) and all(line.endswith("\r") for line in raw)
    for number, whole in enumerate(raw, 1):
        line = whole[:-1] if whole.endswith("\r") else whole
        mark = FILE_MARK.fullmatch(line) if steps else None
        if files and mark is None and not crlf:
            line = whole
        if mark is not None or files:
            # Files come last: from the first mark on, every line is a file's.
            if mark is not None:
                files.append(EmbeddedFile(mark.group(1), [], number))
            else:
                files[-1].lines.append(line)
        elif line.startswith(PROMPT) or line == PROMPT.rstrip():
            steps.append(Step(line[len(PROMPT) :], [], number))
        elif (steps and steps[-1].takes_typing and not steps[-1].expected
              and (line.startswith(TYPED) or line == TYPED.rstrip())):  # fmt: skip
            steps[-1].typed.append(line[len(TYPED) :])
        elif not steps:
            preamble.append(line)
        elif line.startswith("#"):
            step = steps[-1]
            step.comments.append((len(step.expected), line))
        else:
            steps[-1].expected.append(line)
    transcript = Transcript(preamble, steps, files)
    if crlf:
        transcript.newline = "\r\n"
    return transcript


def format_transcript(transcript: Transcript) -> str:
    out = list(transcript.preamble)
    for step in transcript.steps:
        out.append(PROMPT + step.command if step.command else PROMPT.rstrip())
        out.extend(TYPED + line if line else TYPED.rstrip() for line in step.typed)
        out.extend(_with_comments(step.expected, step.comments))
    for file in transcript.files:
        out.append(f"-- {file.name} --")
        out.extend(file.lines)
    return transcript.newline.join(out) + transcript.newline if out else ""


def _with_comments(lines: list[str], comments: list[tuple[int, str]]) -> Iterator[str]:
    pending = sorted(comments, key=lambda c: c[0])
    k = 0
    for i, line in enumerate(lines):
        while k < len(pending) and pending[k][0] <= i:
            yield pending[k][1]
            k += 1
        yield line
    while k < len(pending):
        yield pending[k][1]
        k += 1


def commands_in(text: str) -> list[str]:
    """The commands a block of text holds, for a paste or ``source``.

    In a block copied from a transcript or the README (a line starts ``psl>``, maybe
    indented) only the prompted lines are commands, the rest is their output or
    comments; a prompt with nothing after it is no command. Otherwise every line is one.
    Line ends may be LF, CRLF or CR. A command keeps its trailing spaces (``send c x\\ ``
    ends in one)."""
    lines = re.split(r"\r\n|\r|\n", text)
    if lines[-1] == "":
        lines.pop()
    body = [line.lstrip(" \t") for line in lines]
    if not any(line.startswith(PROMPT) or line.rstrip() == PROMPT.rstrip() for line in body):
        return lines
    commands = (line[len(PROMPT) :] for line in body if line.startswith(PROMPT))
    return [command for command in commands if command.strip()]
