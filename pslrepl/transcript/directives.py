"""A transcript's ``#!`` directives and embedded files: read, checked, and conditions tested."""

from __future__ import annotations

import functools
import re

from pslrepl.transcript.matching import captures, line_regex
from pslrepl.transcript.syntax import CAPTURE_START

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.transcript.syntax import EmbeddedFile, Step, Transcript

KNOWN_CONDITIONS = "exec:PROGRAM, root, linux, python>=X.Y (or >, <, <=, ==, !=), ipv6, netns"
_PYTHON = re.compile(r"python(>=|<=|==|!=|>|<)(\d+(?:\.\d+){0,2})")
# A time limit longer than this is a typo, not a wish (a day).
LONGEST_TIMEOUT = 86_400.0


class Directives:
    """What a transcript's ``#!`` lines ask: conditions to run at all, a time limit."""

    def __init__(self) -> None:
        self.require: list[str] = []
        self.timeout: float | None = None
        self.timeout_line = 0


# Names a capture may not take: the replay's own values, which it would hide.
RESERVED = {"tmp": "the session's folder", "python": "this interpreter",
            "testdir": "the transcript's own folder",
            "time": "any clock time", "age": "any age", "size": "any count",
            "hexrow": "any hexdump row", "inside": "any TLS record's body",
            "date": "any HTTP date's day", "measured": "any measured figure"}  # fmt: skip


def _numbers(step: Step) -> dict[tuple[str, int], int]:
    """The file's line number of each expected line ('=', i) and comment ('#', k) under
    a step, in the order they are written."""
    numbers: dict[tuple[str, int], int] = {}
    number = step.line + len(step.typed)
    pending = sorted(range(len(step.comments)), key=lambda k: step.comments[k][0])
    c = 0
    for i in range(len(step.expected) + 1):
        while c < len(pending) and step.comments[pending[c]][0] <= i:
            number += 1
            numbers[("#", pending[c])] = number
            c += 1
        if i < len(step.expected):
            number += 1
            numbers[("=", i)] = number
    return numbers


def read_directives(transcript: Transcript) -> Directives:
    """The directives, checked with the embedded files and the captures; ValueError
    ("line N: ...; what to do") for the first one that is wrong."""
    found = Directives()
    for number, word, args in transcript.directives():
        if word == "require":
            if not args:
                raise ValueError(f"line {number}: #! require needs conditions: "
                                 f"{KNOWN_CONDITIONS}")  # fmt: skip
            for cond in args:
                if not _known(cond):
                    raise ValueError(f"line {number}: unknown condition {cond!r}; known: "
                                     f"{KNOWN_CONDITIONS}, each may start ! for not")  # fmt: skip
            found.require.extend(args)
        elif word == "timeout":
            if found.timeout is not None:
                raise ValueError(f"line {number}: a second #! timeout (line "
                                 f"{found.timeout_line} gives one); keep one")  # fmt: skip
            found.timeout = _seconds(number, args)
            found.timeout_line = number
        else:
            raise ValueError(f"line {number}: unknown directive '#! {word}'; known: "
                             "#! require COND..., #! timeout S")  # fmt: skip
    for step in transcript.steps:
        numbers = _numbers(step)
        for k, (_, comment) in enumerate(step.comments):
            if comment.startswith("#!") and not comment.startswith("#!/"):
                where = numbers[("#", k)]
                raise ValueError(f"line {where}: {comment!r} is a #! directive; it goes "
                                 "before the first command: move it to the top")  # fmt: skip
        for i, line in enumerate(step.expected):
            number = numbers[("=", i)]
            if line.endswith(" (re)"):
                try:
                    re.compile(line[:-5])
                except re.error as exc:
                    raise ValueError(f"line {number}: bad regular expression in a (re) line "
                                     f"({exc}); fix it, or write a line of text as it "
                                     "is") from None  # fmt: skip
            if line.endswith((" (re)", " (glob)")):
                if (m := CAPTURE_START.search(line)) is not None:
                    kind = line.rpartition(" ")[2]
                    raise ValueError(f"line {number}: {{?{m.group(1)}...}} in a {kind} line is "
                                     "plain text there, never a capture: drop the "
                                     f"' {kind}' and write the pattern's parts as "
                                     "{?NAME:REGEX}")  # fmt: skip
                continue
            for _, _, name, regex in captures(line):
                if name in RESERVED:
                    what = RESERVED[name]
                    raise ValueError(f"line {number}: a capture may not be named {name}: "
                                     f"{{{name}}} is {what}; pick another name")  # fmt: skip
                try:
                    re.compile(regex)
                except re.error as exc:
                    raise ValueError(
                        f"line {number}: capture {{?{name}:...}}: "
                        f"bad regular expression {regex!r} ({exc})"
                    ) from None
            if "{?" in line:
                try:
                    re.compile(line_regex(line))
                except re.error as exc:
                    raise ValueError(
                        f"line {number}: its captures make no regular "
                        f"expression together ({exc}): a REGEX's groups are "
                        "numbered and named among the whole line's, so a "
                        "back-reference (\\1) or a group name used twice "
                        "does not work; use (?:...) and no references"
                    ) from None
            for m in re.finditer(r"\{\?([^{}:]*)[:}]", line):
                if CAPTURE_START.match(line, m.start()) is None:
                    raise ValueError(f"line {number}: {{?{m.group(1)}}} is no capture: a "
                                     "capture's NAME is ASCII letters, digits, _ and - "
                                     "(no dot or space); write {?NAME} or "
                                     "{?NAME:REGEX}")  # fmt: skip
    names: set[str] = set()
    folders: dict[str, EmbeddedFile] = {}  # each folder a file's name makes -> that file
    for file in transcript.files:
        why = _bad_name(file.name)
        if why:
            raise ValueError(f"line {file.line}: embedded file {file.name!r}: {why}")
        if file.name in names:
            raise ValueError(f"line {file.line}: embedded file {file.name!r} comes twice; "
                             "give each file once")  # fmt: skip
        names.add(file.name)
        parts = file.name.split("/")
        for n in range(1, len(parts)):
            folders.setdefault("/".join(parts[:n]), file)
    for file in transcript.files:
        if file.name in folders:
            other = folders[file.name]
            raise ValueError(f"line {other.line}: embedded file {other.name!r} needs "
                             f"{file.name} to be a folder, but line {file.line} makes it a "
                             "file; rename one of them")  # fmt: skip
    return found


def _seconds(number: int, args: list[str]) -> float:
    if len(args) != 1:
        raise ValueError(f"line {number}: #! timeout takes one number of seconds, like "
                         "#! timeout 30")  # fmt: skip
    # Digits as written in ASCII: float() also takes 1_0 and a fullwidth ５.
    seconds = float(args[0]) if re.fullmatch(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+", args[0]) else 0.0
    if not 0 < seconds <= LONGEST_TIMEOUT:  # nan fails this too
        raise ValueError(f"line {number}: #! timeout must be seconds above 0 and at most "
                         f"{LONGEST_TIMEOUT:g}, not {args[0]!r}")  # fmt: skip
    return seconds


def _bad_name(name: str) -> str:
    """Why ``name`` can't be a file in the session's temporary directory ('' if it can)."""
    if name.startswith("/"):
        return "a name is relative to {tmp}; drop the leading /"
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "a name may not hold an empty part, . or ..; give a path inside {tmp}"
    if "\x00" in name:
        return "a name may not hold NUL"
    return ""


def _known(cond: str) -> bool:
    cond = cond[1:] if cond.startswith("!") else cond
    return (
        cond in ("root", "linux", "ipv6", "netns")
        or (cond.startswith("exec:") and len(cond) > 5)
        or _PYTHON.fullmatch(cond) is not None
    )


def unmet(conditions: list[str]) -> str:
    """Why the first unmet condition is unmet ('' when all hold)."""
    for cond in conditions:
        negated = cond.startswith("!")
        holds, why = _holds(cond[1:] if negated else cond)
        if negated and holds:
            return f"{cond}: {why}"
        if not negated and not holds:
            return f"{cond}: {why}"
    return ""


def _holds(cond: str) -> tuple[bool, str]:
    """Whether ``cond`` holds here, and what is so (said where it decides a skip)."""
    import os
    import sys

    if cond.startswith("exec:"):
        import shutil

        program = cond[5:]
        found = shutil.which(program)
        return (True, f"{program} is {found}") if found else (False, f"no {program} on PATH")
    if cond == "root":
        return (os.geteuid() == 0, "running as root" if os.geteuid() == 0 else "not root")
    if cond == "linux":
        return (sys.platform.startswith("linux"), f"this is {sys.platform}")
    if cond == "ipv6":
        return _ipv6()
    if cond == "netns":
        return _netns()
    m = _PYTHON.fullmatch(cond)
    assert m is not None  # read_directives let only known conditions through
    op, want = m.group(1), tuple(int(part) for part in m.group(2).split("."))
    have = sys.version_info[: len(want)]
    holds = {">=": have >= want, "<=": have <= want, "==": have == want, "!=": have != want,
             ">": have > want, "<": have < want}[op]  # fmt: skip
    return holds, f"this is python {sys.version.split()[0]}"


@functools.cache
def _ipv6() -> tuple[bool, str]:
    import socket

    if not socket.has_ipv6:
        return False, "this Python has no IPv6"
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError as exc:
        return False, f"can't bind ::1 ({exc.strerror or exc})"
    return True, "::1 can be bound"


@functools.cache
def _netns() -> tuple[bool, str]:
    """Whether a network namespace can be made: unshare(1) tried for real (as root, or
    in a user namespace of its own)."""
    import os
    import shutil
    import subprocess

    program = shutil.which("unshare")
    if program is None:
        return False, "no unshare on PATH (util-linux)"
    argv = [program, "--net", "true"] if os.geteuid() == 0 else [program, "-rn", "true"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"unshare failed: {exc}"
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        return False, f"unshare can't make one here ({said[-1] if said else done.returncode})"
    return True, "unshare can make one"
