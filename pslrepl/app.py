"""The application's assembly: a session with the full command table, and its teardown."""

from __future__ import annotations

from pslrepl.environment import Environment
from pslrepl.session import Session

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.dispatch import Dispatcher


def build(env: Environment) -> tuple[Session, Dispatcher]:
    """A session with the full command table, and the dispatcher that runs lines on it."""
    from pslrepl.commands import all_commands
    from pslrepl.dispatch import CommandTable, Dispatcher

    table = CommandTable(all_commands())
    session = Session(env, is_command=table.is_command)
    return session, Dispatcher(session, table)


def shutdown(session: Session) -> None:
    """Close every resource, then run what registered itself to run at the end (the
    recorder closed, traps put back, the socket watcher stopped, the default timeout
    restored: see Session.on_close), newest first; then the temp dir and the watchdog.
    No child, trap or thread outlives the session."""
    try:
        for name, what in session.close_all():
            if session.env.interactive:
                session.printer.write([[("name", name), ("notice", f": {what}")]])
    finally:
        session.run_on_close()
        session.remove_tmp()
        session.watchdog.close()
