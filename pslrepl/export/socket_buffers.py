"""Exporters for recv_into and recvfrom_into: a bytearray filled in place, shown as the
expression that makes it."""

from __future__ import annotations

from pslrepl.export.script import Unexportable, wrapped_print

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord

DEFAULT_SIZE = 64  # as the shell's: a buffer small enough to show whole
SHOWN = 64  # bytes of the filled part shown; the rest is counted

HELPERS: dict[str, tuple[tuple[str, ...], str]] = {
    "show_buf": (
        ("nbytes",),
        r'''
def show_buf(name, method, returned, buf, n):
    """A filled buffer as the shell shows it: what the call returned, how much of buf
    it filled, and buf as the expression that makes it."""
    if n == 0 and method == "recv_into":
        said = "EOF: the peer closed its side; buf untouched"
    elif n == len(buf):
        said = f"all {nbytes(len(buf))} of buf filled"
    else:
        said = f"buf[:{n}] filled, {len(buf) - n} of its {nbytes(len(buf))} untouched"
    print(f"{name}: {method} returned {returned}: {said}")
    head = repr(bytes(buf[: min(n, SHOWN)])) + ("..." if n > SHOWN else "") if n else ""
    head += f" ({nbytes(n)})" if n > SHOWN else ""
    rest = f"{' + ' if n else ''}b'\\x00' * {len(buf) - n}" if n < len(buf) else ""
    print(f"buf = bytearray({head}{rest})")
''',
    ),
}
HELPER_IMPORTS: dict[str, tuple[str, ...]] = {}


def _into(script: Script, record: CommandRecord, *, method: str) -> None:
    values = record.values
    name = values["name"]
    if not record.ok and "waiting for data; 0 bytes waiting" not in (record.error or ""):
        if record.calls:
            raise Unexportable(f"this {method} failed in the session; what it said is not "
                               "in this script")  # fmt: skip
        script.add("# the shell refused it before making any call; what it said:",
                   wrapped_print(f"error: {record.error}"))  # fmt: skip
        return
    # (one that timed out is the bounded wait below: it gives up as the shell did)
    if method == "recvfrom_into" and script.kinds.get(name) == "udp":
        raise Unexportable("recvfrom_into on a datagram socket is not exported yet (the "
                           "shell's warning on a cut datagram asks FIONREAD first)")  # fmt: skip
    v = script.var(name)
    nbytes: int = values.get("nbytes") or 0
    size: int = values.get("size") or nbytes or DEFAULT_SIZE
    timeout = values.get("timeout")
    timeout = script.timeout if timeout is None else float(timeout)
    show = script.use("show_buf")
    if "SHOWN" not in script.globals:
        script.globals.add("SHOWN")
        script.add(f"SHOWN = {SHOWN}  # bytes of a buffer's filled part shown")
    script.imp("select")
    args = f"buf, {nbytes}" if nbytes else "buf"
    script.add(f"buf = bytearray({size})")
    script.add(f"ready, _, _ = select.select([{v}], [], [], {timeout:g})", "if ready:")
    if method == "recv_into":
        script.add(f"    n = {v}.recv_into({args})", f"    {show}({name!r}, {method!r}, n, buf, n)")
    else:
        script.add(f"    n, peer = {v}.recvfrom_into({args})",
                   f"    {show}({name!r}, {method!r}, (n, peer), buf, n)")  # fmt: skip
    script.add("else:", wrapped_print(f"error: {name}: timeout after {timeout:g} s waiting for "
                                      "data; 0 bytes waiting; --timeout S waits longer",
                                      indent="    "))  # fmt: skip


EXPORTERS = {
    "recv_into": lambda script, record: _into(script, record, method="recv_into"),
    "recvfrom_into": lambda script, record: _into(script, record, method="recvfrom_into"),
}


def _fromfd(script: Script, record: CommandRecord) -> None:
    """fromfd NEW NAME: a second socket object over a dup of NAME's fd (the script's fds
    are its own, so a bare number is not exported)."""
    from pslrepl.export.looking import reprint

    new = record.values["new"]
    owner = next((w for w in record.line.split()[2:] if w in script.kinds), None)
    if owner is None or script.kinds[owner] not in ("tcp", "udp", "listener"):
        raise Unexportable("fromfd of an fd given as a number is not exported (the script's "
                           "fds are its own): give the socket's NAME")  # fmt: skip
    script.imp("socket")
    v, o = script.var(new), script.var(owner)
    script.add(f"{v} = socket.fromfd({o}.fileno(), {o}.family, {o}.type)  # a dup of its fd")
    script.kinds[new] = script.live[new] = script.kinds[owner]
    reprint(script, record)


EXPORTERS["fromfd"] = _fromfd
