"""The built-in socketserver request handlers, and loading a user's own from a file.

Each one is a real ``socketserver.BaseRequestHandler`` subclass. They report to the
server resource that runs them (connected, bytes, left, raised) as events; they never
print. asyncore and asynchat left the stdlib in 3.12: ``chat`` does what asynchat was
for (a line-based multi-client room) on a ThreadingMixIn server.
"""

from __future__ import annotations

import os
import socket
import socketserver
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

CHUNK = 65536
LINE_LIMIT = 65536  # chat: the most it holds of one client's unfinished line


class Tracked(socketserver.BaseRequestHandler):
    """A built-in stream handler. The server counts and logs every client's bytes at the
    socket (CountedSocket), and sees arrivals and departures itself."""

    server: Any

    def setup(self) -> None:
        self.psl = self.server.psl  # the Server resource

    @property
    def stream(self) -> socket.socket:
        return self.request

    def recv(self) -> bytes:
        return self.stream.recv(CHUNK)

    def send(self, data: bytes) -> None:
        self.stream.sendall(data)


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


class Echo(Tracked):
    """Sends back every byte it receives, until the client closes."""

    def handle(self) -> None:
        while data := self.recv():
            self.send(data)


class Discard(Tracked):
    """Reads and drops everything (RFC 863)."""

    def handle(self) -> None:
        while self.recv():
            pass


class Upper(Tracked):
    """Sends back what it receives in upper case."""

    def handle(self) -> None:
        while data := self.recv():
            self.send(data.upper())


class Daytime(Tracked):
    """Sends the date and time as text, then closes (RFC 867)."""

    def handle(self) -> None:
        self.send(time.ctime().encode() + b"\r\n")


def chargen_line(n: int) -> bytes:
    """Line n of RFC 864's pattern: 72 of the 95 printable characters, rotating by one."""
    printable = bytes(range(32, 127))
    start = n % len(printable)
    return (printable * 2)[start : start + 72] + b"\r\n"


class Chargen(Tracked):
    """Sends RFC 864's rotating character pattern until the client closes."""

    def handle(self) -> None:
        n = 0
        try:
            while True:
                self.send(b"".join(chargen_line(n + i) for i in range(64)))
                n += 64
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client closed: that is how chargen ends


class Capture(Tracked):
    """Keeps what clients send (see `log`), answers nothing."""

    def handle(self) -> None:
        while self.recv():
            pass


class Chat(Tracked):
    """A line-based room: each line goes to every other client, prefixed by the sender."""

    def handle(self) -> None:
        name = f"{self.client_address[0]}:{self.client_address[1]}".encode()
        self.psl.broadcast(self, b"* " + name + b" joined\n")
        pending = b""
        while data := self.recv():
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                self.psl.broadcast(self, name + b": " + line + b"\n")
            if len(pending) > LINE_LIMIT:  # a "line" that never ends: pass it on in parts
                self.psl.broadcast(self, name + b": " + pending + b"\n")
                pending = b""
        self.psl.broadcast(self, b"* " + name + b" left\n")


class Forward(Tracked):
    """A TCP proxy: each client gets its own connection to the target; bytes both ways."""

    target: tuple[str, int] = ("127.0.0.1", 0)

    def handle(self) -> None:
        import selectors

        try:
            upstream = socket.create_connection(self.target, timeout=10)
        except OSError as exc:  # the network, not a bug in the handler: one line
            from pslrepl.addresses import format_addr
            from pslrepl.errors import describe_oserror

            self.psl.note(f"forward: can't reach {format_addr(self.target)} for client "
                          f"{format_addr(self.client_address)}: {describe_oserror(exc)}; "
                          "closed that client")  # fmt: skip
            return
        upstream.settimeout(None)
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(self.stream, selectors.EVENT_READ, upstream)
                sel.register(upstream, selectors.EVENT_READ, self.stream)
                open_ends = 2
                while open_ends:
                    for key, _ in sel.select():
                        src, dst = key.fileobj, key.data
                        assert isinstance(src, socket.socket)
                        data = src.recv(CHUNK)
                        if not data:
                            sel.unregister(src)
                            open_ends -= 1
                            try:
                                dst.shutdown(socket.SHUT_WR)  # pass the half-close on
                            except OSError:
                                pass
                            continue
                        dst.sendall(data)  # the client's socket counts both ways
        finally:
            upstream.close()


class UdpEcho(DatagramTracked):
    def answer(self, data: bytes) -> bytes | None:
        return data


class UdpUpper(DatagramTracked):
    def answer(self, data: bytes) -> bytes | None:
        return data.upper()


class UdpDaytime(DatagramTracked):
    def answer(self, data: bytes) -> bytes | None:
        return time.ctime().encode() + b"\r\n"


STREAM = {
    "echo": Echo, "discard": Discard, "upper": Upper, "daytime": Daytime,
    "chargen": Chargen, "capture": Capture, "chat": Chat,
}  # fmt: skip
DATAGRAM = {
    "echo": UdpEcho, "discard": DatagramTracked, "upper": UdpUpper, "daytime": UdpDaytime,
    "capture": DatagramTracked,
}  # fmt: skip
DESCRIPTIONS = {
    "echo": "sends back every byte it receives (tcp, udp, unix)",
    "discard": "reads and drops everything, RFC 863 (tcp, udp, unix)",
    "upper": "sends back what it receives in upper case (tcp, udp, unix)",
    "daytime": "sends the date and time, then closes, RFC 867 (tcp, udp, unix)",
    "chargen": "sends RFC 864's rotating pattern until the client closes (tcp, unix)",
    "http": "serves the working directory, or --dir DIR: GET and HEAD (tcp)",
    "chat": "a line-based room: each line to the other clients, asynchat's job (tcp, unix)",
    "capture": "keeps what clients send, for `log` (tcp, udp, unix)",
    "forward:ADDR": "a TCP proxy to ADDR or a listener's name (tcp, unix)",
    "python:FILE:CLASS": "your own BaseRequestHandler subclass, loaded from FILE",
}


def load_user_handler(path: str, class_name: str) -> type[socketserver.BaseRequestHandler]:
    """A BaseRequestHandler subclass from a user's file; errors say what to fix."""
    import importlib.util

    from pslrepl.errors import PslError

    path = os.path.expanduser(path)  # python:~/handlers.py:Echo, as a user would type
    spec = importlib.util.spec_from_file_location(f"pslrepl_user_{abs(hash(path))}", path)
    if spec is None or spec.loader is None:
        raise PslError(f"can't load {path!r} as Python: give a .py file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except FileNotFoundError:
        raise PslError(f"no such file {path!r}") from None
    except Exception as exc:  # the user's code: its error, on one line
        raise PslError(f"{path}: {type(exc).__name__}: {exc}") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise PslError(f"{path} has no {class_name}")
    if not (isinstance(cls, type) and issubclass(cls, socketserver.BaseRequestHandler)):
        raise PslError(f"{path}: {class_name} is not a socketserver.BaseRequestHandler subclass")
    return cls
