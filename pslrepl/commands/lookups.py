"""The socket module's functions under their own names: lookups and byte-order helpers."""

from __future__ import annotations

import socket

from pslrepl.commands.groups import LOOKUPS
from pslrepl.commands.socket_common import ADDRESS
from pslrepl.commandspec import Arg, Command, Opt
from pslrepl.errors import PslError, UsageError
from pslrepl.kinds import TEXT, Choice
from pslrepl.results import Fields, Table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pslrepl.invocation import Invocation

PORT_RANGE = (0, 65535)
# getservbyname and getservbyport read the services database: say where, and how to ask.
SERVICE_HINT = ("; the names are in /etc/services (try http, ssh, smtp), and PROTO is "
                "tcp or udp")  # fmt: skip


def _lookup(ctx: Invocation, func: str, fn: Callable[..., Any], *args: Any) -> Any:
    from pslrepl.resources.sockets import traced

    try:
        return traced(ctx, f"socket.{func}", fn, *args)
    except socket.gaierror as exc:
        raise PslError(f"{func}: {exc.strerror} ({_gai_name(exc.errno)})") from None
    except socket.herror as exc:
        raise PslError(f"{func}: {exc.strerror or exc} (herror)") from None
    except OSError as exc:
        hint = SERVICE_HINT if func.startswith("getserv") else ""
        raise PslError(f"{func}: {exc.strerror or exc}{hint}") from None
    except (TypeError, ValueError, OverflowError) as exc:
        # The stdlib's message may name the function already ("htons: Python int...").
        text = str(exc).removeprefix(f"{func}: ").removeprefix(f"{func}() ")
        if isinstance(exc, UnicodeError):  # a name IDNA can't encode: a label over 63...
            text = f"can't encode that name for DNS ({text})"
        raise UsageError(f"{func}: {text}") from None


def _gai_name(code: int | None) -> str:
    for name in dir(socket):
        if name.startswith("EAI_") and getattr(socket, name) == code:
            return name
    return f"EAI {code}"


def _constant(func: str, what: str, text: str, prefixes: tuple[str, ...]) -> int:
    """A socket constant as the docs spell it (AF_INET6, socket.SOCK_STREAM, a number),
    or several flags joined by | (AI_CANONNAME|AI_PASSIVE)."""
    value = 0
    for part in text.split("|"):
        word = part.strip().upper().removeprefix("SOCKET.")
        number = getattr(socket, word, None) if word.startswith(prefixes) else None
        if isinstance(number, int):
            value |= int(number)
            continue
        try:
            value |= int(word, 0)
        except ValueError:
            names = sorted(n for n in dir(socket) if n.startswith(prefixes))
            raise UsageError(f"{func}: {what} {part!r} is not one of "
                             f"{', '.join(names[:8])}{'...' if len(names) > 8 else ''}, "
                             "nor a number") from None  # fmt: skip
    if not -(2**31) <= value < 2**31:
        raise UsageError(f"{func}: {what} must be from {-(2**31)} to {2**31 - 1}, not {text}")
    return value


# Address families as a student types them: the stdlib's names, its numbers, or 4 and 6
# (as --family takes them; AF 4 and 6 are no IP family on any platform).
_FAMILY_WORDS = {"4": socket.AF_INET, "6": socket.AF_INET6}


def _family_arg(func: str, text: str) -> int | None:
    """An IP family (AF_INET, AF_INET6, socket.AF_INET6, their numbers, 4 or 6), or None
    when ``text`` is not spelled as a family at all."""
    word = text.strip().upper().removeprefix("SOCKET.")
    if word in _FAMILY_WORDS:
        return _FAMILY_WORDS[word]
    number = getattr(socket, word, None) if word.startswith("AF_") else None
    if number is None and word.isdigit():
        number = int(word)
    if number is None:
        return None
    if number not in (socket.AF_INET, socket.AF_INET6):
        raise UsageError(f"{func}: {text} is not an IP family: give AF_INET or AF_INET6 "
                         "(or 4, 6)")  # fmt: skip
    return int(number)


def _family_name(family: int) -> str:
    return "AF_INET6" if family == socket.AF_INET6 else "AF_INET"


def _port(func: str, text: str) -> int:
    port = _int(func, "PORT", text)
    if not PORT_RANGE[0] <= port <= PORT_RANGE[1]:
        raise UsageError(f"{func}: PORT must be from 0 to 65535, not {text}")
    return port


def _int(func: str, what: str, text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise UsageError(f"{func}: {what} {text!r} is not a whole number") from None


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return f"{value.hex(' ')}  ({len(value)} bytes, packed)"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value}  (0x{value:x})"
    return repr(value) if not isinstance(value, str) else value


def _getaddrinfo(ctx: Invocation) -> None:
    func = "getaddrinfo"
    family = {"4": socket.AF_INET, "6": socket.AF_INET6, None: 0}[ctx["family"]]
    kind = {"tcp": socket.SOCK_STREAM, "udp": socket.SOCK_DGRAM, None: 0}[ctx["type"]]
    port_text = ctx["port"]
    port: str | int | None = port_text
    if port_text is None or port_text.lower() == "none":
        port = None
    elif port_text.lstrip("-").isdigit() or port_text.lower().startswith("0x"):
        # glibc takes any number and wraps it: 99999999 would come back as port 57599.
        port = _port(func, port_text)
    # The rest as the docs order them: family, type, proto, flags.
    extra = [ctx[k] for k in ("af_family", "sock_type", "proto", "flags") if ctx[k] is not None]
    if extra:
        short = _FAMILY_WORDS.get(extra[0].strip())  # 4 or 6; else any AF_ (0: either)
        family = short or _constant(func, "FAMILY", extra[0], ("AF_",))
    if len(extra) > 1:
        kind = _constant(func, "TYPE", extra[1], ("SOCK_",))
    proto = _constant(func, "PROTO", extra[2], ("IPPROTO_",)) if len(extra) > 2 else 0
    flags = _constant(func, "FLAGS", extra[3], ("AI_",)) if len(extra) > 3 else 0
    args: list[Any] = [ctx["host"], port, _enum(socket.AddressFamily, family),
                       _enum(socket.SocketKind, kind), proto, flags]  # fmt: skip
    while len(args) > 2 and not args[-1]:
        args.pop()  # leave out the defaults, as one would write the call
    rows = _lookup(ctx, func, socket.getaddrinfo, *args)
    table: list[list[Any]] = []
    for fam, typ, prot, canon, addr in rows:
        row = [_enum_name(socket.AddressFamily, fam), _enum_name(socket.SocketKind, typ),
               str(prot), repr(addr)]  # fmt: skip
        table.append(row + ([canon] if flags & socket.AI_CANONNAME else []))
    headers = ("FAMILY", "TYPE", "PROTO", "SOCKADDR")
    ctx.emit(Table(headers + (("CANONNAME",) if flags & socket.AI_CANONNAME else ()), table))


def _enum(enum: Any, value: int) -> Any:
    """The constant as its enum member (explain then shows its name), if it is one."""
    try:
        return enum(value)
    except ValueError:
        return value


def _enum_name(enum: Any, value: int) -> str:
    try:
        return str(enum(value).name)
    except ValueError:
        return str(value)


def _simple(func: str, convert: Callable[[str], Any] | None = None) -> Callable[[Invocation], None]:
    """A handler that calls socket.FUNC on its arguments and shows the result."""

    def handler(ctx: Invocation) -> None:
        args: list[Any] = []
        for arg in ctx.command.args:  # every positional, in order, as the user gave it
            value = ctx[arg.key]
            args.extend(value if isinstance(value, list) else [] if value is None else [value])
        if convert is not None:
            args = [convert(a) for a in args]
        value = _lookup(ctx, func, getattr(socket, func), *args)
        ctx.say(_show(value))

    return handler


def _byte_order(func: str, bits: int) -> Callable[[Invocation], None]:
    """htons, ntohs (16 bits), htonl, ntohl (32 bits): N must fit, or the stdlib raises
    OverflowError (and older Pythons wrapped 16-bit values with only a warning)."""
    top = (1 << bits) - 1

    def handler(ctx: Invocation) -> None:
        n = _int(func, "N", ctx["n"])
        if not 0 <= n <= top:
            raise UsageError(f"{func}: N must be from 0 to {top:,} ({bits} bits), not {ctx['n']}")
        ctx.say(_show(_lookup(ctx, func, getattr(socket, func), n)))

    return handler


def _getservbyport(ctx: Invocation) -> None:
    args: list[Any] = [_port("getservbyport", ctx["port"])]
    if ctx["proto"] is not None:
        args.append(ctx["proto"])
    ctx.say(_show(_lookup(ctx, "getservbyport", socket.getservbyport, *args)))


def _packed(func: str, words: list[str]) -> bytes:
    """Packed bytes as hex, in one word or several: '7f 00 00 01', 7f 00 00 01, 7f000001."""
    from pslrepl.parsing import parse_hex

    try:
        return parse_hex(" ".join(words))
    except UsageError as exc:
        raise UsageError(f"{func}: {exc}") from None


def _getnameinfo(ctx: Invocation) -> None:
    from pslrepl.addresses import parse_addr

    func = "getnameinfo"
    words = [ctx["addr"], *ctx["flags"]]
    if len(words) >= 2 and ":" not in words[0] and words[1].isdigit():
        sockaddr: Any = (words[0], _port(func, words[1]))  # HOST PORT, as the tuple's parts
        words = words[2:]
    else:
        sockaddr = parse_addr(words[0], ctx.session).sockaddr
        words = words[1:]
    if len(words) > 1:
        raise UsageError(f"{func}: unexpected {' '.join(words[1:])!r}; usage: getnameinfo "
                         "ADDR [FLAGS]")  # fmt: skip
    flags = _constant(func, "FLAGS", words[0], ("NI_",)) if words else 0
    if ctx["numeric"]:
        flags |= socket.NI_NUMERICSERV
    host, port = _lookup(ctx, func, socket.getnameinfo, sockaddr, flags)
    ctx.emit(Fields([("host", host), ("service", port)]))


def _inet_pton(ctx: Invocation) -> None:
    func = "inet_pton"
    ip = ctx["ip"]
    if ctx["family"] is not None:
        family = _family_arg(func, ctx["family"])
        if family is None:
            raise UsageError(f"{func}: {ctx['family']!r} is not an address family: give "
                             "AF_INET or AF_INET6 (or 4, 6), then the IP")  # fmt: skip
    else:
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    try:
        packed = _lookup(ctx, func, socket.inet_pton, socket.AddressFamily(family), ip)
    except PslError:
        raise PslError(f"{func}: {ip!r} is not an {_family_name(family)} address"
                       + (" (an IPv6 one has colons: AF_INET6)" if ":" in ip and
                          family == socket.AF_INET else
                          " (an IPv4 one is dotted: AF_INET)" if family == socket.AF_INET6
                          else "")) from None  # fmt: skip
    ctx.say(_show(packed))


def _inet_ntop(ctx: Invocation) -> None:
    func = "inet_ntop"
    # FAMILY is optional before PACKED's words: which one a first word is, is decided here.
    words = [ctx["family"], *ctx["packed"]] if ctx["family"] else list(ctx["packed"])
    family = _family_arg(func, words[0]) if len(words) > 1 else None
    if family is not None:
        try:  # a family first, if what follows is a whole packed address
            rest = _packed(func, words[1:])
        except UsageError:
            rest = b""
        if len(rest) not in (4, 16):
            if rest:  # a family, then hex of the wrong length: say that, not "bad hex"
                want = 16 if family == socket.AF_INET6 else 4
                raise UsageError(f"{func}: an {_family_name(family)} address packs into "
                                 f"{want} bytes, not {len(rest)}")  # fmt: skip
            family = None
    packed = _packed(func, words[1:] if family is not None else words)
    if family is None:
        if len(packed) not in (4, 16):
            raise UsageError(f"{func}: {len(packed)} bytes are no packed address: IPv4 is 4 "
                             "bytes, IPv6 16")  # fmt: skip
        family = socket.AF_INET6 if len(packed) == 16 else socket.AF_INET
    want = 16 if family == socket.AF_INET6 else 4
    if len(packed) != want:
        raise UsageError(f"{func}: an {_family_name(family)} address packs into {want} bytes, "
                         f"not {len(packed)}")  # fmt: skip
    ctx.say(_show(_lookup(ctx, func, socket.inet_ntop, socket.AddressFamily(family), packed)))


def _inet_ntoa(ctx: Invocation) -> None:
    packed = _packed("inet_ntoa", list(ctx["packed"]))
    if len(packed) != 4:
        raise UsageError(f"inet_ntoa: give 4 packed bytes (an IPv4 address), not {len(packed)}; "
                         "inet_ntop takes IPv6's 16")  # fmt: skip
    ctx.say(_show(_lookup(ctx, "inet_ntoa", socket.inet_ntoa, packed)))


def _setdefaulttimeout(ctx: Invocation) -> None:
    raw = ctx["s"]
    value = None if raw.lower() == "none" else _int_or_float(raw)
    # Process-wide state, like a signal handler: put back when the session ends.
    before = socket.getdefaulttimeout()
    ctx.session.on_close("default timeout", lambda: socket.setdefaulttimeout(before))
    _lookup(ctx, "setdefaulttimeout", socket.setdefaulttimeout, value)
    ctx.say(f"default timeout for new sockets: {value}")


def _int_or_float(text: str) -> float:
    from pslrepl.parsing import parse_duration

    return parse_duration(text, what="setdefaulttimeout: S")


def _fn(name: str, summary: str, args: tuple[Arg, ...], examples: tuple[str, ...], *,
        handler: Callable[[Invocation], None] | None = None) -> Command:  # fmt: skip
    return Command(name, LOOKUPS, summary, handler or _simple(name), args=args,
                   calls=(f"socket.{name}",), examples=examples)  # fmt: skip


HOST = (Arg("HOST"),)
N = (Arg("N"),)
COMMANDS = (
    Command(
        "getaddrinfo",
        LOOKUPS,
        "resolve HOST [PORT] to socket addresses",
        _getaddrinfo,
        args=(
            Arg("HOST"),
            Arg("PORT", TEXT, optional=True),
            Arg("AF_FAMILY", TEXT, optional=True),
            Arg("SOCK_TYPE", TEXT, optional=True),
            Arg("PROTO", TEXT, optional=True),
            Arg("FLAGS", TEXT, optional=True),
        ),
        opts=(
            Opt("--family", "4 or 6", "4|6", kind=Choice(("4", "6"))),
            Opt("--type", "tcp or udp", "tcp|udp", kind=Choice(("tcp", "udp"))),
        ),
        calls=("socket.getaddrinfo",),
        examples=(
            "getaddrinfo localhost 80",
            "getaddrinfo localhost http --type tcp",
            "getaddrinfo ::1 443 AF_INET6 SOCK_STREAM",
            "getaddrinfo localhost None AF_INET 0 0 AI_CANONNAME",
        ),
        details="As the stdlib call orders them: HOST PORT FAMILY TYPE PROTO FLAGS, "
        "constants by name (AF_INET6 or 4 and 6, SOCK_DGRAM, IPPROTO_TCP, AI_PASSIVE|"
        "AI_CANONNAME) or number; PORT a number from 0 to 65535, a service name or None.",
    ),
    _fn("gethostbyname", "a host name to one IPv4 address", HOST, ("gethostbyname localhost",)),
    _fn(
        "gethostbyname_ex",
        "a host name to (name, aliases, addresses)",
        HOST,
        ("gethostbyname_ex localhost",),
    ),
    _fn(
        "gethostbyaddr",
        "an address to (name, aliases, addresses)",
        (Arg("IP"),),
        ("gethostbyaddr 127.0.0.1",),
    ),
    Command(
        "getnameinfo",
        LOOKUPS,
        "an ADDR back to host and service names",
        _getnameinfo,
        args=(Arg("ADDR", ADDRESS), Arg("FLAGS", TEXT, optional=True, many=True)),
        opts=(Opt("--numeric", "the port as a number (NI_NUMERICSERV)"),),
        calls=("socket.getnameinfo",),
        examples=(
            "getnameinfo 127.0.0.1:22",
            "getnameinfo 127.0.0.1 22 NI_NUMERICHOST|NI_NUMERICSERV",
        ),
        details="getnameinfo ADDR [FLAGS]: ADDR as HOST:PORT (or HOST PORT, the sockaddr "
        "tuple's parts), FLAGS by name (NI_NUMERICHOST|NI_NAMEREQD) or number.",
    ),
    _fn(
        "getfqdn",
        "the fully qualified name of NAME (default: this host)",
        (Arg("NAME", TEXT, optional=True),),
        ("getfqdn",),
    ),
    _fn("gethostname", "this machine's host name", (), ("gethostname",)),
    _fn(
        "getservbyname",
        "a service name to its port",
        (Arg("SERVICE"), Arg("PROTO", TEXT, optional=True)),
        ("getservbyname http", "getservbyname domain udp"),
    ),
    _fn(
        "getservbyport",
        "a port to its service name",
        (Arg("PORT"), Arg("PROTO", TEXT, optional=True)),
        ("getservbyport 443", "getservbyport 53 udp"),
        handler=_getservbyport,
    ),
    _fn(
        "getprotobyname",
        "a protocol name to its number",
        (Arg("NAME"),),
        ("getprotobyname tcp",),
    ),
    _fn(
        "htons",
        "host to network byte order, 16 bits",
        N,
        ("htons 8080",),
        handler=_byte_order("htons", 16),
    ),  # fmt: skip
    _fn(
        "htonl",
        "host to network byte order, 32 bits",
        N,
        ("htonl 1",),
        handler=_byte_order("htonl", 32),
    ),  # fmt: skip
    _fn(
        "ntohs",
        "network to host byte order, 16 bits",
        N,
        ("ntohs 36895",),
        handler=_byte_order("ntohs", 16),
    ),  # fmt: skip
    _fn(
        "ntohl",
        "network to host byte order, 32 bits",
        N,
        ("ntohl 16777216",),
        handler=_byte_order("ntohl", 32),
    ),  # fmt: skip
    _fn(
        "inet_aton",
        "dotted IPv4 text to 4 packed bytes",
        (Arg("IP"),),
        ("inet_aton 127.0.0.1",),
    ),
    _fn(
        "inet_ntoa",
        "4 packed bytes (hex) to dotted IPv4 text",
        (Arg("PACKED", TEXT, many=True),),
        ("inet_ntoa '7f 00 00 01'", "inet_ntoa 7f000001"),
        handler=_inet_ntoa,
    ),
    Command(
        "inet_pton",
        LOOKUPS,
        "an IPv4 or IPv6 address to packed bytes",
        _inet_pton,
        args=(Arg("FAMILY", TEXT, optional=True), Arg("IP")),
        calls=("socket.inet_pton",),
        examples=("inet_pton AF_INET6 ::1", "inet_pton 4 10.0.0.1", "inet_pton ::1"),
        details="inet_pton [FAMILY] IP, FAMILY first as in the stdlib call: AF_INET, "
        "AF_INET6 (socket.AF_INET6, or 4 and 6 for short); without it, the IP's form picks.",
    ),
    Command(
        "inet_ntop",
        LOOKUPS,
        "packed bytes (hex) to IPv4 or IPv6 text",
        _inet_ntop,
        args=(Arg("FAMILY", TEXT, optional=True), Arg("PACKED", TEXT, many=True)),
        calls=("socket.inet_ntop",),
        examples=(
            "inet_ntop AF_INET 'c0 a8 00 01'",
            "inet_ntop '00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01'",
        ),
        details="inet_ntop [FAMILY] PACKED, FAMILY first as in the stdlib call (AF_INET, "
        "AF_INET6, 4 or 6); without it 4 bytes are IPv4 and 16 IPv6.",
    ),
    _fn("getdefaulttimeout", "the timeout new sockets get", (), ("getdefaulttimeout",)),
    Command(
        "setdefaulttimeout",
        LOOKUPS,
        "set the timeout new sockets get (S or none)",
        _setdefaulttimeout,
        args=(Arg("S"),),
        calls=("socket.setdefaulttimeout",),
        examples=("setdefaulttimeout none", "setdefaulttimeout 2.5"),
    ),
)
