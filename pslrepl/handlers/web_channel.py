"""http under --selectors: http.server's handler answers each request from a buffer, and
the loop sends the answer, a file a chunk at a time, without blocking."""

from __future__ import annotations

import io
import os

from pslrepl.handlers.base import CHUNK
from pslrepl.handlers.selecting import HIGH_WATER, Channel

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO

HEAD_LIMIT = 65536  # bytes of request line and headers at most (431 past that)
TOO_LARGE = (b"HTTP/1.0 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n"
             b"Connection: close\r\n\r\n")  # fmt: skip


class HttpChannel(Channel):
    """One http client: its bytes gathered until a request's headers have come, then
    SimpleHTTPRequestHandler (the server's own class) answers it into a buffer; a
    file it serves is read a chunk at a time as the client takes it."""

    source: BinaryIO | None = None

    def opened(self) -> None:
        self.client = self.sock.getpeername()
        self.pending = b""
        self.answering = False
        self.keep_open = False

    def received(self, data: bytes) -> None:
        self.pending += data
        self.answer()

    def answer(self) -> None:
        while not self.closing and not self.answering:
            end = self.pending.find(b"\r\n\r\n")
            if end < 0:
                if len(self.pending) > HEAD_LIMIT:
                    self.write(TOO_LARGE)
                    self.finish()
                return
            request, self.pending = self.pending[: end + 4], self.pending[end + 4 :]
            self.serve(request)
            if self.answering or self.closing:
                return  # a file goes out first: drained() goes on once it has
            if not self.keep_open:
                self.finish()
                return

    def serve(self, request: bytes) -> None:
        """The server's handler class, run over one request; keep_open: whether the
        connection stays open for another (HTTP/1.1 keep-alive)."""
        server = self.loop.server
        buffered = self.loop.http_class
        if buffered is None:
            buffered = self.loop.http_class = buffered_class(server.RequestHandlerClass)
        handler = buffered((self.sock, self, request), self.client, server)
        self.keep_open = not handler.close_connection
        if self.source is not None:
            self.answering = True
            self.drained()

    def drained(self) -> None:
        source = self.source
        if source is None:
            return
        # A write can lose the client (a reset): closed() then closes the file, and
        # the loop stops rather than read it.
        while self.source is source and len(self.out) < HIGH_WATER // 2:
            chunk = source.read(CHUNK)
            if not chunk:
                source.close()
                self.source = None
                self.answering = False
                if self.keep_open:
                    self.answer()
                else:
                    self.finish()
                return
            self.write(chunk)

    def eof(self) -> None:
        if self.source is None:
            self.finish()

    def closed(self) -> None:
        if self.source is not None:
            self.source.close()
            self.source = None


def buffered_class(base: type[Any]) -> type[Any]:
    """The server's handler class, reading one request from a buffer and writing its
    answer to the channel; made once per server. Its request is (socket, channel, bytes)."""

    class Buffered(base):
        channel: HttpChannel
        request: Any

        def setup(self) -> None:
            self.connection, self.channel, data = self.request
            self.request = self.connection
            self.rfile = io.BytesIO(data)
            self.wfile = io.BytesIO()

        def handle(self) -> None:
            self.close_connection = True
            self.handle_one_request()

        def copyfile(self, source: Any, outputfile: Any) -> None:
            fileno = getattr(source, "fileno", None)
            if fileno is None:  # a listing, in memory
                outputfile.write(source.read())
                return
            # The file goes out as the client reads it: a copy of its descriptor, for
            # do_GET closes its own once this returns.
            self.channel.source = os.fdopen(os.dup(fileno()), "rb")

        def finish(self) -> None:
            self.channel.write(self.wfile.getvalue())

    Buffered.__name__ = Buffered.__qualname__ = base.__name__
    return Buffered
