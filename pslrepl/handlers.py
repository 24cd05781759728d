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
import threading
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
        room: Room = self.psl.room
        conn = getattr(self.request, "psl_conn", None)  # its address, or unix#N
        name = (conn.addr if conn is not None else str(self.client_address)).encode()
        me = conn.member if conn is not None and conn.member else room.join(self.request, conn)
        try:
            room.say(me, b"* " + name + b" joined\n")
            pending = b""
            while data := self.recv():
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    room.say(me, name + b": " + line + b"\n")
                if len(pending) > LINE_LIMIT:  # a "line" that never ends: pass it on in parts
                    room.say(me, name + b": " + pending + b"\n")
                    pending = b""
            room.say(me, b"* " + name + b" left\n")
        finally:
            room.leave(me)


class Member:
    """One client in a chat room, as the room's writer sees it."""

    __slots__ = ("request", "conn", "sock", "out", "lock", "gone", "blocked", "first")

    def __init__(self, request: Any, conn: Any, first: int) -> None:
        self.request = request
        self.conn = conn  # the server's Connection: the writer counts bytes out to it
        # The writer sends through its own descriptor, never blocking (MSG_DONTWAIT) and
        # apart from the handler's --idle timeout; closing it is the writer's business,
        # so a number the kernel reuses for another client is never written to.
        # TLS can't be sent past the SSLSocket: the writer uses it as it is.
        self.sock: socket.socket | None = None
        if not hasattr(request, "do_handshake"):
            self.sock = socket.socket(fileno=os.dup(request.fileno()))
        self.out = bytearray()  # what the others said that it has not been sent yet
        self.lock = threading.Lock()  # the writer's send, and leave()
        self.gone = False
        self.blocked = False  # its socket buffer is full: sent once it is writable
        self.first = first  # the first line said after it joined

    def close(self) -> None:
        with self.lock:
            self.gone = True
            self.out.clear()
            if self.sock is not None:
                self.sock.close()


class Room:
    """chat's room: its members, and one writer thread ("pslrepl:NAME:chat") that sends
    each member what the others said. Lines said within BATCH go out in one send per
    member, so a crowd costs a send per member per batch, not per line; a member that
    falls BACKLOG bytes behind is closed (IRC's "SendQ exceeded"), so a client that
    never reads can't grow the server's memory or hold up the room."""

    BATCH = 0.01  # seconds: a human can't tell; a flood of lines goes out together
    BACKLOG = 1 << 20  # bytes not yet sent to one member

    def __init__(self, psl: Any) -> None:
        import selectors

        self.psl = psl
        self.lock = threading.Lock()
        self.members: dict[int, Member] = {}
        self.said: list[tuple[Member, bytes]] = []  # since the writer last looked
        self.leaving: list[Member] = []
        self.seq = 0  # lines said so far: the number of the next one
        self.woken = False
        self.stopping = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self._wake_r, selectors.EVENT_READ, None)
        self.thread = threading.Thread(target=self._run, name=f"pslrepl:{psl.name}:chat",
                                       daemon=True)  # fmt: skip
        self.thread.start()

    def join(self, request: Any, conn: Any) -> Member:
        with self.lock:
            member = Member(request, conn, self.seq)
            self.members[id(member)] = member
        return member

    def leave(self, member: Member) -> None:
        with member.lock:
            member.gone = True
        with self.lock:
            if self.members.pop(id(member), None) is None:
                return  # left already
            self.leaving.append(member)  # the writer closes its descriptor
            wake, self.woken = not self.woken, True
        if wake:
            self._wake()

    def say(self, sender: Member, line: bytes) -> None:
        """From a member's thread: a line for every other member."""
        with self.lock:
            self.said.append((sender, line))
            self.seq += 1
            wake, self.woken = not self.woken, True
        if wake:
            self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass  # full (the writer is behind and will look anyway), or closed

    def _run(self) -> None:
        from pslrepl.signals_table import background_thread

        background_thread()
        while not self.stopping:
            woken = False
            for key, _ in self.sel.select():
                if key.data is None:
                    woken = True
                    try:
                        self._wake_r.recv(4096)
                    except OSError:
                        pass
                else:  # a member's buffer has room again
                    self.sel.unregister(key.fileobj)
                    key.data.blocked = False
            if self.stopping:
                return
            if woken:
                time.sleep(self.BATCH)  # the lines said meanwhile join this round
            try:
                self._round()
            except Exception as exc:  # a bug of ours: say so; the room goes on
                self.psl.note(f"chat: the room's writer: {exc!r}")

    def _round(self) -> None:
        with self.lock:
            said, self.said = self.said, []
            base = self.seq - len(said)  # the number of said[0]
            self.woken = False
            members = list(self.members.values())
            leaving, self.leaving = self.leaving, []
        for member in leaving:
            if member.blocked:
                member.blocked = False
                self.sel.unregister(member.sock if member.sock is not None else member.request)
            member.close()
        if said:
            everything = b"".join(line for _, line in said)
            senders = {id(m) for m, _ in said}
            for member in members:
                if member.gone:
                    continue
                skip = max(0, member.first - base)  # said before it joined
                if skip or id(member) in senders:
                    member.out += b"".join(line for m, line in said[skip:] if m is not member)
                else:
                    member.out += everything
        for member in members:
            if member.out and not member.blocked:
                self._flush(member)

    def _flush(self, member: Member) -> None:
        import selectors

        with member.lock:
            if member.gone:
                return
            try:
                if member.sock is not None:
                    sent = member.sock.send(member.out, socket.MSG_DONTWAIT)
                    if member.conn is not None:  # not the server's counting socket
                        self.psl.traffic(member.conn, "out", member.out[:sent])
                else:
                    sent = self._send_tls(member)
            except BlockingIOError:
                sent = 0
            except OSError:  # it is leaving: its own thread says so
                member.out.clear()
                return
            del member.out[:sent]
            if not member.out:
                return
            if len(member.out) > self.BACKLOG:
                member.gone = True
                member.out.clear()
                addr = member.conn.addr if member.conn is not None else "a client"
                self.psl.note(f"chat: client {addr} fell {self.BACKLOG >> 10} KiB behind "
                              "(it reads slower than the room talks): closed it")  # fmt: skip
                try:
                    member.request.shutdown(socket.SHUT_RDWR)  # its thread sees it go
                except OSError:
                    pass
                return
            member.blocked = True
            fileobj = member.sock if member.sock is not None else member.request
            try:
                self.sel.register(fileobj, selectors.EVENT_WRITE, member)
            except (KeyError, ValueError, OSError):
                member.blocked = False

    @staticmethod
    def _send_tls(member: Member) -> int:
        """TLS: a record's worth, once the socket has room (SSLSocket has no
        MSG_DONTWAIT, and its blocking mode is the handler's too)."""
        import select

        if not select.select([], [member.request], [], 0)[1]:
            return 0
        n: int = member.request.send(member.out[:16384])  # counted by the server's socket
        return n

    def close(self) -> None:
        self.stopping = True
        self._wake()
        self.thread.join(timeout=2.0)
        with self.lock:
            members = list(self.members.values())
            self.members.clear()
        for member in members:
            member.close()
        self.sel.close()
        self._wake_r.close()
        self._wake_w.close()


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
        idle = self.psl.idle
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(self.stream, selectors.EVENT_READ, upstream)
                sel.register(upstream, selectors.EVENT_READ, self.stream)
                open_ends = 2
                while open_ends:
                    ready = sel.select(idle)
                    if not ready:  # --idle: nothing either way for that long
                        raise TimeoutError("idle")
                    for key, _ in ready:
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
    "http": "serves --dir DIR (or a fresh directory), GET and HEAD, in threads (tcp)",
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
        raise PslError(f"no such file {path!r}; give the path of your .py file") from None
    except Exception as exc:  # the user's code: its error, on one line
        raise PslError(f"{path}: {type(exc).__name__}: {exc}; fix it and serve again") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        found = sorted(n for n, v in vars(module).items() if isinstance(v, type)
                       and issubclass(v, socketserver.BaseRequestHandler)
                       and v.__module__ == module.__name__)  # fmt: skip
        mine = f"its handlers: {', '.join(found)}" if found else "it defines no handler class"
        raise PslError(f"{path} has no {class_name}; {mine}")
    if not (isinstance(cls, type) and issubclass(cls, socketserver.BaseRequestHandler)):
        raise PslError(
            f"{path}: {class_name} is not a socketserver.BaseRequestHandler "
            "subclass; derive it from one (StreamRequestHandler reads lines)"
        )
    return cls
