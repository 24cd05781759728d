"""Exporters for the commands that show the session's state (ls, info, clients, help)."""

from __future__ import annotations

from pslrepl.export.script import Unexportable, wrapped_print

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord
    from pslrepl.results import Fields, Result, Table
    from pslrepl.transcript.writing import Namer, Segment

NOTE = ("# What the shell showed: addresses, ports, pids and fds from the script's own "
        "objects;\n# the shell's own bookkeeping (states, counts, times) as the session "
        "had it.")  # fmt: skip


def live_expr(script: Script, placeholder: str, value: str) -> str | None:
    """The Python expression that gives ``value`` (the session's {placeholder}) from
    the script's own object, or None where the script holds no such object now."""
    owner, dot, field = placeholder.rpartition(".")
    kind = script.kinds.get(owner)
    v = script.var(owner) if kind else ""
    if kind == "relay" and field == "port":  # its listening address, kept once it closed
        return f"{v}.where.rpartition(':')[2]"
    if kind == "server" and dot:  # its address stays on the object once it stopped
        if field == "port":
            return f"{v}.server_address[1]"
        return f"{script.use('addr')}({v}.server_address)" if field == "addr" else None
    if not dot or owner not in script.live:
        return None
    if kind == "process":
        return f"{v}.pid" if field == "pid" else None
    hostport = value.rpartition(":")[2].isdigit()
    if kind not in ("tcp", "udp", "listener"):
        return None
    if field == "fd":
        return f"{v}.fileno()"
    if field == "port":
        return f"{v}.getsockname()[1]"
    if field in ("laddr", "addr") and hostport:
        return f"{script.use('addr')}({v}.getsockname())"
    if field == "raddr" and hostport:
        return f"{script.use('addr')}({v}.getpeername())"
    return None


def fstring(script: Script, segments: list[Segment]) -> tuple[str, bool]:
    """The text of ``segments`` as the inside of a string literal, each live value as an
    {expression}; and whether it is an f-string."""
    parts: list[str] = []
    live = False
    for text, name in segments:
        expr = text if name == CALL else live_expr(script, name, text) if name else None
        if expr is None:
            parts.append(text.replace("{", "{{").replace("}", "}}"))
        else:
            parts.append("{" + expr + "}")
            live = True
    joined = "".join(parts)
    return (joined if live else joined.replace("{{", "{").replace("}}", "}")), live


def _literal_of(script: Script, segments: list[Segment]) -> str:
    text, live = fstring(script, segments)
    from pslrepl.export.script import _literal

    return ("f" if live else "") + _literal(text)


def reprint(script: Script, record: CommandRecord, *, results: tuple[Result, ...] = ()) -> None:
    """Print what ``record`` showed, each live value from the script's own objects."""
    from pslrepl.render import render
    from pslrepl.results import Fields, Table
    from pslrepl.transcript.writing import Namer

    shown = results or record.shown
    if not shown:
        raise Unexportable(f"what this {record.command} showed was not kept (the session's "
                           "history let it go to stay in its budget)")  # fmt: skip
    namer = Namer(record.known)
    for result in shown:
        if isinstance(result, Table) and result.rows:
            _table(script, record, result, namer)
            continue
        if isinstance(result, Fields) and record.command == "info":
            result = _asked(script, record, result)
        for line in render(result):
            text, live = fstring(script, namer.line_segments(line, record.line))
            script.add(wrapped_print(text, f=live))


# info's fields a socket answers itself: the line asks it again.
SOCKET_FIELDS = {
    "family": "{v}.family.name",
    "type": "{v}.type.name",
    "fd": "{v}.fileno()",
    "getsockname": "{addr}({v}.getsockname())",
    "getpeername": "{addr}({v}.getpeername())",
}


def _asked(script: Script, record: CommandRecord, fields: Fields) -> Fields:
    """info's fields with those a live socket answers itself marked as its calls."""
    from pslrepl.results import Fields

    name = record.values.get("name")
    if name not in script.live or script.kinds.get(name) not in ("tcp", "udp", "listener"):
        return fields
    v = script.var(name)
    pairs = []
    for key, value in fields.pairs:
        form = SOCKET_FIELDS.get(key)
        text = value if isinstance(value, str) else value[1]
        if form is not None and (not key.startswith("get") or ":" in text):
            addr = script.use("addr") if "{addr}" in form else ""
            value = ("@" + CALL, form.format(v=v, addr=addr))
        pairs.append((key, value))
    return Fields(pairs)


# A marked fragment whose text is the expression that gives it (info's own fields).
CALL = "=call"


def _table(script: Script, record: CommandRecord, table: Table, namer: Namer) -> None:
    from pslrepl.render import _cell

    helper = script.use("table")
    rows: list[str] = []
    left: list[str] = []
    for row in table.rows:
        first = _cell(row[0])[1] if row else ""
        if record.command == "ls" and first in script.unmade:
            left.append(first)  # the script never made it: no row of the session's own
            continue
        context = " ".join(_cell(c)[1] for c in row) + "\n" + record.line
        cells = [_literal_of(script, namer.line_segments([_cell(c)], context)) for c in row]
        one = "        [" + ", ".join(cells) + "],"
        rows.append(
            one
            if len(one) <= 96
            else "\n".join(["        [", *[f"            {c}," for c in cells], "        ],"])
        )
    if left:
        script.add(f"# (left out: the rows of {', '.join(left)}, which this script does not "
                   "make: their commands above are marked)")  # fmt: skip
    if not rows:
        return
    script.add(f"{helper}(", f"    {list(table.headers)!r},", "    [", *rows, "    ],",
               f"    {table.min_widths!r},", ")")  # fmt: skip


def _shown(script: Script, record: CommandRecord) -> None:
    script.add(NOTE)
    reprint(script, record)


def _help(script: Script, record: CommandRecord) -> None:
    script.add("# help's text, as the shell printed it (it makes no call)")
    reprint(script, record)


EXPORTERS = {"ls": _shown, "info": _shown, "clients": _shown, "help": _help, "handlers": _help}
