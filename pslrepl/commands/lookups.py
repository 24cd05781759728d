"""The socket module's functions under their own names: lookups and byte-order helpers."""

from __future__ import annotations

import socket

from pslrepl.commands.groups import LOOKUPS
from pslrepl.commands.socket_calls import (
    FAMILY_WORDS,
    as_enum,
    call,
    call_as_typed,
    constant,
    enum_name,
    family_name,
    ip_family,
    packed,
    port,
    shown,
    whole,
)
from pslrepl.commands.socket_common import ADDRESS, IP_FAMILY, TIMEOUT_VALUE
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import PslError, UsageError
from pslrepl.kinds import TEXT, Choice
from pslrepl.results import Fields, Table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pslrepl.invocation import Invocation

    Handler = Callable[[Invocation], None]

COMMANDS = Commands(LOOKUPS)

HOST = Arg("HOST")
N = Arg("N")


def _function(name: str, summary: str, *args: Arg, examples: tuple[str, ...]
              ) -> Callable[[Handler], Handler]:  # fmt: skip
    """Declare the handler below as the command named after the socket function it calls."""
    return COMMANDS.command(name, summary, args=args, calls=(f"socket.{name}",),
                            examples=examples)  # fmt: skip


@COMMANDS.command(
    "getaddrinfo",
    "resolve HOST [PORT] to socket addresses",
    args=(
        Arg("HOST"),
        Arg("PORT", TEXT, optional=True),
        Arg("AF_FAMILY", TEXT, optional=True),
        Arg("SOCK_TYPE", TEXT, optional=True),
        Arg("PROTO", TEXT, optional=True),
        Arg("FLAGS", TEXT, optional=True),
    ),
    opts=(
        Opt("--family", "4 or 6", "4|6", kind=IP_FAMILY),
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
)
def _getaddrinfo(ctx: Invocation) -> None:
    func = "getaddrinfo"
    family = ctx["family"] or 0
    kind = {"tcp": socket.SOCK_STREAM, "udp": socket.SOCK_DGRAM, None: 0}[ctx["type"]]
    port_text = ctx["port"]
    service: str | int | None = port_text
    if port_text is None or port_text.lower() == "none":
        service = None
    elif port_text.lstrip("-").isdigit() or port_text.lower().startswith("0x"):
        # glibc takes any number and wraps it: 99999999 would come back as port 57599.
        service = port(func, port_text)
    # The rest as the docs order them: family, type, proto, flags.
    extra = [ctx[k] for k in ("af_family", "sock_type", "proto", "flags") if ctx[k] is not None]
    if extra:
        short = FAMILY_WORDS.get(extra[0].strip())  # 4 or 6; else any AF_ (0: either)
        family = short or constant(func, "FAMILY", extra[0], ("AF_",))
    if len(extra) > 1:
        kind = constant(func, "TYPE", extra[1], ("SOCK_",))
    proto = constant(func, "PROTO", extra[2], ("IPPROTO_",)) if len(extra) > 2 else 0
    flags = constant(func, "FLAGS", extra[3], ("AI_",)) if len(extra) > 3 else 0
    args: list[Any] = [ctx["host"], service, as_enum(socket.AddressFamily, family),
                       as_enum(socket.SocketKind, kind), proto, flags]  # fmt: skip
    while len(args) > 2 and not args[-1]:
        args.pop()  # leave out the defaults, as one would write the call
    rows = call(ctx, func, socket.getaddrinfo, *args)
    table: list[list[Any]] = []
    for fam, typ, prot, canon, addr in rows:
        row = [enum_name(socket.AddressFamily, fam), enum_name(socket.SocketKind, typ),
               str(prot), repr(addr)]  # fmt: skip
        table.append(row + ([canon] if flags & socket.AI_CANONNAME else []))
    headers = ("FAMILY", "TYPE", "PROTO", "SOCKADDR")
    ctx.emit(Table(headers + (("CANONNAME",) if flags & socket.AI_CANONNAME else ()), table))


@_function("gethostbyname", "a host name to one IPv4 address", HOST,
           examples=("gethostbyname localhost",))  # fmt: skip
def _gethostbyname(ctx: Invocation) -> None:
    call_as_typed(ctx, "gethostbyname")


@_function("gethostbyname_ex", "a host name to (name, aliases, addresses)", HOST,
           examples=("gethostbyname_ex localhost",))  # fmt: skip
def _gethostbyname_ex(ctx: Invocation) -> None:
    call_as_typed(ctx, "gethostbyname_ex")


@_function("gethostbyaddr", "an address to (name, aliases, addresses)", Arg("IP"),
           examples=("gethostbyaddr 127.0.0.1",))  # fmt: skip
def _gethostbyaddr(ctx: Invocation) -> None:
    call_as_typed(ctx, "gethostbyaddr")


@COMMANDS.command(
    "getnameinfo",
    "an ADDR back to host and service names",
    args=(Arg("ADDR", ADDRESS), Arg("FLAGS", TEXT, optional=True, many=True)),
    opts=(Opt("--numeric", "the port as a number (NI_NUMERICSERV)"),),
    calls=("socket.getnameinfo",),
    examples=(
        "getnameinfo 127.0.0.1:22",
        "getnameinfo 127.0.0.1 22 NI_NUMERICHOST|NI_NUMERICSERV",
    ),
    details="getnameinfo ADDR [FLAGS]: ADDR as HOST:PORT (or HOST PORT, the sockaddr "
    "tuple's parts), FLAGS by name (NI_NUMERICHOST|NI_NAMEREQD) or number.",
)
def _getnameinfo(ctx: Invocation) -> None:
    from pslrepl.addresses import parse_addr

    func = "getnameinfo"
    words = [ctx["addr"], *ctx["flags"]]
    if len(words) >= 2 and ":" not in words[0] and words[1].isdigit():
        sockaddr: Any = (words[0], port(func, words[1]))  # HOST PORT, as the tuple's parts
        words = words[2:]
    else:
        sockaddr = parse_addr(words[0], ctx.session).sockaddr
        words = words[1:]
    if len(words) > 1:
        raise UsageError(f"{func}: unexpected {' '.join(words[1:])!r}; usage: getnameinfo "
                         "ADDR [FLAGS]")  # fmt: skip
    flags = constant(func, "FLAGS", words[0], ("NI_",)) if words else 0
    if ctx["numeric"]:
        flags |= socket.NI_NUMERICSERV
    host, service = call(ctx, func, socket.getnameinfo, sockaddr, flags)
    ctx.emit(Fields([("host", host), ("service", service)]))


@_function("getfqdn", "the fully qualified name of NAME (default: this host)",
           Arg("NAME", TEXT, optional=True), examples=("getfqdn",))  # fmt: skip
def _getfqdn(ctx: Invocation) -> None:
    call_as_typed(ctx, "getfqdn")


@_function("gethostname", "this machine's host name", examples=("gethostname",))
def _gethostname(ctx: Invocation) -> None:
    call_as_typed(ctx, "gethostname")


@_function("getservbyname", "a service name to its port", Arg("SERVICE"),
           Arg("PROTO", TEXT, optional=True),
           examples=("getservbyname http", "getservbyname domain udp"))  # fmt: skip
def _getservbyname(ctx: Invocation) -> None:
    call_as_typed(ctx, "getservbyname")


@_function("getservbyport", "a port to its service name", Arg("PORT"),
           Arg("PROTO", TEXT, optional=True),
           examples=("getservbyport 443", "getservbyport 53 udp"))  # fmt: skip
def _getservbyport(ctx: Invocation) -> None:
    args: list[Any] = [port("getservbyport", ctx["port"])]
    if ctx["proto"] is not None:
        args.append(ctx["proto"])
    ctx.say(shown(call(ctx, "getservbyport", socket.getservbyport, *args)))


@_function("getprotobyname", "a protocol name to its number", Arg("NAME"),
           examples=("getprotobyname tcp",))  # fmt: skip
def _getprotobyname(ctx: Invocation) -> None:
    call_as_typed(ctx, "getprotobyname")


def _byte_order(ctx: Invocation, func: str, bits: int) -> None:
    """htons, ntohs (16 bits), htonl, ntohl (32 bits): N must fit, or the stdlib raises
    OverflowError (and older Pythons wrapped 16-bit values with only a warning)."""
    top = (1 << bits) - 1
    n = whole(func, "N", ctx["n"])
    if not 0 <= n <= top:
        raise UsageError(f"{func}: N must be from 0 to {top:,} ({bits} bits), not {ctx['n']}")
    ctx.say(shown(call(ctx, func, getattr(socket, func), n)))


@_function("htons", "host to network byte order, 16 bits", N, examples=("htons 8080",))
def _htons(ctx: Invocation) -> None:
    _byte_order(ctx, "htons", 16)


@_function("htonl", "host to network byte order, 32 bits", N, examples=("htonl 1",))
def _htonl(ctx: Invocation) -> None:
    _byte_order(ctx, "htonl", 32)


@_function("ntohs", "network to host byte order, 16 bits", N, examples=("ntohs 36895",))
def _ntohs(ctx: Invocation) -> None:
    _byte_order(ctx, "ntohs", 16)


@_function("ntohl", "network to host byte order, 32 bits", N, examples=("ntohl 16777216",))
def _ntohl(ctx: Invocation) -> None:
    _byte_order(ctx, "ntohl", 32)


@_function("inet_aton", "dotted IPv4 text to 4 packed bytes", Arg("IP"),
           examples=("inet_aton 127.0.0.1",))  # fmt: skip
def _inet_aton(ctx: Invocation) -> None:
    call_as_typed(ctx, "inet_aton")


@_function("inet_ntoa", "4 packed bytes (hex) to dotted IPv4 text",
           Arg("PACKED", TEXT, many=True),
           examples=("inet_ntoa '7f 00 00 01'", "inet_ntoa 7f000001"))  # fmt: skip
def _inet_ntoa(ctx: Invocation) -> None:
    data = packed("inet_ntoa", list(ctx["packed"]))
    if len(data) != 4:
        raise UsageError(f"inet_ntoa: give 4 packed bytes (an IPv4 address), not {len(data)}; "
                         "inet_ntop takes IPv6's 16")  # fmt: skip
    ctx.say(shown(call(ctx, "inet_ntoa", socket.inet_ntoa, data)))


@COMMANDS.command(
    "inet_pton",
    "an IPv4 or IPv6 address to packed bytes",
    args=(Arg("FAMILY", TEXT, optional=True), Arg("IP")),
    calls=("socket.inet_pton",),
    examples=("inet_pton AF_INET6 ::1", "inet_pton 4 10.0.0.1", "inet_pton ::1"),
    details="inet_pton [FAMILY] IP, FAMILY first as in the stdlib call: AF_INET, "
    "AF_INET6 (socket.AF_INET6, or 4 and 6 for short); without it, the IP's form picks.",
)
def _inet_pton(ctx: Invocation) -> None:
    func = "inet_pton"
    ip = ctx["ip"]
    if ctx["family"] is not None:
        family = ip_family(func, ctx["family"])
        if family is None:
            raise UsageError(f"{func}: {ctx['family']!r} is not an address family: give "
                             "AF_INET or AF_INET6 (or 4, 6), then the IP")  # fmt: skip
    else:
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    try:
        data = call(ctx, func, socket.inet_pton, socket.AddressFamily(family), ip)
    except PslError:
        raise PslError(f"{func}: {ip!r} is not an {family_name(family)} address"
                       + (" (an IPv6 one has colons: AF_INET6)" if ":" in ip and
                          family == socket.AF_INET else
                          " (an IPv4 one is dotted: AF_INET)" if family == socket.AF_INET6
                          else "")) from None  # fmt: skip
    ctx.say(shown(data))


@COMMANDS.command(
    "inet_ntop",
    "packed bytes (hex) to IPv4 or IPv6 text",
    args=(Arg("FAMILY", TEXT, optional=True), Arg("PACKED", TEXT, many=True)),
    calls=("socket.inet_ntop",),
    examples=(
        "inet_ntop AF_INET 'c0 a8 00 01'",
        "inet_ntop '00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01'",
    ),
    details="inet_ntop [FAMILY] PACKED, FAMILY first as in the stdlib call (AF_INET, "
    "AF_INET6, 4 or 6); without it 4 bytes are IPv4 and 16 IPv6.",
)
def _inet_ntop(ctx: Invocation) -> None:
    func = "inet_ntop"
    # FAMILY is optional before PACKED's words: which one a first word is, is decided here.
    words = [ctx["family"], *ctx["packed"]] if ctx["family"] else list(ctx["packed"])
    family = ip_family(func, words[0]) if len(words) > 1 else None
    if family is not None:
        try:  # a family first, if what follows is a whole packed address
            rest = packed(func, words[1:])
        except UsageError:
            rest = b""
        if len(rest) not in (4, 16):
            if rest:  # a family, then hex of the wrong length: say that, not "bad hex"
                want = 16 if family == socket.AF_INET6 else 4
                raise UsageError(f"{func}: an {family_name(family)} address packs into "
                                 f"{want} bytes, not {len(rest)}")  # fmt: skip
            family = None
    data = packed(func, words[1:] if family is not None else words)
    if family is None:
        if len(data) not in (4, 16):
            raise UsageError(f"{func}: {len(data)} bytes are no packed address: IPv4 is 4 "
                             "bytes, IPv6 16")  # fmt: skip
        family = socket.AF_INET6 if len(data) == 16 else socket.AF_INET
    want = 16 if family == socket.AF_INET6 else 4
    if len(data) != want:
        raise UsageError(f"{func}: an {family_name(family)} address packs into {want} bytes, "
                         f"not {len(data)}")  # fmt: skip
    ctx.say(shown(call(ctx, func, socket.inet_ntop, socket.AddressFamily(family), data)))


@_function("getdefaulttimeout", "the timeout new sockets get", examples=("getdefaulttimeout",))
def _getdefaulttimeout(ctx: Invocation) -> None:
    call_as_typed(ctx, "getdefaulttimeout")


@COMMANDS.command(
    "setdefaulttimeout",
    "set the timeout new sockets get (S or none)",
    args=(Arg("S", TIMEOUT_VALUE),),
    calls=("socket.setdefaulttimeout",),
    examples=("setdefaulttimeout none", "setdefaulttimeout 2.5"),
)
def _setdefaulttimeout(ctx: Invocation) -> None:
    value: float | None = ctx["s"]
    # Process-wide state, like a signal handler: put back when the session ends.
    before = socket.getdefaulttimeout()
    ctx.session.on_close("default timeout", lambda: socket.setdefaulttimeout(before))
    call(ctx, "setdefaulttimeout", socket.setdefaulttimeout, value)
    ctx.say(f"default timeout for new sockets: {value}")
