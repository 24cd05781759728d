"""Sending on a socket: send, sendall, sendline and sendto, each bounded by its --timeout."""

from __future__ import annotations

import time

from pslrepl.addresses import format_addr, parse_addr
from pslrepl.commands.groups import SOCKETS
from pslrepl.commands.options import FILE_IN, HEX_IN, TIMEOUT, TIMEOUT_HINT
from pslrepl.commands.socket_common import ADDRESS, resolve_unix_path, socket_error
from pslrepl.commandspec import Arg, Commands
from pslrepl.errors import PslError, Timeout, UsageError
from pslrepl.kinds import DATA, ResourceOf
from pslrepl.render import plural
from pslrepl.resources.polling import poll_ready
from pslrepl.resources.sockets import SOCKET_KINDS, traced
from pslrepl.results import Styled

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import Invocation
    from pslrepl.resources.sockets import Sock

COMMANDS = Commands(SOCKETS)

TLS_RECORD = 16384  # the most one TLS record carries: a TLS send writes at most one
SOCK = Arg("NAME", ResourceOf(*SOCKET_KINDS))
DATA_ARG = Arg("DATA", DATA, optional=True, many=True)
ECHO_SETUP = ("serve web tcp 0 --handler echo", "tcp connect c web")


def _send_some(ctx: Invocation, res: Sock, data: bytes | memoryview, deadline: float) -> int:
    """One send call, bounded by the command's deadline (Ctrl-C ends it): it sends what
    fits and says how much. A socket the user gave its own timeout, or made
    non-blocking, is left to that.

    On a blocking socket a send of more than the kernel's buffer holds waits until the
    peer has read the rest, however long: for the call the socket gets the command's
    time left as its timeout, with which send returns what it could (or TimeoutError).
    """
    sock = res.sock
    tls = res.tls
    func = "SSLSocket.send" if tls else "socket.send"
    if tls:
        data = data[:TLS_RECORD]  # a timeout halfway through one record, never more
    if sock.gettimeout() is not None:
        return int(traced(ctx, func, sock.send, data))
    if not poll_ready(write=[sock], timeout=max(0.0, deadline - time.monotonic())):
        raise TimeoutError
    sock.settimeout(max(deadline - time.monotonic(), 0.001))
    try:
        return int(traced(ctx, func, sock.send, data))
    finally:
        sock.settimeout(None)


def _send_error(ctx: Invocation, res: Sock, exc: OSError, sent: int, total: int) -> PslError:
    """A send that failed after ``sent`` of ``total`` bytes: the errno, or the command's
    timeout with how much went."""
    own_timeout = res.sock.gettimeout() is not None  # the user's, not the command's
    if not isinstance(exc, TimeoutError) or exc.errno is not None or own_timeout:
        return socket_error(res.name, exc, op="send", kind=res.kind, shut=res.shut)
    tls = " (a TLS record may be cut short: close it if the peer stops making sense)"
    return Timeout(f"{res.name}: timeout after {ctx.timeout:g} s: sent {sent} of "
                   f"{plural(total, 'byte')}; the send buffer is full and the peer is not "
                   f"reading{tls if res.kind == 'tls' and sent < total else ''}; "
                   f"{TIMEOUT_HINT}")  # fmt: skip


@COMMANDS.command(
    "send",
    "send DATA once (socket.send): it may send less",
    args=(SOCK, DATA_ARG),
    opts=(HEX_IN, FILE_IN, TIMEOUT),
    calls=("socket.send",),
    examples=('send c "GET / HTTP/1.0\\r\\n\\r\\n"', "send c --hex 'de ad be ef'"),
    setup=ECHO_SETUP,
    details="One send call, bounded by --timeout: to a peer that does not read, it "
    "sends what fits in the kernel's buffer and says how much (sendall loops for the "
    "rest). A TLS send writes at most one record (16 KiB).",
)
def _send(ctx: Invocation) -> None:
    _send_once(ctx, newline=False)


def _send_once(ctx: Invocation, *, newline: bool) -> None:
    res: Sock = ctx["name"]
    data = ctx.data(newline=newline)
    try:
        n = _send_some(ctx, res, data, time.monotonic() + ctx.timeout)
    except OSError as exc:
        raise _send_error(ctx, res, exc, 0, len(data)) from None
    res.traffic("send", "out", data[:n])
    pitfalls = ctx.session.pitfalls
    pitfalls.sent(res.sock, n)
    note = "" if n == len(data) else f" of {len(data)} (send may send less: sendall loops)"
    ctx.emit(Styled((("name", res.name), ("notice", f": sent {plural(n, 'byte')}{note}"))))
    if n < len(data) and not res.tls:  # a TLS send's limit is its record, not the kernel
        said = pitfalls.note("partial-send", f"{res.name}'s send took {n} of "
                             f"{plural(len(data), 'byte')}")  # fmt: skip
        if said:
            ctx.say(said, "note")


@COMMANDS.command(
    "sendall",
    "send all of DATA (socket.sendall)",
    args=(SOCK, DATA_ARG),
    opts=(HEX_IN, FILE_IN, TIMEOUT),
    calls=("socket.sendall", "socket.send"),
    examples=("sendall c --file /etc/hostname",),
    setup=ECHO_SETUP,
    details="socket.sendall's loop, made here so that --timeout bounds it: send, then "
    "send the rest, until all is sent; a timeout says how much went.",
)
def _sendall(ctx: Invocation) -> None:
    """socket.sendall's loop, made here so that the command's timeout bounds it: send,
    then send the rest, until all is sent."""
    res: Sock = ctx["name"]
    data = ctx.data()
    view = memoryview(data)
    sent = 0
    deadline = time.monotonic() + ctx.timeout
    try:
        while sent < len(data):  # each turn sends a byte at least, or raises
            sent += _send_some(ctx, res, view[sent:], deadline)
    except OSError as exc:
        raise _send_error(ctx, res, exc, sent, len(data)) from None
    finally:
        if sent:
            res.traffic("send", "out", data[:sent])
            ctx.session.pitfalls.sent(res.sock, sent)
    ctx.emit(Styled((("name", res.name), ("notice", f": sent all {plural(sent, 'byte')}"))))


@COMMANDS.command(
    "sendline",
    "send DATA and a newline",
    args=(SOCK, DATA_ARG),
    opts=(HEX_IN, FILE_IN, TIMEOUT),
    calls=("socket.send",),
    examples=("sendline c hello",),
    setup=ECHO_SETUP,
)
def _sendline(ctx: Invocation) -> None:
    _send_once(ctx, newline=True)


@COMMANDS.command(
    "sendto",
    "send a datagram to ADDR",
    args=(Arg("NAME", ResourceOf("udp", "unix-dgram")), Arg("ADDR", ADDRESS), DATA_ARG),
    opts=(HEX_IN, FILE_IN),
    calls=("socket.sendto",),
    examples=("sendto u v ping", "sendto u 127.0.0.1:9 ping"),
    setup=("udp open u", "udp open v --bind 0"),
)
def _sendto(ctx: Invocation) -> None:
    res: Sock = ctx["name"]
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
    sent = f": sent {plural(n, 'byte')} to {format_addr(target)}"
    ctx.emit(Styled((("name", res.name), ("notice", sent))))
