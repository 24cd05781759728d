"""Presenting a transcript to a class: ``pslrepl --present FILE.psl``, step by step, live."""

from __future__ import annotations


def run_present(path: str, *, instant: bool = False, no_color: bool = False) -> int:
    """Show the transcript at ``path`` one command per key press in a live session;
    the exit status (2: the file can't be presented)."""
    import sys

    from pslrepl.present.show import Show
    from pslrepl.replay import TranscriptFileError, read_transcript
    from pslrepl.transcript import parse
    from pslrepl.transcript.directives import read_directives, unmet

    try:
        transcript = parse(read_transcript(path))
    except TranscriptFileError as exc:
        print(f"pslrepl: {path}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        why = unmet(read_directives(transcript).require)
    except ValueError as exc:  # a #! line that is wrong: say so as --check would
        print(f"pslrepl: {path}: {exc}", file=sys.stderr)
        return 2
    if why:  # what --check would skip can't be shown as recorded here either
        print(f"pslrepl: {path}: needs what this machine lacks ({why}); a replay skips it "
              "here", file=sys.stderr)  # fmt: skip
        return 2
    if not (_isatty(sys.stdin) and _isatty(sys.stdout)):
        print("pslrepl: --present needs a terminal (it waits for key presses); "
              f"pslrepl --check {path} replays it without one", file=sys.stderr)  # fmt: skip
        return 2
    return Show(path, transcript, instant=instant, no_color=no_color).run()


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False
