"""Matching output against a transcript's expected lines, and the diff where it differs."""

from __future__ import annotations

import re

from pslrepl.transcript.syntax import (
    ANY_LINES,
    CAPTURE_START,
    ESCAPED_OR_PLACEHOLDER,
    FREE,
    PROMPT,
)
from pslrepl.transcript.writing import escape_unsafe

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from pslrepl.transcript.syntax import Bindings, Step


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
    try:
        m = re.fullmatch(pattern, actual, re.DOTALL)
    except re.error:  # a capture's own pattern is bad: read_transcript names it first
        return None
    if m is None:
        return None
    new = dict(bindings)
    for group, name in groups.items():
        new[name] = m.group(group)
    return new


# A capture with no pattern of its own matches one word.
WORD = r"\S+"


def captures(line: str) -> list[tuple[int, int, str, str]]:
    """The captures in an expected line: (start, end, name, regex) of each ``{?NAME}``
    (one word) and ``{?NAME:REGEX}``; a REGEX may hold braces that pair up (``\\d{4}``),
    and ``\\}`` is a brace of its own. A ``{?`` that never closes is text."""
    found = []
    pos = 0
    while (m := CAPTURE_START.search(line, pos)) is not None:
        if m.group(2) == "}":
            found.append((m.start(), m.end(), m.group(1), WORD))
            pos = m.end()
            continue
        depth, i = 0, m.end()
        while i < len(line):
            ch = line[i]
            if ch == "\\":
                i += 2
                continue
            if ch == "{":
                depth += 1
            elif ch == "}":
                if depth == 0:
                    break
                depth -= 1
            i += 1
        if i >= len(line):
            pos = m.end()
            continue
        found.append((m.start(), i + 1, m.group(1), line[m.end() : i]))
        pos = i + 1
    return found


def line_regex(expected: str) -> str:
    """The regular expression an expected line with placeholders or captures becomes
    (nothing bound yet): read_transcript compiles it, so a bad one is named at once."""
    return _placeholder_regex(expected, {})[0]


ESCAPED = "{{}}"  # the mark of an escaped placeholder among _placeholder_regex's marks


def _placeholder_regex(expected: str, bindings: Bindings) -> tuple[str, dict[str, str]]:
    parts: list[str] = []
    groups: dict[str, str] = {}  # regex group -> placeholder name
    seen: dict[str, str] = {}  # placeholder name -> its group, for a repeat in one line
    pos = 0
    # (start, end, name, a capture's regex or None; ESCAPED for a {{NAME}}: its text)
    marks: list[tuple[int, int, str, str | None]] = [
        (m.start(), m.end(), m.group(1) or m.group(2), ESCAPED if m.group(1) else None)
        for m in ESCAPED_OR_PLACEHOLDER.finditer(expected)
    ]
    if "{?" in expected:
        caught = captures(expected)
        marks = [mark for mark in marks
                 if not any(a <= mark[0] < b for a, b, _, _ in caught)]  # fmt: skip
        marks = sorted(marks + [(a, b, name, regex) for a, b, name, regex in caught])
    for start, end, name, regex in marks:
        parts.append(_padded(expected[pos:start], first=pos > 0, last=True))
        if regex is ESCAPED:
            parts.append(re.escape("{" + name + "}"))
        elif regex is not None:  # a capture: always matched afresh, bound for what follows
            group = f"p{len(groups)}"
            groups[group] = name
            seen[name] = group
            parts.append(f"(?P<{group}>{regex})")
        elif name in seen:
            parts.append(f"(?P={seen[name]})")
        elif name in bindings:
            parts.append(re.escape(bindings[name]))
        elif name in FREE:
            parts.append(f"(?:{FREE[name]})")
        else:
            group = f"p{len(groups)}"
            groups[group] = name
            seen[name] = group
            parts.append(f"(?P<{group}>.+?)")
        pos = end
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
    """Match a step's whole output, ``...`` absorbing any number of lines. A ``...``
    that found no match from output line j (with what is bound there) finds none from
    any later line either, so it is not tried again: a mismatch under several ``...``
    costs about lines x expected lines, not lines to the power of the ``...`` count (200
    lines under 4 ``...`` once took 15 s to say they differ)."""
    fails_from: dict[tuple[int, frozenset[tuple[str, str]]], int] = {}

    def go(i: int, j: int, b: Bindings) -> Bindings | None:
        while i < len(expected):
            if expected[i] == ANY_LINES:
                while i + 1 < len(expected) and expected[i + 1] == ANY_LINES:
                    i += 1  # `...` twice in a row absorbs what one does
                key = (i, frozenset(b.items()))
                end = fails_from.get(key, len(actual) + 1)
                for k in range(j, end):
                    found = go(i + 1, k, b)
                    if found is not None:
                        return found
                fails_from[key] = min(j, end)
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
    one is new; a ``...`` line is ('~', actual) for each line it matched, then
    ('.', '...'). Lines that match at the start and the end are paired as they stand; the
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
    """align()'s pairs with the fewest lines marked new or missing, and of those the most
    paired (quadratic: for short runs). A ``...`` line is ('.', '...') and absorbs any run
    of actual lines, each ('~', line): what it matched is no difference."""
    n, m = len(expected), len(actual)
    ok = [[same(expected[i], actual[j]) for j in range(m)] for i in range(n)]
    # best[i][j]: (lines marked, -lines paired) aligning expected[i:] with actual[j:]
    best = [[(0, 0)] * (m + 1) for _ in range(n + 1)]
    for j in range(m - 1, -1, -1):
        best[n][j] = (m - j, 0)
    for i in range(n - 1, -1, -1):
        dots = expected[i] == ANY_LINES
        for j in range(m, -1, -1):
            if dots:
                options = [best[i + 1][j]]
                if j < m:
                    options.append(best[i][j + 1])
            else:
                marked, paired = best[i + 1][j]
                options = [(marked + 1, paired)]
                if j < m:
                    marked, paired = best[i][j + 1]
                    options.append((marked + 1, paired))
                    if ok[i][j]:
                        marked, paired = best[i + 1][j + 1]
                        options.append((marked, paired - 1))
            best[i][j] = min(options)
    pairs: list[tuple[str, str]] = []
    i = j = 0
    while i < n or j < m:
        here = best[i][j]
        if i < n and expected[i] == ANY_LINES:
            if j < m and best[i][j + 1] == here:
                pairs.append(("~", actual[j]))
                j += 1
            else:
                pairs.append((".", ANY_LINES))
                i += 1
            continue
        if i < n and j < m and ok[i][j] and (best[i + 1][j + 1][0],
                                             best[i + 1][j + 1][1] - 1) == here:  # fmt: skip
            pairs.append(("=", expected[i]))
            i, j = i + 1, j + 1
        elif j < m and (i >= n or (best[i][j + 1][0] + 1, best[i][j + 1][1]) == here):
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
    # Resolved: a line that matched shows as the output it matched, and a missing line
    # with the values its placeholders were bound to, so the diff reads as output does.
    shown_expected: list[str] = []
    k = 0
    for op, text in pairs:
        if op in "=~":  # matched, by its own line or by a `...`
            shown_expected.append(actual[k])
        if op in "=~+":
            k += 1
        elif op == "-":
            shown_expected.append(resolve(text, bindings))
    # The command as the diff shows lines: an ESC in it must not colour a CI log.
    out = [f"{where}:{step.line}: {PROMPT}{escape_unsafe(step.command)}"]
    # A control character shows as an escape: a diff goes to a terminal or a CI log.
    shown_expected = [escape_unsafe(line) for line in shown_expected]
    shown_actual = [escape_unsafe(line) for line in actual]
    body = list(difflib.unified_diff(shown_expected, shown_actual, "expected", "actual",
                                     lineterm="", n=3))  # fmt: skip
    if not body and pairs != [("=", line) for line in step.expected]:
        # Shown alike yet unmatched: a pattern line or a capture that reads as its text.
        body = [f"expected {text!r} reads the same as the output yet does not match it: "
                "a (re), (glob) or {?capture} line matches as a pattern, not as text"
                for op, text in pairs if op == "-"]  # fmt: skip
    out.extend(body if body else ["(no output lines differ)"])
    removed = [t for op, t in pairs if op == "-"]
    added = [t for op, t in pairs if op == "+"]
    for old in removed:
        for new in added:
            if old.rstrip() == new.rstrip() and old != new:
                out.append(f"note: {old!r} and {new!r} differ only in trailing white space")
    return out


def resolve(expected: str, bindings: Bindings) -> str:
    """An expected line with its bound placeholders written as their values (a pattern
    line, ``(re)`` or ``(glob)``, stays as it is)."""
    if expected.endswith((" (re)", " (glob)")) or "{" not in expected:
        return expected
    return expand(expected, bindings)


def expand(command: str, bindings: Bindings) -> str:
    """A command line with bound placeholders replaced by their values, and each
    escaped one (``{{NAME}}``) by its text (``{NAME}``), bound or not."""

    def value(m: re.Match[str]) -> str:
        if m.group(1):
            return "{" + m.group(1) + "}"
        name = m.group(2)
        if name not in bindings and name.endswith(".laddr"):
            # A server or a listener knows its own address as .addr: the same value.
            return bindings.get(name[: -len("laddr")] + "addr", m.group(0))
        return bindings.get(name, m.group(0))

    return ESCAPED_OR_PLACEHOLDER.sub(value, command)
