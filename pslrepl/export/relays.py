"""Exporters for relay: a listening side whose first client is joined to a child's pipes
(exec:) or to a TCP connection (tcp:), by two copying threads; wait NAME close; the
toxics that shape a stream from relay --link, link, unlink; link RELAY's list; close. The
code they use is relay_code's."""

from __future__ import annotations

from pslrepl.export.relay_code import CLASSES
from pslrepl.export.script import wrapped_print

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord


def _relay(script: Script, record: CommandRecord) -> None:
    import shlex

    from pslrepl.addresses import parse_addr

    values = record.values
    name, a, b = values["name"], str(values["a"]), str(values["b"])
    v = script.var(name)
    server = script.kinds.get(b) == "server"  # a TCP server by NAME: the relay connects
    if (
        not a.startswith("tcp-listen:")
        or not (b.startswith(("exec:", "tcp:")) or server)
        or (values.get("hex") or values.get("text"))
    ):
        script.not_exported(record, "only relay NAME tcp-listen:ADDR exec:CMD|tcp:ADDR is "
                            "exported yet")  # fmt: skip
        return
    toxics = _toxics(script, record, list(values.get("link") or ()))
    if toxics is None:
        return
    listen = parse_addr(a.removeprefix("tcp-listen:")).sockaddr
    script.imp("socket")
    script.use("Relay")
    script.add(f"{v}_a = socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
               f"{v}_a.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
               f"{v}_a.bind({listen!r})", f"{v}_a.listen(1)", "")  # fmt: skip
    opener = f"open_{v}_b"
    b_expr = repr(b)
    script.add("", f"def {opener}():")
    if b.startswith("exec:"):
        script.imp("subprocess")
        argv = shlex.split(b.removeprefix("exec:"))
        script.add(f'    """{b}: a child, when the first client comes (the relay copies to its',
                   '    stdin and from its stdout)."""',
                   "    return subprocess.Popen(",
                   f"        {argv!r}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0",
                   "    )")  # fmt: skip
    else:
        from pslrepl.export.common import address_of

        target = address_of(script, b.removeprefix("tcp:"), record)
        if server:  # named as the shell names it: tcp:HOST:PORT, the server's own
            script.use("addr")
            b_expr = f'f"tcp:{{addr({target})}}"'
        script.add(f'    """{b}: a connection, when the first client comes."""',
                   f"    return socket.create_connection({target})")  # fmt: skip
    script.add("", "")
    script.add(f"{v} = Relay({v}_a, {b_expr}, {opener})")
    script.add(wrapped_print(f"{name}: relaying {{{v}.where}} <-> {{{v}.name}}", f=True))
    script.kinds[name] = script.live[name] = "relay"
    for toxic in toxics:  # before the first client can come: in the shell, before any byte
        _add_toxic(script, name, toxic)


def _toxics(script: Script, record: CommandRecord, specs: list[str]) -> list[Any] | None:
    """The toxics of relay --link, made again; None (and marked) if one is not exported."""
    from pslrepl.resources.toxics import from_spec

    toxics: list[Any] = []
    for spec in specs:
        toxic = from_spec(spec, seed=None, taken=tuple(t.name for t in toxics))
        why = _unexported(toxic)
        if why:
            script.not_exported(record, why)
            return None
        toxics.append(toxic)
    return toxics


def _unexported(toxic: Any) -> str:
    """Why the script can't make ``toxic`` ('' if it can)."""
    if toxic.kind not in CLASSES:
        return f"the {toxic.kind} toxic is not exported yet (a datagram relay's toxics are not)"
    if toxic.toxicity < 1:
        return "a toxic's toxicity is not exported yet"
    return ""


def _add_toxic(script: Script, name: str, toxic: Any) -> None:
    from pslrepl.commands.relays import describe
    from pslrepl.resources.toxics import KINDS

    v = script.var(name)
    script.use("Toxics")
    args = "".join(f", {k}={toxic.params[k]!r}" for k in KINDS[toxic.kind])
    line = f"{v}.link({CLASSES[toxic.kind]}({toxic.name!r}, {toxic.way!r}, {toxic.settings()!r}"
    if len(line + args) + 2 <= 96:
        script.add(line + args + "))")
    else:
        script.add(line + ",", f"    {args[2:]}))")
    script.add(wrapped_print(f"{name}: linked {toxic.name}: {describe(toxic)}"))


def _link(script: Script, record: CommandRecord) -> None:
    from pslrepl.resources.toxics import make, parse_prob

    values = record.values
    name = str(values["relay"])
    if script.kinds.get(name) != "relay":
        script.not_exported(record, f"{name} is not a relay the script made")
        return
    if values.get("toxic") is None:
        _listing(script, name)
        return
    toxicity = values.get("toxicity")
    toxic = make(values["toxic"], list(values.get("key=value") or ()),
                 way=values.get("dir") or "down", name=values.get("name"),
                 toxicity=1.0 if toxicity is None else parse_prob(toxicity, ""))  # fmt: skip
    why = _unexported(toxic)
    if why:
        script.not_exported(record, why)
        return
    _add_toxic(script, name, toxic)


def _listing(script: Script, name: str) -> None:
    """link RELAY: its toxics as the shell lists them, read from the script's own relay
    (how often each has acted, and what a latency holds, are the script's run's)."""
    v = script.var(name)
    table = script.use("table")
    script.use("Toxics")
    script.add(f"if {v}.toxics:",
               f"    {table}(",
               '        ["name", "toxic", "settings", "dir", "toxicity", "acted"],',
               "        [[t.name, t.kind, t.settings, t.listed_way(), \"1\",",
               '          f"{t.acted}" + (f" (holding {t.holding:,} bytes)" if t.holding else "")]',
               f"         for t in {v}.toxics],",
               "        {},",
               "    )",
               "else:",
               wrapped_print(f"(no toxics on {name}: link {name} TOXIC ...)",
                             indent="    "))  # fmt: skip


def _unlink(script: Script, record: CommandRecord) -> None:
    name, which = str(record.values["relay"]), record.values.get("n")
    if script.kinds.get(name) != "relay" or not record.ok:
        script.not_exported(record, f"{name} is not a relay the script made")
        return
    v = script.var(name)
    script.add(f"if gone := {v}.unlink({which!r}):")
    script.add(f'    print(f"{name}: unlinked {{gone}}")')
    script.add("else:", f'    print("{name}: no toxics to remove")')


def close(script: Script, name: str) -> None:
    """close NAME of a relay the script made: for session_cmds' close."""
    v = script.var(name)
    script.add(f'print(f"{name}: closed ({{{v}.close()}})")')


def _wait_close(script: Script, record: CommandRecord) -> None:
    name = record.values["name"]
    v = script.var(name)
    timeout = record.values.get("timeout")
    timeout = script.timeout if timeout is None else float(timeout)
    script.add(f"if {v}.wait_closed(timeout={timeout:g}):")
    script.add(f'    print(f"{name}: both directions closed ({{{v}.totals()}})")')
    script.add("else:", wrapped_print(f"error: {name}: timeout after {timeout:g} s waiting "
                                      "for both directions to close", indent="    "))  # fmt: skip


EXPORTERS = {"relay": _relay, "link": _link, "unlink": _unlink}
WAITS = {"relay": _wait_close}
