"""A command line to tokens and commands, and DATA arguments to bytes (pure functions)."""

from __future__ import annotations

import codecs

from pslrepl.errors import UsageError

# Records here and across the package are plain classes with __slots__, not
# dataclasses: importing dataclasses (and the inspect it pulls in) would cost more
# than the rest of `pslrepl -c 'echo hi'` (see docs/BENCHMARKS.md).

_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_NAME_REST = _NAME_START | frozenset("0123456789-")


class Token:
    """One word of a line: its text after quote removal and where it stood."""

    __slots__ = ("text", "start", "end", "quoted")

    def __init__(self, text: str, start: int, end: int, quoted: bool = False) -> None:
        self.text = text
        self.start = start
        self.end = end
        self.quoted = quoted

    def __repr__(self) -> str:
        return f"Token({self.text!r}, {self.start}, {self.end}, quoted={self.quoted})"


class Split:
    """A line split into commands (each a token list), with any comment's start."""

    __slots__ = ("commands", "comment_at", "unterminated")

    def __init__(
        self,
        commands: list[list[Token]],
        comment_at: int | None = None,
        unterminated: str | None = None,
    ) -> None:
        self.commands = commands
        self.comment_at = comment_at
        self.unterminated = unterminated


def tokenize(line: str, *, strict: bool = True) -> Split:
    """Split a line like a POSIX shell: quotes, backslashes, ``#`` comments, ``;`` separators,
    and a leading ``~`` for the home directory.

    With ``strict`` an unterminated quote is an error; without, the partial token is
    returned (the completer and lexer work on half-typed lines).
    """
    if strict and "\x00" in line:
        # No path, argv or name can hold one (the OS refuses it); bytes are written \x00.
        raise UsageError("the line holds a NUL character; write a zero byte as \\x00 in DATA")
    commands: list[list[Token]] = [[]]
    i, n = 0, len(line)
    comment_at: int | None = None
    while i < n:
        ch = line[i]
        if ch in " \t\r\n":
            i += 1
            continue
        if ch == "#":
            comment_at = i
            break
        if ch == ";":
            commands.append([])
            i += 1
            continue
        start = i
        buf: list[str] = []
        quoted = False
        if strict and ch == "~" and (i + 1 == n or line[i + 1] in "/ \t\r\n;"):
            # As in sh: an unquoted ~ starting a word is the home directory (~/x too).
            # Not while a line is still being typed: completion matches what it shows.
            import os

            buf.append(os.path.expanduser("~"))
            i += 1
        while i < n and line[i] not in " \t\r\n;":
            ch = line[i]
            if ch == "'":
                quoted = True
                end = line.find("'", i + 1)
                if end < 0:
                    if strict:
                        raise UsageError("unterminated ' quote: close it with another '")
                    buf.append(line[i + 1 :])
                    commands[-1].append(Token("".join(buf), start, n, True))
                    return Split(_nonempty(commands), None, "'")
                buf.append(line[i + 1 : end])
                i = end + 1
            elif ch == '"':
                quoted = True
                i += 1
                while i < n and line[i] != '"':
                    # As in POSIX sh, a backslash inside double quotes escapes only
                    # these; any other (``\n``, ``\x00``) is kept for DATA escapes.
                    if line[i] == "\\" and i + 1 < n and line[i + 1] in '"\\$`':
                        buf.append(line[i + 1])
                        i += 2
                    else:
                        buf.append(line[i])
                        i += 1
                if i >= n:
                    if strict:
                        raise UsageError('unterminated " quote: close it with another "')
                    commands[-1].append(Token("".join(buf), start, n, True))
                    return Split(_nonempty(commands), None, '"')
                i += 1
            elif ch == "\\":
                if i + 1 < n:
                    buf.append(line[i + 1])
                    i += 2
                else:
                    i += 1
            else:
                buf.append(ch)
                i += 1
        commands[-1].append(Token("".join(buf), start, i, quoted))
    return Split(_nonempty(commands), comment_at)


def _nonempty(commands: list[list[Token]]) -> list[list[Token]]:
    return [c for c in commands if c]


def last_segment(text: str) -> str:
    """What follows the last ``;`` outside quotes: the command being typed."""
    quote = ""
    start = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote == '"':
                i += 1
        elif ch in "'\"":
            quote = ch
        elif ch == "\\":
            i += 1
        elif ch == ";":
            start = i + 1
        i += 1
    return text[start:]


def split_commands(line: str) -> list[list[Token]]:
    """The commands of a line, each as its tokens; raises UsageError on a bad quote."""
    return tokenize(line).commands


def unescape(text: str, *, encoding: str = "utf-8") -> bytes:
    r"""Apply Python bytes-literal escapes to DATA text: ``hi\r\n`` -> b'hi\r\n'."""
    raw = text.encode(encoding, errors="surrogateescape")
    import warnings

    with warnings.catch_warnings():
        # An unknown escape such as \q is kept as is, as in a bytes literal.
        warnings.simplefilter("ignore")
        try:
            return codecs.escape_decode(raw)[0]
        except ValueError as exc:
            raise UsageError(f"bad escape in {text!r}: {exc}; write a backslash as \\\\") from None


def parse_hex(text: str) -> bytes:
    """Bytes from hex digits, allowing spaces, colons and a 0x prefix: ``de ad:be ef``."""
    cleaned = "".join(text.replace(":", " ").split())
    if cleaned.lower().startswith("0x"):
        cleaned = cleaned[2:]
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise UsageError(
            f"bad hex {text!r}: give pairs of hex digits, like 'de ad be ef'"
        ) from None


# The longest wait the stdlib takes (threading.TIMEOUT_MAX is about 292 years here;
# socket.settimeout and select overflow a little past it): a longer one is a typo.
MAX_SECONDS = 1e9


def parse_duration(text: str, *, what: str = "seconds", maximum: float = MAX_SECONDS) -> float:
    """A non-negative number of seconds, at most ``maximum``."""
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{what} must be a number, not {text!r}") from None
    if not 0 <= value <= maximum:
        raise UsageError(f"{what} must be from 0 to {maximum:,.0f} seconds, not {text!r}")
    return value


def check_name(text: str) -> str:
    """A NAME is an identifier: a letter or _, then letters, digits, _ or -."""
    if not (text and text[0] in _NAME_START and all(c in _NAME_REST for c in text)):
        raise UsageError(
            f"{text!r} is not a valid name: start with a letter or _, then letters, digits, _ or -"
        )
    return text
