"""Socket commands: tcp, udp, unix, socketpair, send and recv and their kin (socket)."""

from __future__ import annotations

import errno
import select
import socket
import time

from pslrepl.addresses import Addr, format_addr, parse_addr
from pslrepl.commands.groups import SOCKETS
from pslrepl.commands.options import FILE_IN, HEX_IN, SHOW_HEX, SHOW_REPR, TIMEOUT
from pslrepl.commands.socket_common import (
    ADDRESS,
    LEVELS,
    SOCKOPT,
    TIMEOUT_HINT,
    connect_error,
    new_socket,
    refuse_port_zero,
    resolve_unix_path,
    socket_error,
)
from pslrepl.commandspec import Arg, Command, Opt
from pslrepl.errors import PslError, Timeout, UsageError
from pslrepl.events import Event
from pslrepl.kinds import DATA, NEW, PATH, TEXT, Choice, Int, ResourceOf
from pslrepl.render import plural, preview
from pslrepl.resources.sockets import (
    LISTENER_KINDS,
    PEEK,
    SOCKET_KINDS,
    STREAM_KINDS,
    Sock,
    traced,
    traced_as,
)
from pslrepl.results import Output, Styled, Text

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

    from pslrepl.invocation import Invocation

FAMILY = Opt("--family", "4 or 6, where a name could be either", "4|6", kind=Choice(("4", "6")))
DEFAULT_BUFSIZE = 65536


def _family(ctx: Invocation) -> int | None:
    fam = ctx.values.get("family")
    return {"4": socket.AF_INET, "6": socket.AF_INET6}.get(fam or "")


def _sock(ctx: Invocation, key: str = "name") -> Sock:
    """The socket the parser resolved (its Arg names the kinds it takes)."""
    res = ctx[key]
    assert isinstance(res, Sock)
    return res


# -- creating sockets -------------------------------------------------------------------


def _tcp_connect(ctx: Invocation) -> None:
    name = ctx["name"]
    addr = parse_addr(ctx["addr"], ctx.session, family=_family(ctx))
    if addr.path:
        raise UsageError("tcp connect: that is a UNIX address; use unix connect NAME PATH")
    refuse_port_zero("tcp connect", addr)
    source = parse_addr(ctx["source"]).sockaddr if ctx["source"] else None
    if _family(ctx) is not None:
        # create_connection tries every family a name resolves to; --family picks one.
        try:
            infos = traced(ctx, "socket.getaddrinfo", socket.getaddrinfo, addr.host, addr.port,
                           _family(ctx), socket.SOCK_STREAM)  # fmt: skip
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


def _tcp_listen(ctx: Invocation) -> None:
    name = ctx["name"]
    addr = parse_addr(ctx["addr"], family=_family(ctx))
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
        raise error from None
    new_socket(ctx, name, sock, kind="listener", origin="listening on")
    if addr.host in ("", "0.0.0.0", "::"):
        ctx.say("warning: listening on every interface: other machines can connect",
                "warning")  # fmt: skip


def _accept(ctx: Invocation) -> None:
    listener = _sock(ctx, "listener")
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
        _wait_data(ctx, listener, time.monotonic() + ctx.timeout, "a connection")
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
    res = Sock(session, name, conn, kind=listener_child_kind(listener), origin="accepted")
    session.registry.add(res)
    ctx.emit(Styled((("name", name), ("", f": accepted from {format_addr(peer) or 'a peer'}"
                                          f" on {res.local}"))))  # fmt: skip


def listener_child_kind(listener: Sock) -> str:
    return "unix" if listener.sock.family == socket.AF_UNIX else "tcp"


def _udp_open(ctx: Invocation) -> None:
    name = ctx["name"]
    bind = parse_addr(ctx["bind"], family=_family(ctx)) if ctx["bind"] else None
    conn = parse_addr(ctx["connect"], ctx.session, family=_family(ctx)) if ctx["connect"] else None
    host = (bind or conn or Addr("127.0.0.1")).host
    family = _family(ctx) or (socket.AF_INET6 if ":" in host else socket.AF_INET)
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


def _unix_listen(ctx: Invocation) -> None:
    name = ctx["name"]
    path = resolve_unix_path(ctx, ctx["path"])
    try:
        sock = _listen_socket(ctx, Addr(path=path), socket.AF_UNIX)
    except OSError as exc:
        raise socket_error(name, exc, path, path=True) from None
    new_socket(ctx, name, sock, kind="listener", origin="listening on", unix_path=path)


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


# -- sending ----------------------------------------------------------------------------

TLS_RECORD = 16384  # the most one TLS record carries: a TLS send writes at most one


def _send_some(ctx: Invocation, res: Sock, data: bytes | memoryview, deadline: float) -> int:
    """One send call, bounded by the command's deadline (Ctrl-C ends it): it sends what
    fits and says how much. A socket the user gave its own timeout, or made
    non-blocking, is left to that.

    On a blocking socket a send of more than the kernel's buffer holds waits until the
    peer has read the rest, however long: for the call the socket gets the command's
    time left as its timeout, with which send returns what it could (or TimeoutError).
    """
    sock = res.sock
    tls = res.kind == "tls"
    func = "SSLSocket.send" if tls else "socket.send"
    if tls:
        data = data[:TLS_RECORD]  # a timeout halfway through one record, never more
    if sock.gettimeout() is not None:
        return int(traced(ctx, func, sock.send, data))
    _, ready, _ = select.select([], [sock], [], max(0.0, deadline - time.monotonic()))
    if not ready:
        raise TimeoutError
    sock.settimeout(max(deadline - time.monotonic(), 0.001))
    try:
        return int(traced(ctx, func, sock.send, data))
    finally:
        sock.settimeout(None)


def _send_timeout(ctx: Invocation, res: Sock, sent: int, total: int) -> Timeout:
    tls = " (a TLS record may be cut short: close it if the peer stops making sense)"
    return Timeout(f"{res.name}: timeout after {ctx.timeout:g} s: sent {sent} of "
                   f"{plural(total, 'byte')}; the send buffer is full and the peer is not "
                   f"reading{tls if res.kind == 'tls' and sent < total else ''}; "
                   f"{TIMEOUT_HINT}")  # fmt: skip


def _send(ctx: Invocation, *, newline: bool = False) -> None:
    res = _sock(ctx)
    data = ctx.data(newline=newline)
    try:
        n = _send_some(ctx, res, data, time.monotonic() + ctx.timeout)
    except TimeoutError as exc:
        if exc.errno is not None or res.sock.gettimeout() is not None:
            raise socket_error(res.name, exc, op="send", kind=res.kind, shut=res.shut) from None
        raise _send_timeout(ctx, res, 0, len(data)) from None
    except OSError as exc:
        raise socket_error(res.name, exc, op="send", kind=res.kind, shut=res.shut) from None
    res.traffic("send", "out", data[:n])
    note = "" if n == len(data) else f" of {len(data)} (send may send less: sendall loops)"
    ctx.emit(Styled((("name", res.name), ("notice", f": sent {plural(n, 'byte')}{note}"))))


def _sendline(ctx: Invocation) -> None:
    _send(ctx, newline=True)


def _sendall(ctx: Invocation) -> None:
    """socket.sendall's loop, made here so that the command's timeout bounds it: send,
    then send the rest, until all is sent."""
    res = _sock(ctx)
    data = ctx.data()
    view = memoryview(data)
    sent = 0
    deadline = time.monotonic() + ctx.timeout
    try:
        while sent < len(data):  # each turn sends a byte at least, or raises
            sent += _send_some(ctx, res, view[sent:], deadline)
    except TimeoutError as exc:
        if exc.errno is not None or res.sock.gettimeout() is not None:
            raise socket_error(res.name, exc, op="send", kind=res.kind, shut=res.shut) from None
        raise _send_timeout(ctx, res, sent, len(data)) from None
    except OSError as exc:
        raise socket_error(res.name, exc, op="send", kind=res.kind, shut=res.shut) from None
    finally:
        if sent:
            res.traffic("send", "out", data[:sent])
    ctx.emit(Styled((("name", res.name), ("notice", f": sent all {plural(sent, 'byte')}"))))


def _sendto(ctx: Invocation) -> None:
    res = _sock(ctx)
    addr = ctx["addr"]
    if res.kind == "unix-dgram":
        target: tuple[str, int] | str = resolve_unix_path(ctx, addr)
    else:
        parsed = parse_addr(addr, ctx.session)
        if parsed.path:
            raise UsageError(
                f"sendto: {addr} is a UNIX socket's address; {res.name} is a "
                "udp socket: give HOST:PORT, a PORT or a udp server's NAME"
            )
        if parsed.port == 0:
            raise UsageError(
                "sendto: port 0 is not a destination (0 means 'any free port' only when "
                "binding): give the port a receiver is bound to, as udp open NAME --bind 0 "
                "shows it"
            )
        target = parsed.sockaddr
    data = ctx.data()
    try:
        n = traced(ctx, "socket.sendto", res.sock.sendto, data, target)
    except OSError as exc:
        raise socket_error(res.name, exc, str(target), path=res.kind == "unix-dgram",
                           op="sendto", kind=res.kind) from None  # fmt: skip
    res.refresh_addresses()  # a first sendto binds an unbound socket to a free port
    res.traffic("send", "out", data[:n], peer=format_addr(target))
    ctx.emit(
        Styled(
            (("name", res.name), ("notice", f": sent {plural(n, 'byte')} to {format_addr(target)}"))
        )
    )


# -- receiving --------------------------------------------------------------------------

SLICE = 0.25  # seconds a wait sleeps between showing live events
MAX_BUFSIZE = 1 << 26  # 64 MiB: recv allocates BUFSIZE bytes before it reads
EXPECT_WINDOW = 1 << 20  # expect on a socket looks at most 1 MiB for its match


def _readable(sock: socket.socket, wait: float) -> bool:
    return bool(select.select([sock], [], [], wait)[0])


def _wait_data(ctx: Invocation, res: Sock, deadline: float, what: str,
               got: bytes | bytearray = b"") -> None:  # fmt: skip
    """Wait until a read of ``res`` returns at once, until ``deadline`` (Ctrl-C ends it).

    A readable TLS socket may hold only TLS's own records (a TLS 1.3 session ticket comes
    right after the handshake), and a blocking read would wait for data that may never
    come: what came is decrypted without waiting, and the wait goes on if it held none.
    A socket the user gave its own timeout, or made non-blocking, is left to that.
    """
    if res.has_held() or res.sock.gettimeout() is not None:
        return
    tls = res.kind == "tls"
    while True:
        if tls and (res.sock.pending() or _readable(res.sock, 0)):  # type: ignore[attr-defined]
            res.fill(ctx)
            if res.has_held():
                return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            # What a read loop took already (got) is held for the next read: say so.
            have = (f"{plural(len(got), 'byte')} came, kept for the next recv: "
                    f"{preview(bytes(got))}" if got else
                    f"{plural(res.unread() or 0, 'byte')} waiting")  # fmt: skip
            raise Timeout(f"{res.name}: timeout after {ctx.timeout:g} s waiting for {what}; "
                          f"{have}; {TIMEOUT_HINT}")  # fmt: skip
        # Short slices only so live events show while waiting; data ends a slice at once.
        if _readable(res.sock, min(remaining, SLICE)):
            if not tls:
                return
            continue
        ctx.session.flush_events()


def _recv_once(ctx: Invocation, res: Sock, size: int, flags: int = 0) -> bytes:
    """One recv system call (or SSLSocket.recv), recorded; errors as one line."""
    tls = res.kind == "tls"
    try:
        args = (size, flags) if flags else (size,)
        data: bytes = traced(ctx, "SSLSocket.recv" if tls else "socket.recv", res.sock.recv, *args)
        return data
    except TimeoutError as exc:
        if exc.errno is not None:  # ETIMEDOUT from the kernel: a connection that died
            raise socket_error(res.name, exc, op="recv") from None
        raise Timeout(
            f"{res.name}: the socket's own timeout ({res.sock.gettimeout():g} s) ran out; "
            f"settimeout {res.name} none lets each command wait its --timeout S"
        ) from None
    except OSError as exc:
        name = type(exc).__name__
        if isinstance(exc, BlockingIOError) or name in ("SSLWantReadError", "SSLWantWriteError"):
            raise PslError(
                f"{res.name}: nothing to receive on a non-blocking socket (EAGAIN); "
                f"setblocking {res.name} on to wait"
            ) from None
        if name == "SSLEOFError":
            return b""  # the peer closed the connection without TLS's close_notify
        raise socket_error(res.name, exc, op="recv") from None


def _take(ctx: Invocation, res: Sock, n: int, *, peek: bool = False) -> bytes:
    """Up to ``n`` bytes that a read returns now: those held first, then one recv (with
    MSG_PEEK: looked at, left in the kernel). b'' at EOF."""
    if res.held:
        return res.take_held(n, peek=peek)
    if res.held_error is not None:
        exc, res.held_error = res.held_error, None
        raise socket_error(res.name, exc, op="recv")
    if res.kind != "tls":
        return _recv_once(ctx, res, n, socket.MSG_PEEK if peek else 0)
    if res.held_eof:
        return b""
    # The socket's own timeout rules (the shell's wait returns only with bytes held).
    chunk = _recv_once(ctx, res, PEEK)
    if not chunk:
        res.held_eof = True
        return b""
    res.held += chunk
    return res.take_held(n, peek=peek)


class Received:
    """What a read took: the bytes, whether it ended at EOF, the match (expect)."""

    __slots__ = ("data", "eof", "match")

    def __init__(self, data: bytes, eof: bool, match: re.Match[bytes] | None = None) -> None:
        self.data = data
        self.eof = eof
        self.match = match


def read_stream(ctx: Invocation, res: Sock, *, mode: str = "", size: int = DEFAULT_BUFSIZE,
                until: bytes = b"", pattern: re.Pattern[bytes] | None = None
                ) -> Received:  # fmt: skip
    """Read ``res`` as ``mode`` asks: "" one recv of at most ``size`` bytes; "all" to
    EOF; "line", "until" and "expect" through the newline, ``until`` or ``pattern``'s
    match, leaving what follows unread. The command's timeout bounds it all.

    Where peeking works, what follows the delimiter is never taken from the kernel
    (recv with MSG_PEEK, then recv of just the bytes through it). TLS can't peek: its
    bytes are decrypted ahead into the socket's ``held`` buffer, and what follows stays
    there for the next read. If the read fails or times out, what it took is held too.
    """
    what = {"": "data", "all": "EOF", "line": "a line", "until": repr(until),
            "expect": f"a match for {pattern.pattern!r}" if pattern else ""}[mode]  # fmt: skip
    deadline = time.monotonic() + ctx.timeout
    got = bytearray()
    rest = b""  # taken past an expect match (its lookahead): held for the next read
    match: re.Match[bytes] | None = None
    eof = done = False
    res.begin_read()
    try:
        while True:
            _wait_data(ctx, res, deadline, what, got)
            if mode in ("", "all"):
                chunk = _take(ctx, res, size)
            else:
                head = _take(ctx, res, size, peek=True)
                take = len(head)
                if head and mode == "expect":
                    assert pattern is not None
                    match = pattern.search(bytes(got) + head)
                    if match is not None:
                        take = match.end() - len(got)
                        if take <= 0:  # the match ended in what was taken already
                            rest, got = bytes(got[match.end() :]), got[: match.end()]
                            break
                elif head:
                    # The delimiter may start in what was taken: look from its last bytes.
                    k = min(len(got), len(until) - 1)
                    found = (bytes(got[len(got) - k :]) + head).find(until)
                    if found >= 0:
                        take = found + len(until) - k
                chunk = _take(ctx, res, take) if head else b""
            if not chunk:
                eof = res.kind in STREAM_KINDS
                break
            got += chunk
            if match is not None and len(chunk) < take:
                match = None  # fewer bytes than peeked came: look again with the rest
            if mode == "" or match is not None:
                break
            if mode in ("line", "until") and got.endswith(until):
                break
            if mode == "expect" and len(got) > EXPECT_WINDOW:
                assert pattern is not None
                raise PslError(f"expect: no match for {pattern.pattern!r} in "
                               f"{plural(len(got), 'byte')} from {res.name} (kept for the "
                               f"next recv): {preview(bytes(got))}")  # fmt: skip
        done = True
    finally:
        if not done:
            res.hold_back(got)
            got.clear()
        res.hold_back(rest)
        data = bytes(got)
        if data:
            res.traffic("recv", "in", data)
        res.end_read(taken=len(data), eof=eof)
    return Received(data, eof, match)


def _bufsize(ctx: Invocation) -> int:
    size = ctx["bufsize"]
    return DEFAULT_BUFSIZE if size is None else int(size)


def _recv(ctx: Invocation) -> None:
    res = _sock(ctx)
    size = _bufsize(ctx)
    mode = "line" if ctx["line"] else "all" if ctx["all"] else "until" if ctx["until"] else ""
    until = b"\n" if mode == "line" else ctx.data("until") if mode == "until" else b""
    if mode == "until" and not until:
        raise UsageError("recv: --until needs some text to wait for")
    if mode and res.kind not in STREAM_KINDS:
        raise UsageError(f"recv: --{mode} reads a byte stream; {res.name} is {res.kind}: "
                         "each recv is one datagram")  # fmt: skip
    got = read_stream(ctx, res, mode=mode, size=size, until=until)
    data = got.data
    if data:
        ctx.emit(Output(data, "data", mode=ctx.display()))
        ctx.emit(Text(f"({plural(len(data), 'byte')})", "notice"))
    if got.eof:
        note = "EOF: the peer closed its side (recv returned b'')"
        if data and mode in ("line", "until"):
            note = f"{note} before the {'newline' if mode == 'line' else 'match'}"
        ctx.emit(Text(note, "notice"))


def _recvfrom(ctx: Invocation) -> None:
    res = _sock(ctx)
    size = _bufsize(ctx)
    res.begin_read()
    data = b""
    try:
        _wait_data(ctx, res, time.monotonic() + ctx.timeout, "a datagram")
        if res.has_held():  # a stream's bytes a recv took and kept: its peer sent them
            data, flags, peer = _take(ctx, res, size), 0, res.sock.getpeername()
        else:
            try:
                data, _anc, flags, peer = traced(ctx, "socket.recvmsg", res.sock.recvmsg, size)
            except OSError as exc:
                raise socket_error(res.name, exc, op="recv") from None
    finally:
        res.end_read(taken=len(data))
    res.traffic("recv", "in", data, peer=format_addr(peer))
    ctx.emit(Styled((("key", "from "), ("value", format_addr(peer) or "(unnamed)"),
                     ("notice", f"  ({plural(len(data), 'byte')})"))))  # fmt: skip
    if data:
        ctx.emit(Output(data, "data", mode=ctx.display()))
    if flags & socket.MSG_TRUNC:
        ctx.say(f"warning: the datagram was longer than {size} bytes: the rest is lost "
                "(MSG_TRUNC)", "warning")  # fmt: skip


# -- options and state ------------------------------------------------------------------


def _shutdown(ctx: Invocation) -> None:
    res = _sock(ctx)
    how = {"rd": socket.SHUT_RD, "wr": socket.SHUT_WR, "rdwr": socket.SHUT_RDWR}[ctx["how"]]
    # Marked before the call: the socket turns readable the moment reading is shut
    # down, and the watcher must not take that for the peer's EOF.
    with res.lock:
        before = set(res.shut)
        res.shut.update(("rd", "wr") if ctx["how"] == "rdwr" else (ctx["how"],))
    try:
        traced_as(ctx, "socket.shutdown", f"socket.SHUT_{ctx['how'].upper()}",
                  res.sock.shutdown, how)  # fmt: skip
    except OSError as exc:
        with res.lock:
            res.shut = before
        raise socket_error(res.name, exc, op="shutdown", kind=res.kind, shut=before) from None
    # For `log` only: the command's own answer already says it (not a live "note").
    res.post(Event(res.name, "shutdown", f"shutdown(SHUT_{ctx['how'].upper()})"))
    what = {"rd": "no more receiving", "wr": "the peer will read EOF", "rdwr": "both ways"}
    ctx.emit(Styled((("name", res.name),
                     ("", f": shut down {ctx['how']}: {what[ctx['how']]}"))))  # fmt: skip


def _sockopt(ctx: Invocation) -> None:
    res = _sock(ctx)
    option = ctx["option"].upper()
    level_name = next((lvl for prefix, lvl in LEVELS if option.startswith(prefix)), None)
    number = getattr(socket, option, None)
    if level_name is None or not isinstance(number, int):
        raise UsageError(f"sockopt: unknown option {ctx['option']!r}; try SO_REUSEADDR, "
                         "SO_RCVBUF, TCP_NODELAY (Tab lists them)")  # fmt: skip
    level = getattr(socket, level_name)
    value = ctx["value"]
    try:
        if value is not None:
            raw = {"on": 1, "off": 0}.get(value.lower())
            if raw is None:
                try:
                    raw = int(value, 0)
                except ValueError:
                    raise UsageError(f"sockopt: VALUE must be a number, on or off, not {value!r}"
                                     ) from None  # fmt: skip
            if not C_INT[0] <= raw <= C_INT[1]:
                # setsockopt takes a C int (a bigger number is taken for a buffer, and fails)
                raise UsageError(f"sockopt: VALUE must be from {C_INT[0]} to {C_INT[1]} (a C "
                                 f"int), not {value}")  # fmt: skip
            traced(ctx, "socket.setsockopt", res.sock.setsockopt, level, number, raw)
        got = traced(ctx, "socket.getsockopt", res.sock.getsockopt, level, number)
    except OSError as exc:
        raise socket_error(res.name, exc, op="sockopt", kind=res.kind) from None
    ctx.emit(Styled((("name", res.name), ("", f": {level_name}.{option} = {got}"))))


def _settimeout(ctx: Invocation) -> None:
    res = _sock(ctx)
    raw = ctx["s"]
    if raw.lower() == "none":
        value = None
    else:
        from pslrepl.parsing import parse_duration

        value = parse_duration(raw, what="settimeout: S")
    traced(ctx, "socket.settimeout", res.sock.settimeout, value)
    text = "None: blocking, each command waits its own --timeout" if value is None else (
        f"{value:g} s: blocking calls raise TimeoutError after it" if value else
        "0: non-blocking, a call that would wait raises BlockingIOError")  # fmt: skip
    ctx.emit(Styled((("name", res.name), ("", f": timeout {text}"))))


def _setblocking(ctx: Invocation) -> None:
    res = _sock(ctx)
    flag = ctx["flag"] == "on"
    traced(ctx, "socket.setblocking", res.sock.setblocking, flag)
    ctx.emit(
        Styled((("name", res.name), ("", ": blocking" if flag else ": non-blocking (timeout 0)")))
    )


def _dup(ctx: Invocation) -> None:
    res = _sock(ctx)
    name = ctx["newname"]
    if res.kind == "tls":
        # One TLS session can't be driven from two sockets: ssl refuses (NotImplementedError).
        raise PslError(
            f"dup: {res.name} is TLS, and an SSLSocket can't be duplicated: its "
            "TLS state lives in one object; dup the TCP socket before tls wrap"
        )
    try:
        new = traced(ctx, "socket.dup", res.sock.dup)
    except OSError as exc:
        raise socket_error(res.name, exc) from None
    new_socket(ctx, name, new, kind=res.kind, origin=f"dup of {res.name}")


C_INT = (-(2**31), 2**31 - 1)
ADDR_HELP = "HOST:PORT, [IPV6]:PORT, a PORT on 127.0.0.1, or a listener's NAME"
SOCK = Arg("NAME", ResourceOf(*SOCKET_KINDS))
DATA_ARG = Arg("DATA", DATA, optional=True, many=True)
# recv allocates BUFSIZE bytes before it reads: past MAX_BUFSIZE a typo, not a buffer.
BUFSIZE = Arg("BUFSIZE", Int(1, MAX_BUFSIZE), optional=True)
COMMANDS = (
    Command(
        "tcp connect",
        SOCKETS,
        "open a TCP connection and keep it as NAME",
        _tcp_connect,
        args=(Arg("NAME", NEW), Arg("ADDR", ADDRESS)),
        opts=(TIMEOUT, Opt("--source", "bind to this local ADDR first", "ADDR"), FAMILY),
        calls=("socket.create_connection",),
        examples=("tcp connect c srv", "tcp connect c2 srv --source 127.0.0.1:0 --timeout 2"),
        setup=("tcp listen srv 0",),
        details=f"ADDR is {ADDR_HELP}.",
    ),
    Command(
        "tcp listen",
        SOCKETS,
        "a listening TCP socket (bind, listen) under NAME",
        _tcp_listen,
        args=(Arg("NAME", NEW), Arg("ADDR", ADDRESS)),
        opts=(
            Opt(
                "--backlog", "listen(N): queued connections", "N", kind=Int(0, C_INT[1])
            ),  # fmt: skip
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
        "interface (it says so).",
    ),
    Command(
        "accept",
        SOCKETS,
        "take a pending connection from a listener, as NAME",
        _accept,
        args=(Arg("LISTENER", ResourceOf(*LISTENER_KINDS)), Arg("NAME", NEW, optional=True)),
        opts=(TIMEOUT,),
        calls=("socket.accept",),
        examples=("accept srv s", "accept srv"),
        setup=("tcp listen srv 0", "tcp connect c srv", "tcp connect c2 srv"),
        details="Without NAME the connection is named after the listener: srv-1, srv-2.",
    ),
    Command(
        "udp open",
        SOCKETS,
        "a UDP socket, bound and/or connected if asked",
        _udp_open,
        args=(Arg("NAME", NEW),),
        opts=(
            Opt("--bind", "bind to ADDR", "ADDR"),
            Opt("--connect", "connect to ADDR", "ADDR"),
            FAMILY,
        ),
        calls=("socket.socket", "socket.bind", "socket.connect"),
        examples=("udp open u --bind 0", "udp open c --connect u"),
    ),
    Command(
        "unix connect",
        SOCKETS,
        "connect to a UNIX stream socket",
        _unix_connect,
        args=(Arg("NAME", NEW), Arg("PATH", PATH)),
        opts=(TIMEOUT,),
        calls=("socket.socket", "socket.connect"),
        examples=("unix connect c demo.sock",),
        setup=("unix listen srv demo.sock",),
    ),
    Command(
        "unix listen",
        SOCKETS,
        "a listening UNIX stream socket; its file goes on close",
        _unix_listen,
        args=(Arg("NAME", NEW), Arg("PATH", PATH)),
        opts=(Opt("--backlog", "listen(N)", "N", kind=Int(0, C_INT[1])),),
        calls=("socket.socket", "socket.bind", "socket.listen"),
        examples=("unix listen srv demo.sock",),
    ),
    Command(
        "unix dgram",
        SOCKETS,
        "a UNIX datagram socket, bound to PATH if given",
        _unix_dgram,
        args=(Arg("NAME", NEW), Arg("PATH", PATH, optional=True)),
        calls=("socket.socket", "socket.bind"),
        examples=("unix dgram d d.sock",),
    ),
    Command(
        "socketpair",
        SOCKETS,
        "two connected sockets (socket.socketpair)",
        _socketpair,
        args=(Arg("NAME1", NEW), Arg("NAME2", NEW)),
        calls=("socket.socketpair",),
        examples=("socketpair a b",),
    ),
    Command(
        "send",
        SOCKETS,
        "send DATA once (socket.send): it may send less",
        _send,
        args=(SOCK, DATA_ARG),
        opts=(HEX_IN, FILE_IN, TIMEOUT),
        calls=("socket.send",),
        examples=('send c "GET / HTTP/1.0\\r\\n\\r\\n"', "send c --hex 'de ad be ef'"),
        setup=("serve web tcp 0 --handler echo", "tcp connect c web"),
        details="One send call, bounded by --timeout: to a peer that does not read, it "
        "sends what fits in the kernel's buffer and says how much (sendall loops for the "
        "rest). A TLS send writes at most one record (16 KiB).",
    ),
    Command(
        "sendall",
        SOCKETS,
        "send all of DATA (socket.sendall)",
        _sendall,
        args=(SOCK, DATA_ARG),
        opts=(HEX_IN, FILE_IN, TIMEOUT),
        calls=("socket.sendall", "socket.send"),
        examples=("sendall c --file /etc/hostname",),
        setup=("serve web tcp 0 --handler echo", "tcp connect c web"),
        details="socket.sendall's loop, made here so that --timeout bounds it: send, then "
        "send the rest, until all is sent; a timeout says how much went.",
    ),
    Command(
        "sendline",
        SOCKETS,
        "send DATA and a newline",
        _sendline,
        args=(SOCK, DATA_ARG),
        opts=(HEX_IN, FILE_IN, TIMEOUT),
        calls=("socket.send",),
        examples=("sendline c hello",),
        setup=("serve web tcp 0 --handler echo", "tcp connect c web"),
    ),
    Command(
        "sendto",
        SOCKETS,
        "send a datagram to ADDR",
        _sendto,
        args=(Arg("NAME", ResourceOf("udp", "unix-dgram")), Arg("ADDR", ADDRESS), DATA_ARG),
        opts=(HEX_IN, FILE_IN),
        calls=("socket.sendto",),
        examples=("sendto u v ping", "sendto u 127.0.0.1:9 ping"),
        setup=("udp open u", "udp open v --bind 0"),
    ),
    Command(
        "recv",
        SOCKETS,
        "receive (socket.recv): what has arrived, up to BUFSIZE",
        _recv,
        args=(SOCK, BUFSIZE),
        opts=(
            Opt("--line", "receive through a newline", exclusive="mode"),
            Opt("--until", "receive through TEXT", "TEXT", exclusive="mode"),
            Opt("--all", "receive until the peer closes (EOF)", exclusive="mode"),
            TIMEOUT,
            SHOW_HEX,
            SHOW_REPR,
        ),
        calls=("socket.recv",),
        examples=("recv c", "recv c 5", "recv c --line", "recv d --all"),
        setup=(
            "serve gen tcp 0 --handler chargen",
            "tcp connect c gen",
            "serve day tcp 0 --handler daytime",
            "tcp connect d day",
        ),
        details="One recv returns what has arrived, which may be several sends or part "
        "of one. --line and --until peek, then take only through the delimiter. TLS can't "
        "peek: its bytes are decrypted as they come, without waiting (a TLS 1.3 session "
        "ticket is bytes but no data), and what follows the delimiter waits in the "
        "socket's own buffer. --timeout bounds the whole read; what a read took before it "
        "timed out, or Ctrl-C, is kept: the next recv returns it first.",
    ),
    Command(
        "recvfrom",
        SOCKETS,
        "receive one datagram and show who sent it",
        _recvfrom,
        args=(Arg("NAME", ResourceOf("udp", "unix-dgram", "tcp", "unix")), BUFSIZE),
        opts=(TIMEOUT, SHOW_HEX, SHOW_REPR),
        calls=("socket.recvmsg",),
        examples=("recvfrom u", "recvfrom u 4"),
        setup=("udp open u --bind 0", "udp open v", "sendto v u hello", "sendto v u again"),
    ),
    Command(
        "shutdown",
        SOCKETS,
        "close one direction: rd, wr or rdwr",
        _shutdown,
        args=(SOCK, Arg("HOW", Choice(("rd", "wr", "rdwr")))),
        calls=("socket.shutdown",),
        examples=("shutdown c wr",),
        setup=("serve web tcp 0 --handler echo", "tcp connect c web"),
    ),
    Command(
        "sockopt",
        SOCKETS,
        "get, or set then get, a socket option by name",
        _sockopt,
        args=(
            Arg("NAME", ResourceOf(*SOCKET_KINDS, *LISTENER_KINDS)),
            Arg("OPTION", SOCKOPT),
            Arg("VALUE", TEXT, optional=True),
        ),
        calls=("socket.getsockopt", "socket.setsockopt"),
        examples=("sockopt c TCP_NODELAY", "sockopt c TCP_NODELAY on", "sockopt c SO_RCVBUF"),
        setup=("serve web tcp 0 --handler echo", "tcp connect c web"),
    ),
    Command(
        "settimeout",
        SOCKETS,
        "the socket's own timeout: S seconds, 0, or none",
        _settimeout,
        args=(Arg("NAME", ResourceOf(*SOCKET_KINDS, *LISTENER_KINDS)), Arg("S")),
        calls=("socket.settimeout",),
        examples=("settimeout c 0.5", "settimeout c none"),
        setup=("serve web tcp 0 --handler echo", "tcp connect c web"),
    ),
    Command(
        "setblocking",
        SOCKETS,
        "blocking on or off",
        _setblocking,
        args=(
            Arg("NAME", ResourceOf(*SOCKET_KINDS, *LISTENER_KINDS)),
            Arg("FLAG", Choice(("on", "off"))),
        ),
        calls=("socket.setblocking",),
        examples=("setblocking c off",),
        setup=("serve web tcp 0 --handler echo", "tcp connect c web"),
    ),
    Command(
        "dup",
        SOCKETS,
        "a second socket on the same connection",
        _dup,
        args=(
            Arg("NAME", ResourceOf(*SOCKET_KINDS, *LISTENER_KINDS)),
            Arg("NEWNAME", NEW),
        ),
        calls=("socket.dup",),
        examples=("dup c c2",),
        setup=("serve web tcp 0 --handler echo", "tcp connect c web"),
    ),
)
