"""Socket commands: tcp, udp, unix, socketpair, send and recv and their kin (socket)."""

from __future__ import annotations

import errno
import select
import socket
import time

from pslrepl.addresses import Addr, format_addr, parse_addr
from pslrepl.commands.options import FILE_IN, HEX_IN, SHOW_HEX, SHOW_REPR, TIMEOUT
from pslrepl.commandspec import Arg, Command, Opt
from pslrepl.errors import PslError, Timeout, UsageError, describe_oserror
from pslrepl.events import Event
from pslrepl.render import plural, preview
from pslrepl.resources.sockets import (
    LISTENER_KINDS,
    SOCKET_KINDS,
    STREAM_KINDS,
    Sock,
)
from pslrepl.results import Output, Styled, Text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import Invocation

FAMILY = Opt("--family", "4 or 6, where a name could be either", "4|6", choices=("4", "6"))
DEFAULT_BUFSIZE = 65536


def _family(ctx: Invocation) -> int | None:
    fam = ctx.values.get("family")
    return {"4": socket.AF_INET, "6": socket.AF_INET6}.get(fam or "")


def _sock(ctx: Invocation, key: str = "name", kinds: tuple[str, ...] = SOCKET_KINDS) -> Sock:
    res = ctx.resource(ctx[key], kinds)
    assert isinstance(res, Sock)
    return res


def socket_error(name: str, exc: OSError, addr: str = "", *, path: bool = False) -> PslError:
    """The errno, named, with what it means here and what to do. path: addr is a UNIX
    socket's path, not HOST:PORT."""
    code = exc.errno
    where = addr or "there"
    hints = {
        errno.ECONNREFUSED: f"nothing listens on {where}",
        errno.EADDRINUSE: f"{where} is taken; pick another port, or 0 for a free one",
        errno.ETIMEDOUT: "no answer in time",
        errno.EPIPE: "the peer has closed; nothing more can be sent",
        errno.ECONNRESET: "the peer reset the connection",
        errno.ENOTCONN: "the socket is not connected",
        errno.EADDRNOTAVAIL: f"{where} is not an address of this machine",
        errno.EAGAIN: "nothing is ready on a non-blocking socket (setblocking on waits)",
        errno.EACCES: "ports below 1024 need root; pick a higher port, or 0 for a free one",
    }
    if path:
        import os
        import stat

        try:
            mode = os.stat(addr).st_mode
        except OSError:
            mode = 0
        taken = (f"{where} is a directory: give a path for a new socket in it, like "
                 f"{os.path.join(where, 'demo.sock')}" if stat.S_ISDIR(mode) else
                 f"{where} is a file, not a socket: pick another path" if stat.S_ISREG(mode)
                 else f"{where} already exists (a socket left behind?): remove it or pick "
                 "another path")  # fmt: skip
        hints.update({
            errno.ECONNREFUSED: f"{where} exists but nothing listens on it",
            errno.EADDRINUSE: taken,
            errno.ENOENT: f"{where}: no socket there, or no directory to make it in",
            errno.EACCES: f"no permission for {where} or its directory",
        })  # fmt: skip
    if isinstance(exc, socket.gaierror):
        return PslError(f"{name}: can't resolve {addr or 'the name'}: {exc.strerror}")
    if isinstance(exc, TimeoutError) and code is None:
        return PslError(f"{name}: timed out (the socket's own timeout; settimeout none waits)")
    hint = hints.get(code or -1)
    return PslError(f"{name}: {describe_oserror(exc)}" + (f": {hint}" if hint else ""))


def _new(ctx: Invocation, name: str, sock: socket.socket, *, kind: str, origin: str,
         unix_path: str = "") -> Sock:  # fmt: skip
    res = Sock(ctx.session, name, sock, kind=kind, origin=origin, unix_path=unix_path)
    ctx.session.registry.add(res)
    ctx.emit(Styled((("name", name), ("", f": {origin} {res.describe()}"))))
    return res


# -- creating sockets -------------------------------------------------------------------


def _tcp_connect(ctx: Invocation) -> None:
    name = ctx.session.registry.check_free(ctx["name"])
    addr = parse_addr(ctx["addr"], ctx.session, family=_family(ctx))
    if addr.path:
        raise UsageError("tcp connect: that is a UNIX address; use unix connect NAME PATH")
    source = parse_addr(ctx["source"]).sockaddr if ctx["source"] else None
    if _family(ctx) is not None:
        # create_connection tries every family a name resolves to; --family picks one.
        try:
            infos = ctx.call("socket.getaddrinfo", socket.getaddrinfo, addr.host, addr.port,
                             _family(ctx), socket.SOCK_STREAM)  # fmt: skip
        except OSError as exc:
            raise socket_error(name, exc, str(addr)) from None
        addr = Addr(str(infos[0][4][0]), addr.port, family=infos[0][0])
    try:
        sock = ctx.call(
            "socket.create_connection",
            socket.create_connection,
            (addr.host, addr.port),
            timeout=ctx.timeout,
            source_address=source,
        )
    except TimeoutError as exc:
        if exc.errno is not None:  # ETIMEDOUT from the kernel
            raise socket_error(name, exc, str(addr)) from None
        raise Timeout(
            f"{name}: no answer from {addr} within {ctx.timeout:g} s (connect timed "
            "out: the host is silent, or a listener's backlog is full)"
        ) from None
    except OSError as exc:
        raise socket_error(name, exc, str(addr)) from None
    # create_connection leaves its timeout on the socket; the shell's sockets start
    # blocking (None), as socket.socket() makes them, and each command has its own.
    ctx.call("socket.settimeout", sock.settimeout, None)
    _new(ctx, name, sock, kind="tcp", origin="connected")


def _listen_socket(ctx: Invocation, addr: Addr, family: int) -> socket.socket:
    sock = ctx.call("socket.socket", socket.socket, family, socket.SOCK_STREAM)
    try:
        if ctx.values.get("reuseaddr"):
            ctx.call("socket.setsockopt", sock.setsockopt, socket.SOL_SOCKET,
                     socket.SO_REUSEADDR, 1)  # fmt: skip
        ctx.call("socket.bind", sock.bind, addr.sockaddr)
        backlog = ctx.values.get("backlog")
        ctx.call("socket.listen", sock.listen, socket.SOMAXCONN if backlog is None else backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def _tcp_listen(ctx: Invocation) -> None:
    name = ctx.session.registry.check_free(ctx["name"])
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
    _new(ctx, name, sock, kind="listener", origin="listening on")
    if addr.host in ("", "0.0.0.0", "::"):
        ctx.say("warning: listening on every interface: other machines can connect",
                "warning")  # fmt: skip


def _accept(ctx: Invocation) -> None:
    listener = _sock(ctx, "listener", LISTENER_KINDS)
    session = ctx.session
    name = ctx["name"]
    if name is None:
        n = listener.accepted + 1
        while f"{listener.name}-{n}" in session.registry:
            n += 1
        name = f"{listener.name}-{n}"
    session.registry.check_free(name)
    _wait_readable(ctx, listener, "a connection")
    try:
        conn, peer = ctx.call("socket.accept", listener.sock.accept)
    except OSError as exc:
        raise socket_error(listener.name, exc) from None
    finally:
        listener.arm()
    listener.accepted += 1
    conn.settimeout(None)
    res = Sock(session, name, conn, kind=listener_child_kind(listener), origin="accepted")
    session.registry.add(res)
    ctx.emit(Styled((("name", name), ("", f": accepted from {format_addr(peer) or 'a peer'}"
                                          f" on {res.local}"))))  # fmt: skip


def listener_child_kind(listener: Sock) -> str:
    return "unix" if listener.sock.family == socket.AF_UNIX else "tcp"


def _udp_open(ctx: Invocation) -> None:
    name = ctx.session.registry.check_free(ctx["name"])
    bind = parse_addr(ctx["bind"], family=_family(ctx)) if ctx["bind"] else None
    conn = parse_addr(ctx["connect"], ctx.session, family=_family(ctx)) if ctx["connect"] else None
    host = (bind or conn or Addr("127.0.0.1")).host
    family = _family(ctx) or (socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock = ctx.call("socket.socket", socket.socket, family, socket.SOCK_DGRAM)
    try:
        if bind:
            ctx.call("socket.bind", sock.bind, bind.sockaddr)
        if conn:
            ctx.call("socket.connect", sock.connect, conn.sockaddr)
    except OSError as exc:
        sock.close()
        raise socket_error(name, exc, str(bind or conn)) from None
    except BaseException:
        sock.close()
        raise
    _new(ctx, name, sock, kind="udp", origin="udp socket")


def _unix_connect(ctx: Invocation) -> None:
    name = ctx.session.registry.check_free(ctx["name"])
    path = resolve_unix_path(ctx, ctx["path"])
    sock = ctx.call("socket.socket", socket.socket, socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(ctx.timeout)
        ctx.call("socket.connect", sock.connect, path)
        sock.settimeout(None)
    except OSError as exc:
        sock.close()
        raise socket_error(name, exc, path, path=True) from None
    _new(ctx, name, sock, kind="unix", origin="connected")


def resolve_unix_path(ctx: Invocation, text: str) -> str:
    if text in ctx.session.registry:
        addr = parse_addr(text, ctx.session)
        if not addr.path:
            raise UsageError(f"{text} is not a UNIX socket")
        return addr.path
    path = text[5:] if text.startswith("unix:") else text
    if not path:
        # Linux would bind an empty path to an autobound abstract name: give a file.
        raise UsageError("give the UNIX socket a path, like /tmp/demo.sock")
    return path


def _unix_listen(ctx: Invocation) -> None:
    name = ctx.session.registry.check_free(ctx["name"])
    path = resolve_unix_path(ctx, ctx["path"])
    try:
        sock = _listen_socket(ctx, Addr(path=path), socket.AF_UNIX)
    except OSError as exc:
        raise socket_error(name, exc, path, path=True) from None
    _new(ctx, name, sock, kind="listener", origin="listening on", unix_path=path)


def _unix_dgram(ctx: Invocation) -> None:
    name = ctx.session.registry.check_free(ctx["name"])
    path = ctx["path"]
    sock = ctx.call("socket.socket", socket.socket, socket.AF_UNIX, socket.SOCK_DGRAM)
    if path:
        try:
            ctx.call("socket.bind", sock.bind, path)
        except OSError as exc:
            sock.close()
            raise socket_error(name, exc, path, path=True) from None
    _new(ctx, name, sock, kind="unix-dgram", origin="unix datagram socket",
         unix_path=path or "")  # fmt: skip


def _socketpair(ctx: Invocation) -> None:
    registry = ctx.session.registry
    a, b = registry.check_free(ctx["name1"]), registry.check_free(ctx["name2"])
    if a == b:
        raise UsageError("socketpair: give two different names")
    s1, s2 = ctx.call("socket.socketpair", socket.socketpair)
    _new(ctx, a, s1, kind="unix", origin="socketpair")
    _new(ctx, b, s2, kind="unix", origin="socketpair")


# -- sending ----------------------------------------------------------------------------


def _wait_writable(ctx: Invocation, res: Sock) -> None:
    if res.sock.gettimeout() is not None:
        return  # the user chose the socket's own timeout or non-blocking: that rules
    _, ready, _ = select.select([], [res.sock], [], ctx.timeout)
    if not ready:
        raise Timeout(f"{res.name}: timeout after {ctx.timeout:g} s: the send buffer is full "
                      "and the peer is not reading")  # fmt: skip


def _send(ctx: Invocation, *, newline: bool = False) -> None:
    res = _sock(ctx)
    data = ctx.data(newline=newline)
    _wait_writable(ctx, res)
    try:
        n = ctx.call("socket.send", res.sock.send, data)
    except OSError as exc:
        raise socket_error(res.name, exc) from None
    res.traffic("send", "out", data[:n])
    note = "" if n == len(data) else f" of {len(data)} (send may send less: sendall loops)"
    ctx.emit(Styled((("name", res.name), ("notice", f": sent {plural(n, 'byte')}{note}"))))


def _sendline(ctx: Invocation) -> None:
    _send(ctx, newline=True)


def _sendall(ctx: Invocation) -> None:
    res = _sock(ctx)
    data = ctx.data()
    view = memoryview(data)
    sent = 0
    deadline = time.monotonic() + ctx.timeout
    user_timeout = res.sock.gettimeout() is not None
    try:
        while sent < len(data):
            if not user_timeout:
                remaining = deadline - time.monotonic()
                _, ready, _ = select.select([], [res.sock], [], max(remaining, 0))
                if not ready:
                    raise Timeout(
                        f"{res.name}: timeout after {ctx.timeout:g} s: sent {sent} of "
                        f"{plural(len(data), 'byte')}; the peer is not reading"
                    )
            sent += res.sock.send(view[sent:])
    except OSError as exc:
        raise socket_error(res.name, exc) from None
    finally:
        if sent:
            res.traffic("send", "out", data[:sent])
    ctx.record("socket.sendall", repr(data[:40]), None)
    ctx.emit(Styled((("name", res.name), ("notice", f": sent all {plural(sent, 'byte')}"))))


def _sendto(ctx: Invocation) -> None:
    res = _sock(ctx, kinds=("udp", "unix-dgram"))
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
        target = parsed.sockaddr
    data = ctx.data()
    try:
        n = ctx.call("socket.sendto", res.sock.sendto, data, target)
    except OSError as exc:
        raise socket_error(res.name, exc, addr) from None
    res.traffic("send", "out", data[:n], peer=format_addr(target))
    ctx.emit(
        Styled(
            (("name", res.name), ("notice", f": sent {plural(n, 'byte')} to {format_addr(target)}"))
        )
    )


# -- receiving --------------------------------------------------------------------------


def _wait_readable(ctx: Invocation, res: Sock, what: str) -> None:
    """Wait for the socket to be readable, at most the command's timeout (Ctrl-C ends it).
    A socket the user gave its own timeout or made non-blocking is left to that."""
    if res.sock.gettimeout() is not None:
        return
    pending = getattr(res.sock, "pending", None)  # an SSLSocket's decrypted bytes
    if pending is not None and pending():
        return
    deadline = time.monotonic() + ctx.timeout
    session = ctx.session
    while True:
        remaining = deadline - time.monotonic()
        # Short slices only so live events show while waiting; data ends a slice at once.
        ready, _, _ = select.select([res.sock], [], [], max(0.0, min(remaining, 0.25)))
        if ready:
            return
        session.flush_events()
        if remaining <= 0.25:
            unread = res.unread() or 0
            raise Timeout(f"{res.name}: timeout after {ctx.timeout:g} s, {what} not there; "
                          f"{plural(unread, 'byte')} waiting")  # fmt: skip


def _recv_once(ctx: Invocation, res: Sock, size: int, flags: int = 0) -> bytes:
    try:
        return res.sock.recv(size, flags)
    except BlockingIOError:
        raise PslError(
            f"{res.name}: nothing to receive on a non-blocking socket "
            "(EAGAIN); setblocking on to wait"
        ) from None
    except TimeoutError:
        raise Timeout(
            f"{res.name}: the socket's own timeout ({res.sock.gettimeout():g} s) "
            "ran out; settimeout none to wait"
        ) from None
    except OSError as exc:
        if type(exc).__name__ == "SSLEOFError":
            return b""  # the peer closed the connection without TLS's close_notify
        raise socket_error(res.name, exc) from None


def _recv(ctx: Invocation) -> None:
    res = _sock(ctx)
    size = ctx["bufsize"] or DEFAULT_BUFSIZE
    if size <= 0:
        raise UsageError("recv: BUFSIZE must be at least 1")
    mode = "line" if ctx["line"] else "all" if ctx["all"] else "until" if ctx["until"] else ""
    until = b"\n" if mode == "line" else ctx.data("until") if mode == "until" else b""
    if mode == "until" and not until:
        raise UsageError("recv: --until needs some text to wait for")
    if mode and res.kind not in STREAM_KINDS:
        raise UsageError(f"recv: --{mode} reads a byte stream; {res.name} is {res.kind}: "
                         "each recv is one datagram")  # fmt: skip
    got = bytearray()
    eof = False
    try:
        while True:
            what = "data" if not mode else {"line": "a line", "all": "EOF"}.get(mode, repr(until))
            try:
                _wait_readable(ctx, res, what)
            except Timeout as exc:
                if got:
                    raise Timeout(f"{exc}; {plural(len(got), 'byte')} received so far: "
                                  f"{preview(bytes(got))}") from None  # fmt: skip
                raise
            if mode in ("line", "until") and res.kind == "tls":
                # No peeking through TLS: take a byte at a time, never past the delimiter.
                chunk = _recv_once(ctx, res, 1)
            elif mode in ("line", "until"):
                # Peek, then take only through the delimiter: what follows stays in the
                # kernel for the next recv, as it would without the shell.
                head = _recv_once(ctx, res, size, socket.MSG_PEEK)
                found = (bytes(got) + head).find(until)
                take = len(head) if found < 0 else found + len(until) - len(got)
                chunk = _recv_once(ctx, res, take) if head else b""
            else:
                chunk = ctx.call("socket.recv", _recv_once, ctx, res, size)
            if not chunk:
                eof = res.kind in STREAM_KINDS
                break
            got += chunk
            res.traffic("recv", "in", chunk)
            if not mode or (mode != "all" and until in got):
                break
    finally:
        res.arm()
    data = bytes(got)
    if mode:
        ctx.record("socket.recv", f"loop until {mode}", data)
    if data:
        ctx.emit(Output(data, "data", mode=ctx.display()))
        ctx.emit(Text(f"({plural(len(data), 'byte')})", "notice"))
    if eof:
        res.peer_eof = True
        note = "EOF: the peer closed its side (recv returned b'')"
        if data and mode in ("line", "until"):
            note = f"{note} before the {'newline' if mode == 'line' else 'match'}"
        ctx.emit(Text(note, "notice"))


def _recvfrom(ctx: Invocation) -> None:
    res = _sock(ctx, kinds=("udp", "unix-dgram", "tcp", "unix"))
    size = ctx["bufsize"] or DEFAULT_BUFSIZE
    _wait_readable(ctx, res, "a datagram")
    try:
        data, _anc, flags, peer = ctx.call("socket.recvmsg", res.sock.recvmsg, size)
    except OSError as exc:
        raise socket_error(res.name, exc) from None
    finally:
        res.arm()
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
    try:
        ctx.call("socket.shutdown", res.sock.shutdown, how)
    except OSError as exc:
        raise socket_error(res.name, exc) from None
    res.shut.update(("rd", "wr") if ctx["how"] == "rdwr" else (ctx["how"],))
    # For `log` only: the command's own answer already says it (not a live "note").
    res.post(Event(res.name, "shutdown", f"shutdown(SHUT_{ctx['how'].upper()})"))
    what = {"rd": "no more receiving", "wr": "the peer will read EOF", "rdwr": "both ways"}
    ctx.emit(Styled((("name", res.name),
                     ("", f": shut down {ctx['how']}: {what[ctx['how']]}"))))  # fmt: skip


LEVELS = (("SO_", "SOL_SOCKET"), ("TCP_", "IPPROTO_TCP"), ("IPV6_", "IPPROTO_IPV6"),
          ("IP_", "IPPROTO_IP"))  # fmt: skip


def sockopt_names() -> list[str]:
    return sorted(n for n in dir(socket) if n.startswith(tuple(p for p, _ in LEVELS))
                  and isinstance(getattr(socket, n), int))  # fmt: skip


def _sockopt(ctx: Invocation) -> None:
    res = _sock(ctx, kinds=(*SOCKET_KINDS, *LISTENER_KINDS))
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
            ctx.call("socket.setsockopt", res.sock.setsockopt, level, number, raw)
        got = ctx.call("socket.getsockopt", res.sock.getsockopt, level, number)
    except OSError as exc:
        raise socket_error(res.name, exc) from None
    ctx.emit(Styled((("name", res.name), ("", f": {level_name}.{option} = {got}"))))


def _settimeout(ctx: Invocation) -> None:
    res = _sock(ctx, kinds=(*SOCKET_KINDS, *LISTENER_KINDS))
    raw = ctx["s"]
    if raw.lower() == "none":
        value = None
    else:
        from pslrepl.parsing import parse_duration

        value = parse_duration(raw, what="settimeout: S")
    ctx.call("socket.settimeout", res.sock.settimeout, value)
    text = "None: blocking, each command waits its own --timeout" if value is None else (
        f"{value:g} s: blocking calls raise TimeoutError after it" if value else
        "0: non-blocking, a call that would wait raises BlockingIOError")  # fmt: skip
    ctx.emit(Styled((("name", res.name), ("", f": timeout {text}"))))


def _setblocking(ctx: Invocation) -> None:
    res = _sock(ctx, kinds=(*SOCKET_KINDS, *LISTENER_KINDS))
    flag = ctx["flag"] == "on"
    ctx.call("socket.setblocking", res.sock.setblocking, flag)
    ctx.emit(
        Styled((("name", res.name), ("", ": blocking" if flag else ": non-blocking (timeout 0)")))
    )


def _dup(ctx: Invocation) -> None:
    res = _sock(ctx, kinds=(*SOCKET_KINDS, *LISTENER_KINDS))
    name = ctx.session.registry.check_free(ctx["newname"])
    new = ctx.call("socket.dup", res.sock.dup)
    _new(ctx, name, new, kind=res.kind, origin=f"dup of {res.name}")


ADDR_HELP = "HOST:PORT, [IPV6]:PORT, a PORT on 127.0.0.1, or a listener's NAME"
SOCK = Arg("NAME", "resource", kinds=SOCKET_KINDS)
DATA = Arg("DATA", "data", optional=True, many=True)
COMMANDS = (
    Command(
        "tcp connect",
        "sockets",
        "open a TCP connection and keep it as NAME",
        _tcp_connect,
        args=(Arg("NAME", "new"), Arg("ADDR", "address")),
        opts=(TIMEOUT, Opt("--source", "bind to this local ADDR first", "ADDR"), FAMILY),
        calls=("socket.create_connection",),
        examples=("tcp connect c 127.0.0.1:8080", "tcp connect c srv", "tcp connect c [::1]:80"),
        details=f"ADDR is {ADDR_HELP}.",
    ),
    Command(
        "tcp listen",
        "sockets",
        "a listening TCP socket (bind, listen) under NAME",
        _tcp_listen,
        args=(Arg("NAME", "new"), Arg("ADDR", "address")),
        opts=(
            Opt("--backlog", "listen(N): queued connections", "N", kind="int"),
            Opt("--reuseaddr", "set SO_REUSEADDR before bind"),
            FAMILY,
        ),
        calls=("socket.socket", "socket.setsockopt", "socket.bind", "socket.listen"),
        examples=("tcp listen srv 0", "tcp listen srv 8080 --reuseaddr", "tcp listen v6 [::1]:0"),
        details="A bare PORT binds 127.0.0.1; give 0.0.0.0:PORT to listen on every "
        "interface (it says so).",
    ),
    Command(
        "accept",
        "sockets",
        "take a pending connection from a listener, as NAME",
        _accept,
        args=(Arg("LISTENER", "resource", kinds=LISTENER_KINDS), Arg("NAME", "new", optional=True)),
        opts=(TIMEOUT,),
        calls=("socket.accept",),
        examples=("accept srv s", "accept srv"),
        details="Without NAME the connection is named after the listener: srv-1, srv-2.",
    ),
    Command(
        "udp open",
        "sockets",
        "a UDP socket, bound and/or connected if asked",
        _udp_open,
        args=(Arg("NAME", "new"),),
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
        "sockets",
        "connect to a UNIX stream socket",
        _unix_connect,
        args=(Arg("NAME", "new"), Arg("PATH", "file")),
        opts=(TIMEOUT,),
        calls=("socket.socket", "socket.connect"),
        examples=("unix connect c /tmp/demo.sock",),
    ),
    Command(
        "unix listen",
        "sockets",
        "a listening UNIX stream socket; its file goes on close",
        _unix_listen,
        args=(Arg("NAME", "new"), Arg("PATH", "file")),
        opts=(Opt("--backlog", "listen(N)", "N", kind="int"),),
        calls=("socket.socket", "socket.bind", "socket.listen"),
        examples=("unix listen srv /tmp/demo.sock",),
    ),
    Command(
        "unix dgram",
        "sockets",
        "a UNIX datagram socket, bound to PATH if given",
        _unix_dgram,
        args=(Arg("NAME", "new"), Arg("PATH", "file", optional=True)),
        calls=("socket.socket", "socket.bind"),
        examples=("unix dgram d /tmp/d.sock",),
    ),
    Command(
        "socketpair",
        "sockets",
        "two connected sockets (socket.socketpair)",
        _socketpair,
        args=(Arg("NAME1", "new"), Arg("NAME2", "new")),
        calls=("socket.socketpair",),
        examples=("socketpair a b",),
    ),
    Command(
        "send",
        "sockets",
        "send DATA once (socket.send): it may send less",
        _send,
        args=(SOCK, DATA),
        opts=(HEX_IN, FILE_IN, TIMEOUT),
        calls=("socket.send",),
        examples=('send c "GET / HTTP/1.0\\r\\n\\r\\n"', "send c --hex 'de ad be ef'"),
    ),
    Command(
        "sendall",
        "sockets",
        "send all of DATA (socket.sendall)",
        _sendall,
        args=(SOCK, DATA),
        opts=(HEX_IN, FILE_IN, TIMEOUT),
        calls=("socket.sendall",),
        examples=("sendall c --file /etc/hostname",),
    ),
    Command(
        "sendline",
        "sockets",
        "send DATA and a newline",
        _sendline,
        args=(SOCK, DATA),
        opts=(HEX_IN, FILE_IN, TIMEOUT),
        calls=("socket.send",),
        examples=("sendline c hello",),
    ),
    Command(
        "sendto",
        "sockets",
        "send a datagram to ADDR",
        _sendto,
        args=(Arg("NAME", "resource", kinds=("udp", "unix-dgram")), Arg("ADDR", "address"), DATA),
        opts=(HEX_IN, FILE_IN),
        calls=("socket.sendto",),
        examples=("sendto u 9999 ping",),
    ),
    Command(
        "recv",
        "sockets",
        "receive (socket.recv): what has arrived, up to BUFSIZE",
        _recv,
        args=(SOCK, Arg("BUFSIZE", "int", optional=True)),
        opts=(
            Opt("--line", "receive through a newline", exclusive="mode"),
            Opt("--until", "receive through TEXT", "TEXT", exclusive="mode"),
            Opt("--all", "receive until the peer closes (EOF)", exclusive="mode"),
            TIMEOUT,
            SHOW_HEX,
            SHOW_REPR,
        ),
        calls=("socket.recv",),
        examples=("recv c", "recv c 5", "recv c --line", "recv c --all"),
        details="One recv returns what has arrived, which may be several sends or part "
        "of one. --line and --until peek, then take only through the delimiter.",
    ),
    Command(
        "recvfrom",
        "sockets",
        "receive one datagram and show who sent it",
        _recvfrom,
        args=(SOCK, Arg("BUFSIZE", "int", optional=True)),
        opts=(TIMEOUT, SHOW_HEX, SHOW_REPR),
        calls=("socket.recvmsg",),
        examples=("recvfrom u", "recvfrom u 4"),
    ),
    Command(
        "shutdown",
        "sockets",
        "close one direction: rd, wr or rdwr",
        _shutdown,
        args=(SOCK, Arg("HOW", "choice", choices=("rd", "wr", "rdwr"))),
        calls=("socket.shutdown",),
        examples=("shutdown c wr",),
    ),
    Command(
        "sockopt",
        "sockets",
        "get, or set then get, a socket option by name",
        _sockopt,
        args=(
            Arg("NAME", "resource", kinds=(*SOCKET_KINDS, *LISTENER_KINDS)),
            Arg("OPTION", "sockopt"),
            Arg("VALUE", "text", optional=True),
        ),
        calls=("socket.getsockopt", "socket.setsockopt"),
        examples=("sockopt c TCP_NODELAY", "sockopt c TCP_NODELAY on", "sockopt c SO_RCVBUF"),
    ),
    Command(
        "settimeout",
        "sockets",
        "the socket's own timeout: S seconds, 0, or none",
        _settimeout,
        args=(Arg("NAME", "resource", kinds=(*SOCKET_KINDS, *LISTENER_KINDS)), Arg("S", "text")),
        calls=("socket.settimeout",),
        examples=("settimeout c 0.5", "settimeout c none"),
    ),
    Command(
        "setblocking",
        "sockets",
        "blocking on or off",
        _setblocking,
        args=(
            Arg("NAME", "resource", kinds=(*SOCKET_KINDS, *LISTENER_KINDS)),
            Arg("FLAG", "choice", choices=("on", "off")),
        ),
        calls=("socket.setblocking",),
        examples=("setblocking c off",),
    ),
    Command(
        "dup",
        "sockets",
        "a second socket on the same connection",
        _dup,
        args=(
            Arg("NAME", "resource", kinds=(*SOCKET_KINDS, *LISTENER_KINDS)),
            Arg("NEWNAME", "new"),
        ),
        calls=("socket.dup",),
        examples=("dup c c2",),
    ),
)
