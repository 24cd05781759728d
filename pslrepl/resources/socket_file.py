"""A socket's file object (socket.makefile) kept under a name, and what it has buffered."""

from __future__ import annotations

import socket

from pslrepl.events import Event, plural
from pslrepl.resources.base import Resource
from pslrepl.resources.polling import poll_ready

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar

    from pslrepl.resources.sockets import Sock
    from pslrepl.results import Cell
    from pslrepl.session import Session

CLOSE_GRACE = 1.0  # seconds close may wait to flush what a write left in the buffer


class SockFile(Resource):
    """``sock.makefile(mode)`` under a name: a BufferedReader, BufferedWriter or
    TextIOWrapper over a SocketIO. A reading file takes as much as has come from the
    socket into its own buffer: those bytes are no longer there for ``recv`` on the
    socket, and ``info`` says how many it holds.

    Closing it closes the file object only; the socket stays open, as in the stdlib (and
    a socket closed first keeps its descriptor until its file objects are closed)."""

    KINDS: ClassVar[tuple[str, ...]] = ("file",)
    EVENTS: ClassVar[tuple[str, ...]] = ("data", "close")

    def __init__(self, session: Session, name: str, sock_res: Sock, file: Any,
                 mode: str) -> None:  # fmt: skip
        super().__init__(session, name)
        self.sock_res = sock_res
        self.file = file
        self.mode = mode
        self.text = "b" not in mode
        self.from_socket = 0  # bytes the file object took from the socket
        self.returned = 0  # bytes (text: characters) reads handed to the user
        self.returned_bytes = 0  # the same, as bytes (text: encoded again)
        self.written = 0
        # What a read that timed out had taken, handed out first by the next read (the
        # shell's, as recv keeps what a recv that timed out took).
        self.pending: bytes | str = "" if self.text else b""
        self._raw = self._count_raw()
        self.post(Event(name, "start", mode=mode, parent=sock_res.name))

    def _count_raw(self) -> Any:
        """SocketIO is a Python class: its readinto, set on this one instance, counts
        what the file object takes from the socket (for info); each call goes through
        unchanged. A BufferedRWPair (mode rw) keeps its raw object to itself: not counted."""
        buffered = self.file.buffer if self.text else self.file
        raw = getattr(buffered, "raw", None)
        if not isinstance(raw, socket.SocketIO) or not raw.readable():
            return None
        readinto = raw.readinto

        def counted(buf: Any) -> int | None:
            n: int | None = readinto(buf)
            if n:
                self.from_socket += n
            return n

        raw.readinto = counted  # type: ignore[method-assign,assignment]
        return raw

    # -- what it is -------------------------------------------------------------------

    @property
    def readable(self) -> bool:
        return not self.closed and "r" in self.mode

    @property
    def writable(self) -> bool:
        return not self.closed and "w" in self.mode

    @property
    def obj(self) -> Any:
        return self.file

    @property
    def held(self) -> int | None:
        """Bytes (text: about, in characters) taken from the socket and not yet handed
        out; None where it can't be known (mode rw)."""
        if self._raw is None:
            return None
        return max(0, self.from_socket - self.returned_bytes)

    @property
    def state(self) -> str:
        return "closed" if self.closed else f"open ({self.mode})"

    @property
    def local(self) -> str:
        return self.sock_res.local

    @property
    def remote(self) -> str:
        return self.sock_res.remote

    @property
    def bytes_in(self) -> int:
        return self.returned

    @property
    def bytes_out(self) -> int:
        return self.written

    def toolbar(self) -> str:
        return f"file {self.mode} on {self.sock_res.name}"

    def info(self) -> list[tuple[str, Cell]]:
        pairs = super().info()
        unit = "character" if self.text else "byte"
        held = self.held
        extra: list[tuple[str, Cell]] = [
            ("socket", f"{self.sock_res.name} (fd {self.sock_res.sock.fileno()})"),
            ("mode", f"{self.mode!r}: {type(self.file).__name__}"),
        ]
        if "r" in self.mode:
            extra += [
                ("from the socket", plural(self.from_socket, "byte")),
                ("returned", plural(self.returned, unit)),
                ("holds", "not known (a BufferedRWPair keeps its reader to itself)"
                 if held is None else f"{'about ' if self.text else ''}"
                 f"{plural(held, 'byte')} taken from {self.sock_res.name} and not read "
                 f"yet: recv on {self.sock_res.name} won't see them; read {self.name} "
                 "returns them"),
            ]  # fmt: skip
        if "w" in self.mode:
            extra.append(("written", plural(self.written, unit)))
        pairs[3:3] = extra
        return pairs

    # -- wait -------------------------------------------------------------------------

    def ready(self, event: str) -> bool:
        if event != "data":
            return super().ready(event)
        if self.closed or "r" not in self.mode:
            return False
        return bool(self.pending) or bool(self.held) or poll_ready([self.sock_res.sock])

    def waited(self, event: str) -> str:
        if event == "data":
            return f"data to read: read {self.name}"
        return super().waited(event)

    # -- Resource ---------------------------------------------------------------------

    def close(self) -> str:
        if self.closed:
            return "already closed"
        sock = self.sock_res.sock
        timeout = None
        try:
            timeout = sock.gettimeout()
            if timeout is None and "w" in self.mode:
                sock.settimeout(CLOSE_GRACE)  # close flushes: a peer that won't read
        except OSError:
            pass
        lost_reason = None
        try:
            self.file.close()
        except (OSError, ValueError) as exc:
            lost_reason = str(exc)
        finally:
            if self._raw is not None:
                vars(self._raw).pop("readinto", None)
            if timeout is None and not self.sock_res.closed:
                try:
                    sock.settimeout(None)
                except OSError:
                    pass
        self.closed = True
        event = Event(self.name, "close", parent=self.sock_res.name,
                      parent_closed=self.sock_res.closed, reason=lost_reason)  # fmt: skip
        self.post(event)
        return event.detail
