"""Transcripts: parse a ``.psl`` file, match output against it, diff and rewrite (pure).

A transcript is what a session shows. ``psl> `` lines are commands; the lines under
one are its expected output. Lines before the first command and lines starting ``#``
are comments. In expected output a line ending `` (re)`` is a regular expression for
the whole line, `` (glob)`` a glob, and a line holding only ``...`` matches any number
of lines. ``{name.attr}`` placeholders bind to the live value the first time they are
seen and must keep it; ``{time}`` and ``{age}`` match any clock time or age. Table
padding of two spaces or more beside a placeholder matches any such run.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

PROMPT = "psl> "
ANY_LINES = "..."
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_]\w*)?)\}")
# Placeholders that match a shape rather than bind a value: they differ on every line.
FREE = {
    "time": r"\d\d:\d\d:\d\d(?:\.\d{3})?",
    "age": r"\d+(?:\.\d)?s|\d+m\d\ds|\d+h\d\dm",
}
# Not inside a longer run of colon-separated pairs: a fingerprint is no clock.
TIME_RE = re.compile(r"(?<![\d:])\d\d:\d\d:\d\d(?:\.\d{3})?(?![\d:])")

Bindings = dict[str, str]


class Step:
    """One command and the output expected under it; ``line`` is its 1-based line number."""

    __slots__ = ("command", "expected", "line", "comments")

    def __init__(self, command: str, expected: list[str], line: int) -> None:
        self.command = command
        self.expected = expected
        self.line = line
        # Comment lines between this step's output lines: (index in expected, text).
        self.comments: list[tuple[int, str]] = []


class Transcript:
    """A parsed transcript: the preamble (comments before the first command) and steps."""

    __slots__ = ("preamble", "steps")

    def __init__(self, preamble: list[str], steps: list[Step]) -> None:
        self.preamble = preamble
        self.steps = steps


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
    for number, line in enumerate(lines_of(text), 1):
        if line.startswith(PROMPT) or line == PROMPT.rstrip():
            steps.append(Step(line[len(PROMPT) :], [], number))
        elif not steps:
            preamble.append(line)
        elif line.startswith("#"):
            step = steps[-1]
            step.comments.append((len(step.expected), line))
        else:
            steps[-1].expected.append(line)
    return Transcript(preamble, steps)


def format_transcript(transcript: Transcript) -> str:
    out = list(transcript.preamble)
    for step in transcript.steps:
        out.append(PROMPT + step.command if step.command else PROMPT.rstrip())
        out.extend(_with_comments(step.expected, step.comments))
    return "\n".join(out) + "\n" if out else ""


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


# -- matching ---------------------------------------------------------------------------


def match_line(expected: str, actual: str, bindings: Bindings) -> Bindings | None:
    """The bindings after ``actual`` matches ``expected``, or None if it does not."""
    if expected.endswith(" (re)"):
        try:
            return dict(bindings) if re.fullmatch(expected[:-5], actual) else None
        except re.error:
            return None
    if expected.endswith(" (glob)"):
        import fnmatch

        return dict(bindings) if fnmatch.fnmatchcase(actual, expected[:-7]) else None
    if "{" not in expected:
        return dict(bindings) if expected == actual else None
    pattern, groups = _placeholder_regex(expected, bindings)
    m = re.fullmatch(pattern, actual, re.DOTALL)
    if m is None:
        return None
    new = dict(bindings)
    for group, name in groups.items():
        new[name] = m.group(group)
    return new


def _placeholder_regex(expected: str, bindings: Bindings) -> tuple[str, dict[str, str]]:
    parts: list[str] = []
    groups: dict[str, str] = {}  # regex group -> placeholder name
    seen: dict[str, str] = {}  # placeholder name -> its group, for a repeat in one line
    pos = 0
    for m in PLACEHOLDER.finditer(expected):
        parts.append(_padded(expected[pos : m.start()], first=pos > 0, last=True))
        name = m.group(1)
        if name in bindings:
            parts.append(re.escape(bindings[name]))
        elif name in FREE:
            parts.append(f"(?:{FREE[name]})")
        elif name in seen:
            parts.append(f"(?P={seen[name]})")
        else:
            group = f"p{len(groups)}"
            groups[group] = name
            seen[name] = group
            parts.append(f"(?P<{group}>.+?)")
        pos = m.end()
    parts.append(_padded(expected[pos:], first=pos > 0, last=False))
    return "".join(parts), groups


def _padded(literal: str, *, first: bool, last: bool) -> str:
    """Table padding beside a placeholder (two spaces or more) matches any such run: a
    value of another width moves the column edge, not the meaning."""
    head = tail = ""
    if first and literal.startswith("  "):
        body = literal.lstrip(" ")
        head, literal = " {2,}", body
    if last and literal.endswith("  "):
        body = literal.rstrip(" ")
        tail, literal = " {2,}", body
    return head + re.escape(literal) + tail


def match_output(expected: list[str], actual: list[str], bindings: Bindings) -> Bindings | None:
    """Match a step's whole output, ``...`` absorbing any number of lines."""

    def go(i: int, j: int, b: Bindings) -> Bindings | None:
        while i < len(expected):
            if expected[i] == ANY_LINES:
                for k in range(j, len(actual) + 1):
                    found = go(i + 1, k, b)
                    if found is not None:
                        return found
                return None
            if j >= len(actual):
                return None
            nb = match_line(expected[i], actual[j], b)
            if nb is None:
                return None
            b, i, j = nb, i + 1, j + 1
        return b if j == len(actual) else None

    return go(0, 0, bindings)


# Line pairs align() compares by longest common subsequence at most (time and memory go
# as their product); a larger middle is paired line by line, so a diff of a long output
# stays quick.
ALIGN_PAIRS = 250_000


def align(expected: list[str], actual: list[str], bindings: Bindings) -> list[tuple[str, str]]:
    """Pair lines for a diff or an update: ('=', expected line) where an actual line
    matches its expected line, ('-', expected) where one is missing, ('+', actual) where
    one is new. Lines that match at the start and the end are paired as they stand; the
    middle by a longest common subsequence under the line matcher."""

    def same(want: str, got: str) -> bool:
        return want != ANY_LINES and match_line(want, got, bindings) is not None

    n, m = len(expected), len(actual)
    head = 0
    while head < min(n, m) and same(expected[head], actual[head]):
        head += 1
    tail = 0
    while tail < min(n, m) - head and same(expected[n - 1 - tail], actual[m - 1 - tail]):
        tail += 1
    want, got = expected[head : n - tail], actual[head : m - tail]
    if len(want) * len(got) <= ALIGN_PAIRS:
        middle = _common(want, got, same)
    else:
        middle = []
        for i in range(max(len(want), len(got))):
            if i < len(want) and i < len(got) and same(want[i], got[i]):
                middle.append(("=", want[i]))
                continue
            if i < len(want):
                middle.append(("-", want[i]))
            if i < len(got):
                middle.append(("+", got[i]))
    return ([("=", line) for line in expected[:head]] + middle
            + [("=", line) for line in expected[n - tail :]])  # fmt: skip


def _common(
    expected: list[str], actual: list[str], same: Callable[[str, str], bool]
) -> list[tuple[str, str]]:
    """align()'s pairs by a longest common subsequence (quadratic: for short runs)."""
    n, m = len(expected), len(actual)
    ok = [[same(expected[i], actual[j]) for j in range(m)] for i in range(n)]
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if ok[i][j]:
                best[i][j] = best[i + 1][j + 1] + 1
            else:
                best[i][j] = max(best[i + 1][j], best[i][j + 1])
    pairs: list[tuple[str, str]] = []
    i = j = 0
    while i < n or j < m:
        if i < n and j < m and ok[i][j] and best[i][j] == best[i + 1][j + 1] + 1:
            pairs.append(("=", expected[i]))
            i, j = i + 1, j + 1
        elif j < m and (i >= n or best[i][j + 1] >= best[i + 1][j]):
            pairs.append(("+", actual[j]))
            j += 1
        else:
            pairs.append(("-", expected[i]))
            i += 1
    return pairs


def diff(step: Step, actual: list[str], bindings: Bindings, *, where: str) -> list[str]:
    """A unified-style diff for a step: lines that matched show as their expected form,
    so only real differences are marked."""
    import difflib

    pairs = align(step.expected, actual, bindings)
    shown_actual = [text for op, text in pairs if op != "-"]
    out = [f"{where}:{step.line}: {PROMPT}{step.command}"]
    body = list(difflib.unified_diff(step.expected, shown_actual, "expected", "actual",
                                     lineterm="", n=3))  # fmt: skip
    out.extend(body if body else ["(no output lines differ)"])
    removed = [t for op, t in pairs if op == "-"]
    added = [t for op, t in pairs if op == "+"]
    for old in removed:
        for new in added:
            if old.rstrip() == new.rstrip() and old != new:
                out.append(f"note: {old!r} and {new!r} differ only in trailing white space")
    return out


# -- writing output lines ---------------------------------------------------------------

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
        or unsafe(line)
    )


def expected_line(segments: list[Segment]) -> str:
    """The transcript line that expects output made of ``segments``: placeholders as
    ``{name}``; or, where the text would read as something else (a ``#`` at the start, a
    brace pair, a control character...), a ``(re)`` line in which each value is a
    wildcard (a regular expression can't bind a placeholder)."""
    plain = "".join(text if name is None else "{" + name + "}" for text, name in segments)
    names = [name for _, name in segments if name is not None]
    if not (
        plain.startswith(("#", PROMPT.rstrip()))
        or plain == ANY_LINES
        or plain.endswith((" (re)", " (glob)"))
        or [m.group(1) for m in PLACEHOLDER.finditer(plain)] != names
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
    in what is left become {time} when ``times``.
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
    for m in TIME_RE.finditer(text):
        if m.start() > pos:
            segments.append((text[pos : m.start()], None))
        segments.append((m.group(), "time"))
        pos = m.end()
    if pos < len(text):
        segments.append((text[pos:], None))
    return segments


def expand(command: str, bindings: Bindings) -> str:
    """A command line with bound placeholders replaced by their values."""

    def value(m: re.Match[str]) -> str:
        return bindings.get(m.group(1), m.group(0))

    return PLACEHOLDER.sub(value, command)
