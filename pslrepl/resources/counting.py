"""What a server's client sockets count: every byte a handler moves, whatever the handler."""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time

from pslrepl.events import Event

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.resources.servers import Server


def _forked() -> None:
    PID[0] = os.getpid()


# This process's pid, kept up to date across fork: os.getpid() is a system call (glibc
# no longer caches it), and traffic asks it for every chunk of every client.
PID = [os.getpid()]
os.register_at_fork(after_in_child=_forked)
MSG_PEEK = int(socket.MSG_PEEK)  # an int: the IntFlag's & is a Python call per chunk


class Connection:
    """One live client of a server."""

    __slots__ = ("addr", "since", "bytes_in", "bytes_out", "pid", "request", "thread", "member")

    def __init__(self, addr: str, request: Any) -> None:
        self.addr = addr
        self.since = time.time()
        self.bytes_in = 0
        self.bytes_out = 0
        self.pid: int | None = None
        self.request = request
        self.thread = threading.current_thread()
        self.member: Any = None  # chat: its place in the room


class Chunk(Event):
    """A chunk of a server's traffic, logged as a handler moves it: kept as one tuple,
    ``raw`` = (t, source, kind, direction, data, size, peer), and made into the Event
    that Event.traffic(source, kind, "client", direction, data, peer=peer) would be the
    first time anything reads it (log, timeline, export, a wait). A server logs two per
    round trip: building each Event as it came cost a server a third of its speed."""

    __slots__ = ("raw",)
    raw: tuple[float, str, str, str, bytes, int, str]

    def __getattr__(self, name: str) -> Any:
        # Called only for a slot not set yet: the Event's, until the first read sets them.
        if name not in _CHUNK_SLOTS:
            raise AttributeError(name)
        t, self.source, self.kind, self.direction, self.data, self.size, peer = self.raw
        self._detail, self.stream, self.fields, self.t = "", "client", {"peer": peer}, t
        return object.__getattribute__(self, name)


_CHUNK_SLOTS = frozenset(Event.__slots__)


class _NoWaiters:
    def traffic(self) -> None:
        """A forked child has no session to wake."""


class _ChildTally:
    """Counts a --forking child's bytes, where no event may be posted (see
    Server.traffic); the parent reads the totals when it reaps the child. It answers
    what a handler calls on a Server: traffic, record, and nudger.traffic."""

    nudger = _NoWaiters()

    def traffic(self, conn: Connection, direction: str, data: Any) -> None:
        if direction == "in":
            conn.bytes_in += len(data)
        else:
            conn.bytes_out += len(data)

    record = traffic  # counted, and that is all a child does


CHILD_TALLY = _ChildTally()


class _Counting:
    """What a server's client socket reports: every byte the handler receives or sends,
    whatever the handler (built-in, http.server's, a user's), through recv, recv_into,
    send, sendall, or a makefile() over them. The server sets psl_conn per socket."""

    psl_server: Server | _ChildTally
    psl_conn: Connection | None = None

    def _count(self, direction: str, data: Any, size: int, flags: int = 0) -> None:
        if self.psl_conn is None or size <= 0 or (flags and flags & MSG_PEEK):
            return
        if not isinstance(data, bytes):
            data = memoryview(data).cast("B")
        self.psl_server.traffic(self.psl_conn, direction, data[:size])

    def recv(self, bufsize: int = 1024, flags: int = 0) -> bytes:
        try:
            data: bytes = super().recv(bufsize, flags)  # type: ignore[misc]
        except BlockingIOError:
            raise idle_timeout() from None
        self._count("in", data, len(data), flags)
        return data

    def recv_into(self, buffer: Any, nbytes: int | None = 0, flags: int = 0) -> int:
        try:
            n: int = super().recv_into(buffer, nbytes or 0, flags)  # type: ignore[misc]
        except BlockingIOError:
            raise idle_timeout() from None
        self._count("in", buffer, n, flags)
        return n

    def send(self, data: Any, flags: int = 0) -> int:
        try:
            n: int = super().send(data, flags)  # type: ignore[misc]
        except BlockingIOError:
            raise idle_timeout() from None
        self._count("out", data, n)
        return n


def idle_timeout() -> OSError:
    """What a blocking client socket raises when its SO_RCVTIMEO or SO_SNDTIMEO (--idle,
    server_class.idle_in_kernel) runs out: the kernel says EAGAIN, and a handler (or
    http.server, which says "Request timed out") expects settimeout's TimeoutError."""
    return TimeoutError("timed out")


class CountedSocket(_Counting, socket.socket):
    def sendall(self, data: Any, flags: int = 0) -> None:
        # Counted first: once sendall returns, the client may already be reading it.
        self._count("out", data, memoryview(data).nbytes)
        try:
            super().sendall(data, flags)
        except BlockingIOError:
            raise idle_timeout() from None


class CountedSSLSocket(_Counting, ssl.SSLSocket):
    """The same for TLS, counting the plaintext (SSLSocket's sendall loops over send)."""
