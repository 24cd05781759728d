"""A transcript replayed quietly, for its session's records: what --export-py exports."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import CommandRecord


def transcript_records(path: str) -> tuple[list[CommandRecord], dict[str, str] | None]:
    """Run each command of the transcript at ``path`` in a fresh session whose output goes
    nowhere (placeholders bound as replay binds them); the commands' records, and the
    PEM text of the session's test CA if it made one (export's tls_pems). Raises
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
        from pslrepl.export import tls_pems

        return list(session.history), tls_pems(session)
    finally:
        shutdown(session)
