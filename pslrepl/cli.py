"""Entry point: argument parsing, the run modes (shell, -c, FILE, stdin) and exit codes."""

from __future__ import annotations

import argparse
import enum
import signal
import sys
from collections.abc import Iterable
from types import FrameType

from pslrepl import __version__
from pslrepl.environment import Environment
from pslrepl.session import Session


class ExitStatus(enum.IntEnum):
    OK = 0
    FAILED = 1  # a command failed and the script stopped
    USAGE = 2  # pslrepl itself was called wrongly


def build(env: Environment) -> tuple[Session, object]:
    """A session with the full command table, and its dispatcher."""
    from pslrepl.commands import all_commands
    from pslrepl.dispatch import CommandTable, Dispatcher

    table = CommandTable(all_commands())
    session = Session(env, is_command=table.is_command)
    return session, Dispatcher(session, table)


def shutdown(session: Session) -> None:
    """Close every resource and put back the signal handlers: no child or trap outlives us."""
    from pslrepl.commands.signals import remove_traps

    try:
        for name, what in session.close_all():
            if session.env.interactive:
                session.printer.write([[("name", name), ("notice", f": {what}")]])
    finally:
        remove_traps(session)


def run_lines(
    session: Session,
    dispatcher: object,
    lines: Iterable[str],
    *,
    keep_going: bool,
    where: str | None = None,
) -> ExitStatus | int:
    """Run script lines in order; stop at the first failure unless ``keep_going``."""
    from pslrepl.dispatch import Dispatcher

    assert isinstance(dispatcher, Dispatcher)
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
    raise SystemExit(128 + signum)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pslrepl",
        description="An interactive playground shell for Python's IPC and networking stdlib.",
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="run the commands in FILE")
    p.add_argument("-c", dest="command", metavar="CMDS", help="run CMDS ('CMD; CMD') and exit")
    p.add_argument(
        "--keep-going", action="store_true", help="in a script, go on after a failed command"
    )
    p.add_argument("--no-color", action="store_true", help="plain output, even on a terminal")
    p.add_argument("--version", action="version", version=f"pslrepl {__version__}")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.file and args.command:
        print("pslrepl: give FILE or -c, not both", file=sys.stderr)
        return ExitStatus.USAGE
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
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)
    if lines is None:
        from pslrepl.repl import run_repl

        return run_repl(no_color=args.no_color)
    env = Environment.from_system(interactive=False)
    if args.no_color:
        env.color = False
    session, dispatcher = build(env)
    try:
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
