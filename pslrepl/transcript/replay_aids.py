"""Helpers of a replay: the empty stdin its commands read, a placeholder nothing binds."""

from __future__ import annotations

import contextlib
import io
import threading

from pslrepl.transcript.syntax import ANY_LINES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from pslrepl.transcript.syntax import Bindings, Step

# A resource's values that output shows (and record writes) though the session may not
# have learned them: bound the first time a line shows one.
SHOWN_FIELDS = frozenset({"fd", "addr", "laddr", "raddr", "pid", "port", "left", "onward"})


@contextlib.contextmanager
def no_stdin() -> Iterator[None]:
    """A replay's command reads an empty standard input: `py input()` once waited on
    the keyboard under --check, took -i's answers, and read the parent's input under
    --jobs. The file descriptor too (a child started then inherits it) in the main
    thread, where no other replay runs at the same time."""
    import os
    import sys

    saved_stream = sys.stdin
    saved_fd = -1
    if threading.current_thread() is threading.main_thread():
        try:
            saved_fd = os.dup(0)
        except OSError:  # no fd 0 at all: nothing to read from it either
            saved_fd = -1
    try:
        if saved_fd >= 0:
            null = os.open(os.devnull, os.O_RDONLY)
            try:
                os.dup2(null, 0, inheritable=True)
            finally:
                os.close(null)
        sys.stdin = io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8")
        yield
    finally:
        sys.stdin = saved_stream
        if saved_fd >= 0:
            os.dup2(saved_fd, 0, inheritable=True)
            os.close(saved_fd)


def unbound(step: Step, before: Bindings, after: Bindings) -> str:
    """A ``{NAME}`` the step's expected lines matched though nothing had bound it (not a
    capture, a resource's value, {tmp}...), as ``{NAME}``, or '': a typo or a capture
    that is gone once matched its own text, and the check passed."""
    from pslrepl.transcript.matching import captures

    caught = {name for line in step.expected for _, _, name, _ in captures(line)}
    fields = SHOWN_FIELDS | {name.rpartition(".")[2] for name in before if "." in name}
    for name in after:
        if name in before or name in caught:
            continue
        if "." in name and name.rpartition(".")[2] in fields:
            continue  # a resource's value the shell shows but does not learn ({s.fd})
        return "{" + name + "}"
    return ""


def slow_cause(step: Step, actual: list[str]) -> str:
    """Why matching a step's output may be slow: only what its lines hold is named."""
    if any(line.endswith(" (re)") or "{?" in line for line in step.expected):
        return (
            "a (re) line or a capture's REGEX under it backtracks (a nested quantifier "
            "like (a+)+ tries every split of a long line); make it match one way only"
        )
    dots = step.expected.count(ANY_LINES)
    return (
        f"its lines hold no (re) line nor capture; {dots} `...` line"
        f"{'' if dots == 1 else 's'} over {len(actual)} output lines: match a shorter "
        "output, or raise #! timeout"
    )
