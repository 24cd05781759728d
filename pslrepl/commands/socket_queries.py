"""What a socket says of itself: getsockname, getpeername, gettimeout, fileno, as returned."""

from __future__ import annotations

from pslrepl.commands.groups import SOCKETS
from pslrepl.commands.socket_common import socket_error
from pslrepl.commandspec import Arg, Commands
from pslrepl.kinds import ResourceOf
from pslrepl.resources.sockets import LISTENER_KINDS, SOCKET_KINDS, traced
from pslrepl.results import Styled, volatile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.resources.sockets import Sock
    from pslrepl.results import Fragment

COMMANDS = Commands(SOCKETS)

ANY_SOCKET = Arg("NAME", ResourceOf(*SOCKET_KINDS, *LISTENER_KINDS))
SETUP = ("tcp listen s 0", "tcp connect c s")


def _returned(ctx: Invocation, name: str, call: str, value: Fragment, meaning: str = "") -> None:
    ctx.emit(Styled((("name", name), ("", f": {call}() returned "), value,
                     ("notice", f" ({meaning})" if meaning else ""))))  # fmt: skip


def _ask(ctx: Invocation, res: Sock, method: str) -> Any:
    call = "SSLSocket" if res.kind == "tls" else "socket"
    try:
        return traced(ctx, f"{call}.{method}", getattr(res.sock, method))
    except OSError as exc:
        raise socket_error(res.name, exc, op=method, kind=res.kind) from None


@COMMANDS.command(
    "getsockname",
    "the socket's own address, as getsockname() returns it",
    args=(ANY_SOCKET,),
    calls=("socket.getsockname",),
    examples=("getsockname c", "getsockname s"),
    setup=SETUP,
    details="(HOST, PORT) for IPv4, (HOST, PORT, FLOWINFO, SCOPE_ID) for IPv6, a path "
    "for UNIX ('' when unbound). An unbound IP socket says ('0.0.0.0', 0).",
)
def _getsockname(ctx: Invocation) -> None:
    res: Sock = ctx["name"]
    _returned(ctx, res.name, "getsockname", ("value", repr(_ask(ctx, res, "getsockname"))))


@COMMANDS.command(
    "getpeername",
    "the address of the peer a socket is connected to, as getpeername() returns it",
    args=(ANY_SOCKET,),
    calls=("socket.getpeername",),
    examples=("getpeername c",),
    setup=SETUP,
    details="A socket that is not connected (a listener, a bare or unconnected udp "
    "socket) has no peer: the call raises ENOTCONN. A socketpair's peer has no name: ''.",
)
def _getpeername(ctx: Invocation) -> None:
    res: Sock = ctx["name"]
    _returned(ctx, res.name, "getpeername", ("value", repr(_ask(ctx, res, "getpeername"))))


@COMMANDS.command(
    "gettimeout",
    "the socket's own timeout, as gettimeout() returns it",
    args=(ANY_SOCKET,),
    calls=("socket.gettimeout",),
    examples=("gettimeout c",),
    setup=SETUP,
    details="None: blocking (each command still waits only its --timeout S); 0.0: "
    "non-blocking; a number: blocking calls raise TimeoutError after that many "
    "seconds. settimeout and setblocking change it.",
)
def _gettimeout(ctx: Invocation) -> None:
    res: Sock = ctx["name"]
    value = _ask(ctx, res, "gettimeout")
    meaning = ("blocking: each command waits its own --timeout S" if value is None else
               "non-blocking: a call that would wait raises BlockingIOError" if value == 0
               else f"blocking calls raise TimeoutError after {value:g} s")  # fmt: skip
    _returned(ctx, res.name, "gettimeout", ("value", repr(value)), meaning)


@COMMANDS.command(
    "fileno",
    "the socket's file descriptor, as fileno() returns it",
    args=(Arg("NAME", ResourceOf(*SOCKET_KINDS, *LISTENER_KINDS, "file")),),
    calls=("socket.fileno",),
    examples=("fileno c",),
    setup=SETUP,
    details="The number the kernel knows the socket by: what select, poll and fromfd "
    "take, and what a child is handed (pass_fds). A makefile object answers its "
    "socket's.",
)
def _fileno(ctx: Invocation) -> None:
    res = ctx["name"]
    if res.kind == "file":
        fd = traced(ctx, "SocketIO.fileno", res.obj.fileno)
    else:
        fd = _ask(ctx, res, "fileno")
    _returned(ctx, res.name, "fileno", volatile(str(fd), f"{res.name}.fd", "value"))
