"""Receiving into a buffer you own: recv_into and recvfrom_into, showing the buffer filled."""

from __future__ import annotations

import time

from pslrepl.addresses import format_addr
from pslrepl.commands.groups import SOCKETS
from pslrepl.commands.options import TIMEOUT
from pslrepl.commands.receiving import MAX_BUFSIZE, recv_call, take_bytes
from pslrepl.commands.socket_common import wait_readable
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import UsageError
from pslrepl.kinds import Int, ResourceOf
from pslrepl.render import plural, preview
from pslrepl.resources.sockets import SOCKET_KINDS
from pslrepl.results import Styled

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import Invocation
    from pslrepl.resources.sockets import Sock
    from pslrepl.results import Fragment

COMMANDS = Commands(SOCKETS)

DEFAULT_SIZE = 64  # a buffer small enough to show whole
SHOWN = 64  # bytes of the filled part shown; the rest is counted
NBYTES = Arg("NBYTES", Int(0, MAX_BUFSIZE), optional=True)
SIZE = Opt("--size", f"the buffer's size (default: NBYTES, or {DEFAULT_SIZE})", "N",
           kind=Int(1, MAX_BUFSIZE))  # fmt: skip
DETAILS = (
    "The shell makes buf = bytearray(SIZE), the call fills it from the start and returns "
    "how many bytes it wrote; NBYTES (0 or left out: the whole buffer) caps that. The "
    "buffer is shown with its filled part first, as a bytearray expression. What did "
    "not fit stays for the next read."
)


def _buffer(ctx: Invocation) -> tuple[bytearray, int]:
    """buf = bytearray(SIZE), recorded for explain, and the NBYTES to ask for."""
    nbytes: int = ctx["nbytes"] or 0
    size: int = ctx["size"] or nbytes or DEFAULT_SIZE
    if nbytes > size:
        # recv_into raises ValueError ("buffer too small for requested bytes").
        raise UsageError(f"{ctx.command.name}: NBYTES {nbytes} is more than the buffer's "
                         f"{plural(size, 'byte')}: give --size {nbytes} or more")  # fmt: skip
    buf = bytearray(size)
    ctx.name(buf, "buf")
    ctx.record("bytearray", str(size), buf)
    return buf, nbytes


def _shown_args(nbytes: int) -> str:
    return f"buf, {nbytes}" if nbytes else "buf"


def _show_buffer(ctx: Invocation, buf: bytearray, n: int) -> None:
    """buf as an expression that makes it: the filled part, then the untouched zeros."""
    filled = bytes(buf[:n])
    head = preview(filled, SHOWN) + (f" ({plural(n, 'byte')})" if n > SHOWN else "")
    parts: list[Fragment] = [("key", "buf = bytearray(")]
    if n:
        parts.append(("data", head))
    if n < len(buf):
        parts.append(("notice", f"{' + ' if n else ''}b'\\x00' * {len(buf) - n}"))
    parts.append(("key", ")"))
    ctx.emit(Styled(tuple(parts)))


def _filled(buf: bytearray, n: int) -> str:
    if n == len(buf):
        return f"all {plural(len(buf), 'byte')} of buf filled"
    return f"buf[:{n}] filled, {len(buf) - n} of its {plural(len(buf), 'byte')} untouched"


def _from_held(ctx: Invocation, res: Sock, buf: bytearray, nbytes: int, method: str) -> int:
    """Bytes a read ahead took (TLS's, or a recv that timed out): copied in, as the call
    would have filled buf with them."""
    data = take_bytes(ctx, res, nbytes or len(buf))
    buf[: len(data)] = data
    ctx.record(f"socket.{method}", _shown_args(nbytes), len(data), on=res.sock, exact=False,
               note="the bytes an earlier read took from the socket, copied in")  # fmt: skip
    return len(data)


@COMMANDS.command(
    "recv_into",
    "receive into a buffer: buf = bytearray(SIZE); recv_into(buf, NBYTES)",
    args=(Arg("NAME", ResourceOf(*SOCKET_KINDS)), NBYTES),
    opts=(SIZE, TIMEOUT),
    calls=("socket.recv_into",),
    examples=("recv_into c 5 --size 24", "recv_into c"),
    setup=("serve gen tcp 0 --handler chargen", "tcp connect c gen"),
    details=DETAILS,
)
def _recv_into(ctx: Invocation) -> None:
    res: Sock = ctx["name"]
    buf, nbytes = _buffer(ctx)
    n = 0
    res.begin_read()
    try:
        wait_readable(ctx, res, time.monotonic() + ctx.timeout, "data")
        if res.has_held():
            n = _from_held(ctx, res, buf, nbytes, "recv_into")
        else:
            n = recv_call(ctx, res, "recv_into", _shown_args(nbytes), 0, buf, nbytes)
    finally:
        res.end_read(taken=n, eof=n == 0 and res.byte_stream and len(buf) > 0)
    if n:
        res.traffic("recv", "in", bytes(buf[:n]))
    if n == 0 and res.byte_stream:
        text = "EOF: the peer closed its side; buf untouched"
    else:
        text = _filled(buf, n)
    ctx.emit(Styled((("name", res.name), ("", f": recv_into returned {n}: {text}"))))
    _show_buffer(ctx, buf, n)


@COMMANDS.command(
    "recvfrom_into",
    "receive a datagram into a buffer, and its sender: (nbytes, address)",
    args=(Arg("NAME", ResourceOf(*SOCKET_KINDS)), NBYTES),
    opts=(SIZE, TIMEOUT),
    calls=("socket.recvfrom_into",),
    examples=("recvfrom_into u 4 --size 8", "recvfrom_into u"),
    setup=("udp open u --bind 0", "udp open v", "sendto v u hello", "sendto v u again"),
    details=DETAILS + " A datagram longer than NBYTES is cut, and the rest is lost: the "
    "shell asks its size first (FIONREAD) and warns.",
)
def _recvfrom_into(ctx: Invocation) -> None:
    res: Sock = ctx["name"]
    buf, nbytes = _buffer(ctx)
    n, peer, coming = 0, None, None
    res.begin_read()
    try:
        wait_readable(ctx, res, time.monotonic() + ctx.timeout, "a datagram")
        if res.has_held():  # a stream's bytes a recv took and kept: its peer sent them
            n, peer = _from_held(ctx, res, buf, nbytes, "recvfrom_into"), res.sock.getpeername()
        else:
            coming = None if res.byte_stream else res.unread()  # the next datagram's size
            got = recv_call(ctx, res, "recvfrom_into", _shown_args(nbytes), (0, None), buf,
                            nbytes)  # fmt: skip
            n, peer = got
    finally:
        res.end_read(taken=n)
    res.traffic("recv", "in", bytes(buf[:n]), peer=format_addr(peer))
    ctx.emit(
        Styled(
            (
                ("name", res.name),
                ("", f": recvfrom_into returned ({n}, {peer!r}): "),
                ("", _filled(buf, n)),
            )
        )
    )
    _show_buffer(ctx, buf, n)
    if coming is not None and coming > n:
        lost = f"the {coming - n} that did not fit are lost (a datagram is read whole or cut)"
        ctx.say(f"warning: the datagram was {plural(coming, 'byte')}: {lost}", "warning")
