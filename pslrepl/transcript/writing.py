"""Output lines written into a transcript: escaped where needed, live values as placeholders."""

from __future__ import annotations

import re

from pslrepl.transcript.syntax import (
    ANY_LINES,
    CAPTURE_START,
    FILE_MARK,
    FREE,
    PLACEHOLDER,
    PROMPT,
    escape_braces,
    placeholders_in,
    unescape_braces,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.results import Line
    from pslrepl.transcript.syntax import Bindings

# Not inside a longer run of colon-separated pairs: a fingerprint is no clock.
TIME_RE = re.compile(r"(?<![\d:])\d\d:\d\d:\d\d(?:\.\d{3})?(?![\d:])")
# The day of an HTTP or mail date ("Date: Mon, 30 Nov 2026 12:00:00 GMT"): written as
# {date}, so a response recorded today still matches tomorrow.
DATE_RE = re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (?:Jan|Feb|Mar|Apr|May|Jun"
                     r"|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}\b")  # fmt: skip
_CLOCK_RE = re.compile(f"(?P<time>{TIME_RE.pattern})|(?P<date>{DATE_RE.pattern})")

# Characters a transcript never holds as they are: a control character (a tab aside)
# would break the line or act on the terminal that shows the file, a lone surrogate
# (a byte that was not UTF-8) can't be written as UTF-8, and NEL, LS and PS end a line
# for str.splitlines and for some editors.
_UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")

Segment = tuple[str, str | None]  # (text, the placeholder written for it, or None)


def unsafe(text: str) -> bool:
    """Whether ``text`` holds a character no transcript line may hold as it is."""
    return _UNSAFE.search(text) is not None


def _char_escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_unsafe(text: str) -> str:
    """``text`` with every unsafe character written as a ``\\xNN`` or ``\\uNNNN`` escape."""
    return _UNSAFE.sub(lambda m: _char_escape(m.group()), text)


_REGEX_SPECIAL = frozenset(".^$*+?{}[]\\|()")


def _regex_escape(text: str, *, first: bool = True) -> str:
    """``text`` as a regular expression that matches just it, kept readable: only the
    characters re gives a meaning are escaped (re.escape also escapes spaces, and puts a
    backslash before a raw control character, which would stay raw in the file)."""
    out = []
    for ch in text:
        if _UNSAFE.match(ch):
            out.append(_char_escape(ch))
        elif ch == "\t":
            out.append("\\t")
        elif ch in _REGEX_SPECIAL:
            out.append("\\" + ch)
        else:
            out.append(ch)
    escaped = "".join(out)
    # At the start of the line a "#" would read as a comment, "psl>" as a command.
    if first and escaped.startswith("#"):
        escaped = "\\" + escaped
    if first and escaped.startswith(PROMPT.rstrip()):
        escaped = "psl\\>" + escaped[4:]
    return escaped


def needs_escape(line: str) -> bool:
    """An output line that would read as something else in a transcript, or can't be
    written in one as it is."""
    return (
        line.startswith(("#", PROMPT.rstrip()))
        or line == ANY_LINES
        or line.endswith((" (re)", " (glob)"))
        or PLACEHOLDER.search(line) is not None
        or CAPTURE_START.search(line) is not None
        or FILE_MARK.fullmatch(line) is not None
        or unsafe(line)
    )


def expected_line(segments: list[Segment]) -> str:
    """The transcript line that expects output made of ``segments``: placeholders as
    ``{name}``; or, where the text would read as something else (a ``#`` at the start, a
    brace pair, a control character...), a ``(re)`` line in which each value is a
    wildcard (a regular expression can't bind a placeholder)."""
    # A {NAME} in the text itself is written {{NAME}}: the text, not a placeholder.
    plain = "".join(escape_braces(text) if name is None else "{" + name + "}"
                    for text, name in segments)  # fmt: skip
    names = [name for _, name in segments if name is not None]
    if not (
        plain.startswith(("#", PROMPT.rstrip()))
        or plain == ANY_LINES
        or plain.endswith((" (re)", " (glob)"))
        or placeholders_in(plain) != names
        or unescape_braces(plain)
        != "".join(
            text if name is None else "{" + name + "}" for text, name in segments
        )  # fmt: skip
        or CAPTURE_START.search(plain) is not None
        or FILE_MARK.fullmatch(plain) is not None
        or any(unsafe(text) for text, name in segments if name is None)
    ):
        return plain
    parts: list[str] = []
    for text, name in segments:
        if name is None:
            parts.append(_regex_escape(text, first=not parts))
        else:
            parts.append(f"(?:{FREE[name]})" if name in FREE else ".+?")
    return "".join(parts) + " (re)"


def literal(line: str) -> str:
    """An output line as a transcript line that matches exactly that text."""
    return expected_line([(line, None)])


def name_values(
    text: str, named: Bindings, *, times: bool = True, context: str = "", command: bool = False
) -> str:
    """Write values that change from run to run as the placeholders that name them
    (``{"p.pid": "4242"}``: pid 4242 becomes pid {p.pid}); clock times as {time}. See
    split_values for where a value counts."""
    segments = split_values(text, named, times=times, context=context, command=command)
    return "".join(part if name is None else "{" + name + "}" for part, name in segments)


# A value's kind is the last part of its placeholder's name: {srv.port} is a port.
ADDRESS_KINDS = ("addr", "laddr", "raddr")
LOW_PORTS = 1024  # ports below are fixed by the user (or a well-known service): not volatile
# A pid below this is taken for one only after the word pid or as a whole line: a count
# as small is common ("wrote 7 bytes"), and a young container's pids are small too.
SMALL_PID = 100
_PORT_BEFORE = re.compile(r"(?:[\w\]]:|['\"], |\bport[ :=]+)$", re.IGNORECASE)
_PID_BEFORE = re.compile(r"\bpid[ :=]+$", re.IGNORECASE)
_TOKEN_EDGE = " \t;'\""


def split_values(
    text: str, named: Bindings, *, times: bool = True, context: str = "", command: bool = False
) -> list[Segment]:
    """``text`` cut into literal pieces and the values ``named`` holds, each value where
    it stands as what it is, by the kind its name ends in:

    - a port (``.port``) after the colon of an address (``127.0.0.1:41711``), after a
      quoted host in a socket address tuple (``('127.0.0.1', 41711)``) or after the word
      port; as a whole word in a line about its resource (one naming it, or under a
      command that names it); in a ``command`` also as a whole argument (a bare PORT is
      an ADDR). Never a port below 1024 or 0: those mean what they say every run.
    - an address (``.addr``, ``.laddr``, ``.raddr``) where it stands whole, never part of
      a longer address; not one with a port below 1024 (``0.0.0.0:0`` is no value).
    - a pid after the word pid; as a whole word in a line about its process, or a whole
      argument in a command, if 100 or more (7 in "p: wrote 7 bytes" is no pid); a
      smaller one also as the whole line (``py p.pid``).
    - any other number as a whole word of 1024 or more in a line about its resource;
      any other text (a path, a fingerprint) wherever it appears, if 3 characters or more.

    Where values overlap the longest wins ({srv.laddr}, not 127.0.0.1:{srv.port}), then
    a socket's own address over a peer's (.raddr), then the one named first. Clock times
    in what is left become {time} when ``times``, and an HTTP date's day {date}.
    """
    return Namer(named).split(text, times=times, context=context, command=command)


_NUMBER = re.compile(r"\d+")
_WORD = re.compile(r"(?<![\w-])[A-Za-z_][\w-]*")  # a NAME as the parser spells one


class Namer:
    """split_values for many lines against the same values, indexed once: a value is
    looked for only in a line holding its number (a port, a pid, an address's port), so a
    long output costs no more with a thousand live resources than with one."""

    def __init__(self, named: Bindings) -> None:
        self.by_number: dict[str, list[tuple[int, str, str]]] = {}
        self.texts: list[tuple[int, str, str]] = []  # values with no number to find them by
        self.owners: set[str] = set()
        at: dict[str, set[str]] = {}  # an address -> the resources holding it
        for order, (name, value) in enumerate(named.items()):
            owner, dot, kind = name.rpartition(".")
            if dot:
                self.owners.add(owner)
            if not value:
                continue
            number = value if value.isdigit() else value.rpartition(":")[2]
            if number.isdigit():
                self.by_number.setdefault(number, []).append((order, name, value))
            else:
                self.texts.append((order, name, value))
            if kind in ADDRESS_KINDS:
                at.setdefault(value, set()).add(owner)
        self.together = [owners for owners in at.values() if len(owners) > 1]

    def line_segments(self, line: Line, context: str) -> list[Segment]:
        """A rendered line cut into text and the session's values: a fragment the shell
        marked (style "...@PLACEHOLDER") is its value; unmarked text is looked through as
        a whole (a value may span fragments). A script's "FILE:LINE: " before an error is
        where it ran, not what it showed: left out."""
        segments: list[Segment] = []
        plain: list[str] = []
        for style, text in line:
            if style == "location":
                continue
            _, marked, placeholder = style.partition("@")
            if not marked:
                plain.append(text)
                continue
            if plain:
                segments += self.split("".join(plain), context=context)
                plain = []
            segments.append((text, placeholder))
        if plain:
            segments += self.split("".join(plain), context=context)
        return segments

    def split(
        self, text: str, *, times: bool = True, context: str = "", command: bool = False
    ) -> list[Segment]:
        here = [entry for entry in self.texts if entry[2] in text]
        for number in set(_NUMBER.findall(text)) & self.by_number.keys():
            here += [entry for entry in self.by_number[number] if entry[2] in text]
        # Which resources the line is about matters only for a number in it.
        about = self._about(text + "\n" + context) if any(v.isdigit() for *_, v in here) else set()
        found: list[tuple[int, int, int, str]] = []  # start, end, order named, name
        for order, name, value in here:
            owner, _, kind = name.rpartition(".")
            for start, end in _spans(text, value, kind, owner in about, command):
                found.append((start, end, order, name))
        # Longest first; then a socket's own address before a peer's view of it (c.raddr
        # is srv.laddr: srv's is the name to bind); then the name set first.
        found.sort(key=lambda f: (f[0] - f[1], f[3].endswith(".raddr"), f[2], f[0]))
        chosen: list[tuple[int, int, int, str]] = []
        for span in found:
            if all(span[1] <= c[0] or span[0] >= c[1] for c in chosen):
                chosen.append(span)
        chosen.sort()
        segments: list[Segment] = []
        pos = 0
        for start, end, _, name in chosen:
            segments.extend(_times(text[pos:start], times))
            segments.append((text[start:end], name))
            pos = end
        segments.extend(_times(text[pos:], times))
        return segments

    def _about(self, text: str) -> set[str]:
        """The resources a line names as a word (``p`` in "p.pid", "[p]", "p: ..."), and
        those at an address one of them holds: a line about c, connected to srv, is about
        srv too (``py c.getpeername()[1]`` shows srv's port)."""
        about = set(_WORD.findall(text)) & self.owners
        for owners in self.together:
            if about & owners:
                about |= owners
        return about


def _spans(text: str, value: str, kind: str, about: bool, command: bool) -> list[tuple[int, int]]:
    if not value.isdigit():
        if len(value) < 3:
            return []
        if kind in ADDRESS_KINDS:
            port = value.rpartition(":")[2]
            if port.isdigit() and int(port) < LOW_PORTS:
                return []
            pattern = rf"(?<![\w.:\[]){re.escape(value)}(?![\w:])"
            return [m.span() for m in re.finditer(pattern, text)]
        return [m.span() for m in re.finditer(re.escape(value), text)]
    number = int(value)
    spans = []
    for m in re.finditer(rf"(?<![\w.]){value}(?![\w])", text):
        before = text[: m.start()]
        token = (m.start() == 0 or text[m.start() - 1] in _TOKEN_EDGE) and (
            m.end() == len(text) or text[m.end()] in _TOKEN_EDGE
        )
        if kind == "port":
            keep = number >= LOW_PORTS and (
                _PORT_BEFORE.search(before) is not None or about or (command and token)
            )
        elif kind == "pid":
            keep = number > 1 and (
                _PID_BEFORE.search(before) is not None
                or (about and (number >= SMALL_PID or text.strip() == value))
                or (command and token and number >= SMALL_PID)
            )
        else:
            keep = number >= LOW_PORTS and (about or (command and token))
        if keep:
            spans.append(m.span())
    return spans


def _times(text: str, times: bool) -> list[Segment]:
    if not text:
        return []
    if not times:
        return [(text, None)]
    segments: list[Segment] = []
    pos = 0
    for m in _CLOCK_RE.finditer(text):
        if m.start() > pos:
            segments.append((text[pos : m.start()], None))
        segments.append((m.group(), m.lastgroup or "time"))
        pos = m.end()
    if pos < len(text):
        segments.append((text[pos:], None))
    return segments
