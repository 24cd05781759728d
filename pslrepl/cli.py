"""Entry point: argument parsing, the run modes (shell, -c, FILE, stdin) and exit codes."""

from __future__ import annotations

import enum
import signal
import sys

from pslrepl import __version__
from pslrepl.app import build, shutdown
from pslrepl.environment import Environment
from pslrepl.errors import Terminated

__all__ = ["build", "main", "run_lines", "shutdown"]  # build and shutdown live in app

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import FrameType

    from pslrepl.dispatch import Dispatcher
    from pslrepl.session import Session


class ExitStatus(enum.IntEnum):
    OK = 0
    FAILED = 1  # a command failed and the script stopped
    USAGE = 2  # pslrepl itself was called wrongly


def run_lines(
    session: Session,
    dispatcher: Dispatcher,
    lines: Iterable[str],
    *,
    keep_going: bool,
    where: str | None = None,
) -> ExitStatus | int:
    """Run script lines in order; stop at the first failure unless ``keep_going``."""
    # `a; b` in a script: b does not run once a has failed (as at a line's end).
    dispatcher.stop_on_error = not keep_going
    status: int = ExitStatus.OK
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\n")
        if where is not None:
            dispatcher.location = f"{where}:{number}: "
        if not dispatcher.run_line(line):
            status = ExitStatus.FAILED
            if not keep_going:
                break
        if session.exit_requested is not None:
            return session.exit_requested if status == ExitStatus.OK else status
    return status


def _terminate(signum: int, frame: FrameType | None) -> None:
    # SIGTERM and SIGHUP end the shell through the normal path, so children are reaped.
    raise Terminated(128 + signum)


USAGE = """\
usage: pslrepl [--lab LAB] [--keep-going] [--no-color] [-c CMDS | FILE]
       pslrepl --check [--keep-going] [--jobs N] [--junit FILE] [-i] FILE...
       pslrepl --update FILE...
       pslrepl --export-py FILE [-o OUT]
       pslrepl --present [--instant] [--no-color] FILE

An interactive playground shell for Python's IPC and networking stdlib.
With no FILE and a terminal on standard input it opens the shell; commands piped
on standard input run as a script.

  FILE           run the commands in FILE, one per line
  -c CMDS        run CMDS ('CMD; CMD', or several lines) and exit
  --keep-going   in a script, go on after a failed command (exit status 1 at the end);
                 with --check, go on checking a transcript after a difference
  --check        replay transcripts (.psl) and show a diff where output differs
  --jobs N       with --check, check N transcripts at a time (each in a pslrepl of its
                 own; -j N, -jN); the reports come in the order of the FILEs
  --junit FILE   with --check, also write a JUnit XML report to FILE
  -i             with --check, show each difference and ask whether to take it
  --update       replay transcripts and rewrite their expected output in place
  --export-py    replay a transcript quietly and print it as a standalone Python
                 script (stdlib only); -o OUT writes it to OUT instead (0600)
  --lab LAB      load the lab LAB (a TOML file `save` wrote) first; `reset` returns to it
  --present      show a transcript to a class: each key press runs its next command
                 in a live session (l goes live, b steps back, q quits)
  --instant      with --present, show each command at once instead of typing it
  --no-color     plain output, even on a terminal (NO_COLOR does the same)
  --version      show the version and exit
  -h, --help     show this help and exit
"""


class Options:
    """What the command line asked for."""

    def __init__(self) -> None:
        self.files: list[str] = []
        self.command: str | None = None
        self.keep_going = False
        self.no_color = False
        self.mode = "run"  # run, check, update, export-py or present
        self.instant = False  # --present's --instant
        self.lab: str | None = None  # --lab LAB
        self.out: str | None = None  # --export-py's -o OUT
        self.jobs = 1  # --check --jobs N
        self.junit: str | None = None  # --check --junit FILE
        self.interactive = False  # --check -i

    @property
    def file(self) -> str | None:
        return self.files[0] if self.files else None


class CliError(Exception):
    """A command line pslrepl can't run: exit status 2 with a usage hint."""


def parse_cli(argv: list[str]) -> Options:
    """pslrepl's own options, parsed by hand: argparse would double `-c`'s start-up time."""
    opts = Options()
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            opts.files.extend(argv[i + 1 :])
            break
        if arg.startswith("-c"):
            if arg == "-c":
                if i + 1 >= len(argv):
                    raise CliError("-c needs the commands to run")
                opts.command = argv[i + 1]
                i += 1
            else:
                opts.command = arg[2:]
        elif arg == "--keep-going":
            opts.keep_going = True
        elif arg == "--no-color":
            opts.no_color = True
        elif arg in ("--check", "--update", "--export-py", "--present"):
            if opts.mode != "run" and opts.mode != arg[2:]:
                raise CliError(f"give one of --check, --update, --export-py and --present, "
                               f"not {arg} too")  # fmt: skip
            opts.mode = arg[2:]
        elif arg == "--instant":
            opts.instant = True
        elif arg == "--lab":
            if i + 1 >= len(argv):
                raise CliError("--lab needs the lab FILE to load")
            opts.lab = argv[i + 1]
            i += 1
        elif arg in ("--jobs", "-j", "--junit"):
            if i + 1 >= len(argv):
                raise CliError(f"{arg} needs " + ("a number" if arg != "--junit" else "a FILE"))
            if arg == "--junit":
                opts.junit = argv[i + 1]
            else:
                opts.jobs = _jobs(argv[i + 1])
            i += 1
        elif arg.startswith(("-j", "--jobs=")) and arg not in ("-j", "--jobs="):
            opts.jobs = _jobs(arg.split("=", 1)[1] if arg.startswith("--") else arg[2:])  # -j4
        elif arg.startswith("--junit="):
            opts.junit = arg.split("=", 1)[1]
            if not opts.junit:
                raise CliError("--junit needs a FILE")
        elif arg == "-i":
            opts.interactive = True
        elif arg == "-o":
            if i + 1 >= len(argv):
                raise CliError("-o needs the file to write")
            opts.out = argv[i + 1]
            i += 1
        elif arg.startswith("-") and arg != "-":
            raise CliError(f"unknown option {arg}")
        else:
            opts.files.append(arg)
        i += 1
    if opts.out is not None and opts.mode != "export-py":
        raise CliError("-o goes with --export-py")
    for given, name in ((opts.jobs != 1, "--jobs"), (opts.junit, "--junit"),
                        (opts.interactive, "-i")):  # fmt: skip
        if given and opts.mode != "check":
            raise CliError(f"{name} goes with --check")
    if opts.interactive and opts.jobs != 1:
        raise CliError("-i asks about each difference in turn: give it without --jobs")
    if opts.lab is not None and opts.mode != "run":
        raise CliError(f"--lab starts the shell or a script, not --{opts.mode}")
    if opts.instant and opts.mode != "present":
        raise CliError("--instant goes with --present")
    if opts.mode in ("export-py", "present") and len(opts.files) > 1:
        raise CliError(f"--{opts.mode} takes one FILE: {opts.files[0]} and {opts.files[1]}")
    if opts.mode != "run":
        if not opts.files:
            raise CliError(f"--{opts.mode} needs the transcript FILEs")
        if opts.command is not None:
            raise CliError(f"--{opts.mode} takes FILEs, not -c")
    elif len(opts.files) > 1:
        raise CliError(f"one FILE at a time: {opts.files[0]} and {opts.files[1]}")
    if opts.files and opts.command is not None:
        raise CliError("give FILE or -c, not both")
    return opts


def _jobs(text: str) -> int:
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if not 1 <= jobs <= 256:
        raise CliError(f"--jobs takes a whole number from 1 to 256, not {text!r}")
    return jobs


def transcripts(opts: Options) -> int:
    """--check and --update: each transcript replayed in a fresh session."""
    from pslrepl.transcript.runs import check_files, update_files

    if opts.mode == "update":
        return update_files(opts.files)
    return check_files(opts.files, keep_going=opts.keep_going, jobs=opts.jobs,
                       junit=opts.junit, interactive=opts.interactive)  # fmt: skip


def export_py(opts: Options) -> int:
    """--export-py: the transcript replayed quietly, its session written as a script."""
    import os

    from pslrepl.errors import PslError
    from pslrepl.export import export_records
    from pslrepl.export.replaying import transcript_records
    from pslrepl.render import plural
    from pslrepl.replay import TranscriptFileError
    from pslrepl.tls_files import write_private

    path = opts.files[0]
    try:
        records, facts = transcript_records(path)
        script = export_records(records, source=os.path.basename(path), **facts)
    except TranscriptFileError as exc:
        print(f"pslrepl: {path}: {exc.strerror}", file=sys.stderr)
        return ExitStatus.USAGE
    if opts.out is None:
        sys.stdout.write(script.text())
    else:
        folder, name = os.path.split(opts.out)
        try:
            write_private(folder or ".", name, script.text().encode("utf-8"), what="--export-py")
        except PslError as exc:
            print(f"pslrepl: {exc}", file=sys.stderr)
            return ExitStatus.USAGE
    if script.missing:
        names = ", ".join(dict.fromkeys(script.missing))
        print(f"pslrepl: {path}: {plural(len(script.missing), 'command')} marked # NOT EXPORTED "
              f"(not written yet: {names})", file=sys.stderr)  # fmt: skip
    return ExitStatus.OK


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "-h" in argv or "--help" in argv:
        sys.stdout.write(USAGE)
        return ExitStatus.OK
    if "--version" in argv:
        print(f"pslrepl {__version__}")
        return ExitStatus.OK
    try:
        args = parse_cli(argv)
    except CliError as exc:
        print(f"pslrepl: {exc}; see pslrepl --help", file=sys.stderr)
        return ExitStatus.USAGE
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)
    from pslrepl.watchdog import leftovers

    for line in leftovers():  # a session that died with its watchdog (kill -9 of both)
        print(f"pslrepl: {line}", file=sys.stderr)
    if args.mode == "export-py":
        return export_py(args)
    if args.mode == "present":
        from pslrepl.present import run_present

        return run_present(args.files[0], instant=args.instant, no_color=args.no_color)
    if args.mode != "run":
        return transcripts(args)
    lines: Iterable[str] | None = None
    where = None
    if args.command is not None:
        lines = args.command.split("\n")
    elif args.file:
        try:
            with open(args.file, encoding="utf-8") as fh:
                lines = fh.read().splitlines()
        except OSError as exc:
            print(f"pslrepl: can't read {args.file}: {exc.strerror or exc}", file=sys.stderr)
            return ExitStatus.USAGE
        except UnicodeDecodeError:
            print(f"pslrepl: {args.file} is not UTF-8 text", file=sys.stderr)
            return ExitStatus.USAGE
        where = args.file
    elif not _stdin_is_tty():
        lines = sys.stdin
    if lines is None and args.lab is not None:
        from pslrepl.labs.start import lab_repl

        return lab_repl(args.lab, no_color=args.no_color)
    if lines is None:
        from pslrepl.repl import run_repl

        return run_repl(no_color=args.no_color)
    env = Environment.from_system(interactive=False)
    if args.no_color:
        env.color = False
    session, dispatcher = build(env)
    try:
        if args.lab is not None:
            from pslrepl.labs.start import load_line

            if not dispatcher.run_line(load_line(args.lab)):
                return ExitStatus.FAILED
        return run_lines(session, dispatcher, lines, keep_going=args.keep_going, where=where)
    except KeyboardInterrupt:
        session.printer.error("interrupted; closing everything")
        return 130
    finally:
        shutdown(session)


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False
