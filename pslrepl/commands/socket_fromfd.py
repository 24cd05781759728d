"""fromfd: a socket object over a file descriptor that is already a socket."""

from __future__ import annotations

import errno
import socket

from pslrepl.commands.groups import SOCKETS
from pslrepl.commands.socket_common import C_INT, socket_error
from pslrepl.commands.socket_steps import FAMILIES, SOCK_TYPES
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import PslError, UsageError
from pslrepl.kinds import NEW, Choice, Int, Kind
from pslrepl.resources.sockets import LISTENER_KINDS, SOCKET_KINDS, Sock, traced
from pslrepl.results import Styled, volatile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.kinds import Completing, Where

COMMANDS = Commands(SOCKETS)


class SocketFd(Kind):
    """A file descriptor: a number, or the NAME of a socket (its fileno)."""

    name = "fd"

    def convert(self, raw: str, where: Where) -> Any:
        if raw.isdigit():
            return INT_FD.convert(raw, where)
        if (
            raw[:1] in "-+"
            and raw[1:].isdigit()
            or where.session is not None
            and (raw not in where.session.registry and not raw[:1].isalpha())
        ):
            raise where.fail(f"is a file descriptor (a number from 0) or a socket's NAME, "
                             f"not {raw!r}: `fileno NAME` says a socket's")  # fmt: skip
        if where.session is None:
            return raw
        res = where.session.registry.get(raw, (*SOCKET_KINDS, *LISTENER_KINDS),
                                         command=where.command)  # fmt: skip
        assert isinstance(res, Sock)
        return res.sock.fileno()

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        return ask.resources((*SOCKET_KINDS, *LISTENER_KINDS), prefix)


INT_FD = Int(0, C_INT[1])


def _fd_owner(ctx: Invocation, fd: int) -> str:
    for res in ctx.session.registry:
        if isinstance(res, Sock) and not res.closed and res.sock.fileno() == fd:
            return res.name
    return ""


def _kind(family: int, type_: int, listening: bool) -> str:
    if listening:
        return "listener"
    unix = family == socket.AF_UNIX
    if type_ == socket.SOCK_DGRAM:
        return "unix-dgram" if unix else "udp"
    return "unix" if unix else "tcp"


@COMMANDS.command(
    "fromfd",
    "a socket object over a file descriptor that is a socket (socket.fromfd)",
    args=(Arg("NEW", NEW), Arg("FD", SocketFd())),
    opts=(
        Opt(
            "--family",
            "what the fd is: 4, 6 or unix (default: asked of the fd)",
            "4|6|unix",
            kind=Choice(tuple(FAMILIES)),
        ),
        Opt(
            "--type",
            "stream or dgram (default: asked of the fd)",
            "stream|dgram",
            kind=Choice(tuple(SOCK_TYPES)),
        ),
    ),  # fmt: skip
    calls=("socket.fromfd",),
    examples=("fromfd c2 c", "fromfd s2 s --family 4 --type stream"),
    setup=("tcp listen s 0", "tcp connect c s"),
    details="FD is a number (`fileno NAME` says a socket's) or a socket's NAME. fromfd "
    "duplicates the fd (os.dup): the new socket and the old one share one connection, "
    "and each must be closed. Without --family and --type they are asked of the fd "
    "(SO_DOMAIN, SO_TYPE), as socket.socket(fileno=FD) does. The notes' pre-fork server "
    "hands a listener's fd to a child, which calls socket.fromfd there.",
)
def _fromfd(ctx: Invocation) -> None:
    name: str = ctx["new"]
    fd: int = ctx["fd"]
    for res in ctx.session.registry:
        if isinstance(res, Sock) and not res.closed and res.tls and res.sock.fileno() == fd:
            # A second socket on a TLS connection's fd reads its records as bytes: the TLS
            # session (one object's state) would lose them.
            raise PslError(f"fromfd: fd {fd} is {res.name}'s, a TLS connection: a plain "
                           "socket on it would take TLS records from under the session "
                           "(dup refuses it too); fromfd the TCP socket before tls "
                           "wrap")  # fmt: skip
    try:
        # What socket.socket(fileno=fd) asks the kernel (SO_DOMAIN, SO_TYPE); detached
        # at once, so the fd stays its owner's.
        probe = socket.socket(fileno=fd)
    except OSError as exc:
        if exc.errno == errno.EBADF:
            raise PslError(f"fromfd: fd {fd} is not open (EBADF): `fileno NAME` says a "
                           "socket's fd") from None  # fmt: skip
        if exc.errno == errno.ENOTSOCK:
            raise PslError(f"fromfd: fd {fd} is not a socket (ENOTSOCK): `fileno NAME` "
                           "says a socket's fd") from None  # fmt: skip
        raise socket_error(name, exc) from None
    family, type_ = probe.family, probe.type
    probe.detach()
    for given, table, actual, what in ((ctx["family"], FAMILIES, family, "family"),
                                       (ctx["type"], SOCK_TYPES, type_, "type")):  # fmt: skip
        if given is not None and table[given] != actual:
            # fromfd would take it and make a socket object that misreads its addresses.
            raise UsageError(f"fromfd: fd {fd} is {socket.AddressFamily(family).name}, "
                             f"{socket.SocketKind(type_).name}: --{what} {given} does not "
                             "fit it; leave it out to take the fd's own")  # fmt: skip
    if family not in FAMILIES.values() or type_ not in SOCK_TYPES.values():
        raise PslError(f"fromfd: fd {fd} is a {socket.AddressFamily(family).name} "
                       f"{socket.SocketKind(type_).name} socket: the shell keeps IP and "
                       "UNIX stream and datagram sockets")  # fmt: skip
    try:
        sock = traced(ctx, "socket.fromfd", socket.fromfd, fd, socket.AddressFamily(family),
                      socket.SocketKind(type_))  # fmt: skip
    except OSError as exc:
        raise socket_error(name, exc) from None
    listening = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) != 0
    res = Sock(ctx.session, name, sock, kind=_kind(family, type_, listening),
               origin=f"fromfd({fd})")  # fmt: skip
    ctx.session.registry.add(res)
    owner = _fd_owner(ctx, fd)
    old = volatile(str(fd), f"{owner}.fd") if owner else ("", str(fd))
    whose = f" ({owner}'s)" if owner else ""
    ctx.emit(Styled((("name", name), ("", ": a socket on fd "),
                     volatile(str(sock.fileno()), f"{name}.fd"), ("", ", a dup of fd "), old,
                     ("", f"{whose}: {res.describe()}"))))  # fmt: skip
