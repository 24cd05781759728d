"""Exporters for sockets one call at a time: socket, bind, listen, connect, connect_ex,
the queries and settings (getsockname, gettimeout, settimeout...), socketpair,
and the lookups that are one call each (htons, inet_aton, gethostbyname...)."""

from __future__ import annotations

from pslrepl.export.common import address_of
from pslrepl.export.script import Unexportable, wrapped_print

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord

TYPES = {"tcp": "SOCK_STREAM", "udp": "SOCK_DGRAM"}
NEXT = {"tcp": "bind it, or connect it", "udp": "bind it"}


def _socket(script: Script, record: CommandRecord) -> None:
    values = record.values
    name, kind = values["name"], values.get("type") or "tcp"
    if kind not in TYPES:
        raise Unexportable(f"socket {kind} is not exported yet")
    v = script.var(name)
    family = "AF_INET6" if values.get("family") == "6" else "AF_INET"
    script.imp("socket")
    script.add(f"{v} = socket.socket(socket.{family}, socket.{TYPES[kind]})")
    script.add(wrapped_print(f"{name}: new {kind} socket ({family}, {TYPES[kind]}), not bound, "
                             f"not connected: {NEXT[kind]}"))  # fmt: skip
    script.kinds[name] = script.live[name] = "tcp" if kind == "tcp" else "udp"


def _bind(script: Script, record: CommandRecord) -> None:
    from pslrepl.addresses import parse_addr

    name = record.values["name"]
    v = script.var(name)
    script.use("addr")
    if not record.ok:
        _bind_failed(script, record)
        return
    script.add(f"{v}.bind({parse_addr(str(record.values['addr'])).sockaddr!r})")
    script.add(f'print(f"{name}: bound to {{addr({v}.getsockname())}}")')


def _bind_failed(script: Script, record: CommandRecord) -> None:
    """A bind that failed on the port of a socket the script made too (typed as
    {srv.port}, the lesson of TIME_WAIT or of a port in use): the script binds its own
    socket's port, so its run meets what the session met; the error line is said from
    what its own bind raises. A port typed as a number stays marked: it was taken in the
    session's run, and the script's may well find it free."""
    import re

    from pslrepl.transcript.syntax import PLACEHOLDER

    name, typed = record.values["name"], str(record.values["addr"])
    word = record.line.split()[-1] if record.line.split() else ""
    m = PLACEHOLDER.fullmatch(word.rpartition(":")[2])
    owner = m.group(1).partition(".")[0] if m else ""
    if not (m and m.group(1).endswith(".port") and script.kinds.get(owner) in SOCKETS):
        raise Unexportable("this bind failed in the session on a port typed as a number: "
                           "it was taken in the session's run, and the script's may find it "
                           "free")  # fmt: skip
    host = word.rpartition(":")[0].strip("[]")
    kept = _kept_address(script, owner)
    v = script.var(name)
    script.imp("errno")
    error = f"error: {record.error}"
    said = re.match(r"(error: [\w-]+: ).+? \(E[A-Z0-9]+\)(.*)$", error)
    if said is None:
        raise Unexportable(f"this bind failed in the session ({record.error})")
    tail = said.group(2).replace("{", "{{").replace("}", "}}")
    tail = tail.replace(typed.replace("{", "{{").replace("}", "}}"), "{addr(where)}")
    script.add(f"# {owner}'s port: the script's own {owner}'s, kept when it closed above",
               f"where = ({host!r}, {kept}[1])",
               "try:",
               f"    {v}.bind(where)",
               f'    print(f"{name}: bound to {{addr({v}.getsockname())}}")',
               "except OSError as exc:",
               wrapped_print(said.group(1) + "{exc.strerror} ({errno.errorcode[exc.errno]})"
                             + tail, f=True, indent="    "))  # fmt: skip


SOCKETS = ("listener", "tcp", "udp")


def _kept_address(script: Script, owner: str) -> str:
    """The expression for ``owner``'s own address: asked of it while it is open, or the
    variable its close keeps it in (the line that keeps it goes in above its close)."""
    v = script.var(owner)
    if owner in script.live:
        return f"{v}.getsockname()"
    kept = f"{v}_addr"
    if kept not in script.globals:
        closes = [i for i, line in enumerate(script.body) if line == f"{v}.close()"]
        if not closes:
            raise Unexportable(f"it binds {owner}'s port, and the script's {owner} is gone")
        script.body.insert(closes[-1], f"{kept} = {v}.getsockname()  # its address, for a "
                           "bind below")  # fmt: skip
        script.globals.add(kept)
    return kept


def _listen(script: Script, record: CommandRecord) -> None:
    name, backlog = record.values["name"], record.values.get("backlog")
    v = script.var(name)
    script.use("addr")
    if backlog is None:
        script.add(f"{v}.listen()")
        said = "(backlog {min(socket.SOMAXCONN, 128)}, listen's default)"
    else:
        script.add(f"{v}.listen({backlog})")
        said = f"(backlog {backlog})"
    script.add(wrapped_print(f"{name}: listening on {{addr({v}.getsockname())}} {said}", f=True))
    script.kinds[name] = script.live[name] = "listener"


def _connect(script: Script, record: CommandRecord, *, ex: bool) -> None:
    name = record.values["name"]
    v = script.var(name)
    target = address_of(script, str(record.values["addr"]), record)
    script.use("addr")
    connected = f"connected {{addr({v}.getsockname())}} -> {{addr({v}.getpeername())}}"
    if not ex:
        script.add(f"{v}.connect({target})")
        script.add(wrapped_print(f"{name}: {connected}", f=True))
        return
    script.imp("errno")
    script.add(f"err = {v}.connect_ex({target})  # an errno number, not an exception",
               "if err == 0:",
               wrapped_print(f"{name}: connect_ex returned 0: {connected}", f=True, indent="    "),
               "else:",
               wrapped_print(f"{name}: connect_ex returned {{err}} ({{errno.errorcode[err]}})",
                             f=True, indent="    "))  # fmt: skip


def _query(script: Script, record: CommandRecord) -> None:
    name = record.values["name"]
    v = script.var(name)
    call = f"{record.command}()"
    script.add(f'print(f"{name}: {call} returned {{{v}.{call}!r}}")')


def _gettimeout(script: Script, record: CommandRecord) -> None:
    name = record.values["name"]
    v = script.var(name)
    script.add(f"timeout = {v}.gettimeout()", "if timeout is None:",
               wrapped_print(f"{name}: gettimeout() returned None (blocking: each command "
                             "waits its own --timeout S)", indent="    "),
               "elif timeout == 0:",
               wrapped_print(f"{name}: gettimeout() returned 0.0 (non-blocking: a call that "
                             "would wait raises BlockingIOError)", indent="    "),
               "else:",
               wrapped_print(f"{name}: gettimeout() returned {{timeout}} (blocking calls "
                             "raise TimeoutError after {timeout:g} s)", f=True,
                             indent="    "))  # fmt: skip


def _settimeout(script: Script, record: CommandRecord) -> None:
    name, seconds = record.values["name"], record.values.get("s")
    v = script.var(name)
    script.add(f"{v}.settimeout({seconds!r})")
    if seconds is None:
        said = "timeout None: blocking, each command waits its own --timeout"
    elif seconds == 0:
        said = "timeout 0: non-blocking, a call that would wait raises BlockingIOError"
    else:
        said = f"timeout {seconds:g} s: blocking calls raise TimeoutError after it"
    script.add(wrapped_print(f"{name}: {said}"))


def _setblocking(script: Script, record: CommandRecord) -> None:
    name, on = record.values["name"], record.values.get("flag") == "on"
    v = script.var(name)
    script.add(f"{v}.setblocking({on})")
    script.add(f'print("{name}: {"blocking" if on else "non-blocking (timeout 0)"}")')


def _socketpair(script: Script, record: CommandRecord) -> None:
    one, two = record.values["name1"], record.values["name2"]
    script.imp("socket")
    script.add(f"{script.var(one)}, {script.var(two)} = socket.socketpair()")
    for name in (one, two):
        script.add(f'print("{name}: socketpair (unbound)")')
        script.kinds[name] = script.live[name] = "tcp"


def _number(script: Script, record: CommandRecord) -> None:
    n = int(str(record.values["n"]), 0)
    script.imp("socket")
    script.add(f"n = socket.{record.command}({n})", 'print(f"{n}  ({n:#x})")')


def _inet_aton(script: Script, record: CommandRecord) -> None:
    script.imp("socket")
    script.add(f"packed = socket.inet_aton({str(record.values['ip'])!r})",
               'print(f"{packed.hex(\' \')}  ({len(packed)} bytes, packed)")')  # fmt: skip


def _inet_ntoa(script: Script, record: CommandRecord) -> None:
    from pslrepl.parsing import parse_hex

    packed = parse_hex(" ".join(record.values.get("packed") or []))
    script.imp("socket")
    script.add(f"print(socket.inet_ntoa(bytes.fromhex({packed.hex()!r})))")


def _gethostbyname(script: Script, record: CommandRecord) -> None:
    script.imp("socket")
    script.add(f"print(socket.gethostbyname({str(record.values['host'])!r}))")


def _getservbyname(script: Script, record: CommandRecord) -> None:
    proto = record.values.get("proto")
    extra = f", {proto!r}" if proto else ""
    script.imp("socket")
    script.add(f"n = socket.getservbyname({str(record.values['service'])!r}{extra})",
               'print(f"{n}  ({n:#x})")')  # fmt: skip


def _getprotobyname(script: Script, record: CommandRecord) -> None:
    script.imp("socket")
    script.add(f"n = socket.getprotobyname({str(record.values['name'])!r})",
               'print(f"{n}  ({n:#x})")')  # fmt: skip


def _sockopt(script: Script, record: CommandRecord) -> None:
    from pslrepl.commands.socket_settings import LEVELS

    values = record.values
    name, option, value = values["name"], str(values["option"]).upper(), values.get("value")
    v = script.var(name)
    level = next((lvl for prefix, lvl in LEVELS if option.startswith(prefix)), None)
    if level is None:
        raise Unexportable(f"the shell refused the option {option!r}")
    script.imp("socket")
    if value is not None:
        raw = {"on": 1, "off": 0}.get(str(value).lower())
        raw = int(str(value), 0) if raw is None else raw
        script.add(f"{v}.setsockopt(socket.{level}, socket.{option}, {raw})")
    got = f"{v}.getsockopt(socket.{level}, socket.{option})"
    script.add(wrapped_print(f"{name}: {level}.{option} = {{{got}}}", f=True))


def _dup(script: Script, record: CommandRecord) -> None:
    name, new = record.values["name"], record.values["newname"]
    kind = script.kinds.get(name)
    if kind not in ("tcp", "udp", "listener", "unix-listener"):
        raise Unexportable(f"dup of a {kind or 'resource'} is not exported yet")
    ends = script.use("ends")
    script.add(f"{script.var(new)} = {script.var(name)}.dup()  # a new descriptor, one socket")
    script.add(wrapped_print(f"{new}: dup of {name} {{{ends}({script.var(new)})}}", f=True))
    script.kinds[new] = script.live[new] = kind


def _getaddrinfo(script: Script, record: CommandRecord) -> None:
    values = record.values
    if any(values.get(k) for k in ("family", "type", "af_family", "sock_type", "proto", "flags")):
        raise Unexportable("getaddrinfo with a family, type, protocol or flags is not "
                           "exported yet")  # fmt: skip
    port = values.get("port")
    port_text = "None" if port is None else (str(int(port)) if str(port).isdigit() else repr(port))
    table = script.use("table")
    script.imp("socket")
    script.add("rows = [", "    [family.name, kind.name, str(proto), repr(sockaddr)]",
               "    for family, kind, proto, _, sockaddr in socket.getaddrinfo("
               f"{str(values['host'])!r}, {port_text})", "]",
               f'{table}(["FAMILY", "TYPE", "PROTO", "SOCKADDR"], rows, {{}})')  # fmt: skip


def _getnameinfo(script: Script, record: CommandRecord) -> None:
    # ADDR and FLAGS take several spellings: the call the shell made says what they came to.
    calls = [c for c in record.calls if c.func == "socket.getnameinfo" and c.exact]
    if not calls:
        raise Unexportable("the shell made no getnameinfo call to write")
    script.imp("socket")
    script.add(f"host, service = socket.getnameinfo({calls[0].args})",
               'print(f"host:    {host}")', 'print(f"service: {service}")')  # fmt: skip


FAMILIES = {"4": "AF_INET", "6": "AF_INET6", "AF_INET": "AF_INET", "AF_INET6": "AF_INET6"}


def _family_of(record: CommandRecord, address: str) -> str:
    """inet_pton/inet_ntop's FAMILY as given (4, 6, AF_INET6), else the address's own."""
    given = record.values.get("family")
    if given is not None and str(given).upper() in FAMILIES:
        return FAMILIES[str(given).upper()]
    if given is not None:
        raise Unexportable(f"the family {given!r} is not exported yet")
    return "AF_INET6" if ":" in address or len(address) > 8 else "AF_INET"


def _printed(call: str) -> Callable[[Script, CommandRecord], None]:
    """An exporter for a lookup the shell shows as print() shows its result."""

    def export(script: Script, record: CommandRecord) -> None:
        values = record.values
        args = [f"{values[k]!r}" for k in ("host", "ip", "name") if values.get(k)]
        if call == "getservbyport":
            args = [str(int(str(values["port"])))] + (
                [repr(values["proto"])] if values.get("proto") else []
            )
        script.imp("socket")
        script.add(f"print(socket.{call}({', '.join(args)}))")

    return export


def _inet_pton(script: Script, record: CommandRecord) -> None:
    family = _family_of(record, str(record.values["ip"]))
    script.imp("socket")
    script.add(f"packed = socket.inet_pton(socket.{family}, {str(record.values['ip'])!r})",
               'print(f"{packed.hex(\' \')}  ({len(packed)} bytes, packed)")')  # fmt: skip


def _inet_ntop(script: Script, record: CommandRecord) -> None:
    from pslrepl.parsing import parse_hex

    # FAMILY is optional before PACKED's words: a first word that names one is it.
    given = record.values.get("family")
    words = [given, *record.values["packed"]] if given else list(record.values["packed"])
    named = len(words) > 1 and str(words[0]).upper() in FAMILIES
    packed = parse_hex(" ".join(words[1:] if named else words))
    if named:
        family = FAMILIES[str(words[0]).upper()]
    else:
        family = "AF_INET6" if len(packed) == 16 else "AF_INET"
    script.imp("socket")
    script.add(f"print(socket.inet_ntop(socket.{family}, bytes.fromhex({packed.hex()!r})))")


def _setdefaulttimeout(script: Script, record: CommandRecord) -> None:
    seconds = record.values.get("s")
    script.imp("socket")
    script.add(f"socket.setdefaulttimeout({seconds!r})",
               'print(f"default timeout for new sockets: "',
               '      f"{socket.getdefaulttimeout()}")')  # fmt: skip


EXPORTERS = {
    "getnameinfo": _getnameinfo,
    "sockopt": _sockopt,
    "dup": _dup,
    "getaddrinfo": _getaddrinfo,
    "gethostname": _printed("gethostname"),
    "getfqdn": _printed("getfqdn"),
    "getservbyport": _printed("getservbyport"),
    "gethostbyname_ex": _printed("gethostbyname_ex"),
    "gethostbyaddr": _printed("gethostbyaddr"),
    "getdefaulttimeout": _printed("getdefaulttimeout"),
    "setdefaulttimeout": _setdefaulttimeout,
    "inet_pton": _inet_pton,
    "inet_ntop": _inet_ntop,
    "socket": _socket,
    "bind": _bind,
    "listen": _listen,
    "connect": lambda script, record: _connect(script, record, ex=False),
    "connect_ex": lambda script, record: _connect(script, record, ex=True),
    "getsockname": _query,
    "getpeername": _query,
    "fileno": _query,
    "gettimeout": _gettimeout,
    "settimeout": _settimeout,
    "setblocking": _setblocking,
    "socketpair": _socketpair,
    "htons": _number,
    "ntohs": _number,
    "htonl": _number,
    "ntohl": _number,
    "inet_aton": _inet_aton,
    "inet_ntoa": _inet_ntoa,
    "gethostbyname": _gethostbyname,
    "getservbyname": _getservbyname,
    "getprotobyname": _getprotobyname,
}
