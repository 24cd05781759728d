"""Receiving on a socket: recv and recvfrom, and the read loop that recv and expect share."""

from __future__ import annotations

import socket
import time

from pslrepl.addresses import format_addr
from pslrepl.commands.groups import SOCKETS
from pslrepl.commands.options import SHOW_HEX, SHOW_REPR, TIMEOUT
from pslrepl.commands.socket_common import socket_error, wait_readable
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import PslError, Timeout, UsageError
from pslrepl.kinds import Int, ResourceOf
from pslrepl.render import plural, preview
from pslrepl.resources.sockets import PEEK, SOCKET_KINDS, traced, traced_as
from pslrepl.results import Output, Styled, Text

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.resources.sockets import Sock

COMMANDS = Commands(SOCKETS)

DEFAULT_BUFSIZE = 65536
# recv allocates BUFSIZE bytes before it reads: past 64 MiB a typo, not a buffer.
MAX_BUFSIZE = 1 << 26
EXPECT_WINDOW = 1 << 20  # expect on a socket looks at most 1 MiB for its match
BUFSIZE = Arg("BUFSIZE", Int(1, MAX_BUFSIZE), optional=True)


def _recv_once(ctx: Invocation, res: Sock, size: int, flags: int = 0) -> bytes:
    """One recv system call (or SSLSocket.recv), recorded; errors as one line."""
    data: bytes = recv_call(ctx, res, "recv", None, b"", size, *((flags,) if flags else ()))
    return data


def _recv_datagram(ctx: Invocation, res: Sock, size: int) -> tuple[bytes, int]:
    """One datagram, up to ``size`` bytes of it, and its whole length. On Linux,
    MSG_TRUNC makes the call return the datagram's real length, so a cut is known (with
    recv_into: recv would hand back a bytes object that long, unfilled past ``size``);
    elsewhere the length is what was read."""
    import sys

    buf = bytearray(size)
    if not sys.platform.startswith("linux"):
        n = recv_call(ctx, res, "recv_into", f"bytearray({size}), {size}", 0, buf, size)
        return bytes(buf[:n]), n
    n = recv_call(ctx, res, "recv_into", f"bytearray({size}), {size}, socket.MSG_TRUNC", 0,
                  buf, size, socket.MSG_TRUNC)  # fmt: skip
    return bytes(buf[: min(n, size)]), n


def recv_call(ctx: Invocation, res: Sock, method: str, shown: str | None, eof: Any,
              *args: Any) -> Any:  # fmt: skip
    """One receiving call on the socket (recv, recv_into, recvfrom_into...), recorded
    (its arguments as ``shown``, when given: a buffer by its name); errors as one line.
    ``eof``: what it returns when a TLS peer closed without close_notify."""
    tls = res.tls
    func = f"{'SSLSocket' if tls else 'socket'}.{method}"
    fn = getattr(res.sock, method)
    try:
        if shown is None:
            return traced(ctx, func, fn, *args)
        return traced_as(ctx, func, shown, fn, *args)
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
            return eof  # the peer closed the connection without TLS's close_notify
        raise socket_error(res.name, exc, op="recv") from None


def take_bytes(ctx: Invocation, res: Sock, n: int, *, peek: bool = False) -> bytes:
    """Up to ``n`` bytes that a read returns now: those held first, then one recv (with
    MSG_PEEK: looked at, left in the kernel). b'' at EOF."""
    if res.held:
        return res.take_held(n, peek=peek)
    exc = res.take_error()  # a reset a read ahead met: logged as met here (timeline)
    if exc is not None:
        raise socket_error(res.name, exc, op="recv")
    if not res.tls:
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
    """What a read took: the bytes, whether it ended at EOF, the match (expect), and a
    datagram's whole length where the read cut it (else 0)."""

    __slots__ = ("data", "eof", "match", "whole")

    def __init__(self, data: bytes, eof: bool, match: re.Match[bytes] | None = None,
                 whole: int = 0) -> None:  # fmt: skip
        self.data = data
        self.eof = eof
        self.match = match
        self.whole = whole


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
    whole = 0
    res.begin_read()
    try:
        while True:
            wait_readable(ctx, res, deadline, what, got)
            if mode == "" and not res.byte_stream and not res.tls and not res.has_held():
                chunk, length = _recv_datagram(ctx, res, size)
                whole = length if length > len(chunk) else 0
            elif mode in ("", "all"):
                chunk = take_bytes(ctx, res, size)
            else:
                head = take_bytes(ctx, res, size, peek=True)
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
                chunk = take_bytes(ctx, res, take) if head else b""
            if not chunk:
                eof = res.byte_stream
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
    return Received(data, eof, match, whole)


@COMMANDS.command(
    "recv",
    "receive (socket.recv): what has arrived, up to BUFSIZE",
    args=(Arg("NAME", ResourceOf(*SOCKET_KINDS)), BUFSIZE),
    opts=(
        Opt("--line", "receive through a newline", exclusive="mode"),
        Opt("--until", "receive through TEXT", "TEXT", exclusive="mode"),
        Opt("--all", "receive until the peer closes (EOF)", exclusive="mode"),
        TIMEOUT,
        SHOW_HEX,
        SHOW_REPR,
    ),
    calls=("socket.recv", "socket.recv_into"),
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
    "timed out, or Ctrl-C, is kept: the next recv returns it first. On a datagram "
    "socket each recv is one datagram: on Linux it is read with recv_into and MSG_TRUNC, "
    "which returns the datagram's whole length, so a datagram longer than BUFSIZE is "
    "said to be cut (its rest is lost), and an empty one is said as such (no EOF).",
)
def _recv(ctx: Invocation) -> None:
    res: Sock = ctx["name"]
    mode = "line" if ctx["line"] else "all" if ctx["all"] else "until" if ctx["until"] else ""
    until = b"\n" if mode == "line" else ctx.data("until") if mode == "until" else b""
    if mode == "until" and not until:
        raise UsageError("recv: --until needs some text to wait for")
    if mode and not res.byte_stream:
        raise UsageError(f"recv: --{mode} reads a byte stream; {res.name} is {res.kind}: "
                         "each recv is one datagram")  # fmt: skip
    size = ctx["bufsize"] or DEFAULT_BUFSIZE
    got = read_stream(ctx, res, mode=mode, size=size, until=until)
    data = got.data
    pitfalls = ctx.session.pitfalls
    said = pitfalls.received(res.sock, res.name, len(data), pitfalls.peer(ctx.session, res.sock),
                             quiet=bool(mode))  # fmt: skip
    if data:
        ctx.emit(Output(data, "data", mode=ctx.display()))
        if ctx.display() != "repr":  # a repr's line ends with its count already
            ctx.emit(Text(f"({plural(len(data), 'byte')})", "notice"))
    elif not res.byte_stream:  # b'' is no EOF here: a datagram may be empty
        ctx.emit(Text("(0 bytes: an empty datagram)", "notice"))
    if got.eof:
        note = "EOF: the peer closed its side (recv returned b'')"
        if data and mode in ("line", "until"):
            note = f"{note} before the {'newline' if mode == 'line' else 'match'}"
        ctx.emit(Text(note, "notice"))
    if got.whole:
        lost = got.whole - len(data)
        rest = "the last byte of it is" if lost == 1 else f"the last {lost:,} bytes of it are"
        ctx.say(f"warning: the datagram was {got.whole:,} bytes, longer than {size:,}: "
                f"{rest} lost (MSG_TRUNC)", "warning")  # fmt: skip
        unix = res.sock.family == socket.AF_UNIX
        said = ctx.session.pitfalls.note("msg-trunc", unix=unix) or said
    if said:
        ctx.say(said, "note")


@COMMANDS.command(
    "recvfrom",
    "receive one datagram and show who sent it",
    args=(Arg("NAME", ResourceOf("udp", "unix-dgram", "tcp", "unix")), BUFSIZE),
    opts=(TIMEOUT, SHOW_HEX, SHOW_REPR),
    calls=("socket.recvmsg",),
    examples=("recvfrom u", "recvfrom u 4"),
    setup=("udp open u --bind 0", "udp open v", "sendto v u hello", "sendto v u again"),
)
def _recvfrom(ctx: Invocation) -> None:
    res: Sock = ctx["name"]
    size: int = ctx["bufsize"] or DEFAULT_BUFSIZE
    res.begin_read()
    data = b""
    try:
        wait_readable(ctx, res, time.monotonic() + ctx.timeout, "a datagram")
        if res.has_held():  # a stream's bytes a recv took and kept: its peer sent them
            data, flags, peer = take_bytes(ctx, res, size), 0, res.sock.getpeername()
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
        said = ctx.session.pitfalls.note("msg-trunc", unix=res.sock.family == socket.AF_UNIX)
        if said:
            ctx.say(said, "note")
