"""A socket's state and settings: shutdown, sockopt, settimeout, setblocking, and dup."""

from __future__ import annotations

import socket

from pslrepl.commands.groups import SOCKETS
from pslrepl.commands.socket_common import (
    C_INT,
    LEVELS,
    SOCKOPT,
    TIMEOUT_VALUE,
    new_socket,
    socket_error,
)
from pslrepl.commandspec import Arg, Commands
from pslrepl.errors import PslError, UsageError
from pslrepl.events import Event
from pslrepl.kinds import NEW, TEXT, Choice, ResourceOf
from pslrepl.resources.sockets import LISTENER_KINDS, SOCKET_KINDS, traced, traced_as
from pslrepl.results import Styled

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import Invocation
    from pslrepl.resources.sockets import Sock

COMMANDS = Commands(SOCKETS)

ANY_SOCKET = Arg("NAME", ResourceOf(*SOCKET_KINDS, *LISTENER_KINDS))
ECHO_SETUP = ("serve web tcp 0 --handler echo", "tcp connect c web")
HOW = {"rd": socket.SHUT_RD, "wr": socket.SHUT_WR, "rdwr": socket.SHUT_RDWR}


@COMMANDS.command(
    "shutdown",
    "close one direction: rd, wr or rdwr",
    args=(Arg("NAME", ResourceOf(*SOCKET_KINDS)), Arg("HOW", Choice(tuple(HOW)))),
    calls=("socket.shutdown",),
    examples=("shutdown c wr",),
    setup=ECHO_SETUP,
)
def _shutdown(ctx: Invocation) -> None:
    res: Sock = ctx["name"]
    how: str = ctx["how"]
    # Marked before the call: the socket turns readable the moment reading is shut
    # down, and the watcher must not take that for the peer's EOF.
    with res.lock:
        before = set(res.shut)
        res.shut.update(("rd", "wr") if how == "rdwr" else (how,))
    try:
        traced_as(ctx, "socket.shutdown", f"socket.SHUT_{how.upper()}", res.sock.shutdown,
                  HOW[how])  # fmt: skip
    except OSError as exc:
        with res.lock:
            res.shut = before
        raise socket_error(res.name, exc, op="shutdown", kind=res.kind, shut=before) from None
    # For `log` only: the command's own answer already says it (not a live "note").
    res.post(Event(res.name, "shutdown", how=how))
    what = {"rd": "no more receiving", "wr": "the peer will read EOF", "rdwr": "both ways"}
    ctx.emit(Styled((("name", res.name), ("", f": shut down {how}: {what[how]}"))))


@COMMANDS.command(
    "sockopt",
    "get, or set then get, a socket option by name",
    args=(ANY_SOCKET, Arg("OPTION", SOCKOPT), Arg("VALUE", TEXT, optional=True)),
    calls=("socket.getsockopt", "socket.setsockopt"),
    examples=("sockopt c TCP_NODELAY", "sockopt c TCP_NODELAY on", "sockopt c SO_RCVBUF"),
    setup=ECHO_SETUP,
)
def _sockopt(ctx: Invocation) -> None:
    res: Sock = ctx["name"]
    option = ctx["option"].upper()
    level_name = next((lvl for prefix, lvl in LEVELS if option.startswith(prefix)), None)
    number = getattr(socket, option, None)
    if level_name is None or not isinstance(number, int):
        raise UsageError(f"sockopt: unknown option {ctx['option']!r}; try SO_REUSEADDR, "
                         "SO_RCVBUF, TCP_NODELAY (Tab lists them)")  # fmt: skip
    level = getattr(socket, level_name)
    names = f"socket.{level_name}, socket.{option}"  # as a reader writes them, not 1, 2
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
            traced_as(ctx, "socket.setsockopt", f"{names}, {raw}", res.sock.setsockopt, level,
                      number, raw)  # fmt: skip
        got = traced_as(ctx, "socket.getsockopt", names, res.sock.getsockopt, level, number)
    except OSError as exc:
        raise socket_error(res.name, exc, op="sockopt", kind=res.kind) from None
    ctx.emit(Styled((("name", res.name), ("", f": {level_name}.{option} = {got}"))))


@COMMANDS.command(
    "settimeout",
    "the socket's own timeout: S seconds, 0, or none",
    args=(ANY_SOCKET, Arg("S", TIMEOUT_VALUE)),
    calls=("socket.settimeout",),
    examples=("settimeout c 0.5", "settimeout c none"),
    setup=ECHO_SETUP,
)
def _settimeout(ctx: Invocation) -> None:
    res: Sock = ctx["name"]
    value: float | None = ctx["s"]
    traced(ctx, "socket.settimeout", res.sock.settimeout, value)
    text = "None: blocking, each command waits its own --timeout" if value is None else (
        f"{value:g} s: blocking calls raise TimeoutError after it" if value else
        "0: non-blocking, a call that would wait raises BlockingIOError")  # fmt: skip
    ctx.emit(Styled((("name", res.name), ("", f": timeout {text}"))))


@COMMANDS.command(
    "setblocking",
    "blocking on or off",
    args=(ANY_SOCKET, Arg("FLAG", Choice(("on", "off")))),
    calls=("socket.setblocking",),
    examples=("setblocking c off",),
    setup=ECHO_SETUP,
)
def _setblocking(ctx: Invocation) -> None:
    res: Sock = ctx["name"]
    flag = ctx["flag"] == "on"
    traced(ctx, "socket.setblocking", res.sock.setblocking, flag)
    state = ": blocking" if flag else ": non-blocking (timeout 0)"
    ctx.emit(Styled((("name", res.name), ("", state))))


@COMMANDS.command(
    "dup",
    "a second socket on the same connection",
    args=(ANY_SOCKET, Arg("NEWNAME", NEW)),
    calls=("socket.dup",),
    examples=("dup c c2",),
    setup=ECHO_SETUP,
)
def _dup(ctx: Invocation) -> None:
    res: Sock = ctx["name"]
    if res.tls:
        # One TLS session can't be driven from two sockets: ssl refuses (NotImplementedError).
        raise PslError(
            f"dup: {res.name} is TLS, and an SSLSocket can't be duplicated: its "
            "TLS state lives in one object; dup the TCP socket before tls wrap"
        )
    try:
        new = traced(ctx, "socket.dup", res.sock.dup)
    except OSError as exc:
        raise socket_error(res.name, exc) from None
    new_socket(ctx, ctx["newname"], new, kind=res.kind, origin=f"dup of {res.name}")
