"""Replaying transcripts: each file in a fresh, hermetic session, checked or updated."""

from __future__ import annotations

import io

from pslrepl.transcript import (
    Transcript,
    align,
    diff,
    expand,
    format_transcript,
    literal,
    match_output,
    name_values,
    parse,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.transcript import Bindings, Step


class Outcome:
    """How one transcript replayed: whether it passed, the diffs, the actual outputs."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.steps_run = 0
        self.failures: list[list[str]] = []  # one diff per step that differed
        self.actual: dict[int, list[str]] = {}  # step index -> its actual output
        self.bindings: Bindings = {}

    @property
    def ok(self) -> bool:
        return not self.failures

    def report(self) -> str:
        if self.ok:
            return f"{self.path}: pass ({self.steps_run} commands)"
        lines = [f"{self.path}: FAIL"]
        for failure in self.failures:
            lines.extend(failure)
        return "\n".join(lines)


def replay(transcript: Transcript, *, path: str, keep_going: bool = False) -> Outcome:
    """Run every step through the shell's own dispatcher in a fresh session; compare."""
    from pslrepl.cli import build, shutdown
    from pslrepl.dispatch import Dispatcher
    from pslrepl.environment import Environment

    outcome = Outcome(path)
    sink = io.StringIO()
    # One stream for output and errors, so they interleave as on a terminal; plain
    # text, quiet events: what a replay shows does not depend on timing or the terminal.
    session, dispatcher = build(Environment(stdout=sink, stderr=sink))
    assert isinstance(dispatcher, Dispatcher)
    bindings: Bindings = {"tmp": session.tmp}
    try:
        for index, step in enumerate(transcript.steps):
            if session.exit_requested is not None:
                outcome.failures.append(
                    [f"{path}:{step.line}: not run: an earlier command ended the session"]
                )
                break
            start = sink.tell()
            dispatcher.run_line(expand(step.command, bindings))
            sink.seek(start)
            text = sink.read()
            actual = text.split("\n")
            if actual[-1] == "":
                actual.pop()
            outcome.actual[index] = actual
            outcome.steps_run += 1
            matched = match_output(step.expected, actual, bindings)
            if matched is not None:
                bindings = matched
                continue
            outcome.failures.append(diff(step, actual, bindings, where=path))
            if not keep_going:
                break
    finally:
        shutdown(session)
    outcome.bindings = bindings
    return outcome


def check_file(path: str, *, keep_going: bool = False) -> Outcome:
    with open(path, encoding="utf-8") as fh:
        transcript = parse(fh.read())
    return replay(transcript, path=path, keep_going=keep_going)


def update_file(path: str) -> tuple[Outcome, bool]:
    """Replay everything and rewrite the expected output where it differs; lines that
    still match keep their written form (placeholders, patterns). Returns whether the
    file changed."""
    with open(path, encoding="utf-8") as fh:
        original = fh.read()
    transcript = parse(original)
    outcome = replay(transcript, path=path, keep_going=True)
    for index, step in enumerate(transcript.steps):
        actual = outcome.actual.get(index)
        if actual is None or match_output(step.expected, actual, outcome.bindings) is not None:
            continue
        step.expected = _rewrite(step, actual, outcome.bindings)
        step.comments = [(min(i, len(step.expected)), c) for i, c in step.comments]
    updated = format_transcript(transcript)
    if updated != original:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(updated)
    return outcome, updated != original


def _rewrite(step: Step, actual: list[str], bindings: Bindings) -> list[str]:
    out = []
    named = {k: v for k, v in bindings.items() if len(v) > 2}
    for op, text in align(step.expected, actual, bindings):
        if op == "=":
            out.append(text)
        elif op == "+":
            line = literal(text)
            # A plain new line names the values that change between runs, as record does.
            out.append(name_values(text, named) if line == text else line)
    return out
