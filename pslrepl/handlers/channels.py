"""What each built-in stream handler does under --selectors, as a channel of one loop."""

from __future__ import annotations

import os
import selectors
import socket
import time

from pslrepl.handlers.base import CHUNK
from pslrepl.handlers.chat import LINE_LIMIT
from pslrepl.handlers.selecting import HIGH_WATER, RECV, SEND, Channel
from pslrepl.handlers.simple import chargen_line
from pslrepl.handlers.web_channel import HttpChannel

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class EchoChannel(Channel):
    def received(self, data: bytes) -> None:
        self.write(data)

    def on_read(self) -> None:
        """Channel.on_read and write in one call while nothing waits to be sent: recv,
        send back at once, both counted and logged (a round trip of the bare selectors
        echo, and its records). Anything else (EOF, an error, a queue, a partial send)
        goes the general way."""
        conn = self.conn
        if self.out or self.closing or conn is None:
            Channel.on_read(self)
            return
        sock = self.sock
        try:
            data = RECV(sock, CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.loop.lost(self, exc)
            return
        self.last = self.loop.now
        if not data:
            self.reading = False
            self.eof()
            self.update()
            return
        self.record(conn, "in", data)
        try:
            sent = SEND(sock, data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as exc:
            self.loop.lost(self, exc)
            return
        if sent:
            self.record(conn, "out", data if sent == len(data) else data[:sent])
        if sent < len(data):  # the rest waits for room, as Channel.write queues it
            self.out += data[sent:]
            self.update()


class UpperChannel(Channel):
    def received(self, data: bytes) -> None:
        self.write(data.upper())


class DiscardChannel(Channel):
    """discard and capture: read and drop (the log keeps what came)."""


class DaytimeChannel(Channel):
    def opened(self) -> None:
        self.write(time.ctime().encode() + b"\r\n")
        self.finish()


class ChargenChannel(Channel):
    """The pattern, a batch whenever the client has read the last; what it sends is read
    and dropped, so its EOF ends the channel as a closed connection does."""

    def opened(self) -> None:
        self.n = 0
        self.drained()

    def drained(self) -> None:
        # Queued, never sent at once: the next batch comes when the selector says the
        # socket has room (sent at once, nothing would ask for the one after).
        self.out += b"".join(chargen_line(self.n + i) for i in range(64))
        self.n += 64
        self.update()


class ChatChannel(Channel):
    """A member of the loop's room: what asynchat's async_chat did, line by line. One
    thread sends to every member, so a line goes into each other member's queue at
    once; a member that falls HIGH_WATER behind is closed (IRC's "SendQ exceeded")."""

    def opened(self) -> None:
        self.name = (self.conn.addr if self.conn is not None else "a client").encode()
        self.pending = b""
        self.loop.room[id(self)] = self
        self.say(b"* " + self.name + b" joined\n")

    def say(self, line: bytes) -> None:
        room: dict[int, ChatChannel] = self.loop.room
        for member in list(room.values()):
            if member is self:
                continue
            member.write(line)
            if len(member.out) > HIGH_WATER and member is not self:
                self.psl.note(f"chat: client {member.name.decode()} fell "
                              f"{HIGH_WATER >> 10} KiB behind (it reads slower than the "
                              "room talks): closed it")  # fmt: skip
                member.out.clear()
                self.loop.drop(member)

    def received(self, data: bytes) -> None:
        self.pending += data
        while b"\n" in self.pending:
            line, self.pending = self.pending.split(b"\n", 1)
            self.say(self.name + b": " + line + b"\n")
        if len(self.pending) > LINE_LIMIT:  # a "line" that never ends: pass it on in parts
            self.say(self.name + b": " + self.pending + b"\n")
            self.pending = b""

    def eof(self) -> None:
        self.leave()
        super().eof()

    def leave(self) -> None:
        room: dict[int, ChatChannel] = self.loop.room
        if room.pop(id(self), None) is not None:
            self.say(b"* " + self.name + b" left\n")

    def closed(self) -> None:
        self.leave()


class Pipe(Channel):
    """One side of forward: what it reads goes to its peer; its EOF becomes the peer's
    half-close once the peer has sent what it holds. Reading stops while the peer's
    queue is past HIGH_WATER."""

    peer: Pipe
    connecting = False
    got_eof = False
    shut_pending = False
    shut_done = False

    def received(self, data: bytes) -> None:
        self.peer.write(data)

    def write(self, data: bytes) -> None:
        if data:
            self.out += data
            self.update()

    def update(self) -> None:
        if self.connecting:  # writable once connect() has finished, either way
            if self.mask != selectors.EVENT_WRITE:
                self.loop.watch(self, selectors.EVENT_WRITE)
            return
        peer = getattr(self, "peer", None)
        self.reading = not self.got_eof and (peer is None or len(peer.out) < HIGH_WATER)
        mask = (selectors.EVENT_READ if self.reading else 0) | (
            selectors.EVENT_WRITE if self.out else 0
        )
        if mask != self.mask and self.loop.channels.get(id(self)) is self:
            self.loop.watch(self, mask)

    def eof(self) -> None:
        self.got_eof = True
        self.peer.end_after_send()
        self.both_done()

    def end_after_send(self) -> None:
        self.shut_pending = True
        if not self.out and not self.connecting:
            self.shut()

    def shut(self) -> None:
        if self.shut_done:
            return
        self.shut_done = True
        try:
            self.sock.shutdown(socket.SHUT_WR)  # pass the half-close on
        except OSError:
            pass
        self.both_done()

    def both_done(self) -> None:
        if self.got_eof and self.peer.got_eof and self.shut_done and self.peer.shut_done:
            self.loop.drop(self)

    def drained(self) -> None:
        if self.shut_pending:
            self.shut()
        self.peer.update()  # it may read again

    def closed(self) -> None:
        self.loop.drop(self.peer)


class Upstream(Pipe):
    """forward's connection to its target."""

    peer: ForwardChannel

    def __init__(self, loop: Any, sock: socket.socket, client: ForwardChannel) -> None:
        super().__init__(loop, sock, None)
        self.peer = client
        self.connecting = True

    def on_write(self) -> None:
        if self.connecting:
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.peer.unreachable(OSError(err, os.strerror(err)))
                return
            self.connecting = False
            if not self.out:
                if self.shut_pending:
                    self.shut()
                self.update()
                return
        super().on_write()

    def closed(self) -> None:
        self.sock.close()  # no client of the server's: closed here, not counted
        super().closed()


class ForwardChannel(Pipe):
    """forward:ADDR: a non-blocking connect to the target, then bytes both ways."""

    peer: Upstream

    def opened(self) -> None:
        target = self.loop.server.RequestHandlerClass.target
        up = socket.socket(socket.AF_INET6 if ":" in target[0] else socket.AF_INET)
        up.setblocking(False)
        self.peer = Upstream(self.loop, up, self)
        self.loop.channels[id(self.peer)] = self.peer
        try:
            up.connect(target)
        except BlockingIOError:
            pass
        except OSError as exc:
            self.unreachable(exc)
            return
        self.peer.update()
        self.update()

    def unreachable(self, exc: OSError) -> None:
        from pslrepl.addresses import format_addr
        from pslrepl.errors import describe_oserror

        target = self.loop.server.RequestHandlerClass.target
        self.psl.note(f"forward: can't reach {format_addr(target)} for client "
                      f"{self.conn.addr if self.conn else 'a client'}: "
                      f"{describe_oserror(exc)}; closed that client")  # fmt: skip
        self.loop.drop(self)


CHANNELS: dict[str, type[Channel]] = {
    "echo": EchoChannel,
    "upper": UpperChannel,
    "discard": DiscardChannel,
    "capture": DiscardChannel,
    "daytime": DaytimeChannel,
    "chargen": ChargenChannel,
    "chat": ChatChannel,
    "forward": ForwardChannel,
    "http": HttpChannel,
}
