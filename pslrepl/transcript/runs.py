"""--check and --update on the command line: each transcript replayed, its report printed."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from pslrepl.transcript.checking import Result

# Exit statuses, as the command line's: a difference is 1, a file that is no transcript 2.
OK, FAILED, USAGE, INTERRUPTED = 0, 1, 2, 130
NOTE = "the default; #! timeout S sets one"


def update_files(files: list[str]) -> int:
    """--update: each file rewritten where its output differs; what happened, one line each."""
    from pslrepl.replay import DEFAULT_TIMEOUT, TranscriptFileError, update_file

    status = OK
    for path in files:
        try:
            outcome, changed = update_file(path, time_limit=DEFAULT_TIMEOUT, limit_note=NOTE)
        except TranscriptFileError as exc:  # it says what is wrong with the file
            print(f"pslrepl: {path}: {exc.strerror}", file=sys.stderr)
            status = USAGE
            continue
        except KeyboardInterrupt:  # the file is as it was: it is written only at the end
            print(f"pslrepl: interrupted: {path} is unchanged", file=sys.stderr)
            return INTERRUPTED
        if outcome.skipped:
            print(outcome.report())
            continue
        print(f"{path}: {'updated' if changed else 'unchanged'} "
              f"({outcome.steps_run} command{'' if outcome.steps_run == 1 else 's'})")  # fmt: skip
        # What to mend by hand; a step a warning names already is not named twice.
        warned = {warning.split(": ", 1)[0] for warning in outcome.warnings}
        mistakes = [m for m in outcome.mistakes if m.split(": ", 1)[0] not in warned]
        for warning in outcome.warnings + mistakes:
            print(warning)
            status = max(status, FAILED)
        if outcome.timed_out:  # say where it stopped, and what was kept
            step = outcome.cancelled_step
            kept = (
                "its expected lines are kept as written"
                if step is not None and step == outcome.slow_step
                else "what it had shown is kept"
                if step is None or outcome.takes(step)
                else "it had shown nothing: its expected lines are kept as written"
            )
            print(f"{outcome.stopped()}; {kept}; the steps after it were not run")
            status = max(status, FAILED)
    return status


def check_files(
    files: list[str], *, keep_going: bool, jobs: int, junit: str | None, interactive: bool
) -> int:
    """--check: each file's report in order (serial, --jobs N, or -i), then --junit's."""
    from pslrepl.replay import DEFAULT_TIMEOUT, TranscriptFileError
    from pslrepl.transcript.checking import (
        STATUS,
        Result,
        check_interactive,
        check_one,
        check_parallel,
    )
    from pslrepl.transcript.junit import junit_xml, report_problem, write_report

    if junit is not None:  # before any transcript runs: a long run is not wasted
        problem = report_problem(junit, files)
        if problem:
            print(f"pslrepl: {problem}", file=sys.stderr)
            return USAGE

    from pslrepl.errors import Terminated

    found: Iterator[Result]
    unfinished: list[str] | None = None
    held: list[Result] = []  # --jobs: checked, but a file before it had not finished
    if jobs > 1:
        unfinished = []
        found = check_parallel(files, jobs=jobs, keep_going=keep_going,
                               time_limit=DEFAULT_TIMEOUT, note=NOTE,
                               unfinished=unfinished, held=held)  # fmt: skip
    elif interactive:

        def ask(question: str) -> str:
            sys.stdout.write(question)
            sys.stdout.flush()
            reply = sys.stdin.readline()
            if not sys.stdin.isatty():  # piped answers: shown, so what follows starts a line
                sys.stdout.write(reply if reply.endswith("\n") else reply + "\n")
            return reply

        def asking() -> Iterator[Result]:
            for path in files:
                try:
                    result = check_interactive(path, time_limit=DEFAULT_TIMEOUT, note=NOTE,
                                               ask=ask)  # fmt: skip
                except TranscriptFileError as exc:
                    yield Result(path, "error", "", f"pslrepl: {path}: {exc.strerror}\n", 0.0)
                    continue
                yield result

        found = asking()
    else:
        found = (check_one(path, keep_going=keep_going, time_limit=DEFAULT_TIMEOUT, note=NOTE)
                 for path in files)  # fmt: skip
    status = OK
    results: list[Result] = []
    try:
        for result in found:
            result.show()
            results.append(result)
            status = max(status, STATUS[result.verdict])
            if result.quit and len(results) < len(files):  # -i's [q]uit: no more replays
                left = len(files) - len(results)
                print(f"quit: {left} more transcript{'' if left == 1 else 's'} not checked")
                status = max(status, FAILED)
                break
    except (KeyboardInterrupt, Terminated) as exc:  # Ctrl-C, or a CI job's cancel (SIGTERM)
        # The checks running are ended; those that had finished are shown, in order.
        close = getattr(found, "close", None)
        if close is not None:  # a signal between two results: the checks end here
            close()
        if unfinished is None:  # serial: the one running and those after it
            unfinished = files[len(results) :]
        for result in held:
            result.show()
            results.append(result)
        failed = [r.path for r in results if STATUS[r.verdict]]
        how = "interrupted" if isinstance(exc, KeyboardInterrupt) else "ended by a signal"
        print(f"pslrepl: {how} after {len(results)} of {len(files)} transcripts"
              + (f" ({len(failed)} failed: {', '.join(failed)})" if failed else "")
              + (f"; not finished: {', '.join(unfinished)}" if unfinished else "")
              + ("; --junit's report is not written" if junit else ""),
              file=sys.stderr)  # fmt: skip
        return INTERRUPTED if isinstance(exc, KeyboardInterrupt) else int(exc.code or 1)
    if junit is not None:
        problem = write_report(junit, junit_xml(results))
        if problem:
            print(f"pslrepl: {problem}", file=sys.stderr)
            status = USAGE
    return status
