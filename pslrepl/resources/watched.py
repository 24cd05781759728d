"""What a socket has read ahead and what its live notices told: the state the watcher's
thread and reading commands share.

A socket command is the system call: ``recv`` reads from the kernel when the user asks
and not before. The watcher only peeks (MSG_PEEK) to announce "15 bytes waiting" or
"a connection is pending", once per change: unread bytes already announced are looked
at again only to see whether more came, and EOF is told once. An SSLSocket can't peek:
what waits is encrypted, and may be TLS's own (session tickets). Its bytes are
decrypted without waiting, in the main thread (an SSL object is not for two threads),
into the socket's ``held`` buffer, which the next read returns first.
"""

from __future__ import annotations

import socket
import sys
import threading

from pslrepl.events import Event
from pslrepl.resources.base import Resource
from pslrepl.resources.calls import traced
from pslrepl.resources.watcher import watcher

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.session import Session

PEEK = 65536
WATCHER = "watcher"  # an event field: a live notice the socket watcher posted


class WatchedSocket(Resource):
    """A socket the watcher announces: what was read ahead, and what was told."""

    def __init__(self, session: Session, name: str, sock: socket.socket) -> None:
        super().__init__(session, name)
        self.sock = sock
        self.shut: set[str] = set()
        self.peer_eof = False
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

    @property
    def tls(self) -> bool:
        """Its socket is an SSLSocket (``tls connect``, or since ``tls wrap``)."""
        # No SSLSocket can exist before ssl is imported: start-up needn't import it.
        ssl = sys.modules.get("ssl")
        return ssl is not None and isinstance(self.sock, ssl.SSLSocket)

    @property
    def watchable(self) -> bool:
        """Whether the watcher has anything to look for on it (see Sock)."""
        return True

    @property
    def byte_stream(self) -> bool:
        """A connected byte stream (tcp, tls, unix): a read of b'' is the peer's EOF."""
        return self.sock.type == socket.SOCK_STREAM

    # -- what the watcher calls (its thread) --------------------------------------------

    def notice(self) -> None:
        if self.wake_reader():
            return
        with self.lock:
            if self.closed or self.busy:
                return
            if self.tls:
                # Encrypted records came, maybe only TLS's own: announce() decrypts them in
                # the main thread when the notice is due, and says what they held.
                self.session.post(Event(self.name, "data", direction="in", watcher=True), log=False)
                return
            if self.held_error is not None:
                return  # told already; the next recv raises it
            if "rd" in self.shut and self.byte_stream:
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
                self._post_end()
                return
            if not head and self.byte_stream and not self.held:
                self.peer_eof = True
                if not self.eof_told:
                    self.eof_told = True
                    self._post("eof")
                return
            unread = len(self.held) + max(self._kernel_unread(), len(head))
            if unread > self.seen:
                self._post("waiting", size=unread, data=bytes(self.held + head)[:64])
            self.seen = unread
            watcher(self.session).hush(self)

    def take_error(self) -> OSError | None:
        """The error a read ahead took (a reset), handed to the read that meets it now,
        and logged there: that is when the user met it (timeline draws it so)."""
        exc, self.held_error = self.held_error, None
        if exc is not None:
            self.post(Event(self.name, "error", direction="in", errno=exc.errno,
                            reason=exc.strerror or str(exc)))  # fmt: skip
        return exc

    def _post_end(self) -> None:
        """Say what the next read will meet: EOF, or the error a read ahead took."""
        exc = self.held_error
        if exc is None:
            self.peer_eof = True
            self._post("eof")
        else:
            self._post("error", errno=exc.errno, reason=exc.strerror or str(exc))

    def _post(self, kind: str, sentence: str = "", *, size: int = 0, data: bytes = b"",
              **facts: Any) -> None:  # fmt: skip
        """A live notice (not logged: when it comes depends on timing), marked as the
        watcher's, so a command that reads this socket can withdraw it unseen."""
        direction = "in" if kind in ("waiting", "eof") else ""
        event = Event(self.name, kind, sentence, direction=direction, size=size, data=data,
                      watcher=True, **facts)  # fmt: skip
        self.session.post(event, log=False)

    def announce(self, stream: str) -> tuple[int, bytes] | None:
        """A TLS socket's notice, due now (main thread, session lock held): decrypt what
        came, without waiting; say what is new, or nothing (a session ticket).

        Not under the socket's lock: the watcher takes it first and then the session's
        (to post), so taking them the other way round here could deadlock. Nothing races:
        for a TLS socket the watcher only posts, and what it counts is this thread's."""
        if not self.tls or self.closed or self.busy:
            return None
        self.fill()
        if not self.held and (self.held_eof or self.held_error is not None):
            if not self.eof_told:
                self.eof_told = True
                self._post_end()
            return None
        if len(self.held) < PEEK and not self.held_eof:
            # All decrypted: the next record wakes the watcher. Not past EOF: the socket
            # stays readable at EOF, and the watcher would wake at once, again and again.
            watcher(self.session).arm(self)
        if len(self.held) <= self.seen:
            return None
        self.seen = len(self.held)
        return len(self.held), bytes(self.held[:64])

    def wake_reader(self) -> bool:
        """The watcher's thread: if a command is reading this socket, it waits for it
        to turn readable (watch_for_reader): wake that wait, and announce nothing."""
        with self.lock:
            reading = self.busy and not self.closed
        if reading:
            with self.session.cond:
                self.session.cond.notify_all()
        return reading

    # -- what commands call -----------------------------------------------------------

    def arm(self) -> None:
        # A stream whose EOF the user knows of, or whose EOF or error a read met already,
        # has nothing more to come: the watcher would only wake, at once, again and again.
        over = self.eof_told or self.held_eof or self.held_error is not None
        if not self.closed and self.watchable and not (over and self.byte_stream):
            watcher(self.session).arm(self)

    def watch_for_reader(self) -> None:
        """A command reading this socket (begin_read) found nothing yet: the watcher's
        next look, when it turns readable, wakes the command's wait. Armed again each
        time the wait finds nothing; the watcher disarms it as it fires."""
        if not self.closed:
            watcher(self.session).arm(self)

    def stop_watching_for_reader(self) -> None:
        watcher(self.session).disarm(self)

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

    def withdraw_eof_notice(self) -> None:
        """`wait NAME eof` says it: a notice of the watcher's saying the same, not shown
        yet (it may have come just before), is withdrawn."""
        session = self.session
        with session.cond:
            for event in [e for e in session.pending if e.source == self.name
                          and e.fields.get(WATCHER) and "EOF" in e.detail]:  # fmt: skip
                session.pending.remove(event)

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
                self._post_end()
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

    def unread(self) -> int | None:
        """Bytes recv would return without waiting: those held, and those the kernel
        holds (FIONREAD, where the platform says). For TLS only what is decrypted: the
        kernel holds records, which may be TLS's own."""
        if self.tls:
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
