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
    from collections.abc import Iterator

PROMPT = "psl> "
ANY_LINES = "..."
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_]\w*)?)\}")
# Placeholders that match a shape rather than bind a value: they differ on every line.
FREE = {
    "time": r"\d\d:\d\d:\d\d(?:\.\d{3})?",
    "age": r"\d+s|\d+m\d\ds|\d+h\d\dm",
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


def parse(text: str) -> Transcript:
    preamble: list[str] = []
    steps: list[Step] = []
    for number, line in enumerate(text.splitlines(), 1):
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
    """The commands a block of text holds, for a paste or ``source``: in a block copied
    from a transcript or the README (some line starts ``psl> ``) only the prompted lines
    are commands, the rest is their output; otherwise every line is one."""
    lines = text.splitlines()
    if any(line.startswith(PROMPT) or line == PROMPT.rstrip() for line in lines):
        return [line[len(PROMPT) :] for line in lines if line.startswith(PROMPT)]
    return lines


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


def align(expected: list[str], actual: list[str], bindings: Bindings) -> list[tuple[str, str]]:
    """Pair lines for a diff or an update: ('=', expected line) where an actual line
    matches its expected line, ('-', expected) where one is missing, ('+', actual) where
    one is new. A longest common subsequence under the line matcher."""
    n, m = len(expected), len(actual)
    ok = [
        [expected[i] != ANY_LINES and match_line(expected[i], actual[j], bindings) is not None
         for j in range(m)]
        for i in range(n)
    ]  # fmt: skip
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


def needs_escape(line: str) -> bool:
    """An output line that would read as something else in a transcript."""
    return (
        line.startswith(("#", PROMPT.rstrip()))
        or line == ANY_LINES
        or line.endswith((" (re)", " (glob)"))
        or PLACEHOLDER.search(line) is not None
    )


def literal(line: str) -> str:
    """An output line as a transcript line that matches exactly that text."""
    return re.escape(line) + " (re)" if needs_escape(line) else line


def name_values(text: str, named: Bindings, *, times: bool = True) -> str:
    """Write values that change from run to run as the placeholders that name them
    (``{"p.pid": "4242"}``: 4242 becomes {p.pid}); clock times as {time}."""
    # Longest first, so a value that is part of a longer one is not cut out of it.
    for name, value in sorted(named.items(), key=lambda kv: -len(kv[1])):
        if not value or value not in text:
            continue
        if value.isdigit():  # a number only as a whole word: pid 42 is not in 1042
            text = re.sub(rf"(?<![\w.]){value}(?!\w)", "{" + name + "}", text)
        else:
            text = text.replace(value, "{" + name + "}")
    return TIME_RE.sub("{time}", text) if times else text


def expand(command: str, bindings: Bindings) -> str:
    """A command line with bound placeholders replaced by their values."""

    def value(m: re.Match[str]) -> str:
        return bindings.get(m.group(1), m.group(0))

    return PLACEHOLDER.sub(value, command)
