"""What every built-in handler is: described for `handlers`, and counted by its server."""

from __future__ import annotations

import socket
import socketserver

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar

CHUNK = 65536
RECV = socket.socket.recv
SENDALL = socket.socket.sendall


class Described:
    """What `handlers` says of a handler, kept on its class: the name --handler takes,
    what it does, and the PROTOs it can be served on."""

    name: ClassVar[str] = ""
    does: ClassVar[str] = ""
    streams: ClassVar[tuple[str, ...]] = ("tcp", "unix")  # none named: any
    # Its form for udp (a call per datagram), if it has one.
    datagram: ClassVar[type[DatagramTracked] | None] = None

    @classmethod
    def protocols(cls) -> list[str]:
        return sorted({*cls.streams, *(["udp"] if cls.datagram is not None else [])})

    @classmethod
    def description(cls) -> str:
        """One line for `handlers` and the completion menu."""
        protocols = cls.protocols()
        return f"{cls.does} ({', '.join(protocols)})" if protocols else cls.does


class Tracked(Described, socketserver.BaseRequestHandler):
    """A built-in stream handler. The server counts and logs every client's bytes at the
    socket (CountedSocket), and sees arrivals and departures itself."""

    server: Any
    plain = False  # a plain counting socket: recv and send count here, in one step

    def setup(self) -> None:
        self.psl = self.server.psl  # the Server resource
        from pslrepl.resources.counting import CountedSocket

        request = self.request
        # Not TLS (an SSLSocket's recv decrypts), and counted (its server set psl_conn).
        self.plain = type(request) is CountedSocket and request.psl_conn is not None

    @property
    def stream(self) -> socket.socket:
        return self.request

    def recv(self) -> bytes:
        if not self.plain:
            return self.stream.recv(CHUNK)
        # The socket's own recv, counted here: CountedSocket's method, a Python call
        # between, costs as much as the system call for a round trip's few bytes.
        request = self.request
        try:
            data = RECV(request, CHUNK)
        except BlockingIOError:  # --idle's SO_RCVTIMEO ran out (see counting.py)
            raise TimeoutError("timed out") from None
        if data:
            request.psl_server.traffic(request.psl_conn, "in", data)
        return data

    def send(self, data: bytes) -> None:
        if not self.plain:
            self.stream.sendall(data)
            return
        request = self.request
        request.psl_server.traffic(request.psl_conn, "out", data)  # first, as sendall's
        try:
            SENDALL(request, data)
        except BlockingIOError:  # --idle's SO_SNDTIMEO ran out
            raise TimeoutError("timed out") from None


class DatagramTracked(socketserver.BaseRequestHandler):
    """A datagram server's handler: one call per datagram, request = (data, socket)."""

    server: Any

    def handle(self) -> None:
        data, sock = self.request
        psl = self.server.psl
        psl.datagram(self, data)
        reply = self.answer(data)
        if reply is not None:
            sock.sendto(reply, self.client_address)
            psl.datagram(self, reply, out=True)

    def answer(self, data: bytes) -> bytes | None:
        return None
