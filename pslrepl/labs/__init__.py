"""Labs: a session's state as a declarative TOML file, saved, loaded and returned to."""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.commandspec import Arg, Command, Opt

# A lab's tables, each the command that makes its entries, in the order a lab is
# written and (their dependencies allowing) brought up.
SECTIONS: dict[str, str] = {
    "process": "spawn",
    "listener": "tcp listen",
    "unix_listener": "unix listen",
    "server": "serve",
    "udp": "udp open",
    "unix_dgram": "unix dgram",
    "socketpair": "socketpair",
    "relay": "relay",
    "connection": "tcp connect",
    "unix_connection": "unix connect",
    "tls_connection": "tls connect",
    "accepted": "accept",
}
SECTION_OF = {command: section for section, command in SECTIONS.items()}
# Settings a lab leaves to the terminal it is loaded on.
NOT_SAVED_SETTINGS = ("events", "color")
TRAP_KEYS = {"report": "", "ignore": " --ignore", "default": " --default"}
UNMADE = "# not made again: "
# Argument kinds whose word may be another resource's NAME: what an entry depends on.
REFERENCE_KINDS = ("address", "endpoint", "resource")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# A placeholder naming a resource's value ({l.port}): the dispatcher fills it in.
NAMED_VALUE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_-]*)\.[A-Za-z_]\w*\}")


def references(cmd: Command, values: dict[str, Any]) -> set[str]:
    """The words of ``values`` that may name another resource (a relay's server, a
    connection's listener): where the command takes an address, endpoint or resource,
    and the names in placeholders anywhere ({l.port} in a child's argv)."""
    found: set[str] = set()
    specs: list[Arg | Opt] = [*cmd.args, *cmd.opts]
    for spec in specs:
        if spec.kind.name not in REFERENCE_KINDS:
            continue
        value = values.get(spec.key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and NAME.fullmatch(item):
                found.add(item)
    for value in values.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                found.update(NAMED_VALUE.findall(item))
    return found


def path_keys(cmd: Command, values: dict[str, Any]) -> set[str]:
    """The keys of ``values`` that hold a path (a lab writes and takes them relative to
    its own folder): files, a handler's python file, and a UNIX server's address."""
    specs: list[Arg | Opt] = [*cmd.args, *cmd.opts]
    keys = {s.key for s in specs if s.kind.name == "file" or s.key == "handler"}
    if cmd.name == "serve" and values.get("proto") == "unix":
        keys.add("addr")
    return keys & set(values)
