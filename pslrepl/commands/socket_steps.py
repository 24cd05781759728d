"""Sockets one call at a time: a bare socket, then bind, listen, connect, connect_ex, fromfd."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket

from pslrepl.addresses import Addr, parse_addr
from pslrepl.commands.groups import SOCKETS
from pslrepl.commands.options import TIMEOUT
from pslrepl.commands.socket_common import (
    ADDRESS,
    C_INT,
    connect_error,
    refuse_port_zero,
    resolve_unix_path,
    socket_error,
)
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import PslError, UsageError
from pslrepl.events import Event
from pslrepl.kinds import NEW, Choice, Int, ResourceOf
from pslrepl.resources.sockets import LISTENER_KINDS, Listener, Sock, traced
from pslrepl.results import Styled

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import Invocation

COMMANDS = Commands(SOCKETS)

TYPES = {
    "tcp": (socket.AF_INET, socket.SOCK_STREAM),
    "udp": (socket.AF_INET, socket.SOCK_DGRAM),
    "unix": (socket.AF_UNIX, socket.SOCK_STREAM),
    "unix-dgram": (socket.AF_UNIX, socket.SOCK_DGRAM),
}
FAMILIES = {"4": socket.AF_INET, "6": socket.AF_INET6, "unix": socket.AF_UNIX}
SOCK_TYPES = {"stream": socket.SOCK_STREAM, "dgram": socket.SOCK_DGRAM}
# What a bare socket may be: not a TLS one (it was connected before it was wrapped).
BARE = ("tcp", "udp", "unix", "unix-dgram")
ANY_BARE = Arg("NAME", ResourceOf(*BARE, *LISTENER_KINDS))
# listen() without a BACKLOG: CPython's default (Modules/socketmodule.c sock_listen).
DEFAULT_BACKLOG = min(socket.SOMAXCONN, 128)
STEPS = ("socket s", "bind s 0", "listen s 1", "socket c", "connect c s")
WILDCARDS = ("", "0.0.0.0", "::")


def _said(ctx: Invocation, name: str, text: str) -> None:
    ctx.emit(Styled((("name", name), ("", f": {text}"))))


def _names(sock: socket.socket) -> str:
    return f"{socket.AddressFamily(sock.family).name}, {socket.SocketKind(sock.type).name}"


@COMMANDS.command(
    "socket",
    "a bare socket: not bound, not connected (then bind, listen, connect)",
    args=(
        Arg("NAME", NEW),
        Arg("TYPE", Choice(tuple(TYPES)), optional=True),
    ),
    opts=(
        Opt("--family", "4 or 6 for tcp and udp (default 4)", "4|6", kind=Choice(("4", "6"))),
    ),  # fmt: skip
    calls=("socket.socket",),
    examples=("socket s", "socket u udp --family 6", "socket x unix"),
    details="One system call at a time, as a server and a client make them: socket, "
    "bind, listen, accept on one side; socket, connect on the other. `tcp listen` and "
    "`tcp connect` are the quick forms that make several calls in one step.",
)
def _socket(ctx: Invocation) -> None:
    name = ctx["name"]
    kind = ctx["type"] or "tcp"
    family, type_ = TYPES[kind]
    if ctx["family"] is not None:
        if family == socket.AF_UNIX:
            raise UsageError(f"socket: --family is for tcp and udp; a {kind} socket is AF_UNIX")
        family = FAMILIES[ctx["family"]]
    try:
        sock = traced(ctx, "socket.socket", socket.socket, socket.AddressFamily(family),
                      socket.SocketKind(type_))  # fmt: skip
    except OSError as exc:
        raise socket_error(name, exc, kind=kind) from None
    res = Sock(ctx.session, name, sock, kind=kind, origin="socket()")
    ctx.session.registry.add(res)
    next_steps = "bind it, or connect it" if type_ == socket.SOCK_STREAM else "bind it"
    _said(ctx, name, f"new {kind} socket ({_names(sock)}), not bound, not connected: "
                     f"{next_steps}")  # fmt: skip


def _address(ctx: Invocation, res: Sock, text: str) -> Addr:
    """ADDR for this socket: a UNIX path for an AF_UNIX one; a bare PORT of its family."""
    if res.sock.family == socket.AF_UNIX:
        return Addr(path=resolve_unix_path(ctx, text), family=socket.AF_UNIX)
    addr = parse_addr(text, ctx.session, family=res.sock.family)
    if addr.path:
        raise UsageError(f"{ctx.command.name}: {res.name} is an IP socket "
                         f"({_names(res.sock)}); give HOST:PORT, not a UNIX path")  # fmt: skip
    try:
        version = ipaddress.ip_address(addr.host).version
    except ValueError:
        return addr  # a host name: the call resolves it in the socket's family
    if version != (6 if res.sock.family == socket.AF_INET6 else 4):
        other = "[::1]:PORT" if res.sock.family == socket.AF_INET6 else "127.0.0.1:PORT"
        raise UsageError(f"{ctx.command.name}: {res.name} is an IPv"
                         f"{6 if version == 4 else 4} socket and {addr} an IPv{version} "
                         f"address; give one of its family, like {other}")  # fmt: skip
    return addr


@COMMANDS.command(
    "bind",
    "give a socket its local address (socket.bind)",
    args=(ANY_BARE, Arg("ADDR", ADDRESS)),
    calls=("socket.bind",),
    examples=("bind s 0", "bind u 127.0.0.1:0", "bind x demo.sock"),
    setup=("socket s", "socket u udp", "socket x unix"),
    details="A bare PORT is on 127.0.0.1 (::1 for an IPv6 socket); port 0 lets the "
    "kernel pick a free one. A UNIX socket binds a PATH (unix:PATH too), and the file "
    "goes when the socket is closed. Bound is not listening: a connect to it is refused.",
)
def _bind(ctx: Invocation) -> None:
    res: Sock = ctx["name"]
    if res.sock.family != socket.AF_UNIX and ctx["addr"] in ctx.session.registry:
        raise UsageError(f"bind: give {res.name} an address of its own, like 0 (a free "
                         f"port on 127.0.0.1), not {ctx['addr']}'s")  # fmt: skip
    addr = _address(ctx, res, ctx["addr"])
    try:
        traced(ctx, "socket.bind", res.sock.bind, addr.sockaddr)
    except OSError as exc:
        error = socket_error(res.name, exc, str(addr), path=bool(addr.path), op="bind")
        if exc.errno == errno.EADDRINUSE and not addr.path:
            error = PslError(f"{error} (or `sockopt {res.name} SO_REUSEADDR on` before bind, "
                             "if it was only just closed)")  # fmt: skip
            error.errno = exc.errno
        raise error from None
    if addr.path:
        res.unix_path = addr.path  # the socket's file: removed when it is closed
        ctx.session.own_path(addr.path)
    res.refresh_addresses()
    res.post(Event(res.name, "bind", local=res.local or str(addr)))
    _said(ctx, res.name, f"bound to {res.local or addr}")
    if addr.host in WILDCARDS and not addr.path and res.sock.type == socket.SOCK_DGRAM:
        ctx.say("warning: bound to every interface: other machines can send to it", "warning")


@COMMANDS.command(
    "listen",
    "make a bound stream socket a listener: connections queue for accept",
    args=(ANY_BARE, Arg("BACKLOG", Int(0, C_INT[1]), optional=True)),
    calls=("socket.listen",),
    examples=("listen s", "listen s 1"),
    setup=("socket s", "bind s 0"),
    details="BACKLOG is how many connections the kernel completes and queues before "
    f"anyone accepts (without it, listen's default: {DEFAULT_BACKLOG} here); clients "
    "connect before accept, and past the queue a TCP connect waits. The socket is a "
    "listener from then on: accept NAME takes a connection.",
)
def _listen(ctx: Invocation) -> None:
    res: Sock = ctx["name"]
    backlog: int | None = ctx["backlog"]
    if res.bound_addr is None and not isinstance(res, Listener):
        # listen() on an unbound socket binds it to a free port on every interface (an
        # abstract name for AF_UNIX): not what a playground should do by default.
        where = "PATH" if res.sock.family == socket.AF_UNIX else "0"
        raise PslError(f"listen: {res.name} is not bound: bind {res.name} {where} first "
                       "(listen alone would pick a port on every interface)")  # fmt: skip
    try:
        args = () if backlog is None else (backlog,)
        traced(ctx, "socket.listen", res.sock.listen, *args)
    except OSError as exc:
        raise socket_error(res.name, exc, op="listen", kind=res.kind) from None
    listener = res if isinstance(res, Listener) else res.became_listener()
    queue = f"backlog {DEFAULT_BACKLOG}, listen's default" if backlog is None else (
        f"backlog {backlog}")  # fmt: skip
    default = backlog is None
    listener.post(Event(listener.name, "listen", backlog=DEFAULT_BACKLOG if default else backlog,
                        reason="listen's default" if default else None))  # fmt: skip
    _said(ctx, listener.name, f"listening on {listener.local} ({queue})")
    host = listener.sock.getsockname()
    if isinstance(host, tuple) and host[0] in WILDCARDS:
        ctx.say("warning: listening on every interface: other machines can connect", "warning")


def _connect_target(ctx: Invocation, res: Sock) -> Addr:
    addr = _address(ctx, res, ctx["addr"])
    refuse_port_zero(ctx.command.name, addr)
    return addr


def _bounded(ctx: Invocation, res: Sock, call: str, fn: object, addr: Addr) -> object:
    """A connect bounded by the command's --timeout: a blocking socket gets it as its
    timeout for the call (the socket's own timeout, or non-blocking, is left as it is)."""
    sock = res.sock
    own = sock.gettimeout()
    # Recorded: with a timeout the connect is non-blocking underneath, and Linux then
    # answers the next connect() with 0 once (it completes the connect), not EISCONN.
    if own is None:
        traced(ctx, "socket.settimeout", sock.settimeout, ctx.timeout)
    try:
        return traced(ctx, call, fn, addr.sockaddr)  # type: ignore[arg-type]
    finally:
        if own is None:
            traced(ctx, "socket.settimeout", sock.settimeout, None)
        res.refresh_addresses()  # a connect binds a free port, whether or not it connects


@COMMANDS.command(
    "connect",
    "connect a socket to ADDR (socket.connect): raises if it fails",
    args=(Arg("NAME", ResourceOf(*BARE)), Arg("ADDR", ADDRESS)),
    opts=(TIMEOUT,),
    calls=("socket.connect",),
    examples=("connect c s",),
    setup=("socket s", "bind s 0", "listen s 1", "socket c"),
    details="ADDR is HOST:PORT, a PORT on 127.0.0.1, a UNIX path for a unix socket, or "
    "a NAME. A TCP connect completes as soon as the listener's kernel queues it, "
    "before anyone accepts. A udp socket's connect only fixes its peer.",
)
def _connect(ctx: Invocation) -> None:
    res: Sock = ctx["name"]
    addr = _connect_target(ctx, res)
    again = res.connected and res.byte_stream
    try:
        _bounded(ctx, res, "socket.connect", res.sock.connect, addr)
    except BlockingIOError as exc:
        if exc.errno != errno.EINPROGRESS:
            raise socket_error(res.name, exc, str(addr), op="connect") from None
        raise PslError(f"{res.name}: the connection is under way (EINPROGRESS): a "
                       "non-blocking connect returns at once; connect_ex shows the "
                       "errno without raising") from None  # fmt: skip
    except OSError as exc:
        raise connect_error(ctx, res.name, exc, str(addr), path=bool(addr.path)) from None
    if again:  # no exception, though connected: what the kernel did, said
        ctx.say(f"{res.name} was connected already: connect() returned without an error "
                "once, as Linux does after a connect made with a timeout (non-blocking "
                "underneath); the next one raises EISCONN", "notice")  # fmt: skip
        return
    res.connected_now()
    res.post(Event(res.name, "connect", local=res.local, remote=res.remote))
    _said(ctx, res.name, f"connected {res.describe()}")


@COMMANDS.command(
    "connect_ex",
    "connect, returning the errno instead of raising (socket.connect_ex)",
    args=(Arg("NAME", ResourceOf(*BARE)), Arg("ADDR", ADDRESS)),
    opts=(TIMEOUT,),
    calls=("socket.connect_ex",),
    examples=("connect_ex c s", "connect_ex d 127.0.0.1:1"),
    setup=("socket s", "bind s 0", "listen s", "socket c", "socket d"),
    details="Prints the number connect_ex returns and its errno name: 0 is connected, "
    "111 (ECONNREFUSED) nothing listens there, 115 (EINPROGRESS) under way on a "
    "non-blocking socket. It is not an error here, as in the stdlib: it returns.",
)
def _connect_ex(ctx: Invocation) -> None:
    res: Sock = ctx["name"]
    addr = _connect_target(ctx, res)
    own = res.sock.gettimeout()
    try:
        code = _bounded(ctx, res, "socket.connect_ex", res.sock.connect_ex, addr)
    except OSError as exc:  # what connect_ex still raises: a name that can't resolve
        raise socket_error(res.name, exc, str(addr), op="connect") from None
    assert isinstance(code, int)
    if code == 0:
        res.connected_now()
        res.post(Event(res.name, "connect", local=res.local, remote=res.remote))
        _said(ctx, res.name, f"connect_ex returned 0: connected {res.describe()}")
        return
    text = f"connect_ex returned {code} ({errno.errorcode.get(code, os.strerror(code))})"
    if code == errno.EAGAIN and own is None:
        # CPython returns EWOULDBLOCK when the socket's timeout (here the command's) ran out.
        text += f": no answer within {ctx.timeout:g} s (--timeout S waits longer)"
    elif code == errno.EINPROGRESS:
        res.connected_now()  # it may be connected by the time anyone looks
    _said(ctx, res.name, text)
