"""What the socket, TLS, server and relay commands share: a named socket made, an errno
explained with what to do, port 0 refused as a destination, UNIX paths, option names, the
wait for a socket to be readable."""

from __future__ import annotations

import errno
import os
import socket
import time

from pslrepl.addresses import Addr, parse_addr
from pslrepl.commands.options import TIMEOUT_HINT
from pslrepl.errors import PslError, Timeout, UsageError, describe_oserror
from pslrepl.kinds import Choice, Kind, Seconds
from pslrepl.render import plural, preview
from pslrepl.resources.polling import poll_ready
from pslrepl.resources.sockets import Sock
from pslrepl.results import Styled

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection, Iterable
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.kinds import Completing, Where

C_INT = (-(2**31), 2**31 - 1)  # what setsockopt and listen take: a C int


def new_socket(ctx: Invocation, name: str, sock: socket.socket, *, kind: str, origin: str,
         unix_path: str = "") -> Sock:  # fmt: skip
    res = Sock(ctx.session, name, sock, kind=kind, origin=origin, unix_path=unix_path)
    ctx.session.registry.add(res)
    ctx.emit(Styled((("name", name), ("", f": {origin} {res.describe()}"))))
    return res


def socket_error(name: str, exc: OSError, addr: str = "", *, path: bool = False,
                 op: str = "", kind: str = "", shut: Collection[str] = ()) -> PslError:  # fmt: skip
    """The errno, named, with what it means here and what to do. path: addr is a UNIX
    socket's path, not HOST:PORT; op: the call that failed (send, sendto, recv, bind,
    connect, listen, accept, shutdown, sockopt); kind: the socket's (tcp, udp...);
    shut: the directions the user shut down."""
    code = exc.errno
    where = addr or "there"
    a_kind = f"a {kind} socket" if kind else "this socket"
    hints = {
        errno.ECONNREFUSED: f"nothing listens on {where}",
        errno.EADDRINUSE: f"{where} is taken; pick another port, or 0 for a free one",
        errno.ETIMEDOUT: "no answer in time",
        errno.EPIPE: "the peer has closed; nothing more can be sent",
        errno.ECONNRESET: "the peer reset the connection",
        errno.ENOTCONN: "the socket is not connected",
        errno.EADDRNOTAVAIL: f"{where} is not an address of this machine",
        errno.EAGAIN: "nothing is ready on a non-blocking socket (setblocking NAME on waits)",
        errno.EACCES: "ports below 1024 need root; pick a higher port, or 0 for a free one",
        errno.EDESTADDRREQ: "the socket has no peer to send to: sendto NAME ADDR DATA names "
        "one, or udp open NAME --connect ADDR fixes one",
        errno.EMSGSIZE: "a datagram that big can't be sent: a UDP datagram holds at most "
        "65,507 bytes over IPv4 (65,527 over IPv6); send less at a time",
        errno.EISCONN: "the socket is connected already",
        errno.ENETUNREACH: f"no route to the network of {where} (is the address right?)",
        errno.EHOSTUNREACH: f"no route to the host {where} (is it up, is the address right?)",
        errno.EAFNOSUPPORT: "the address is of the other family (IPv4 and IPv6 don't mix "
        "on one socket)",
        errno.ENOPROTOOPT: f"that option does not apply to {a_kind} (TCP_ options need tcp, "
        "IPV6_ options an IPv6 socket)",
        errno.EOPNOTSUPP: f"{a_kind} can't do that",
        errno.EINVAL: "the kernel refuses the arguments",
        errno.EBADF: "the socket is closed",
        errno.EMFILE: "this process has too many files open: close some (ls lists them)",
        errno.ENFILE: "the system has too many files open: close some (ls lists them)",
        errno.ENOBUFS: "the kernel is out of buffer space: send less at a time",
        errno.ECONNABORTED: "the connection was aborted before it was accepted",
    }
    # The same errno means different things from different calls.
    if op == "send" and "wr" in shut:
        hints[errno.EPIPE] = "this socket was shut down for writing (shutdown wr): nothing "
        hints[errno.EPIPE] += "more can be sent on it"
    if op == "sendto":
        hints[errno.EACCES] = ("sending to a broadcast address needs SO_BROADCAST: sockopt "
                               "NAME SO_BROADCAST on")  # fmt: skip
        hints[errno.EINVAL] = f"the kernel refuses to send to {where}"
    if op == "shutdown":
        hints[errno.ENOTCONN] = (
            "the socket is not connected: only a connected socket can "
            "be shut down (udp open NAME --connect ADDR connects one)"
        )
        hints[errno.EOPNOTSUPP] = f"{a_kind} can't be shut down"  # fmt: skip
    if op == "recv":
        hints[errno.EOPNOTSUPP] = f"{a_kind} does not take those recv flags"
        hints[errno.ENOTCONN] = "the socket is not connected: nothing can come on it yet"
    if op == "listen":
        hints[errno.EOPNOTSUPP] = (f"{a_kind} can't listen: only stream sockets (tcp, "
                                   "unix) listen and accept; a udp socket takes datagrams "
                                   "from anyone as it is (recvfrom)")  # fmt: skip
    if op == "accept":
        hints[errno.EINVAL] = "the socket is not listening: accept takes a listener"
        hints[errno.EOPNOTSUPP] = f"{a_kind} can't accept: only a listening stream socket can"
    if op == "sockopt":
        hints[errno.EINVAL] = ("the kernel refuses that value for the option: out of its "
                               "range, or the option takes a structure, not a number "
                               "(py NAME.setsockopt(level, option, bytes))")  # fmt: skip
        hints[errno.EOPNOTSUPP] = hints[errno.ENOPROTOOPT]
    if op == "connect":  # a UNIX listener's full backlog fails at once, not in time
        hints[errno.EAGAIN] = (f"the listener on {where} has a full backlog: the connections "
                               "waiting are not accepted yet (accept them, or listen with a "
                               "bigger --backlog)")  # fmt: skip
    if op == "bind":
        hints[errno.EINVAL] = "the socket is bound already, or the address is not one to bind"
    if path:
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
            errno.EPROTOTYPE: f"{where} is a socket of another type (stream or datagram)",
        })  # fmt: skip
    if isinstance(exc, socket.gaierror):
        return PslError(f"{name}: can't resolve {addr or 'the name'}: {exc.strerror}")
    if isinstance(exc, TimeoutError) and code is None:
        return PslError(f"{name}: timed out (the socket's own timeout; settimeout NAME none "
                        "lets each command wait its --timeout S)")  # fmt: skip
    if code is None and "AF_UNIX path too long" in str(exc):
        size = len(os.fsencode(addr)) if addr else 0
        return PslError(f"{name}: the path is {size} bytes; a UNIX socket's path holds at "
                        "most 107 (sun_path): give a shorter one, or a path relative to the "
                        "current directory")  # fmt: skip
    hint = hints.get(code or -1)
    error = PslError(f"{name}: {describe_oserror(exc)}" + (f": {hint}" if hint else ""))
    error.errno = code  # kept as data: a pitfall note reads it
    return error


def refuse_port_zero(command: str, addr: Addr) -> None:
    if addr.port == 0 and not addr.path:
        raise UsageError(
            f"{command}: port 0 is no one's port (0 means 'any free port' only "
            "when binding): give the port a listener is bound to, or its NAME"
        )


def connect_error(ctx: Invocation, name: str, exc: OSError, where: str, *,
                  path: bool = False) -> PslError:  # fmt: skip
    """A failed connect, in words; the command's own timeout says how to wait longer."""
    if isinstance(exc, TimeoutError) and exc.errno is None:
        return Timeout(
            f"{name}: no answer from {where} within {ctx.timeout:g} s (connect timed out: "
            f"the host is silent, or a listener's backlog is full); {TIMEOUT_HINT}"
        )
    return socket_error(name, exc, where, path=path, op="connect")


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


LEVELS = (("SO_", "SOL_SOCKET"), ("TCP_", "IPPROTO_TCP"), ("IPV6_", "IPPROTO_IPV6"),
          ("IP_", "IPPROTO_IP"))  # fmt: skip


def sockopt_names() -> list[str]:
    return sorted(n for n in dir(socket) if n.startswith(tuple(p for p, _ in LEVELS))
                  and isinstance(getattr(socket, n), int))  # fmt: skip


# What the menu says beside the forms an address takes.
ADDRESS_FORMS = {
    "127.0.0.1:": "IPv4 loopback: add the PORT",
    "[::1]:": "IPv6 loopback: add the PORT",
    "unix:": "a UNIX socket: add its PATH",
}


class Address(Kind):
    """HOST:PORT, [IPV6]:PORT, a PORT, unix:PATH, or the NAME of what listens."""

    name = "address"

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        yield from ask.words(ask.listening(), prefix, ask.describe)
        yield from ask.words(ADDRESS_FORMS, prefix, ADDRESS_FORMS.get)


class SockoptName(Kind):
    """A socket option's name: SO_REUSEADDR, TCP_NODELAY..."""

    name = "sockopt"

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        return ask.words(sockopt_names(), prefix.upper())


class IPFamily(Choice):
    """4 or 6: the handler gets socket.AF_INET or socket.AF_INET6."""

    def __init__(self) -> None:
        super().__init__(("4", "6"))

    def convert(self, raw: str, where: Where) -> Any:
        return {"4": socket.AF_INET, "6": socket.AF_INET6}[super().convert(raw, where)]


class TimeoutValue(Seconds):
    """A socket's timeout: S seconds, 0, or none (the handler gets None)."""

    def convert(self, raw: str, where: Where) -> Any:
        return None if raw.lower() == "none" else super().convert(raw, where)


ADDRESS = Address()
SOCKOPT = SockoptName()
IP_FAMILY = IPFamily()
TIMEOUT_VALUE = TimeoutValue()


# -- waiting for a socket to be readable ------------------------------------------------


def wait_readable(ctx: Invocation, res: Sock, deadline: float, what: str,
                  got: bytes | bytearray = b"") -> None:  # fmt: skip
    """Wait until a read of ``res`` returns at once, until ``deadline`` (Ctrl-C ends it).

    The session's wait does it (Session.wait_for: live events show as they come), woken
    by the socket watcher when the socket turns readable. A readable TLS socket may hold
    only TLS's own records (a TLS 1.3 session ticket comes right after the handshake),
    and a blocking read would wait for data that may never come: what came is decrypted
    without waiting, and the wait goes on if it held none. A socket the user gave its
    own timeout, or made non-blocking, is left to that. ``got``: what a read loop took
    already, which the timeout's error says is kept for the next read.
    """
    if res.has_held() or res.sock.gettimeout() is not None:
        return
    remaining = deadline - time.monotonic()
    # The deadline first: a peer that never stops sending must not keep a read going.
    if remaining > 0:
        try:
            if ctx.session.wait_for(lambda: _ready(ctx, res), remaining):
                return
        finally:
            res.stop_watching_for_reader()
    have = (f"{plural(len(got), 'byte')} came, kept for the next recv: "
            f"{preview(bytes(got))}" if got else
            f"{plural(res.unread() or 0, 'byte')} waiting")  # fmt: skip
    raise Timeout(f"{res.name}: timeout after {ctx.timeout:g} s waiting for {what}; "
                  f"{have}; {TIMEOUT_HINT}")  # fmt: skip


def _ready(ctx: Invocation, res: Sock) -> bool:
    """Whether a read of ``res`` returns at once; if not, the watcher wakes the wait when
    the socket turns readable (called with the session's lock held)."""
    sock = res.sock
    if not res.tls:
        if poll_ready([sock]):
            return True
    elif sock.pending() or poll_ready([sock]):  # type: ignore[attr-defined]
        res.fill(ctx)
        if res.has_held():
            return True
    res.watch_for_reader()
    return False
