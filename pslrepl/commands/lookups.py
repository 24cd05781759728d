"""The socket module's functions under their own names: lookups and byte-order helpers."""

from __future__ import annotations

import socket

from pslrepl.commandspec import Arg, Command, Opt
from pslrepl.errors import PslError, UsageError
from pslrepl.results import Fields, Table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pslrepl.invocation import Invocation


def _lookup(ctx: Invocation, func: str, fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return ctx.call(f"socket.{func}", fn, *args)
    except socket.gaierror as exc:
        raise PslError(f"{func}: {exc.strerror} ({_gai_name(exc.errno)})") from None
    except socket.herror as exc:
        raise PslError(f"{func}: {exc.strerror or exc} (herror)") from None
    except OSError as exc:
        raise PslError(f"{func}: {exc.strerror or exc}") from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise UsageError(f"{func}: {exc}") from None


def _gai_name(code: int | None) -> str:
    for name in dir(socket):
        if name.startswith("EAI_") and getattr(socket, name) == code:
            return name
    return f"EAI {code}"


def _getaddrinfo(ctx: Invocation) -> None:
    family = {"4": socket.AF_INET, "6": socket.AF_INET6, None: 0}[ctx["family"]]
    kind = {"tcp": socket.SOCK_STREAM, "udp": socket.SOCK_DGRAM, None: 0}[ctx["type"]]
    port = ctx["port"]
    rows = _lookup(ctx, "getaddrinfo", socket.getaddrinfo, ctx["host"], port, family, kind)
    table: list[list[Any]] = []
    for fam, typ, proto, _canon, addr in rows:
        table.append([socket.AddressFamily(fam).name, socket.SocketKind(typ).name, str(proto),
                      repr(addr)])  # fmt: skip
    ctx.emit(Table(("FAMILY", "TYPE", "PROTO", "SOCKADDR"), table))


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


def _int(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise UsageError(f"{text!r} is not a whole number") from None


def _packed(text: str) -> bytes:
    from pslrepl.parsing import parse_hex

    return parse_hex(text)


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return f"{value.hex(' ')}  ({len(value)} bytes, packed)"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value}  (0x{value:x})"
    return repr(value) if not isinstance(value, str) else value


def _getnameinfo(ctx: Invocation) -> None:
    from pslrepl.addresses import parse_addr

    addr = parse_addr(ctx["addr"], ctx.session)
    flags = socket.NI_NUMERICSERV if ctx["numeric"] else 0
    host, port = _lookup(ctx, "getnameinfo", socket.getnameinfo, addr.sockaddr, flags)
    ctx.emit(Fields([("host", host), ("service", port)]))


def _inet_pton(ctx: Invocation) -> None:
    family = socket.AF_INET6 if ":" in ctx["ip"] else socket.AF_INET
    ctx.say(_show(_lookup(ctx, "inet_pton", socket.inet_pton, family, ctx["ip"])))


def _inet_ntop(ctx: Invocation) -> None:
    packed = _packed(ctx["packed"])
    family = socket.AF_INET6 if len(packed) == 16 else socket.AF_INET
    ctx.say(_show(_lookup(ctx, "inet_ntop", socket.inet_ntop, family, packed)))


def _setdefaulttimeout(ctx: Invocation) -> None:
    raw = ctx["s"]
    value = None if raw.lower() == "none" else _int_or_float(raw)
    # Process-wide state, like a signal handler: put back when the session ends.
    ctx.session.restore.setdefault("defaulttimeout", socket.getdefaulttimeout())
    _lookup(ctx, "setdefaulttimeout", socket.setdefaulttimeout, value)
    ctx.say(f"default timeout for new sockets: {value}")


def _int_or_float(text: str) -> float:
    from pslrepl.parsing import parse_duration

    return parse_duration(text, what="setdefaulttimeout: S")


def _fn(name: str, summary: str, args: tuple[Arg, ...], convert: Callable[[str], Any] | None,
        examples: tuple[str, ...]) -> Command:  # fmt: skip
    return Command(name, "lookups", summary, _simple(name, convert), args=args,
                   calls=(f"socket.{name}",), examples=examples)  # fmt: skip


HOST = (Arg("ARGS", "text", many=True),)
COMMANDS = (
    Command(
        "getaddrinfo",
        "lookups",
        "resolve HOST [PORT] to socket addresses",
        _getaddrinfo,
        args=(Arg("HOST", "text"), Arg("PORT", "text", optional=True)),
        opts=(
            Opt("--family", "4 or 6", "4|6", choices=("4", "6")),
            Opt("--type", "tcp or udp", "tcp|udp", choices=("tcp", "udp")),
        ),
        calls=("socket.getaddrinfo",),
        examples=("getaddrinfo localhost 80", "getaddrinfo localhost http --type tcp"),
    ),
    _fn(
        "gethostbyname", "a host name to one IPv4 address", HOST, None, ("gethostbyname localhost",)
    ),
    _fn(
        "gethostbyname_ex",
        "a host name to (name, aliases, addresses)",
        HOST,
        None,
        ("gethostbyname_ex localhost",),
    ),
    _fn(
        "gethostbyaddr",
        "an address to (name, aliases, addresses)",
        HOST,
        None,
        ("gethostbyaddr 127.0.0.1",),
    ),
    Command(
        "getnameinfo",
        "lookups",
        "an ADDR back to host and service names",
        _getnameinfo,
        args=(Arg("ADDR", "address"),),
        opts=(Opt("--numeric", "the port as a number (NI_NUMERICSERV)"),),
        calls=("socket.getnameinfo",),
        examples=("getnameinfo 127.0.0.1:22",),
    ),
    _fn(
        "getfqdn",
        "the fully qualified name of NAME (default: this host)",
        (Arg("NAME", "text", optional=True, many=True),),
        None,
        ("getfqdn",),
    ),
    _fn(
        "gethostname",
        "this machine's host name",
        (),
        None,
        ("gethostname",),
    ),
    _fn(
        "getservbyname",
        "a service name to its port",
        HOST,
        None,
        ("getservbyname http", "getservbyname domain udp"),
    ),
    _fn(
        "getservbyport",
        "a port to its service name",
        (Arg("PORT", "int"), Arg("PROTO", "text", optional=True)),
        None,
        ("getservbyport 443",),
    ),
    _fn("getprotobyname", "a protocol name to its number", HOST, None, ("getprotobyname tcp",)),
    _fn("htons", "host to network byte order, 16 bits", HOST, _int, ("htons 8080",)),
    _fn("htonl", "host to network byte order, 32 bits", HOST, _int, ("htonl 1",)),
    _fn("ntohs", "network to host byte order, 16 bits", HOST, _int, ("ntohs 36895",)),
    _fn("ntohl", "network to host byte order, 32 bits", HOST, _int, ("ntohl 16777216",)),
    _fn("inet_aton", "dotted IPv4 text to 4 packed bytes", HOST, None, ("inet_aton 127.0.0.1",)),
    _fn(
        "inet_ntoa",
        "4 packed bytes (hex) to dotted IPv4 text",
        HOST,
        _packed,
        ("inet_ntoa '7f 00 00 01'",),
    ),
    Command(
        "inet_pton",
        "lookups",
        "an IPv4 or IPv6 address to packed bytes",
        _inet_pton,
        args=(Arg("IP", "text"),),
        calls=("socket.inet_pton",),
        examples=("inet_pton ::1", "inet_pton 10.0.0.1"),
    ),
    Command(
        "inet_ntop",
        "lookups",
        "packed bytes (hex) to IPv4 or IPv6 text",
        _inet_ntop,
        args=(Arg("PACKED", "text"),),
        calls=("socket.inet_ntop",),
        examples=("inet_ntop '00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01'",),
    ),
    _fn("getdefaulttimeout", "the timeout new sockets get", (), None, ("getdefaulttimeout",)),
    Command(
        "setdefaulttimeout",
        "lookups",
        "set the timeout new sockets get (S or none)",
        _setdefaulttimeout,
        args=(Arg("S", "text"),),
        calls=("socket.setdefaulttimeout",),
        examples=("setdefaulttimeout none",),
    ),
)
