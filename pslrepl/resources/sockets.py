"""Sockets kept under a name, and the one thread that watches them without reading.

A socket command is the system call: ``recv`` reads from the kernel when the user asks
and not before. The watcher only peeks (MSG_PEEK) to announce "15 bytes waiting" or
"a connection is pending", once per change: unread bytes already announced are looked
at again only to see whether more came, and EOF is told once. An SSLSocket can't peek:
what waits is encrypted, and may be TLS's own (session tickets). Its bytes are
decrypted without waiting, in the main thread (an SSL object is not for two threads),
into the socket's ``held`` buffer, which the next read returns first.
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
    from collections.abc import Callable
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.results import Cell
    from pslrepl.session import Session

PEEK = 65536
WATCHER = "watcher"  # an event field: a live notice the socket watcher posted
TCP_STATES = {
    1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
    6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING",
}  # fmt: skip
SOCKET_KINDS = ("tcp", "tls", "udp", "unix", "unix-dgram")
STREAM_KINDS = ("tcp", "tls", "unix")
LISTENER_KINDS = ("listener",)


class SocketWatcher:
    """One thread per session ("pslrepl:sockets") with a selector over the armed sockets.

    A socket whose unread bytes have been announced is not selected (it stays readable:
    the selector would wake at once, again and again) but looked at every QUIET_POLL
    seconds, to announce more bytes if more come.
    """

    QUIET_POLL = 0.5

    def __init__(self, session: Session) -> None:
        self.session = session
        self.sel = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.quiet: set[Sock] = set()
        self._wake_r, self._wake_w = os.pipe()
        self.sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._stop = False
        self.thread = threading.Thread(target=self._run, name="pslrepl:sockets", daemon=True)
        self.thread.start()

    def arm(self, res: Sock) -> None:
        """Watch ``res`` until it next has something to announce."""
        with self.lock:
            self.quiet.discard(res)
            try:
                self.sel.register(res.sock, selectors.EVENT_READ, res)
            except (KeyError, ValueError, OSError):
                pass  # already armed, or closed

    def disarm(self, res: Sock) -> None:
        with self.lock:
            self.quiet.discard(res)
            try:
                self.sel.unregister(res.sock)
            except (KeyError, ValueError, OSError):
                pass

    def hush(self, res: Sock) -> None:
        """What waits on ``res`` has been announced: look again later, for more."""
        with self.lock:
            try:
                self.sel.unregister(res.sock)
            except (KeyError, ValueError, OSError):
                pass
            self.quiet.add(res)

    def _run(self) -> None:
        from pslrepl.signals_table import background_thread

        background_thread()
        while not self._stop:
            with self.lock:
                polled = list(self.quiet)
                self.quiet.clear()
            for res in polled:
                self._notice(res)
            with self.lock:
                wait = self.QUIET_POLL if self.quiet else None
            for key, _ in self.sel.select(wait):
                res = key.data
                if res is None:
                    os.read(self._wake_r, 512)
                    continue
                self.disarm(res)
                self._notice(res)

    def _notice(self, res: Sock) -> None:
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
        session.on_close("socket watcher", lambda: _stop_watcher(session))
    w = session.socket_watcher
    assert isinstance(w, SocketWatcher)
    return w


def _stop_watcher(session: Session) -> None:
    w, session.socket_watcher = session.socket_watcher, None
    if w is not None:
        w.stop()


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
        # Bytes read from the socket that no command has handed to the user yet: a TLS
        # read-ahead, or what a recv that timed out had taken. The next read starts here.
        self.held = bytearray()
        self.held_eof = False  # TLS: a read-ahead met EOF: the next read returns it
        self.held_error: OSError | None = None  # the next read raises it (a reset...)
        # What the live notices said, so each change is told once: the unread bytes the
        # user knows of, and whether EOF was told (by a notice, recv or wait).
        self.lock = threading.Lock()  # the watcher's thread and commands share these
        self.busy = False  # a command is reading: the watcher keeps quiet
        self.seen = 0
        self.eof_told = False
        self._fd = sock.fileno()
        # Kept from creation for ls and the toolbar (a thousand sockets, no syscalls);
        # info asks the kernel again.
        self._local, self._remote = self._addresses()
        self._remember_addresses()
        if unix_path:
            session.own_path(unix_path)  # removed even if the shell is killed
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

    def refresh_addresses(self) -> None:
        """After a call that may bind or connect implicitly (sendto from an unbound UDP
        socket binds it to a free port): the addresses anew, for ls and transcripts."""
        local, remote = self._addresses()
        if (local, remote) != (self._local, self._remote):
            self._local, self._remote = local, remote
            self._remember_addresses()

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
        with self.lock:
            if self.closed or self.busy:
                return
            if self.kind == "listener":
                self._post("pending", f"a connection is waiting: accept {self.name}")
                return
            if self.kind == "tls":
                # Encrypted records came, maybe only TLS's own: announce() decrypts them in
                # the main thread when the notice is due, and says what they held.
                self.session.post(Event(self.name, "data", direction="in",
                                        fields={WATCHER: True}), log=False)  # fmt: skip
                return
            if self.held_error is not None:
                return  # told already; the next recv raises it
            if "rd" in self.shut and self.kind in STREAM_KINDS:
                return  # readable because the user shut reading down: no news from the peer
            try:
                head = self.sock.recv(64, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:  # read meanwhile (py, a dup): nothing waits now
                self.seen = 0
                watcher(self.session).arm(self)
                return
            except OSError as exc:
                # The peek took the socket's pending error (ECONNRESET): keep it for recv.
                self.held_error = exc
                self.eof_told = True
                self._post("note", self._end_note())
                return
            if not head and self.kind in STREAM_KINDS and not self.held:
                self.peer_eof = True
                if not self.eof_told:
                    self.eof_told = True
                    self._post("note", "the peer closed its side: recv will return EOF")
                return
            unread = len(self.held) + max(self._kernel_unread(), len(head))
            if unread > self.seen:
                self._post("waiting", "", size=unread, data=bytes(self.held + head)[:64])
            self.seen = unread
            watcher(self.session).hush(self)

    def _end_note(self) -> str:
        """What the next read will meet: EOF, or the error a read ahead took."""
        if self.held_error is None:
            self.peer_eof = True
            return "the peer closed its side: recv will return EOF"
        from pslrepl.errors import describe_oserror

        return f"{describe_oserror(self.held_error)}: recv will say so"

    def _post(self, kind: str, detail: str, *, size: int = 0, data: bytes = b"") -> None:
        """A live notice (not logged: when it comes depends on timing), marked as the
        watcher's, so a command that reads this socket can withdraw it unseen."""
        event = Event(self.name, kind, detail, direction="in" if kind == "waiting" else "",
                      size=size, data=data, fields={WATCHER: True})  # fmt: skip
        self.session.post(event, log=False)

    def announce(self, stream: str) -> tuple[int, bytes] | None:
        """A TLS socket's notice, due now (main thread, session lock held): decrypt what
        came, without waiting; say what is new, or nothing (a session ticket)."""
        if self.kind != "tls" or self.closed or self.busy:
            return None
        self.fill()
        if not self.held and (self.held_eof or self.held_error is not None):
            if not self.eof_told:
                self.eof_told = True
                self._post("note", self._end_note())
            return None
        if len(self.held) < PEEK and not self.held_eof:
            # All decrypted: the next record wakes the watcher. Not past EOF: the socket
            # stays readable at EOF, and the watcher would wake at once, again and again.
            watcher(self.session).arm(self)
        if len(self.held) <= self.seen:
            return None
        self.seen = len(self.held)
        return len(self.held), bytes(self.held[:64])

    # -- what commands call -----------------------------------------------------------

    def arm(self) -> None:
        # A stream whose EOF the user knows of, or whose EOF or error a read met already,
        # has nothing more to come: the watcher would only wake, at once, again and again.
        over = self.eof_told or self.held_eof or self.held_error is not None
        if not self.closed and not (over and self.kind in STREAM_KINDS):
            watcher(self.session).arm(self)

    def fill(self, ctx: Invocation | None = None, *, limit: int = PEEK) -> bool:
        """TLS: decrypt what has come, without waiting, into ``held`` (up to ``limit``
        bytes held); True if anything changed: data, EOF or an error. Main thread only.

        An SSLSocket can't peek, and a readable socket may hold only TLS's own records
        (TLS 1.3 session tickets, right after the handshake): a blocking recv would then
        wait for data that may never come. A non-blocking one raises SSLWantReadError.
        """
        if self.held_eof or self.held_error is not None:
            return False
        changed = False
        sock = self.sock
        old = sock.gettimeout()
        sock.settimeout(0.0)
        try:
            while len(self.held) < limit:  # each turn takes at least a byte, or stops
                try:
                    chunk = traced(ctx, "SSLSocket.recv", sock.recv, limit - len(self.held))
                except OSError as exc:
                    name = type(exc).__name__
                    if name in ("SSLWantReadError", "SSLWantWriteError"):
                        break  # all that came is decrypted (or was TLS's own)
                    if name != "SSLEOFError":  # SSLEOFError: closed without close_notify
                        self.held_error = exc
                        return True
                    chunk = b""
                if not chunk:
                    self.held_eof = True
                    return True
                self.held += chunk
                changed = True
        finally:
            sock.settimeout(old)
        return changed

    def has_held(self) -> bool:
        """A read returns at once: bytes held, or a held EOF or error."""
        return bool(self.held) or self.held_eof or self.held_error is not None

    def begin_read(self) -> None:
        """A command reads now: the watcher keeps quiet, and its notices about this
        socket that were not shown yet are withdrawn (the command's answer says it)."""
        with self.lock:
            self.busy = True
        watcher(self.session).disarm(self)
        session = self.session
        with session.cond:
            stale = [e for e in session.pending
                     if e.source == self.name and e.fields.get(WATCHER)]  # fmt: skip
            for event in stale:
                session.pending.remove(event)
        with self.lock:
            for event in stale:
                if event.kind in ("waiting", "data"):
                    self.seen = 0  # never shown: what waits is news after this read
                elif "EOF" in event.detail:
                    self.eof_told = False

    def end_read(self, *, taken: int = 0, eof: bool = False) -> None:
        """The command is done: ``taken`` bytes handed to the user, EOF shown or not."""
        with self.lock:
            self.busy = False
            self.seen = max(0, self.seen - taken)
            if eof:
                self.peer_eof = self.eof_told = True
            elif not self.held and not self.eof_told and self.has_held():
                # A read ahead met EOF (or an error) behind the bytes just taken: it is
                # next, and no watcher will see it come (it has come): say it now, once.
                self.eof_told = True
                self._post("note", self._end_note())
        self.arm()

    def hold_back(self, data: bytes | bytearray) -> None:
        """Bytes a command took but did not hand over: the next read returns them first."""
        if data:
            self.held[:0] = data

    def take_held(self, n: int, *, peek: bool = False) -> bytes:
        data = bytes(self.held[:n])
        if not peek:
            del self.held[:n]
        return data

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
        """Bytes recv would return without waiting: those held, and those the kernel
        holds (FIONREAD, where the platform says). For TLS only what is decrypted: the
        kernel holds records, which may be TLS's own."""
        if self.kind == "tls":
            return len(self.held) + self.sock.pending()  # type: ignore[attr-defined]
        kernel = self._kernel_unread()
        return None if kernel < 0 else len(self.held) + kernel

    def _kernel_unread(self) -> int:
        try:
            import fcntl
            import termios

            buf = fcntl.ioctl(self.sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
            return int.from_bytes(buf, "little")
        except (OSError, ImportError, AttributeError):
            return -1

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
        if event == "eof":
            with self.lock:
                self.peer_eof = self.eof_told = True  # said now: no notice says it again
        return super().waited(event)

    def ready(self, event: str) -> bool:
        """Whether ``wait NAME EVENT`` is satisfied now; never blocks (main thread)."""
        import select

        if event == "accept":  # a listener with a connection waiting to be accepted
            return self.kind == "listener" and bool(select.select([self.sock], [], [], 0)[0])
        if event not in ("data", "eof") or self.kind == "listener":
            return super().ready(event)
        if self.kind == "tls" and not self.has_held():
            readable = self.sock.pending() or select.select([self.sock], [], [], 0)[0]  # type: ignore[attr-defined]
            if readable:
                self.fill()
            if not self.has_held():
                self.arm()  # the next record wakes the wait: the watcher posts a notice
        if self.held or self.held_error is not None:
            return event == "data" or self.held_error is not None
        if self.kind == "tls":
            return event == "eof" and self.held_eof
        try:
            head = self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError as exc:  # the peek took the socket's error: recv raises it
            self.held_error = exc
            return True
        return bool(head) if event == "data" else not head and self.kind in STREAM_KINDS

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
        if self.held:
            extra.append(("held", f"{plural(len(self.held), 'byte')} read from the socket "
                          "and not shown yet: the next recv returns them first"))  # fmt: skip
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
        with self.lock:  # the watcher, if it is looking at this socket, finishes first
            self.held.clear()
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
            self.session.disown_path(self.unix_path)
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


# -- calls as the user would write them ---------------------------------------------------

MAX_RECORDED = 64  # calls one command lists; a long read loop sums up the rest


def py_repr(value: Any, limit: int = 80) -> str:
    """An argument or result as Python source, short: socket constants by name
    (socket.MSG_PEEK, not <MsgFlag.MSG_PEEK: 2>), a socket as ``sock``, bytes cut."""
    import enum

    if isinstance(value, enum.Enum) and type(value).__module__ == "socket":
        names = value.name or ""
        if names:
            return "|".join(f"socket.{n}" for n in names.split("|"))
        return str(value.value)
    if isinstance(value, socket.socket):
        return "sock"
    if isinstance(value, memoryview):
        value = bytes(value[:limit])
    if isinstance(value, (bytes, bytearray)):
        text = repr(bytes(value[:limit]))
        return text + ("..." if len(value) > limit else "")
    if isinstance(value, (tuple, list)):
        inner = ", ".join(py_repr(v, 40) for v in value[:8]) + (", ..." if len(value) > 8 else "")
        if isinstance(value, list):
            text = f"[{inner}]"
        else:
            text = f"({inner}{',' if len(value) == 1 else ''})"
        return text if len(text) <= limit * 2 else text[: limit * 2 - 3] + "..."
    text = repr(value)
    if " at 0x" in text:  # an object's default repr: its address says nothing
        text = f"<{type(value).__module__}.{type(value).__qualname__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def traced(ctx: Invocation | None, func: str, fn: Callable[..., Any], *args: Any,
           **kwargs: Any) -> Any:  # fmt: skip
    """Make a stdlib call and record it for ``explain`` as the user would write it.
    Without ``ctx`` (a read-ahead no command asked for) the call is made unrecorded."""
    shown = ", ".join([py_repr(a) for a in args] + [f"{k}={py_repr(v)}" for k, v in kwargs.items()])
    return traced_as(ctx, func, shown, fn, *args, **kwargs)


def traced_as(ctx: Invocation | None, func: str, shown: str, fn: Callable[..., Any],
              *args: Any, **kwargs: Any) -> Any:  # fmt: skip
    """traced, with the arguments shown as given (a constant by name: socket.SHUT_WR is
    a plain int)."""
    if ctx is None:
        return fn(*args, **kwargs)
    try:
        value = fn(*args, **kwargs)
    except BaseException as exc:
        record_call(ctx, func, shown, f"raised {type(exc).__name__}")
        raise
    record_call(ctx, func, shown, py_repr(value))
    return value


def record_call(ctx: Invocation, func: str, args: str, result: str) -> None:
    """Append a call to the command's list; past MAX_RECORDED, one line counts the rest."""
    from pslrepl.invocation import Call

    calls = ctx.calls
    if len(calls) < MAX_RECORDED:
        calls.append(Call(func, args, result))
        return
    last = calls[-1]
    more = 1
    if last.args == "..." and last.result.endswith(" more calls, not listed"):
        more = int(last.result.split()[0]) + 1
        calls.pop()
    calls.append(Call(func, "...", f"{more} more calls, not listed"))
