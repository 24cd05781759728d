"""Sockets kept under a name, and the one thread that watches them without reading.

A socket command is the system call: ``recv`` reads from the kernel when the user asks
and not before. The watcher only peeks (MSG_PEEK) to announce "15 bytes waiting" or
"a connection is pending", then stops watching that socket until a command has read
from it, so unread data is announced once, not in a loop.
"""

from __future__ import annotations

import os
import selectors
import socket
import threading

from pslrepl.addresses import Addr, format_addr, reachable
from pslrepl.events import Event
from pslrepl.render import plural
from pslrepl.resources.base import Resource
from pslrepl.results import volatile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.results import Cell
    from pslrepl.session import Session

PEEK = 65536
TCP_STATES = {
    1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
    6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING",
}  # fmt: skip
SOCKET_KINDS = ("tcp", "tls", "udp", "unix", "unix-dgram")
STREAM_KINDS = ("tcp", "tls", "unix")
LISTENER_KINDS = ("listener",)


class SocketWatcher:
    """One thread per session ("pslrepl:sockets") with a selector over the armed sockets."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.sel = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        self.sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._stop = False
        self.thread = threading.Thread(target=self._run, name="pslrepl:sockets", daemon=True)
        self.thread.start()

    def arm(self, res: Sock) -> None:
        """Watch ``res`` until it next has something to announce."""
        with self.lock:
            try:
                self.sel.register(res.sock, selectors.EVENT_READ, res)
            except (KeyError, ValueError, OSError):
                pass  # already armed, or closed

    def disarm(self, res: Sock) -> None:
        with self.lock:
            try:
                self.sel.unregister(res.sock)
            except (KeyError, ValueError, OSError):
                pass

    def _run(self) -> None:
        from pslrepl.signals_table import background_thread

        background_thread()
        while not self._stop:
            for key, _ in self.sel.select():
                res = key.data
                if res is None:
                    os.read(self._wake_r, 512)
                    continue
                self.disarm(res)
                try:
                    res.notice()
                except Exception as exc:  # a bug of ours: say so, keep watching the rest
                    self.session.post(Event(res.name, "note", f"watcher: {exc!r}"))

    def stop(self) -> None:
        self._stop = True
        os.write(self._wake_w, b"x")
        self.thread.join(timeout=2.0)
        self.sel.close()
        os.close(self._wake_r)
        os.close(self._wake_w)


def watcher(session: Session) -> SocketWatcher:
    if session.socket_watcher is None:
        session.socket_watcher = SocketWatcher(session)
    w = session.socket_watcher
    assert isinstance(w, SocketWatcher)
    return w


class Sock(Resource):
    """A ``socket.socket`` under a name: tcp, udp, unix, unix-dgram, or a listener."""

    wait_events = ("data", "eof", "accept")

    def __init__(self, session: Session, name: str, sock: socket.socket, *, kind: str,
                 origin: str, unix_path: str = "") -> None:  # fmt: skip
        super().__init__(session, name)
        self.sock = sock
        self.kind = kind  # type: ignore[misc]
        self.origin = origin  # how it came to be: connect, listen, accept, socketpair...
        self.unix_path = unix_path  # a UNIX socket file this listener created
        self.shut: set[str] = set()
        self.accepted = 0
        self.peer_eof = False
        self.tls_note = ""  # how a TLS socket was verified (or that it was not)
        self.tls_details: list[tuple[str, str]] = []  # what the handshake settled
        self._fd = sock.fileno()
        # Kept from creation for ls and the toolbar (a thousand sockets, no syscalls);
        # info asks the kernel again.
        self._local, self._remote = self._addresses()
        self._remember_addresses()
        self.post(Event(name, "start", f"{origin}: {self.describe()}"))
        watcher(session).arm(self)

    # -- addresses --------------------------------------------------------------------

    def _remember_addresses(self) -> None:
        """Record this socket's addresses as values a transcript writes as placeholders."""
        volatile = self.session.volatile
        laddr, raddr = self.local, self.remote
        if laddr and self.sock.family in (socket.AF_INET, socket.AF_INET6):
            port = str(self.sock.getsockname()[1])
            volatile[f"{self.name}.port"] = port
            volatile[f"{self.name}.laddr"] = laddr
            if self.kind == "listener":
                volatile[f"{self.name}.addr"] = laddr
        if raddr and self.sock.family in (socket.AF_INET, socket.AF_INET6):
            volatile[f"{self.name}.raddr"] = raddr

    @property
    def bound_addr(self) -> Addr | None:
        """Where to reach this socket: a listener on 0.0.0.0 or :: through loopback."""
        return reachable(self.sock)

    @property
    def local(self) -> str:
        return self._local

    @property
    def remote(self) -> str:
        return self._remote

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

    # -- what the watcher calls (its thread) --------------------------------------------

    def notice(self) -> None:
        if self.closed:
            return
        if self.kind == "listener":
            self.session.post(
                Event(self.name, "pending", f"a connection is waiting: accept {self.name}"),
                log=False,
            )
            return
        if self.kind == "tls":
            # An SSLSocket can't peek: what waits is encrypted until recv decrypts it, and
            # may be TLS's own (TLS 1.3 servers send session tickets after the handshake).
            self.session.post(
                Event(self.name, "note", "TLS records arrived: data, or TLS's own messages "
                      "(session tickets); recv decrypts them"), log=False,
            )  # fmt: skip
            return
        try:
            head = self.sock.recv(PEEK, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            watcher(self.session).arm(self)
            return
        except OSError as exc:
            self.session.post(Event(self.name, "note", f"{exc.strerror or exc}"), log=False)
            return
        if not head and self.kind in STREAM_KINDS:
            self.peer_eof = True
            self.session.post(
                Event(self.name, "note", "the peer closed its side: recv will return EOF"),
                log=False,
            )
            return
        self.session.post(
            Event(self.name, "waiting", direction="in", size=len(head),
                  data=head[:64]),
            log=False,
        )  # fmt: skip

    # -- what commands call -----------------------------------------------------------

    def arm(self) -> None:
        if not self.closed:
            watcher(self.session).arm(self)

    def traffic(self, kind: str, direction: str, data: bytes, peer: str = "") -> None:
        with self.session.cond:
            if direction == "in":
                self.bytes_in += len(data)
            else:
                self.bytes_out += len(data)
        event = Event.traffic(self.name, kind, "socket", direction, data)
        if peer:
            event.fields["peer"] = peer
        self.post(event)

    def unread(self) -> int | None:
        """Bytes the kernel holds for recv (FIONREAD), where the platform says."""
        if self.kind == "tls":
            return None  # the kernel holds encrypted records, not what recv will return
        try:
            import fcntl
            import termios

            buf = fcntl.ioctl(self.sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
            return int.from_bytes(buf, "little")
        except (OSError, ImportError, AttributeError):
            return None

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
        if self.kind == "listener":
            return "listening"
        parts = []
        if self.shut:
            parts.append("shut " + "+".join(sorted(self.shut)))
        if self.peer_eof:
            parts.append("peer EOF")
        if not parts:
            return "connected" if self.remote else "open"
        return ", ".join(parts)

    def toolbar(self) -> str:
        if self.kind == "listener":
            return f"listening {self.local}"
        return (f"{self.kind} {self.state} {self.remote or self.local} "
                f"in {self.bytes_in} out {self.bytes_out}")  # fmt: skip

    def waited(self, event: str) -> str:
        if event == "accept":
            return f"a connection is waiting: accept {self.name}"
        if event == "data":
            return f"data waiting: recv {self.name}"
        return super().waited(event)

    def ready(self, event: str) -> bool:
        if event == "accept":  # a listener with a connection waiting to be accepted
            import select

            return self.kind == "listener" and bool(select.select([self.sock], [], [], 0)[0])
        if event in ("data", "eof") and self.kind == "tls":
            import select

            pending = self.sock.pending()  # type: ignore[attr-defined]
            readable = bool(select.select([self.sock], [], [], 0)[0])
            return bool(pending or readable) if event == "data" else False
        if event in ("data", "eof"):
            try:
                head = self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                return False
            except OSError:
                return True
            return bool(head) if event == "data" else not head
        return super().ready(event)

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
        unread = self.unread()
        if unread is not None and self.kind != "listener":
            extra.append(("unread", plural(unread, "byte")))
        if self.kind == "listener":
            extra.append(("accepted", str(self.accepted)))
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
        if self.kind == "tls":
            end_tls(self.sock)
        self.sock.close()
        self.closed = True
        removed = ""
        if self.unix_path:
            try:
                os.unlink(self.unix_path)
                removed = f"; removed {self.unix_path}"
            except OSError:
                pass
        self.post(Event(self.name, "close", "closed" + removed))
        return "closed" + removed


def end_tls(sock: Any) -> None:
    """Send TLS's close_notify before the socket closes, so the peer sees TLS end cleanly
    and not "unexpected eof". Non-blocking: it sends ours and doesn't wait for theirs."""
    try:
        sock.setblocking(False)
        sock.unwrap()
    except (OSError, ValueError):
        pass  # the peer left first, or TLS never got going: nothing to end cleanly
