"""A transcript replayed quietly, for its session's records: what --export-py exports."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.invocation import CommandRecord


def transcript_records(path: str) -> tuple[list[CommandRecord], dict[str, Any]]:
    """Run each command of the transcript at ``path`` in a fresh session whose output goes
    nowhere (placeholders bound as replay binds them); the commands' records, and the
    session's facts export_records takes as keywords (export's session_facts). Raises
    replay.TranscriptFileError for a file that is no transcript."""
    import io
    import sys

    from pslrepl.app import build, shutdown
    from pslrepl.environment import Environment
    from pslrepl.replay import read_transcript, write_embedded
    from pslrepl.transcript import expand, match_output, parse

    transcript = parse(read_transcript(path))
    sink = io.StringIO()
    session, dispatcher = build(Environment(stdout=sink, stderr=sink))
    try:
        # As replay binds them: {tmp}, {python}, each live value, and what a capture
        # ({?token}) matched in an earlier step's output.
        bindings = {"tmp": session.tmp, "python": sys.executable}
        # Filled into each word after a command is split, as replay does: a captured
        # value never runs as a command of its own.
        from pslrepl.transcript.words import expand_in_words

        now = [bindings]
        expand_in_words(dispatcher, session, now)
        for file in transcript.files:
            write_embedded(session.tmp, file)
        for step in transcript.steps:
            bindings.update(session.volatile)
            before = len(session.history)
            # A replay reads no terminal: an attach gets the lines typed to it, as replay
            # gives them.
            session.env.stdin = io.StringIO("".join(expand(typed, bindings) + "\n"
                                                    for typed in step.typed))  # fmt: skip
            now[0] = bindings
            line = step.command
            dispatcher.run_line(line)
            if step.typed:  # what attach was given: the transcript's, so export may write it
                _typed(session, before, [expand(typed, bindings) for typed in step.typed])
            said = sink.getvalue()
            _note_errors(session, line, before, said)
            if session.exit_requested is not None:
                break
            bindings.update(session.volatile)
            actual = said.split("\n")
            if actual[-1] == "":
                actual.pop()
            bindings = match_output(step.expected, actual, bindings) or bindings
            _captures(session, before, step.expected, bindings)
            sink.seek(0)
            sink.truncate()
        from pslrepl.export import session_facts

        facts = session_facts(session)
        facts["files"] = {file.name: file.text for file in transcript.files}
        return list(session.history), facts
    finally:
        shutdown(session)


def _captures(session: Any, before: int, expected: list[str], now: dict[str, str]) -> None:
    """The step's last record holds what its expected lines capture ({?NAME}): their
    patterns (values["captures"]) and the values the session's run gave
    (values["captured"]), so export can bind them from the script's own run."""
    from pslrepl.export.captures import patterns

    found = patterns(expected)
    records = list(session.history)[before:]
    if not found or not records:
        return
    names = {name for _, groups in found for name in groups.values()}
    records[-1].values["captures"] = found
    records[-1].values["captured"] = {n: now[n] for n in names if n in now}


def _typed(session: Any, before: int, lines: list[str]) -> None:
    """The step's attach record holds the lines typed to it (values["typed"])."""
    for record in list(session.history)[before:]:
        if record.command == "attach":
            record.values["typed"] = list(lines)


def _note_errors(session: Any, line: str, before: int, said: str) -> None:
    """Give the step's failed records the error lines the shell said, in order; a line
    the shell refused before it ran any command (an unknown command, a bad argument)
    becomes a record of its own that made no call."""
    import time

    from pslrepl.invocation import REFUSED, CommandRecord

    lines = said.split("\n")
    # (a record's error is the message, as the shell's dispatcher keeps it: no "error: ")
    errors = [text.removeprefix("error: ") for text in lines if text.startswith("error: ")]
    records = list(session.history)[before:]
    new = [r for r in records if not r.ok]
    if not new and errors and len(session.history) == before:
        record = CommandRecord(line, REFUSED, (), False, time.time())
        record.error = errors[-1]
        session.history.append(record)
        records = [record]
    # Notes the shell said beside a command's own output (on what it saw meanwhile):
    # the step's last command's, as they were said after it.
    if records:
        known = {note for r in records for note in r.notes}
        records[-1].notes += [t for t in lines if t.startswith("note: ") and t not in known]
    if len(session.history) == before + 1 and records[-1].command == REFUSED:
        return
    if len(new) == 1 and errors:
        new[0].error = new[0].error or errors[-1]
        return
    for record, error in zip(new, errors, strict=False):
        record.error = record.error or error
