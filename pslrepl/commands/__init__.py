"""The command handlers, one module per area; ``all_commands()`` gathers the table."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.commandspec import Command

# The modules that declare commands (each has a COMMANDS), in the order help lists them:
# a group's commands keep the order of the modules that declare them.
MODULES = (
    "session_cmds", "session_flow", "scripting", "recording", "explaining", "exporting",
    "labs",
    "processes", "process_calls", "child_io",
    "child_signals", "sudo", "expect", "shlib", "signals", "signal_shell", "signal_timers",
    "signal_wait", "sockets", "socket_steps", "socket_fromfd", "sending", "receiving",
    "socket_buffers",
    "socket_files", "socket_settings", "socket_queries", "lookups", "servers", "serve_admin",
    "serve_requests", "load",
    "relays", "link", "attach", "tls", "tls_unwrap", "tls_ca", "tls_steps",
    "timeline",
)  # fmt: skip


def all_commands() -> list[Command]:
    import importlib

    found: list[Command] = []
    for name in MODULES:
        found.extend(importlib.import_module(f"pslrepl.commands.{name}").COMMANDS)
    return found
