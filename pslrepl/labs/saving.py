"""A live session as a lab's text: each resource as the command that made it asked for it."""

from __future__ import annotations

import re

from pslrepl.labs import NOT_SAVED_SETTINGS, SECTION_OF, SECTIONS, UNMADE, path_keys, references
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
    cmd: Command,
    record: CommandRecord,
    tmp: str | None,
    bound: dict[str, str] | None = None,
    *,
    folder: str | None = None,
    lab_names: set[str] | frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """What the command was asked, as a lab's table: NAME first, defaults left out. An
    address where a resource of the lab is bound (``bound``: address -> name) is written
    as that resource: its NAME where a NAME may stand, else ``{NAME.port}``, so the lab
    still reaches it when it comes up on another port. A word of a child's argv typed
    with a placeholder of a lab resource ({l.port}) is written as typed; a path under
    ``folder`` (the lab file's) is written relative to it, as a load takes it."""
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
        typed = _typed_argv(record, lab_names)
        out["argv"] = [t if t is not None else _ports(word, bound)
                       for word, t in zip(record.argv, typed, strict=True)]  # fmt: skip
    out = {k: _placeheld(v, tmp) for k, v in out.items()}
    if folder is not None:
        for key in path_keys(cmd, values) & set(out):
            out[key] = _relative(out[key], folder, handler=key == "handler")
    return out


def _typed_argv(record: CommandRecord, lab_names: set[str] | frozenset[str]) -> list[str | None]:
    """For each word of the child's argv, the word as typed where it holds a placeholder
    of a resource the lab makes ({l.port}: the port the lab's l gets), else None."""
    from pslrepl.labs import NAMED_VALUE
    from pslrepl.parsing import tokenize

    none: list[str | None] = [None] * len(record.argv)
    if "{" not in record.line:
        return none
    try:
        commands = tokenize(record.line).commands
    except Exception:  # the line ran, so it parses; a lab is written anyway
        return none
    words = [t.text for t in commands[0]] if commands else []
    if "--" not in words:
        return none
    typed = words[words.index("--") + 1 :]
    if len(typed) != len(record.argv):
        return none
    return [word if (found := NAMED_VALUE.findall(word)) and set(found) <= lab_names
            else None for word in typed]  # fmt: skip


def _relative(value: Any, folder: str, *, handler: bool = False) -> Any:
    """An absolute path in the lab file's folder as relative to it (a load takes a
    relative path from the lab's folder, wherever the shell was started)."""
    import os

    if isinstance(value, list):
        return [_relative(v, folder, handler=handler) for v in value]
    if not isinstance(value, str):
        return value
    if handler:
        if not value.startswith("python:"):
            return value
        spec, sep, cls = value[len("python:") :].rpartition(":")
        if not sep:
            spec, cls = cls, ""
        return "python:" + _relative(spec, folder) + (sep + cls)
    if not value or value.startswith(("{", "@")):  # @NAME: an abstract UNIX socket
        return value
    full = os.path.abspath(value)
    inside = os.path.relpath(full, folder)
    if inside == ".." or inside.startswith("../"):
        return full
    return inside


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
    if tmp and isinstance(item, str) and tmp in item:
        # Anywhere in the word: python:{tmp}/h.py:Hello, --cert={tmp}/c.pem.
        return re.sub(re.escape(tmp) + r"(?![\w.-])", "{tmp}", item)
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
    session: Session,
    table: CommandTable,
    *,
    carried: tuple[str, ...] = (),
    folder: str | None = None,
    files: str = "",
    order: dict[str, int] | None = None,
) -> tuple[str, list[str], list[str]]:
    """The lab file for ``session`` now, the names it makes and the {tmp} files it keeps;
    ``carried``: the not-made-again comments of the lab it was loaded from, kept while
    their names are not live. ``folder``: where the lab is written (paths in it are
    written relative); ``files``: the folder by the lab keeping the {tmp} files it names;
    ``order``: each name's place in the lab loaded last, kept."""
    order = order or {}
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
    orders: dict[str, list[tuple[int, int]]] = {section: [] for section in SECTIONS}
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
        table_ = entry(cmd, record, tmp, bound, folder=folder, lab_names=set(kept))
        if record.command == "relay":
            table_ = _with_toxics(
                cmd, table_, session.registry.get(new_names(cmd, record.values)[0])
            )
        tables[SECTION_OF[record.command]].append(table_)
        first = new_names(cmd, record.values)[0]
        orders[SECTION_OF[record.command]].append(
            (0, order[first]) if first in order else (1, len(orders[SECTION_OF[record.command]]))
        )
    needed = tmp_files(tables, tmp) if files else []
    if needed:
        out += ["", "# Files of the session's {tmp} the lab names: kept in the folder `from`, next",
                "# to this file, and copied into each new session's {tmp} before it comes up.",
                "[tmp]", *pairs({"from": files, "files": needed})]  # fmt: skip
    for section, entries in tables.items():
        # What the lab loaded last made, in its file's order, then the rest as made:
        # the order a load brought things up in (a --pass child after its socket) must
        # not change the file.
        for _, table_ in sorted(zip(orders[section], entries, strict=True),
                                key=lambda pair: pair[0]):  # fmt: skip
            out += ["", f"[[{section}]]", *pairs(table_)]
    live = {res.name for res in session.registry}
    for line in carried:
        name = line[len(UNMADE) :].split(" ", 1)[0]
        if name not in live and line not in unmade:
            unmade.append(line)
    if unmade:
        out += ["", *unmade]
    return "\n".join(out) + "\n", names, needed


TMP_WORD = re.compile(r"\{tmp\}(/[^\s:;,'\"]*)?")
# What a lab copies out of {tmp}, at most: a session's scratch files, not a disk.
MOST_FILES, MOST_BYTES = 200, 32 << 20


def tmp_files(tables: dict[str, list[dict[str, Any]]], tmp: str | None) -> list[str]:
    """The files (relative to {tmp}) that the lab's entries name under {tmp} and that are
    there now: a file, or each file of a folder; a socket, a name not made yet, or {tmp}
    itself (each session has its own) is none."""
    import os

    if not tmp:
        return []
    found: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, list):
            for v in item:
                walk(v)
        elif isinstance(item, str):
            for match in TMP_WORD.finditer(item):
                rel = (match.group(1) or "").strip("/")
                if not rel:  # {tmp} itself (--cwd {tmp}): each session has one
                    continue
                rel = os.path.normpath(rel)
                if rel.startswith(".."):
                    continue
                full = os.path.join(tmp, rel)
                if os.path.isfile(full) and not os.path.islink(full):
                    found.append(rel)
                elif os.path.isdir(full) and not os.path.islink(full):
                    for top, dirs, names in os.walk(full):
                        dirs.sort()
                        for name in sorted(names):
                            path = os.path.join(top, name)
                            if os.path.isfile(path) and not os.path.islink(path):
                                found.append(os.path.relpath(path, tmp))

    for entries in tables.values():
        for table_ in entries:
            walk(list(table_.values()))
    return sorted(set(found))


def copy_tmp_files(tmp: str, paths: list[str], folder: str, files: str) -> None:
    """Copy ``paths`` (relative to ``tmp``) into FOLDER/FILES, each 0600, none written
    through a symbolic link; PslError if there are too many or they are too big."""
    import os

    from pslrepl.errors import PslError
    from pslrepl.tls_files import write_private

    total = sum(os.path.getsize(os.path.join(tmp, p)) for p in paths)
    if len(paths) > MOST_FILES or total > MOST_BYTES:
        raise PslError(f"save: the lab names {len(paths)} files of {{tmp}} ({total:,} bytes), "
                       f"more than a lab copies ({MOST_FILES} files, {MOST_BYTES >> 20} MiB); "
                       "put them in a folder of your own and name that")  # fmt: skip
    for rel in paths:
        with open(os.path.join(tmp, rel), "rb") as fh:
            data = fh.read()
        where = os.path.join(folder, files, os.path.dirname(rel))
        write_private(where, os.path.basename(rel), data, what="save", make=True)


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
