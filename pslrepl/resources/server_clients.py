"""What a server's handler threads report: clients coming and going, bytes, errors."""

from __future__ import annotations

import os
import threading
import time

from pslrepl.addresses import format_addr
from pslrepl.events import LOG_DATA_LIMIT, Event
from pslrepl.render import plural
from pslrepl.resources.base import Resource, age
from pslrepl.resources.counting import CHILD_TALLY, PID, Chunk, Connection
from pslrepl.resources.handler_errors import (
    TROUBLE,
    HandshakeTimeout,
    client_trouble,
    handler_traceback,
)
from pslrepl.results import volatile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.results import Cell

HANDSHAKE_TIMEOUT = 10.0  # --tls: the longest a client may take over its handshake
SYNC_NOTE_AFTER = 1.0  # a sync server says who holds it in a handshake after this long
NUDGE_EVERY = 0.02  # s: how often traffic alone wakes the session's waiters


def traffic_event(source: str, kind: str, direction: str, data: Any, peer: str) -> Event:
    """What Event.traffic(source, kind, "client", direction, data, peer=peer) makes, as
    a Chunk: its facts kept raw, made into the Event's when first read (events.Chunk).
    tests/test_servers_speed.py holds the two equal, slot by slot."""
    size = len(data)
    if size > LOG_DATA_LIMIT or type(data) is not bytes:
        data = bytes(data[:LOG_DATA_LIMIT])  # a view or bytearray may change: a copy
    made = NEW(Chunk)
    made.raw = (time.time(), source, kind, direction, data, size, peer)
    return made


NEW = object.__new__


class Nudger:
    """Wakes the session's waiters for a server's traffic: at once if it has not for
    NUDGE_EVERY, else once that has passed, from a thread of its own (pslrepl:NAME:nudge,
    started when first needed). A burst costs the waiters one wake-up per NUDGE_EVERY,
    and its last chunk still wakes them."""

    def __init__(self, session: Any, name: str) -> None:
        self.session = session
        self.name = name
        self.at = 0.0  # no wake-up before this, but from the thread
        self.owed = False  # the thread has a wake-up to deliver
        self.lock = threading.Lock()
        self.due = threading.Event()
        self.ended = threading.Event()
        self.thread: threading.Thread | None = None

    def traffic(self) -> None:
        now = time.monotonic()
        if now >= self.at:
            self.at = now + NUDGE_EVERY
            self._wake()
        elif not self.owed:
            with self.lock:
                if self.owed or self.ended.is_set():
                    return
                self.owed = True
                if self.thread is None:
                    self.thread = threading.Thread(target=self._run, daemon=True,
                                                   name=f"pslrepl:{self.name}:nudge")  # fmt: skip
                    self.thread.start()
                self.due.set()

    def _wake(self) -> None:
        with self.session.cond:
            self.session.cond.notify_all()

    def _run(self) -> None:
        from pslrepl.signals_table import background_thread

        background_thread()
        while True:
            self.due.wait()
            delay = self.at - time.monotonic()
            if self.ended.wait(max(0.0, min(delay, NUDGE_EVERY))):
                return
            with self.lock:
                self.owed = False
                self.due.clear()
            self.at = time.monotonic() + NUDGE_EVERY
            self._wake()

    def stop(self) -> None:
        with self.lock:
            self.ended.set()
            thread = self.thread
        self.due.set()
        if thread is not None:
            thread.join(timeout=2.0)


class ServerClients(Resource):
    """The part of a Server that handler threads call (see servers.Server, which sets
    this state up). A --forking child calls it too, and then only counts or writes a
    file: a lock another thread held at fork time stays held in the child forever."""

    server: Any
    mode: str
    idle: float | None
    pid: int
    lock: threading.Lock
    connections: dict[int, Connection]
    served: int
    errors: int
    peers: dict[str, int]
    room: Any
    child_conn: Connection | None
    child_dir: str
    children: dict[int, tuple[str, float]]
    # Bytes moved by clients no longer connected, datagrams, and reaped --forking
    # children (under self.lock); bytes_in and bytes_out add the connected clients'.
    gone_in = 0
    gone_out = 0
    nudger: Nudger
    # While `load` measures this server: clients [connected, left], logged but not
    # shown one by one (hundreds of lines would bury load's summary); None otherwise.
    quiet: list[int] | None = None

    if TYPE_CHECKING:

        def _child_file(self, pid: int, what: str) -> str: ...

    def connection_opened(self, request: Any, client_address: Any) -> Connection:
        with self.lock:
            self.served += 1
            served = self.served
        # A UNIX socket's client has no address (unless it bound one): a number.
        addr = format_addr(client_address) or f"unix#{served}"
        if self.mode == "threading":  # socketserver's "Thread-7 (process_request_thread)"
            threading.current_thread().name = f"pslrepl:{self.name}#{served}"
        conn = Connection(addr, request)
        with self.lock:
            self.connections[id(conn)] = conn
        request.psl_server, request.psl_conn = self, conn
        if self.room is not None:  # in the room before anyone hears it has connected
            conn.member = self.room.join(request, conn, hello=f"* {addr} joined\n".encode())
        self._client_event(Event(self.name, "client", phase="connected", peer=addr), 0)
        return conn

    def connection_closed(self, conn: Connection) -> None:
        if conn.member is not None and self.room is not None:
            self.room.leave(conn.member)  # if its handler never ran (a failed handshake)
        with self.lock:
            if self.connections.pop(id(conn), None) is not None:
                self.gone_in += conn.bytes_in
                self.gone_out += conn.bytes_out
        took = time.time() - conn.since
        self._client_event(Event(self.name, "client", phase="left", peer=conn.addr, took=took,
                                 bytes_in=conn.bytes_in, bytes_out=conn.bytes_out), 1)  # fmt: skip

    def _client_event(self, event: Event, which: int) -> None:
        with self.lock:
            quiet = self.quiet
            if quiet is not None:
                quiet[which] += 1
        if quiet is None:
            self.tell(event)
            return
        # In the logs (log NAME, timeline, export see it), not in the live display.
        self.log.append(event)
        with self.session.cond:
            self.session.log.append(event)
            self.session.cond.notify_all()

    def tell(self, event: Event) -> None:
        """A client's coming or going, or a request: posted (shown live, waking the
        session's waiters) when the session shows events live; in a quiet session (a
        script's default) logged as traffic is, waking waiters at most every NUDGE_EVERY:
        woken three times per HTTP/1.0 request, a script's main thread took the GIL from
        the handler threads as often."""
        if self.session.settings.events == "live":
            self.post(event)
        else:
            self.logged(event)

    def quiet_clients(self) -> None:
        """`load` begins: its clients are counted, not shown one by one."""
        with self.lock:
            self.quiet = [0, 0]

    def loud_clients(self) -> tuple[int, int]:
        """`load` is done: how many clients connected and left meanwhile."""
        with self.lock:
            counts, self.quiet = self.quiet or [0, 0], None
        return counts[0], counts[1]

    def client_count(self) -> int:
        """Clients connected now (a --forking server's: its children not yet reaped)."""
        with self.lock:
            return len(self.connections) + len(self.children)

    def handshake(self, request: Any, client_address: Any) -> None:
        """--tls: the handshake, bounded by --idle (or HANDSHAKE_TIMEOUT). A sync server
        serves one client at a time, so it says who holds it while it waits."""
        bound = self.idle or HANDSHAKE_TIMEOUT
        addr = format_addr(client_address) or "a local client"
        first = min(SYNC_NOTE_AFTER, bound / 2) if self.mode == "sync" else bound
        request.settimeout(first)
        try:
            try:
                request.do_handshake()
            except TimeoutError:
                if first >= bound:
                    raise
                self.note(f"a sync server serves one client at a time: {addr} has not "
                          "finished its TLS handshake; the next client waits (up to "
                          f"{bound:g} s, --idle S)")  # fmt: skip
                request.settimeout(bound - first)
                request.do_handshake()  # OpenSSL goes on where it left off
        except TimeoutError:
            why = ("; a sync server serves one client at a time, so the next one waited"
                   if self.mode == "sync" else "")  # fmt: skip
            raise HandshakeTimeout(
                f"did not finish its TLS handshake in {bound:g} s{why}"
            ) from None
        request.settimeout(self.idle or None)

    def client_said(self, addr: str, text: str) -> None:
        """What a client did (left mid-send, idled), one line: as a handler's error is."""
        self.post(Event(self.name, "client", phase="trouble", peer=addr, reason=text))

    def note(self, text: str) -> None:
        """Something a handler wants said (in the log and live), one line."""
        if os.getpid() == self.pid:  # a --forking child stays silent (see traffic)
            self.post(Event(self.name, "note", text))

    def traffic(self, conn: Connection, direction: str, data: Any) -> None:
        """Bytes a client's socket moved (CountedSocket, or a built-in handler, reports
        them), recorded, and the session's waiters woken (at most every NUDGE_EVERY)."""
        self.record(conn, direction, data)
        self.nudger.traffic()

    def record(self, conn: Connection, direction: str, data: Any) -> None:
        """Bytes a client moved, counted and logged; the caller wakes the waiters (the
        --selectors loop does once per select, not per chunk). Per chunk, only what a
        bare server doesn't do at all: an int add, a Chunk (a tuple: the Event is made
        when read), and two deque appends (atomic: no lock)."""
        if PID[0] != self.pid:
            return  # a --forking child: it can't report without risking a deadlock
        size = len(data)  # bytes, or a memoryview cast to bytes
        # One thread moves a client's bytes (chat's senders hold the member's lock), so
        # its counts need no lock; the server's total is theirs summed (bytes_in).
        if direction == "in":
            conn.bytes_in += size
            kind = "recv"
        else:
            conn.bytes_out += size
            kind = "send"
        if size > LOG_DATA_LIMIT or type(data) is not bytes:
            data = bytes(data[:LOG_DATA_LIMIT])  # a view or bytearray may change: a copy
        made = NEW(Chunk)
        made.raw = (time.time(), self.name, kind, direction, data, size, conn.addr)
        self.log.append(made)  # logged, not shown live (kind recv/send)
        self.session.log.append(made)

    @property
    def bytes_in(self) -> int:
        """Every byte its clients sent: those gone, and those connected now."""
        with self.lock:
            return self.gone_in + sum(c.bytes_in for c in self.connections.values())

    @property
    def bytes_out(self) -> int:
        with self.lock:
            return self.gone_out + sum(c.bytes_out for c in self.connections.values())

    def logged(self, event: Event) -> None:
        """A chunk of traffic into the logs, as post() would, but waking the session's
        waiters at most every NUDGE_EVERY: woken twice per round trip, a script's main
        thread (in `sleep` or `wait`) took the GIL from the server at every one, and a
        threading echo server ran at half the speed of socketserver's own."""
        self.log.append(event)  # a deque's append is atomic: no lock needed
        self.session.log.append(event)  # not live (kind recv/send): nothing to show
        self.nudger.traffic()

    def datagram(self, handler: Any, data: bytes, *, out: bool = False) -> None:
        if PID[0] != self.pid:  # a --forking child: count, for the parent to read
            if self.child_conn is not None:
                CHILD_TALLY.traffic(self.child_conn, "out" if out else "in", data)
            return
        peer = format_addr(handler.client_address)
        with self.lock:
            if out:
                self.gone_out += len(data)
            else:
                self.gone_in += len(data)
                self.peers[peer] = self.peers.get(peer, 0) + 1
                self.served += 1
        kind, direction = ("send", "out") if out else ("recv", "in")
        self.logged(traffic_event(self.name, kind, direction, data, peer))

    def handler_raised(self, request: Any, client_address: Any) -> None:
        import sys

        trouble = client_trouble(sys.exc_info()[1], self.idle)
        if os.getpid() != self.pid:
            # A forked child: no events from here (a lock held at fork time would never
            # be let go), but a file the parent reads when it reaps this child.
            if self.child_dir:
                text = TROUBLE + trouble if trouble else handler_traceback()
                fd = os.open(self._child_file(os.getpid(), "err"), os.O_WRONLY | os.O_CREAT, 0o600)
                os.write(fd, text.encode("utf-8", "replace"))
                os.close(fd)
            return
        conn = getattr(request, "psl_conn", None)  # it knows the client's name
        addr = conn.addr if conn is not None else format_addr(client_address)
        if trouble:
            self.post(Event(self.name, "client", phase="trouble", peer=addr, reason=trouble))
            return
        self._raised(addr, handler_traceback().rstrip())

    def _raised(self, addr: str, text: str) -> None:
        with self.lock:
            self.errors += 1
        self.post(Event(self.name, "raised", peer=addr, reason=text))

    def client_rows(self) -> list[list[Cell]]:
        now = time.time()
        rows: list[list[Cell]] = []
        with self.lock:  # handler threads change these as we read them
            conns, peers = list(self.connections.values()), list(self.peers.items())
        for conn in conns:
            bytes_in, bytes_out = conn.bytes_in, conn.bytes_out
            lock = getattr(conn.member, "lock", None)
            if lock is not None:
                # chat sends to a member and counts it under the member's lock: the bytes
                # a client has already read are counted once the lock is free.
                with lock:
                    bytes_in, bytes_out = conn.bytes_in, conn.bytes_out
            rows.append([conn.addr, volatile(age(now - conn.since), "age"),
                         str(bytes_in), str(bytes_out), conn.thread.name])  # fmt: skip
        for peer, count in peers:
            rows.append([peer, "", plural(count, "datagram"), "", ""])
        children = getattr(self.server, "active_children", None) or ()
        for pid in sorted(children):  # its bytes are known once it has ended
            addr, since = self.children.get(pid, ("(forked)", now))
            rows.append([addr, volatile(age(now - since), "age"), "", "", f"child pid {pid}"])
        return rows
