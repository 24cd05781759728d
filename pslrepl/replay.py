"""Replaying transcripts: each file in a fresh, hermetic session, checked or updated."""

from __future__ import annotations

import io
import threading
import time

from pslrepl.transcript import (
    Namer,
    Transcript,
    align,
    diff,
    expand,
    expected_line,
    format_transcript,
    match_output,
    parse,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.session import Session
    from pslrepl.transcript import Bindings, Step

# What the dispatcher says when a command is cancelled (the time limit sends SIGINT).
CANCELLED = "error: cancelled by Ctrl-C"


class TranscriptFileError(OSError):
    """A file that can't be checked or updated as a transcript: its message (strerror)
    says why and what to do. An OSError, so the command line reports it as one line with
    exit status 2, as it does a file it can't read."""

    def __init__(self, message: str) -> None:
        super().__init__(0, message)


class Outcome:
    """How one transcript replayed: whether it passed, the diffs, the actual outputs."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.steps_run = 0
        self.failures: list[list[str]] = []  # one diff per step that differed
        self.actual: dict[int, list[str]] = {}  # step index -> its actual output
        self.bindings: Bindings = {}
        self.timed_out = False

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


class TimeLimit:
    """Cancels the command a replay is running once the transcript has run ``seconds``:
    SIGINT to the main thread, which the dispatcher turns into a cancelled command (a
    blocking call returns EINTR). Only while a command runs, never between them."""

    def __init__(self, seconds: float, note: str = "") -> None:
        self.seconds = seconds
        self.note = note  # where the limit comes from, for the report
        self.started = time.monotonic()
        self.fired = False
        self.step = ""  # "FILE:LINE: psl> CMD" of the command running now
        self._running = False
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._cancelled = threading.Event()  # the command ended after the signal
        self._main = threading.main_thread().ident
        self._thread = threading.Thread(target=self._watch, name="pslrepl:replay-time-limit",
                                        daemon=True)  # fmt: skip

    def __enter__(self) -> TimeLimit:
        import signal

        # SIGINT must raise KeyboardInterrupt here (pytest may run with it ignored).
        self._old = signal.signal(signal.SIGINT, signal.default_int_handler)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        self._done.set()
        self._thread.join()
        signal.signal(signal.SIGINT, self._old)

    def running(self, step: str, on: bool) -> None:
        with self._lock:
            self.step, self._running = step, on
            if not on and self.fired:
                self._cancelled.set()

    @property
    def expired(self) -> bool:
        return time.monotonic() - self.started >= self.seconds

    def describe(self) -> str:
        return f"{self.seconds:g} s" + (f", {self.note}" if self.note else "")

    def _watch(self) -> None:
        import signal
        import sys

        if self._done.wait(max(0.0, self.started + self.seconds - time.monotonic())):
            return
        while True:  # past the limit: the next command that runs is cancelled
            with self._lock:
                if self._running and self._main is not None:
                    self.fired = True
                    signal.pthread_kill(self._main, signal.SIGINT)
                    break
            if self._done.wait(0.05):
                return
        # A command that ignores SIGINT (a trapped INT, a call that retries) keeps
        # running: say which one, where pytest-timeout's dump will show it.
        if self._cancelled.wait(2.0):
            return
        with self._lock:
            still = self._running
        if still:
            # sys.__stderr__: py may have sys.stderr redirected to its own capture.
            err = sys.__stderr__
            if err is None:
                return
            took = time.monotonic() - self.started
            err.write(f"pslrepl: {self.step}: still running after {took:.0f} s; cancelling "
                      "it did not work\n")  # fmt: skip
            err.flush()


def replay(
    transcript: Transcript,
    *,
    path: str,
    keep_going: bool = False,
    time_limit: float | None = None,
    limit_note: str = "",
) -> Outcome:
    """Run every step through the shell's own dispatcher in a fresh session; compare.
    ``time_limit``: seconds the whole replay may take; the command running then is
    cancelled, and the step fails with what it showed (only in the main thread)."""
    from pslrepl.app import build, shutdown
    from pslrepl.dispatch import Dispatcher
    from pslrepl.environment import Environment

    outcome = Outcome(path)
    sink = io.StringIO()
    # One stream for output and errors, so they interleave as on a terminal; plain
    # text, quiet events: what a replay shows does not depend on timing or the terminal.
    session, dispatcher = build(Environment(stdout=sink, stderr=sink))
    assert isinstance(dispatcher, Dispatcher)
    limit: TimeLimit | None = None
    if time_limit is not None and threading.current_thread() is threading.main_thread():
        limit = TimeLimit(time_limit, limit_note)
    bindings: Bindings = {"tmp": session.tmp}
    seen: dict[str, str] = {}
    try:
        if limit is not None:
            limit.__enter__()
        for index, step in enumerate(transcript.steps):
            if session.exit_requested is not None:
                outcome.failures.append(
                    [f"{path}:{step.line}: not run: an earlier command ended the session"]
                )
                break
            if limit is not None and limit.expired:
                outcome.timed_out = True
                outcome.failures.append([f"{path}:{step.line}: not run: the time limit "
                                         f"({limit.describe()}) has passed"])  # fmt: skip
                break
            _learn(session, bindings, seen)
            start = sink.tell()
            where = f"{path}:{step.line}: psl> {step.command}"
            if limit is not None:
                limit.running(where, True)
            try:
                dispatcher.run_line(expand(step.command, bindings))
            finally:
                if limit is not None:
                    limit.running(where, False)
            sink.seek(start)
            actual = sink.read().split("\n")
            if actual[-1] == "":
                actual.pop()
            if limit is not None and limit.fired:
                _mark_time_limit(actual, limit)
            outcome.actual[index] = actual
            outcome.steps_run += 1
            _learn(session, bindings, seen)
            matched = match_output(step.expected, actual, bindings)
            if matched is not None and not (limit is not None and limit.fired):
                bindings = matched
                continue
            outcome.failures.append(diff(step, actual, bindings, where=path))
            if limit is not None and limit.fired:
                outcome.timed_out = True
                outcome.failures[-1].insert(0, f"{where}: still running at the time limit "
                                            f"({limit.describe()}): cancelled")  # fmt: skip
                break
            if not keep_going:
                break
    except KeyboardInterrupt:
        # The time limit's signal came just as a command ended: the step is over time.
        if limit is None or not limit.fired:
            raise
        outcome.timed_out = True
        outcome.failures.append([f"{limit.step}: the time limit ({limit.describe()}) "
                                 "ended the replay"])  # fmt: skip
    finally:
        try:
            shutdown(session)  # first: it puts back a trap's handler, then ours goes back
        finally:
            if limit is not None:
                limit.__exit__()
    outcome.bindings = bindings
    return outcome


def _learn(session: Session, bindings: Bindings, seen: dict[str, str]) -> None:
    """Bind each run-to-run value the session learned since the last step to its live
    value ({srv.port}, {p.pid}): a command may use one no output has shown yet, and a
    name used again for a new resource (close p; spawn p ...) takes the new value."""
    for name, value in list(session.volatile.items()):
        if seen.get(name) != value:
            seen[name] = value
            bindings[name] = value


def _mark_time_limit(actual: list[str], limit: TimeLimit) -> None:
    """The cancelled command's line says why it was cancelled: no one pressed Ctrl-C."""
    note = f"error: replay: cancelled at the time limit ({limit.describe()})"
    for i, line in enumerate(actual):
        if line.startswith(CANCELLED):
            actual[i] = note
            return
    actual.append(note)


# -- files ------------------------------------------------------------------------------


def read_transcript(path: str, *, writing: bool = False) -> str:
    """A transcript file's text; TranscriptFileError saying what is wrong with it (not
    there, a directory, not UTF-8, no commands; for ``writing``, a symbolic link)."""
    import errno
    import os

    from pslrepl.errors import describe_oserror

    if writing and os.path.islink(path):
        raise TranscriptFileError(
            f"it is a symbolic link (to {os.readlink(path)}); --update won't write through "
            "one: give the file it points to"
        )
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise TranscriptFileError("no such file; give the path of a .psl transcript") from None
        if exc.errno == errno.EISDIR:
            raise TranscriptFileError(f"it is a directory; give the transcripts in it, like "
                                      f"{os.path.join(path, '*.psl')}") from None  # fmt: skip
        raise TranscriptFileError(describe_oserror(exc)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise TranscriptFileError(
            f"line {line} is not UTF-8 text (byte 0x{data[exc.start]:02x}); a transcript "
            "is UTF-8: write a byte in output as a \\xNN escape in a (re) line"
        ) from None
    if not parse(text).steps:
        what = "it holds no commands (no line starts 'psl> ')" if text.strip() else "it is empty"
        raise TranscriptFileError(f"{what}: `record FILE` in the shell writes a transcript")
    return text


def check_file(
    path: str, *, keep_going: bool = False, time_limit: float | None = None, limit_note: str = ""
) -> Outcome:
    return replay(parse(read_transcript(path)), path=path, keep_going=keep_going,
                  time_limit=time_limit, limit_note=limit_note)  # fmt: skip


def update_file(path: str) -> tuple[Outcome, bool]:
    """Replay everything and rewrite the expected output where it differs; lines that
    still match keep their written form (placeholders, patterns). Returns whether the
    file changed."""
    original = read_transcript(path, writing=True)
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
        _replace(path, updated)
    return outcome, updated != original


def _replace(path: str, text: str) -> None:
    """Write ``text`` as ``path`` whole or not at all: a new file renamed over the old one
    (a full disk leaves the old one as it was; a symbolic link put there since is
    replaced, never written through). The file keeps its mode."""
    import os
    import tempfile

    from pslrepl.errors import describe_oserror

    folder = os.path.dirname(path) or "."
    tmp = ""
    try:
        mode = os.lstat(path).st_mode & 0o7777
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fd, mode)
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise TranscriptFileError(f"can't write it: {describe_oserror(exc)}") from None


def _rewrite(step: Step, actual: list[str], bindings: Bindings) -> list[str]:
    out = []
    namer = Namer({k: v for k, v in bindings.items() if len(v) > 2})
    for op, text in align(step.expected, actual, bindings):
        if op == "=":
            out.append(text)
        elif op == "+":
            # A new line names the values that change between runs, as record does.
            out.append(expected_line(namer.split(text, context=step.command)))
    return out
