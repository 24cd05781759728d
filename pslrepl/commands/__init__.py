"""The command handlers, one module per area; ``all_commands()`` gathers the table."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.commandspec import Command


def all_commands() -> list[Command]:
    from pslrepl.commands import (
        expect,
        lookups,
        processes,
        recording,
        relays,
        servers,
        session_cmds,
        shlib,
        signals,
        sockets,
        tls,
    )

    return [
        *session_cmds.COMMANDS, *recording.COMMANDS, *processes.COMMANDS, *expect.COMMANDS,
        *shlib.COMMANDS, *signals.COMMANDS, *sockets.COMMANDS, *lookups.COMMANDS,
        *servers.COMMANDS, *relays.COMMANDS, *tls.COMMANDS,
    ]  # fmt: skip
