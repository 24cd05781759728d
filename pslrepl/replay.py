"""Replaying transcripts: each file in a fresh, hermetic session, checked or updated."""

from __future__ import annotations

import contextlib
import io
import threading

from pslrepl.transcript import (
    Namer,
    Transcript,
    align,
    diff,
    escape_unsafe,
    expand,
    expected_line,
    format_transcript,
    match_output,
    parse,
)
from pslrepl.transcript.files import TranscriptFileError as TranscriptFileError
from pslrepl.transcript.files import read_transcript as read_transcript
from pslrepl.transcript.files import replace_whole as _replace
from pslrepl.transcript.files import write_embedded as write_embedded
from pslrepl.transcript.offthread import Matcher
from pslrepl.transcript.replay_aids import no_stdin, slow_cause, unbound
from pslrepl.transcript.timelimit import Abandoned, SlowPattern, bounded
from pslrepl.transcript.timelimit import TimeLimit as TimeLimit
from pslrepl.transcript.words import expand_in_words as expand_in_words

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.session import Session
    from pslrepl.transcript import Bindings, Step

# What the dispatcher says when a command is cancelled (the time limit sends SIGINT).
CANCELLED = "error: cancelled by Ctrl-C"
# How long a transcript may run when nothing else says (#! timeout S does): generous, a
# bound for a hang, not a judgement on a slow machine.
DEFAULT_TIMEOUT = 300.0
TIME_LIMIT_NOTE = "error: replay: cancelled at the time limit"


class Outcome:
    """How one transcript replayed: whether it passed, the diffs, the actual outputs."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.steps_run = 0
        self.failures: list[list[str]] = []  # one diff per step that differed
        self.actual: dict[int, list[str]] = {}  # step index -> its actual output
        self.bindings: Bindings = {}
        self.timed_out = False
        self.skipped = ""  # why, when a #! require condition is unmet
        self.cancelled = ""  # "FILE:LINE: psl> CMD: still running at the time limit ..."
        self.cancelled_step: int | None = None  # the index of that command's step
        self.differs: set[int] = set()  # the steps whose output did not match
        self.slow_step: int | None = None  # the step whose matching the limit ended
        self.warnings: list[str] = []  # --update: a capture it wrote away, still used
        # What is wrong in the transcript itself, which --update can't mend: a command
        # after one that ended the session, a placeholder nothing binds.
        self.mistakes: list[str] = []

    def takes(self, index: int) -> bool:
        """Whether --update and -i may take step ``index``'s actual output: not that of
        the command the time limit cancelled when it had shown nothing (its written lines
        are kept, not replaced by an empty output)."""
        if index == self.slow_step:  # matching it again would hang as the replay did
            return False
        if index != self.cancelled_step:
            return True
        return any(not line.startswith(TIME_LIMIT_NOTE) for line in self.actual.get(index, []))

    def stopped(self) -> str:
        """Where the time limit stopped the replay, for --update and -i, or ''."""
        if not self.timed_out:
            return ""
        return self.cancelled or (self.failures[-1][0] if self.failures else self.path)

    @property
    def ok(self) -> bool:
        return not self.failures

    def report(self) -> str:
        if self.skipped:
            return f"{self.path}: skip ({self.skipped})"
        if self.ok:
            return f"{self.path}: pass ({_commands(self.steps_run)})"
        lines = [f"{self.path}: FAIL"]
        for failure in self.failures:
            lines.extend(failure)
        if self.slow_step is not None:
            lines.append(f"{self.path} stopped at the time limit while matching: write the "
                         "pattern so that a line can match it one way only")  # fmt: skip
        elif self.timed_out:  # --update would not mend a hang
            lines.append(f"{self.path} stopped at the time limit: raise it (#! timeout S) "
                         "or find why the command hangs")  # fmt: skip
        elif len(self.mistakes) < len(self.failures):  # a mistake says what to do itself
            lines.append(f"to take the new output: pslrepl --update {self.path} (or --check "
                         "-i to choose change by change)")  # fmt: skip
        return "\n".join(lines)


def _commands(n: int) -> str:
    return f"{n} command" if n == 1 else f"{n} commands"


def replay(
    transcript: Transcript,
    *,
    path: str,
    keep_going: bool = False,
    time_limit: float | None = None,
    limit_note: str = "",
    in_tmp: bool = False,
) -> Outcome:
    """Run every step through the shell's own dispatcher in a fresh session; compare.
    ``time_limit``: seconds the whole replay may take; the command running then is
    cancelled, and the step fails with what it showed (only in the main thread). A
    transcript whose ``#! require`` conditions are unmet is skipped, its ``#! timeout``
    bounds it too, and its embedded files are written to {tmp} first. ``in_tmp``: the
    commands run with {tmp} as the working directory (--check, --update and pytest's
    items do), else in the caller's."""
    import os
    import sys

    from pslrepl.app import build, shutdown
    from pslrepl.dispatch import Dispatcher
    from pslrepl.environment import Environment
    from pslrepl.transcript.directives import read_directives, unmet

    outcome = Outcome(path)
    try:
        directives = read_directives(transcript)
    except ValueError as exc:
        outcome.failures.append([f"{path}: {exc}"])
        return outcome
    outcome.skipped = unmet(directives.require)
    if outcome.skipped:
        return outcome
    if directives.timeout is not None and (time_limit is None or directives.timeout < time_limit):
        time_limit = directives.timeout
        limit_note = f"#! timeout on line {directives.timeout_line}"
    sink = io.StringIO()
    # One stream for output and errors, so they interleave as on a terminal; plain
    # text, quiet events: what a replay shows does not depend on timing or the terminal.
    session, dispatcher = build(Environment(stdout=sink, stderr=sink))
    assert isinstance(dispatcher, Dispatcher)
    limit: TimeLimit | None = None
    offthread: Matcher | None = None  # off the main thread: matching bounded elsewise
    if time_limit is not None and threading.current_thread() is threading.main_thread():
        limit = TimeLimit(time_limit, limit_note)
    elif time_limit is not None:
        offthread = Matcher(time_limit, limit_note)
    # {python}: this interpreter, for a transcript that runs pslrepl or a child program.
    # {testdir}: the transcript's own folder, for a fixture kept beside it.
    bindings: Bindings = {"tmp": session.tmp, "python": sys.executable,
                          "testdir": os.path.dirname(os.path.abspath(path))}  # fmt: skip
    seen: dict[str, str] = {}
    now = [bindings]  # the bindings the command running now sees
    expand_in_words(dispatcher, session, now)
    # The commands run in {tmp}, as cram and testscript run theirs in a folder of their
    # own: a relative path (`unix listen x s.sock`, a file a child writes) lands there,
    # never in the caller's tree nor in another --jobs worker's way.
    home = os.open(".", os.O_RDONLY) if in_tmp else -1
    try:
        if in_tmp:
            os.chdir(session.tmp)
        if limit is not None:
            limit.__enter__()
        for file in transcript.files:
            problem = write_embedded(session.tmp, file)
            if problem:
                outcome.failures.append([f"{path}:{file.line}: {problem}"])
                return outcome
        for index, step in enumerate(transcript.steps):
            if session.exit_requested is not None:
                ended = transcript.steps[index - 1].line
                mistake = (f"{path}:{step.line}: not run: the command on line {ended} "
                           "ended the session; remove the commands after it (--update "
                           "can't)")  # fmt: skip
                outcome.failures.append([mistake])
                outcome.mistakes.append(mistake)
                break
            if limit is not None and limit.expired:
                outcome.timed_out = True
                outcome.failures.append([f"{path}:{step.line}: not run: the time limit "
                                         f"({limit.describe()}) has passed"])  # fmt: skip
                break
            _learn(session, bindings, seen)
            start = sink.tell()
            where = f"{path}:{step.line}: psl> {escape_unsafe(step.command)}"
            if limit is not None:
                limit.running(where, True)
            # A replay reads no terminal: an attach gets the lines typed to it, if any.
            session.env.stdin = io.StringIO("".join(expand(line, bindings) + "\n"
                                                    for line in step.typed))  # fmt: skip
            now[0] = bindings
            try:
                with no_stdin():
                    dispatcher.run_line(step.command)
            except Abandoned:  # it swallowed the cancel: given up on, with what it showed
                pass
            finally:
                if limit is not None:
                    limit.running(where, False)
            if limit is not None and limit.interrupted:
                raise KeyboardInterrupt  # the dispatcher cancelled the command; stop all
            sink.seek(start)
            actual = sink.read().split("\n")
            if actual[-1] == "":
                actual.pop()
            if limit is not None and limit.fired:
                _mark_time_limit(actual, limit)
            outcome.actual[index] = actual
            outcome.steps_run += 1
            _learn(session, bindings, seen)
            try:
                shown = _matched(step, actual, bindings, limit, path, offthread)
            except SlowPattern:  # --update and -i leave its lines as written
                outcome.timed_out = True
                outcome.slow_step = outcome.cancelled_step = index
                outcome.cancelled = (f"{where}: matching its output ran past the time limit "
                                     f"({_describe(limit, offthread)}): "
                                     + slow_cause(step, actual))  # fmt: skip
                outcome.failures.append([outcome.cancelled])
                break
            if isinstance(shown, dict):
                nothing_binds = unbound(step, bindings, shown)
                bindings = shown
                if not nothing_binds:
                    continue
                mistake = (f"{path}:{step.line}: psl> {escape_unsafe(step.command)}: its "
                           f"expected output uses {nothing_binds}, which nothing binds (no "
                           "capture nor resource of that name before it): fix the name, or "
                           f"write {{{nothing_binds}}} for the text {nothing_binds}")  # fmt: skip
                outcome.failures.append([mistake])
                outcome.mistakes.append(mistake)
                if not keep_going:
                    break
                continue
            outcome.differs.add(index)  # --update and -i take it without matching again
            outcome.failures.append(shown)
            if limit is not None and limit.fired:
                outcome.timed_out = True
                outcome.cancelled_step = index
                outcome.cancelled = (f"{where}: still running at the time limit "
                                     f"({limit.describe()}): cancelled"
                                     + ("; it went on after the cancel, so the replay "
                                        "gave up on it" if limit.abandoned else ""))  # fmt: skip
                outcome.failures[-1].insert(0, outcome.cancelled + "; its output so far is "
                                            "below")  # fmt: skip
                break
            if not keep_going:
                break
    except (KeyboardInterrupt, Abandoned):
        # The time limit's signal came just as a command ended: the step is over time.
        if limit is None or not limit.fired:
            raise
        outcome.timed_out = True
        outcome.cancelled = f"{limit.step}: the time limit ({limit.describe()}) ended the replay"
        outcome.failures.append([outcome.cancelled])
    finally:
        try:
            shutdown(session)  # first: it puts back a trap's handler, then ours goes back
        finally:
            if home >= 0:  # after the shutdown: a relative unix socket is removed from {tmp}
                try:
                    os.fchdir(home)
                finally:
                    os.close(home)
            if offthread is not None:
                offthread.close()
            if limit is not None:
                limit.__exit__()
    outcome.bindings = bindings
    return outcome


def _describe(limit: TimeLimit | None, offthread: Matcher | None) -> str:
    bound = limit if limit is not None else offthread
    return bound.describe() if bound is not None else ""


def _matched(
    step: Step,
    actual: list[str],
    bindings: Bindings,
    limit: TimeLimit | None,
    path: str,
    offthread: Matcher | None = None,
) -> Bindings | list[str]:
    """The bindings after ``actual`` matched the step's lines, or the diff where it did
    not; bounded by the time limit (SlowPattern), a backtracking pattern included."""
    if offthread is not None and offthread.needed(step):
        result: Bindings | list[str] = offthread.run(_matched, step, actual, bindings, None, path)
        return result
    with bounded(limit.left()) if limit is not None else contextlib.nullcontext():
        matched = match_output(step.expected, actual, bindings)
        if matched is not None and not (limit is not None and limit.fired):
            return matched
        return diff(step, actual, bindings, where=path)


def _learn(session: Session, bindings: Bindings, seen: dict[str, str]) -> None:
    """Bind each run-to-run value the session learned since the last step to its live
    value ({srv.port}, {p.pid}): a command may use one no output has shown yet, and a
    name used again for a new resource (close p; spawn p ...) takes the new value."""
    for name, value in list(session.volatile.items()):
        if seen.get(name) != value:
            seen[name] = value
            bindings[name] = value


_write_file = write_embedded  # its name before it was public (--present imports it so)


def _mark_time_limit(actual: list[str], limit: TimeLimit) -> None:
    """The cancelled command's line says why it was cancelled: no one pressed Ctrl-C."""
    note = f"{TIME_LIMIT_NOTE} ({limit.describe()})"
    for i, line in enumerate(actual):
        if line.startswith(CANCELLED) or (limit.abandoned and line.startswith("error: ")
                                          and "Abandoned" in line):  # fmt: skip
            actual[i] = note
            return
    actual.append(note)


def check_file(
    path: str, *, keep_going: bool = False, time_limit: float | None = None, limit_note: str = ""
) -> Outcome:
    return replay(parse(read_transcript(path)), path=path, keep_going=keep_going,
                  time_limit=time_limit, limit_note=limit_note, in_tmp=True)  # fmt: skip


def update_file(
    path: str, *, time_limit: float | None = None, limit_note: str = ""
) -> tuple[Outcome, bool]:
    """Replay everything and rewrite the expected output where it differs; lines that
    still match keep their written form (placeholders, patterns). A step the time limit
    cancelled takes the output it had shown; the steps after it stay as they were.
    Returns whether the file changed."""
    original = read_transcript(path, writing=True)
    transcript = parse(original)
    outcome = replay(transcript, path=path, keep_going=True, time_limit=time_limit,
                     limit_note=limit_note, in_tmp=True)  # fmt: skip
    # The replay matched each step (bounded by the time limit): not matched again here.
    accept = {index: actual for index, actual in outcome.actual.items()
              if index in outcome.differs and outcome.takes(index)}  # fmt: skip
    updated = rewrite(transcript, accept, outcome.bindings)
    if updated != original:
        from pslrepl.transcript.updating import lost_captures

        outcome.warnings = lost_captures(parse(original), parse(updated), path)
        _replace(path, updated)
    return outcome, updated != original


def rewrite(transcript: Transcript, accept: dict[int, list[str]], bindings: Bindings) -> str:
    """The transcript's text with each step in ``accept`` expecting its new output."""
    from pslrepl.transcript.updating import captured

    names = captured(transcript)
    for index, actual in accept.items():
        step = transcript.steps[index]
        actual = [line for line in actual if not line.startswith(TIME_LIMIT_NOTE)]
        step.expected = _rewrite(step, actual, bindings, names)
        step.comments = [(min(i, len(step.expected)), c) for i, c in step.comments]
    return format_transcript(transcript)


def _rewrite(step: Step, actual: list[str], bindings: Bindings, names: dict[str, int]) -> list[str]:
    from pslrepl.transcript.updating import name_captures, used_captures

    out = []
    namer = Namer({k: v for k, v in bindings.items() if len(v) > 2})
    keep = used_captures(step, names, bindings)  # a capture stays one, however short
    for op, text in align(step.expected, actual, bindings):
        if op in "=.":  # a line that matched, and a `...` as written
            out.append(text)
        elif op == "+":
            # A new line names the values that change between runs, as record does.
            out.append(expected_line(name_captures(namer.split(text, context=step.command),
                                                   keep)))  # fmt: skip
    return out
