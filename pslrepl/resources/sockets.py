"""Sockets kept under a name: tcp, tls, udp, unix, unix-dgram, and listeners."""

from __future__ import annotations

import os
import socket

from pslrepl.addresses import Addr, format_addr, reachable
from pslrepl.events import Event, plural
from pslrepl.resources.calls import traced as traced
from pslrepl.resources.calls import traced_as as traced_as
from pslrepl.resources.polling import poll_ready
from pslrepl.resources.watched import PEEK as PEEK
from pslrepl.resources.watched import WatchedSocket
from pslrepl.resources.watcher import watcher as watcher
from pslrepl.results import volatile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar

    from pslrepl.results import Cell
    from pslrepl.session import Session

TCP_STATES = {
    1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
    6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING",
}  # fmt: skip
STREAM_KINDS = ("tcp", "tls", "unix")


class Sock(WatchedSocket):
    """A ``socket.socket`` under a name: tcp, tls, udp, unix or unix-dgram, as its socket
    says (a Listener is one that listens). ``Sock(..., kind="listener")`` makes a Listener."""

    KINDS: ClassVar[tuple[str, ...]] = ("tcp", "tls", "udp", "unix", "unix-dgram")
    EVENTS: ClassVar[tuple[str, ...]] = ("data", "eof")
    # Bytes a command moved, counted as it moves them (session lock held: see traffic).
    bytes_in = 0
    bytes_out = 0
    accepted: int  # a Listener's (connections accepted so far)

    def __new__(cls, *args: Any, kind: str = "", **kwargs: Any) -> Sock:
        if cls is Sock and kind == "listener":
            cls = Listener
        return super().__new__(cls)

    def __init__(self, session: Session, name: str, sock: socket.socket, *, kind: str,
                 origin: str, unix_path: str = "") -> None:  # fmt: skip
        super().__init__(session, name, sock)
        if kind != self.kind:  # a caller's slip: the kind follows from the socket
            raise ValueError(f"a {self.kind} socket made as a {kind}")
        self.origin = origin  # how it came to be: connect, listen, accept, socketpair...
        self.unix_path = unix_path  # a UNIX socket file this listener created
        self.tls_note = ""  # how a TLS socket was verified (or that it was not)
        self.tls_details: list[tuple[str, str]] = []  # what the handshake settled
        self._fd = sock.fileno()
        # Kept from creation for ls and the toolbar (a thousand sockets, no syscalls);
        # info asks the kernel again. A bare socket's change as bind and connect come.
        self._local, self._remote = self._addresses()
        self.connected = self._has_peer()
        self._remember_addresses()
        if unix_path:
            session.own_path(unix_path)  # removed even if the shell is killed
        self.post(Event(name, "start", origin=origin, local=self.local, remote=self.remote))
        self.arm()

    # -- what it is ---------------------------------------------------------------------

    def _kind(self) -> str:
        if self.tls:
            return "tls"
        unix = self.sock.family == socket.AF_UNIX
        if self.sock.type == socket.SOCK_DGRAM:
            return "unix-dgram" if unix else "udp"
        return "unix" if unix else "tcp"

    @property
    def kind(self) -> str:
        """tcp, tls, udp, unix or unix-dgram: what its socket is now."""
        return self._kind()

    @property
    def watchable(self) -> bool:
        """A stream socket that is neither connected nor listening has nothing to tell,
        yet poll calls it ready (POLLHUP): the watcher would wake for nothing."""
        return self.connected or not self.byte_stream

    def became_listener(self) -> Listener:
        """After ``listen`` on a bare socket: the same resource (its name, its log, the
        calls recorded on it) takes connections now, and is a Listener everywhere (ls,
        accept, wait NAME accept, the toolbar, completion), as ``tcp listen`` makes one."""
        self.__class__ = Listener
        assert isinstance(self, Listener)
        self.accepted = 0
        self._remember_addresses()
        self.arm()
        return self

    def connected_now(self) -> None:
        """After a ``connect`` that worked: the addresses anew, and the watcher told."""
        self.connected = self._has_peer()
        self.refresh_addresses()
        self.arm()

    @property
    def readable(self) -> bool:
        return not self.closed and "rd" not in self.shut

    @property
    def writable(self) -> bool:
        return not self.closed and "wr" not in self.shut

    # -- addresses --------------------------------------------------------------------

    def _remember_addresses(self) -> None:
        """Record this socket's addresses as values a transcript writes as placeholders."""
        volatile = self.session.volatile
        laddr, raddr = self.local, self.remote
        if laddr and self.sock.family in (socket.AF_INET, socket.AF_INET6):
            port = str(self.sock.getsockname()[1])
            volatile[f"{self.name}.port"] = port
            volatile[f"{self.name}.laddr"] = laddr
            if self.listening:
                volatile[f"{self.name}.addr"] = laddr
        if raddr and self.sock.family in (socket.AF_INET, socket.AF_INET6):
            volatile[f"{self.name}.raddr"] = raddr

    def refresh_addresses(self) -> None:
        """After a call that may bind or connect implicitly (sendto from an unbound UDP
        socket binds it to a free port): the addresses anew, for ls and transcripts."""
        local, remote = self._addresses()
        if (local, remote) != (self._local, self._remote):
            self._local, self._remote = local, remote
            self._remember_addresses()

    @property
    def bound_addr(self) -> Addr | None:
        """A bound datagram socket's address (sendto and udp open --connect take its
        NAME), and a bare stream socket's that is bound but neither listens nor is
        connected (``connect c srv`` meets its refusal); a connection has none to give."""
        if self.byte_stream and self.connected:
            return None
        addr = reachable(self.sock)
        if addr is None or (not addr.path and addr.port == 0):
            return None  # not bound: nothing can reach it
        return addr

    @property
    def local(self) -> str:
        return self._local

    @property
    def remote(self) -> str:
        return self._remote

    def _has_peer(self) -> bool:
        """getpeername works: connected (a socketpair's peer has no name, but is one)."""
        try:
            self.sock.getpeername()
        except OSError:
            return False
        return True

    def _addresses(self) -> tuple[str, str]:
        """getsockname and getpeername now, as text ('' where there is none)."""
        out = []
        for call in (self.sock.getsockname, self.sock.getpeername):
            try:
                out.append(format_addr(call()))
            except OSError:
                out.append("")
        return out[0], out[1]

    def describe(self) -> str:
        local, remote = self.local or "(unbound)", self.remote
        return f"{local} -> {remote}" if remote else local

    def traffic(self, kind: str, direction: str, data: bytes, peer: str = "") -> None:
        with self.session.cond:
            if direction == "in":
                self.bytes_in += len(data)
            else:
                self.bytes_out += len(data)
        self.post(Event.traffic(self.name, kind, "socket", direction, data, peer=peer or None))

    def tcp_state(self) -> str:
        if self.sock.family not in (socket.AF_INET, socket.AF_INET6) or (
            self.sock.type != socket.SOCK_STREAM
        ):
            return ""
        try:
            info = self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
        except (OSError, AttributeError):
            return ""
        return TCP_STATES.get(info[0], str(info[0]))

    # -- Resource ---------------------------------------------------------------------

    @property
    def obj(self) -> Any:
        return self.sock

    @property
    def state(self) -> str:
        if self.closed:
            return "closed"
        parts = []
        if self.shut:
            parts.append("shut " + "+".join(sorted(self.shut)))
        if self.peer_eof:
            parts.append("peer EOF")
        if not parts:
            if self.connected:
                return "connected"
            if self.byte_stream:  # a bare socket, before listen or connect
                return "bound" if self.bound_addr else "unbound"
            return "open"
        return ", ".join(parts)

    def toolbar(self) -> str:
        return (f"{self.kind} {self.state} {self.remote or self.local} "
                f"in {self.bytes_in} out {self.bytes_out}")  # fmt: skip

    def waited(self, event: str) -> str:
        if event == "data":
            return f"data waiting: recv {self.name}"
        if event == "eof":
            with self.lock:
                self.peer_eof = self.eof_told = True  # said now: no notice says it again
            self.withdraw_eof_notice()
        return super().waited(event)

    def ready(self, event: str) -> bool:
        """Whether ``wait NAME EVENT`` is satisfied now; never blocks (main thread)."""
        if event not in ("data", "eof"):
            return super().ready(event)
        if self.tls and not self.has_held():
            readable = self.sock.pending() or poll_ready([self.sock])  # type: ignore[attr-defined]
            if readable:
                self.fill()
            if not self.has_held():
                self.arm()  # the next record wakes the wait: the watcher posts a notice
        if self.held or self.held_error is not None:
            return event == "data" or self.held_error is not None
        if self.tls:
            return event == "eof" and self.held_eof
        try:
            head = self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError as exc:  # the peek took the socket's error: recv raises it
            self.held_error = exc
            return True
        return bool(head) if event == "data" else not head and self.byte_stream

    def info(self) -> list[tuple[str, Cell]]:
        pairs = super().info()
        sock = self.sock
        timeout = sock.gettimeout() if not self.closed else None
        live = self._addresses()
        extra: list[tuple[str, Cell]] = [
            ("family", socket.AddressFamily(sock.family).name if not self.closed else ""),
            ("type", socket.SocketKind(sock.type).name if not self.closed else ""),
            ("fd", volatile(str(self._fd), f"{self.name}.fd")),
            ("getsockname", live[0]),
            ("getpeername", live[1] or "(not connected)"),
            ("timeout", "None (blocking)" if timeout is None else f"{timeout:g}"),
            ("origin", self.origin),
        ]
        state = self.tcp_state()
        if state:
            extra.append(("tcp state", state))
        extra += self._counts()
        if self.held:
            extra.append(("held", f"{plural(len(self.held), 'byte')} read from the socket "
                          "and not shown yet: the next recv returns them first"))  # fmt: skip
        if self.unix_path:
            extra.append(("socket file", self.unix_path))
        if self.tls_note:
            extra.append(("tls", self.tls_note))
        pairs[3:3] = extra
        return pairs

    def close(self) -> str:
        if self.closed:
            return "already closed"
        watcher(self.session).disarm(self)
        with self.lock:  # the watcher, if it is looking at this socket, finishes first
            self.held.clear()
            if self.tls:
                from pslrepl.resources.calls import end_tls

                end_tls(self.sock)
            self.sock.close()
            self.closed = True
        removed = None
        if self.unix_path:
            try:
                os.unlink(self.unix_path)
                removed = self.unix_path
            except OSError:
                pass
            self.session.disown_path(self.unix_path)
        event = Event(self.name, "close", path=removed)
        self.post(event)
        return event.detail + self._files_note()

    def _files_note(self) -> str:
        """socket.close leaves the descriptor open while makefile's file objects are:
        the connection ends with the last of them."""
        from pslrepl.resources.socket_file import SockFile

        files = [r.name for r in self.session.registry
                 if isinstance(r, SockFile) and r.sock_res is self and not r.closed]  # fmt: skip
        if not files:
            return ""
        return (f"; its descriptor stays open while {', '.join(files)} "
                f"{'is' if len(files) == 1 else 'are'} (close {' '.join(files)} too: the "
                "connection ends with the last file object)")  # fmt: skip

    def _counts(self) -> list[tuple[str, Cell]]:
        """What info says of the bytes: those recv would return without waiting."""
        unread = self.unread()
        return [] if unread is None else [("unread", plural(unread, "byte"))]


class Listener(Sock):
    """A listening socket under a name: the watcher announces a connection waiting, and
    ``accept`` takes it."""

    KINDS = ("listener",)
    EVENTS = ("accept",)

    def __init__(self, session: Session, name: str, sock: socket.socket, *,
                 kind: str = "listener", origin: str, unix_path: str = "") -> None:  # fmt: skip
        self.accepted = 0  # counted by accept, in the main thread
        super().__init__(session, name, sock, kind=kind, origin=origin, unix_path=unix_path)

    @property
    def kind(self) -> str:
        return "listener"

    @property
    def byte_stream(self) -> bool:
        return False  # SOCK_STREAM, but what comes are connections, not bytes

    @property
    def readable(self) -> bool:
        return False

    @property
    def writable(self) -> bool:
        return False

    @property
    def listening(self) -> bool:
        return not self.closed

    @property
    def bound_addr(self) -> Addr | None:
        """Where to reach it: a listener on 0.0.0.0 or :: through loopback."""
        return reachable(self.sock)

    def notice(self) -> None:
        if self.wake_reader():  # accept waits for a connection
            return
        with self.lock:
            if not (self.closed or self.busy):
                self._post("pending")

    @property
    def state(self) -> str:
        return "closed" if self.closed else "listening"

    def toolbar(self) -> str:
        return f"listening {self.local}"

    def waited(self, event: str) -> str:
        if event == "accept":
            return f"a connection is waiting: accept {self.name}"
        return super().waited(event)

    def ready(self, event: str) -> bool:
        if event == "accept":  # a connection waiting to be accepted
            return poll_ready([self.sock])
        return WatchedSocket.ready(self, event)

    def _counts(self) -> list[tuple[str, Cell]]:
        return [("accepted", str(self.accepted))]


SOCKET_KINDS = Sock.KINDS
LISTENER_KINDS = Listener.KINDS
