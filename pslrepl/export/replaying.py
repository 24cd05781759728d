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

    from pslrepl.app import build, shutdown
    from pslrepl.environment import Environment
    from pslrepl.replay import read_transcript
    from pslrepl.transcript import expand, parse

    transcript = parse(read_transcript(path))
    sink = io.StringIO()
    session, dispatcher = build(Environment(stdout=sink, stderr=sink))
    try:
        bindings = {"tmp": session.tmp}
        for step in transcript.steps:
            bindings.update(session.volatile)
            dispatcher.run_line(expand(step.command, bindings))
            if session.exit_requested is not None:
                break
            sink.seek(0)
            sink.truncate()
        from pslrepl.export import session_facts

        return list(session.history), session_facts(session)
    finally:
        shutdown(session)
