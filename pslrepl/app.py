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
    """Close every resource, then run what registered itself to run at the end (traps put
    back, the recorder closed, the socket watcher stopped, settings restored), newest
    first: no child, trap or thread outlives the session."""
    from pslrepl.commands.signals import remove_traps

    try:
        if session.recorder is not None:
            session.recorder.close()
            session.recorder = None
        for name, what in session.close_all():
            if session.env.interactive:
                session.printer.write([[("name", name), ("notice", f": {what}")]])
    finally:
        session.run_on_close()
        remove_traps(session)
        session.remove_tmp()
        if "defaulttimeout" in session.restore:
            import socket

            socket.setdefaulttimeout(session.restore.pop("defaulttimeout"))
        if session.socket_watcher is not None:
            session.socket_watcher.stop()
            session.socket_watcher = None
        session.watchdog.close()
