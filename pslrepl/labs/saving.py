"""A live session as a lab's text: each resource as the command that made it asked for it."""

from __future__ import annotations

import re

from pslrepl.labs import NOT_SAVED_SETTINGS, SECTION_OF, SECTIONS, UNMADE, references
from pslrepl.labs.toml_out import pairs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.commandspec import Arg, Command, Opt
    from pslrepl.dispatch import CommandTable
    from pslrepl.invocation import CommandRecord
    from pslrepl.resources.base import Resource
    from pslrepl.session import Session

HEADER = (
    "# A pslrepl lab: `lab load FILE` (or pslrepl --lab FILE) brings it up; `reset` returns to it.",
    "# Each entry is what its command was asked (a port given as 0 is a free port each time).",
)


def new_names(cmd: Command, values: dict[str, Any]) -> list[str]:
    """The names a command's record made (its NAME arguments of a new resource)."""
    from pslrepl.kinds import NewName

    return [values[a.key] for a in cmd.args if isinstance(a.kind, NewName) and values.get(a.key)]


def creators(session: Session, table: CommandTable) -> dict[str, CommandRecord]:
    """For each live name, the newest command that made a resource of that name."""
    found: dict[str, CommandRecord] = {}
    live = {res.name for res in session.registry}
    for record in reversed(list(session.history)):
        cmd = table.by_name.get(record.command)
        if not record.ok or cmd is None:
            continue
        for name in new_names(cmd, record.values):
            if name in live:
                found.setdefault(name, record)
    return found


def entry(
    cmd: Command, record: CommandRecord, tmp: str | None, bound: dict[str, str] | None = None
) -> dict[str, Any]:
    """What the command was asked, as a lab's table: NAME first, defaults left out. An
    address where a resource of the lab is bound (``bound``: address -> name) is written
    as that resource: its NAME where a NAME may stand, else ``{NAME.port}``, so the lab
    still reaches it when it comes up on another port."""
    values = record.values
    own = set(new_names(cmd, values))
    bound = {a: n for a, n in (bound or {}).items() if n not in own}
    out: dict[str, Any] = {}
    specs: list[Arg | Opt] = [*cmd.args, *cmd.opts]
    for spec in specs:
        value = values.get(spec.key)
        if value is None or value is False or value == []:  # the defaults (0 is no default)
            continue
        out[spec.key] = _named(spec.kind.name, value, bound)
    if cmd.rest and record.argv:
        out["argv"] = [_ports(word, bound) for word in record.argv]
    return {k: _placeheld(v, tmp) for k, v in out.items()}


def _named(kind: str, value: Any, bound: dict[str, str]) -> Any:
    if isinstance(value, list):
        return [_named(kind, v, bound) for v in value]
    if not isinstance(value, str):
        return value
    if kind == "address":
        name = bound.get(value) or (bound.get(f"127.0.0.1:{value}") if value.isdigit() else None)
        if name:
            return name
    if kind == "endpoint":
        scheme, _, rest = value.partition(":")
        if scheme in ("tcp", "udp", "unix") and rest in bound:
            return bound[rest]
    return _ports(value, bound)


def _ports(text: str, bound: dict[str, str]) -> str:
    """HOST:PORT of a resource of the lab inside a word, as HOST:{NAME.port}."""
    if ":" not in text:
        return text
    for addr, name in bound.items():
        host, _, port = addr.rpartition(":")
        if host and port.isdigit():
            text = re.sub(re.escape(addr) + r"(?!\d)", f"{host}:{{{name}.port}}", text)
    return text


def _placeheld(item: Any, tmp: str | None) -> Any:
    """The session's temporary directory as {tmp}: each session has its own."""
    if isinstance(item, list):
        return [_placeheld(v, tmp) for v in item]
    if tmp and isinstance(item, str) and (item == tmp or item.startswith(tmp + "/")):
        return "{tmp}" + item[len(tmp) :]
    return item


def _no_record(session: Session, res: Resource) -> str:
    """Why no command of the history made ``res`` by its name."""
    first = next(iter(session.history), None)
    if first is None or res.created < first.started:
        return "made too long ago for the session's history to say how"
    return "named by the shell (no NAME given): a lab makes again only what was given a NAME"


def _with_toxics(cmd: Command, table: dict[str, Any], relay: Resource) -> dict[str, Any]:
    """A relay's toxics as they are now (linked since, or unlinked), as --link takes them."""
    toxics = getattr(getattr(relay, "link", None), "toxics", None)
    if toxics is None:
        return table
    specs = [toxic.spec() for toxic in toxics if not getattr(toxic, "removed", False)]
    table = {k: v for k, v in table.items() if k != "link"}
    if specs:
        table["link"] = specs
    order = [a.key for a in cmd.args] + [o.key for o in cmd.opts]
    return dict(sorted(table.items(), key=lambda kv: order.index(kv[0])))


def _peer_in_session(res: Resource, session: Session) -> bool:
    """An accepted connection whose other end is a connection this session made."""
    try:
        peer = res.obj.getpeername()
    except (AttributeError, OSError):
        return False
    for other in session.registry:
        if other is res:
            continue
        try:
            if other.obj.getsockname() == peer:
                return True
        except (AttributeError, OSError):
            continue
    return False


def lab_text(
    session: Session, table: CommandTable, *, carried: tuple[str, ...] = ()
) -> tuple[str, list[str]]:
    """The lab file for ``session`` now, and the names it makes; ``carried``: the
    not-made-again comments of the lab it was loaded from, kept while their names are
    not live."""
    from pslrepl.settings import Settings

    out = list(HEADER)
    defaults = Settings()
    settings = {key: session.settings.show(key) for key in session.settings.names()
                if key not in NOT_SAVED_SETTINGS
                and session.settings.show(key) != defaults.show(key)}  # fmt: skip
    if settings:
        out += ["", "[settings]", *pairs(settings)]
    traps = _traps(session)
    if traps:
        out += ["", "[traps]", *pairs(traps)]
    tmp = session.volatile.get("tmp")
    made = creators(session, table)
    tables: dict[str, list[dict[str, Any]]] = {section: [] for section in SECTIONS}
    unmade: list[str] = []
    kept: dict[str, tuple[Command, CommandRecord]] = {}  # name -> what makes it again
    for res in session.registry:
        record = made.get(res.name)
        why = ""
        if record is None:
            why = _no_record(session, res)
        elif record.command not in SECTION_OF:
            why = f"made by `{record.command}`, which a lab does not make again"
        elif record.command == "accept" and not _peer_in_session(res, session):
            why = "accepted from a peer that is not in the lab"
        if why:
            unmade.append(f"{UNMADE}{res.name} ({res.kind}): {why}")
        else:
            assert record is not None
            kept[res.name] = (table.by_name[record.command], record)
    # What names something the lab won't make (closed, or itself not made) can't be made.
    changed = True
    while changed:
        changed = False
        for name, (cmd, record) in list(kept.items()):
            missing = sorted(references(cmd, record.values) - set(kept))
            if missing:
                del kept[name]
                kind = session.registry.get(name).kind
                unmade.append(f"{UNMADE}{name} ({kind}): it names {', '.join(missing)}, "
                              "which the lab does not make")  # fmt: skip
                changed = True
    bound = {}
    for name in kept:
        addr = session.registry.get(name).bound_addr
        if addr is not None and (addr.port or addr.path):
            bound[str(addr)] = name
    done: set[int] = set()
    names: list[str] = []
    for cmd, record in kept.values():
        if id(record) in done:  # socketpair: one entry makes both
            continue
        done.add(id(record))
        names += new_names(cmd, record.values)
        table_ = entry(cmd, record, tmp, bound)
        if record.command == "relay":
            table_ = _with_toxics(
                cmd, table_, session.registry.get(new_names(cmd, record.values)[0])
            )
        tables[SECTION_OF[record.command]].append(table_)
    for section, entries in tables.items():
        for table_ in entries:
            out += ["", f"[[{section}]]", *pairs(table_)]
    live = {res.name for res in session.registry}
    for line in carried:
        name = line[len(UNMADE) :].split(" ", 1)[0]
        if name not in live and line not in unmade:
            unmade.append(line)
    if unmade:
        out += ["", *unmade]
    return "\n".join(out) + "\n", names


def _traps(session: Session) -> dict[str, list[str]]:
    """The signals the session changed, by what their handler is now."""
    import signal

    from pslrepl.commands.signals import Trap
    from pslrepl.signals_table import signal_name

    found: dict[str, list[str]] = {"report": [], "ignore": [], "default": []}
    for signum in sorted(session.traps):
        try:
            handler = signal.getsignal(signum)
        except (ValueError, OSError):
            continue
        name = signal_name(signum)
        word = name[3:] if name.startswith("SIG") else str(signum)
        if isinstance(handler, Trap):
            found["report"].append(word)
        elif handler == signal.SIG_IGN:
            found["ignore"].append(word)
        elif handler == signal.SIG_DFL:
            found["default"].append(word)
    return {key: names for key, names in found.items() if names}
