"""chat: a line-based room where each client's lines go to the others, asynchat's job."""

from __future__ import annotations

import os
import socket
import threading
import time

from pslrepl.handlers.base import Tracked

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

LINE_LIMIT = 65536  # the most it holds of one client's unfinished line


class Chat(Tracked):
    """A line-based room: each line goes to every other client, prefixed by the sender."""

    name = "chat"
    does = "a line-based room: each line to the other clients, asynchat's job"

    def handle(self) -> None:
        room: Room = self.psl.room
        conn = getattr(self.request, "psl_conn", None)  # its address, or unix#N
        name = (conn.addr if conn is not None else str(self.client_address)).encode()
        # Joined with its "joined" line said at once (the server joins it as it connects):
        # said later, a client that joined meanwhile would hear it as news.
        if conn is not None and conn.member:
            me = conn.member
        else:
            me = room.join(self.request, conn, hello=b"* " + name + b" joined\n")
        try:
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

    def join(self, request: Any, conn: Any, *, hello: bytes = b"") -> Member:
        """A member, from the next line said on; ``hello`` is said as it joins, in the
        same step, so every member that joins later has it as said before it."""
        wake = False
        with self.lock:
            member = Member(request, conn, self.seq)
            self.members[id(member)] = member
            if hello:  # as say() does, under the same lock as the join
                self.said.append((member, hello))
                self.seq += 1
                wake, self.woken = not self.woken, True
        if wake:
            self._wake()
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
