"""Making sockets: tcp connect and listen, accept, udp open, unix sockets, socketpair (socket)."""

from __future__ import annotations

import errno
import socket
import time

from pslrepl.addresses import Addr, format_addr, parse_addr
from pslrepl.commands.groups import SOCKETS
from pslrepl.commands.options import TIMEOUT
from pslrepl.commands.socket_common import (
    ADDRESS,
    C_INT,
    IP_FAMILY,
    connect_error,
    new_socket,
    refuse_port_zero,
    resolve_unix_path,
    socket_error,
    wait_readable,
)
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import PslError, UsageError
from pslrepl.kinds import NEW, PATH, Int, ResourceOf
from pslrepl.resources.sockets import LISTENER_KINDS, Sock, traced
from pslrepl.results import Styled

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import Invocation

COMMANDS = Commands(SOCKETS)

FAMILY = Opt("--family", "4 or 6, where a name could be either", "4|6", kind=IP_FAMILY)
ADDR_HELP = "HOST:PORT, [IPV6]:PORT, a PORT on 127.0.0.1, or a listener's NAME"


@COMMANDS.command(
    "tcp connect",
    "open a TCP connection and keep it as NAME",
    args=(Arg("NAME", NEW), Arg("ADDR", ADDRESS)),
    opts=(TIMEOUT, Opt("--source", "bind to this local ADDR first", "ADDR"), FAMILY),
    calls=("socket.create_connection",),
    examples=("tcp connect c srv", "tcp connect c2 srv --source 127.0.0.1:0 --timeout 2"),
    setup=("tcp listen srv 0",),
    details=f"ADDR is {ADDR_HELP}. The quick form: create_connection resolves ADDR "
    "(getaddrinfo), makes the socket and connects it in one call; one call at a time, "
    "`socket NAME` then `connect NAME ADDR`.",
)
def _tcp_connect(ctx: Invocation) -> None:
    name = ctx["name"]
    family: int | None = ctx["family"]
    addr = parse_addr(ctx["addr"], ctx.session, family=family)
    if addr.path:
        raise UsageError("tcp connect: that is a UNIX address; use unix connect NAME PATH")
    refuse_port_zero("tcp connect", addr)
    source = parse_addr(ctx["source"]).sockaddr if ctx["source"] else None
    if family is not None:
        # create_connection tries every family a name resolves to; --family picks one.
        try:
            infos = traced(ctx, "socket.getaddrinfo", socket.getaddrinfo, addr.host, addr.port,
                           family, socket.SOCK_STREAM)  # fmt: skip
        except OSError as exc:
            raise socket_error(name, exc, str(addr), op="connect") from None
        addr = Addr(str(infos[0][4][0]), addr.port, family=infos[0][0])
    try:
        sock = traced(
            ctx,
            "socket.create_connection",
            socket.create_connection,
            (addr.host, addr.port),
            timeout=ctx.timeout,
            source_address=source,
        )
    except OSError as exc:
        raise connect_error(ctx, name, exc, str(addr)) from None
    # create_connection leaves its timeout on the socket; the shell's sockets start
    # blocking (None), as socket.socket() makes them, and each command has its own.
    traced(ctx, "socket.settimeout", sock.settimeout, None)
    new_socket(ctx, name, sock, kind="tcp", origin="connected")


def _listen_socket(ctx: Invocation, addr: Addr, family: int) -> socket.socket:
    sock = traced(ctx, "socket.socket", socket.socket, socket.AddressFamily(family),
                  socket.SOCK_STREAM)  # fmt: skip
    try:
        if ctx.values.get("reuseaddr"):
            traced(ctx, "socket.setsockopt", sock.setsockopt, socket.SOL_SOCKET,
                   socket.SO_REUSEADDR, 1)  # fmt: skip
        traced(ctx, "socket.bind", sock.bind, addr.sockaddr)
        backlog = ctx.values.get("backlog")
        traced(ctx, "socket.listen", sock.listen, socket.SOMAXCONN if backlog is None else backlog)
    except BaseException:
        sock.close()
        raise
    return sock


@COMMANDS.command(
    "tcp listen",
    "a listening TCP socket (bind, listen) under NAME",
    args=(Arg("NAME", NEW), Arg("ADDR", ADDRESS)),
    opts=(
        Opt("--backlog", "listen(N): queued connections", "N", kind=Int(0, C_INT[1])),
        Opt("--reuseaddr", "set SO_REUSEADDR before bind"),
        FAMILY,
    ),
    calls=("socket.socket", "socket.setsockopt", "socket.bind", "socket.listen"),
    examples=(
        "tcp listen srv 0",
        "tcp listen all 0.0.0.0:0 --reuseaddr",
        "tcp listen v6 [::1]:0",
    ),
    details="A bare PORT binds 127.0.0.1; give 0.0.0.0:PORT to listen on every "
    "interface (it says so). The quick form of four calls (socket, setsockopt with "
    "--reuseaddr, bind, listen); one call at a time: `socket NAME`, `bind NAME ADDR`, "
    "`listen NAME [BACKLOG]`.",
)
def _tcp_listen(ctx: Invocation) -> None:
    name = ctx["name"]
    addr = parse_addr(ctx["addr"], family=ctx["family"])
    if addr.path:
        raise UsageError("tcp listen: that is a UNIX address; use unix listen NAME PATH")
    family = addr.family or (socket.AF_INET6 if ":" in addr.host else socket.AF_INET)
    try:
        sock = _listen_socket(ctx, addr, family)
    except OSError as exc:
        error = socket_error(name, exc, str(addr))
        if exc.errno == errno.EADDRINUSE and not ctx["reuseaddr"]:
            # Often a recent connection in TIME_WAIT, not a listener: SO_REUSEADDR helps.
            error = PslError(f"{error} (or --reuseaddr, if it was only just closed)")
            error.errno = exc.errno
        raise error from None
    new_socket(ctx, name, sock, kind="listener", origin="listening on")
    if addr.host in ("", "0.0.0.0", "::"):
        ctx.say("warning: listening on every interface: other machines can connect",
                "warning")  # fmt: skip


@COMMANDS.command(
    "accept",
    "take a pending connection from a listener, as NAME",
    args=(Arg("LISTENER", ResourceOf(*LISTENER_KINDS)), Arg("NAME", NEW, optional=True)),
    opts=(TIMEOUT,),
    calls=("socket.accept",),
    examples=("accept srv s", "accept srv"),
    setup=("tcp listen srv 0", "tcp connect c srv", "tcp connect c2 srv"),
    details="Without NAME the connection is named after the listener: srv-1, srv-2.",
)
def _accept(ctx: Invocation) -> None:
    listener: Sock = ctx["listener"]
    session = ctx.session
    name = ctx["name"]
    if name is None:
        n = listener.accepted + 1
        while f"{listener.name}-{n}" in session.registry:
            n += 1
        name = f"{listener.name}-{n}"
        session.registry.check_free(name)
    listener.begin_read()
    try:
        wait_readable(ctx, listener, time.monotonic() + ctx.timeout, "a connection")
        conn, peer = traced(ctx, "socket.accept", listener.sock.accept)
    except TimeoutError as exc:  # the listener's own timeout (settimeout)
        raise socket_error(listener.name, exc, op="accept") from None
    except BlockingIOError:
        raise PslError(f"{listener.name}: no connection is waiting on a non-blocking "
                       f"socket (EAGAIN); setblocking {listener.name} on to wait"
                       ) from None  # fmt: skip
    except OSError as exc:
        raise socket_error(listener.name, exc, op="accept", kind="listening") from None
    finally:
        listener.end_read()
    listener.accepted += 1
    conn.settimeout(None)
    kind = "unix" if listener.sock.family == socket.AF_UNIX else "tcp"
    res = Sock(session, name, conn, kind=kind, origin="accepted")
    session.registry.add(res)
    ctx.emit(Styled((("name", name), ("", f": accepted from {format_addr(peer) or 'a peer'}"
                                          f" on {res.local}"))))  # fmt: skip


@COMMANDS.command(
    "udp open",
    "a UDP socket, bound and/or connected if asked",
    args=(Arg("NAME", NEW),),
    opts=(
        Opt("--bind", "bind to ADDR", "ADDR"),
        Opt("--connect", "connect to ADDR", "ADDR"),
        FAMILY,
    ),
    calls=("socket.socket", "socket.bind", "socket.connect"),
    examples=("udp open u --bind 0", "udp open c --connect u"),
)
def _udp_open(ctx: Invocation) -> None:
    name = ctx["name"]
    family: int | None = ctx["family"]
    bind = parse_addr(ctx["bind"], family=family) if ctx["bind"] else None
    conn = parse_addr(ctx["connect"], ctx.session, family=family) if ctx["connect"] else None
    host = (bind or conn or Addr("127.0.0.1")).host
    family = family or (socket.AF_INET6 if ":" in host else socket.AF_INET)
    if conn is not None and conn.port == 0:
        raise UsageError(
            "udp open: --connect to port 0 names no peer (0 means 'any free "
            "port' only when binding): give the port a receiver is bound to"
        )
    sock = traced(ctx, "socket.socket", socket.socket, socket.AddressFamily(family),
                  socket.SOCK_DGRAM)  # fmt: skip
    step = "bind"
    try:
        if bind:
            traced(ctx, "socket.bind", sock.bind, bind.sockaddr)
        step = "connect"
        if conn:
            traced(ctx, "socket.connect", sock.connect, conn.sockaddr)
    except OSError as exc:
        sock.close()
        where = str(bind) if step == "bind" else str(conn)
        raise socket_error(name, exc, where, op=step, kind="udp") from None
    except BaseException:
        sock.close()
        raise
    new_socket(ctx, name, sock, kind="udp", origin="udp socket")


@COMMANDS.command(
    "unix connect",
    "connect to a UNIX stream socket",
    args=(Arg("NAME", NEW), Arg("PATH", PATH)),
    opts=(TIMEOUT,),
    calls=("socket.socket", "socket.connect"),
    examples=("unix connect c demo.sock",),
    setup=("unix listen srv demo.sock",),
)
def _unix_connect(ctx: Invocation) -> None:
    name = ctx["name"]
    path = resolve_unix_path(ctx, ctx["path"])
    sock = traced(ctx, "socket.socket", socket.socket, socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(ctx.timeout)
        traced(ctx, "socket.connect", sock.connect, path)
        sock.settimeout(None)
    except OSError as exc:
        sock.close()
        raise connect_error(ctx, name, exc, path, path=True) from None
    new_socket(ctx, name, sock, kind="unix", origin="connected")


@COMMANDS.command(
    "unix listen",
    "a listening UNIX stream socket; its file goes on close",
    args=(Arg("NAME", NEW), Arg("PATH", PATH)),
    opts=(Opt("--backlog", "listen(N)", "N", kind=Int(0, C_INT[1])),),
    calls=("socket.socket", "socket.bind", "socket.listen"),
    examples=("unix listen srv demo.sock",),
)
def _unix_listen(ctx: Invocation) -> None:
    name = ctx["name"]
    path = resolve_unix_path(ctx, ctx["path"])
    try:
        sock = _listen_socket(ctx, Addr(path=path), socket.AF_UNIX)
    except OSError as exc:
        raise socket_error(name, exc, path, path=True) from None
    new_socket(ctx, name, sock, kind="listener", origin="listening on", unix_path=path)


@COMMANDS.command(
    "unix dgram",
    "a UNIX datagram socket, bound to PATH if given",
    args=(Arg("NAME", NEW), Arg("PATH", PATH, optional=True)),
    calls=("socket.socket", "socket.bind"),
    examples=("unix dgram d d.sock",),
)
def _unix_dgram(ctx: Invocation) -> None:
    name = ctx["name"]
    path = ctx["path"]
    sock = traced(ctx, "socket.socket", socket.socket, socket.AF_UNIX, socket.SOCK_DGRAM)
    if path:
        try:
            traced(ctx, "socket.bind", sock.bind, path)
        except OSError as exc:
            sock.close()
            raise socket_error(name, exc, path, path=True) from None
    new_socket(ctx, name, sock, kind="unix-dgram", origin="unix datagram socket",
               unix_path=path or "")  # fmt: skip


@COMMANDS.command(
    "socketpair",
    "two connected sockets (socket.socketpair)",
    args=(Arg("NAME1", NEW), Arg("NAME2", NEW)),
    calls=("socket.socketpair",),
    examples=("socketpair a b",),
)
def _socketpair(ctx: Invocation) -> None:
    a, b = ctx["name1"], ctx["name2"]
    if a == b:
        raise UsageError("socketpair: give two different names")
    try:
        s1, s2 = traced(ctx, "socket.socketpair", socket.socketpair)
    except OSError as exc:
        raise socket_error(a, exc) from None
    new_socket(ctx, a, s1, kind="unix", origin="socketpair")
    new_socket(ctx, b, s2, kind="unix", origin="socketpair")
