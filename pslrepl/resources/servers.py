"""A socketserver server running in the background under a name, and its clients."""

from __future__ import annotations

import os
import socket
import threading
import time

from pslrepl.addresses import format_addr
from pslrepl.events import Event
from pslrepl.render import plural
from pslrepl.resources.forking import ForkedChildren
from pslrepl.resources.server_class import server_class as server_class
from pslrepl.resources.server_clients import Nudger, ServerClients

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.addresses import Addr
    from pslrepl.resources.counting import Connection
    from pslrepl.results import Cell
    from pslrepl.session import Session

POLL_INTERVAL = 0.1  # serve_forever's poll: how soon shutdown() is noticed
STOP_GRACE = 2.0  # how long `stop` waits for handlers once their clients are cut off
MAX_THREADS = 256  # --threading: live handler threads at most (--max-clients N)
STUCK_NAMES = 3  # stop names this many threads that won't end, and counts the rest


class Server(ServerClients, ForkedChildren):
    """A running ``socketserver`` server: serve_forever in thread pslrepl:NAME."""

    KINDS = ("server",)
    EVENTS = ("connect",)

    def __init__(self, session: Session, name: str, server: Any, *, proto: str,
                 handler: str, mode: str, unix_path: str = "", idle: float | None = None,
                 max_clients: int | None = None, manual: bool = False) -> None:  # fmt: skip
        super().__init__(session, name)
        # --manual: bound and listening, served one request at a time by handle_request;
        # serve_forever never runs, so shutdown() (which waits for it) must not be called.
        self.manual = manual
        self.handled = 0  # handle_request calls that served a request
        self.timeouts = 0  # handle_request calls that ended in handle_timeout
        self.last_client: Any = None  # the address process_request was last given
        self.server = server
        self.proto = proto
        self.handler = handler
        self.mode = mode
        self.unix_path = unix_path
        if unix_path:
            session.own_path(unix_path)  # removed even if the shell is killed
        self.idle = idle  # --idle: seconds a client may do nothing (None: forever)
        self.connections: dict[int, Connection] = {}
        self.served = 0
        self.errors = 0
        self.peers: dict[str, int] = {}  # UDP: datagrams by sender
        self.children: dict[int, tuple[str, float]] = {}  # --forking: pid -> client, since
        self.child_socks: dict[int, socket.socket] = {}  # --forking: pid -> its client
        self.saturated = False  # --forking: every one of max_children busy
        self.directory = ""  # --handler http: what it serves
        self.room: Any = None  # --handler chat: the room (handlers.Room)
        self.dgram = server.socket_type == socket.SOCK_DGRAM
        self.child_conn: Connection | None = None  # in a --forking UDP child: its counts
        self.child_dir = session.tmp if mode == "forking" else ""
        # Counters and client tables have a lock of their own: the session's lock guards
        # the event queue, and taking it per chunk of bytes made every client wait on it.
        self.lock = threading.Lock()
        self.nudger = Nudger(session, name)  # traffic's wake-ups for the session's waiters
        # --threading: live handler threads, at most max_clients (admit waits for one).
        self.slots = threading.Condition(threading.Lock())
        self.workers: set[threading.Thread] = set()
        self.admitted = 0
        self.cap_reached = 0  # times every thread was busy and a client had to wait
        if mode == "forking" and max_clients:
            server.max_children = max_clients
        default = MAX_THREADS if mode == "threading" else getattr(server, "max_children", 1)
        self.max_clients: int = max_clients or default or 1
        # A forked child must not touch the session: a lock another thread held at
        # fork time stays held in the child forever. Reports come from this pid only.
        self.pid = os.getpid()
        server.psl = self
        sockname = server.socket.getsockname()
        self._local = format_addr(sockname)
        if proto != "unix":
            session.volatile[f"{name}.port"] = str(sockname[1])
            session.volatile[f"{name}.addr"] = self._local
            session.volatile[f"{name}.laddr"] = self._local  # as a socket's, for {NAME.laddr}
        self.post(Event(name, "start", origin=type(server).__name__, local=self._local,
                        handler=handler, manual=manual or None))  # fmt: skip
        self.thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL},
            name=f"pslrepl:{name}", daemon=True,
        )  # fmt: skip

    def start(self) -> None:
        """Serve: once what the handler needs (a room, a directory) is in place."""
        if not self.manual:
            self.thread.start()

    def request_timed_out(self) -> None:
        """handle_timeout: handle_request waited server.timeout and nobody came."""
        self.timeouts += 1
        wait = self.server.timeout
        self.post(Event(self.name, "timeout", wait=float(wait)))

    # -- --threading: the cap on handler threads ---------------------------------------

    def admit(self) -> bool:
        """In the serve loop, before a handler thread starts: wait while all max_clients
        threads are busy. False once `stop` has begun: the client is not served."""
        with self.slots:
            if self.admitted >= self.max_clients and not self.closed:
                self.cap_reached += 1
                if self.cap_reached == 1:  # said once; info counts the times since
                    self.note(f"all {self.max_clients} handler threads busy (--max-clients "
                              "N): new clients wait in the listen queue till one ends")  # fmt: skip
                while self.admitted >= self.max_clients and not self.closed:
                    self.slots.wait()
            if self.closed:
                return False
            self.admitted += 1
            return True

    def started(self) -> None:
        with self.slots:
            self.workers.add(threading.current_thread())

    def release(self) -> None:
        with self.slots:
            self.admitted -= 1
            self.workers.discard(threading.current_thread())
            self.slots.notify_all()

    # -- Resource ---------------------------------------------------------------------

    def waited(self, event: str) -> str:
        if event == "connect":
            return f"a client has connected ({self.served} so far)"
        return super().waited(event)

    def ready(self, event: str) -> bool:
        # "connect": a client has come (now, or already served): scripts sync on it.
        return event == "connect" and self.served > 0

    @property
    def listening(self) -> bool:
        return not self.closed

    @property
    def bound_addr(self) -> Addr | None:
        from pslrepl.addresses import reachable

        return None if self.closed else reachable(self.server.socket)

    @property
    def obj(self) -> Any:
        return self.server

    @property
    def state(self) -> str:
        if self.closed:
            return "stopped"
        if self.manual:
            how = "bound" if self.dgram else "listening"
            return f"{how}, {plural(self.handled, 'request')} handled (handle_request)"
        return f"serving, {self._count_now()}" if self.dgram else f"serving {self._count_now()}"

    def _count_now(self) -> str:
        """A stream server has clients now; a datagram server has had datagrams."""
        if self.dgram:
            return f"{plural(self.served, 'datagram')} so far"
        return plural(len(self.connections), "client")

    @property
    def local(self) -> str:
        return self._local

    @property
    def remote(self) -> str:
        return f"{self.proto} {self.handler}"

    def toolbar(self) -> str:
        return f"{self.handler} on {self._local}, {self._count_now()}"

    def info(self) -> list[tuple[str, Cell]]:
        pairs = super().info()
        pairs[3:3] = [
            ("class", type(self.server).__name__),
            ("handler", self.handler),
            ("address", self._local),
            ("mode", self.mode),
            ("thread", "none: --manual (handle_request NAME)" if self.manual else self.thread.name),
            ("clients now", str(len(self.connections))),
            ("served", str(self.served)),
            ("handler errors", str(self.errors)),
        ]
        if self.mode in ("threading", "forking"):
            at_once = f"{self.max_clients} (--max-clients)"
            if self.cap_reached:
                at_once += f"; all were busy {plural(self.cap_reached, 'time')}"
            pairs.insert(9, ("max clients", at_once))
        if not self.dgram:
            pairs.insert(9, ("idle limit", f"{self.idle:g} s" if self.idle else "none (--idle S)"))
        server = self.server
        pairs.append(
            (
                "timeout",
                "none: handle_request waits until a request comes"
                if server.timeout is None
                else f"{server.timeout:g} s (handle_request)",
            )
        )
        if not self.dgram:  # listen()'s backlog: a datagram server does not listen
            pairs.append(("queue size", f"{server.request_queue_size} (request_queue_size)"))
        pairs.append(("reuse address", f"{server.allow_reuse_address} (allow_reuse_address)"))
        if self.directory:
            pairs.insert(5, ("directory", self.directory))
        return pairs

    def close(self) -> str:
        """shutdown() then server_close(), after ending what its clients hold open."""
        if self.closed:
            return "already stopped"
        self.closed = True
        with self.slots:
            self.slots.notify_all()  # a serve loop waiting for a free thread gives up
        deadline = time.monotonic() + STOP_GRACE
        # A handler blocked in recv would keep shutdown() or server_close() waiting:
        # end the clients' connections first. A forked child's too: it sees its client
        # gone and finishes, tally and all, as when the client leaves.
        with self.lock:
            streams = [c.request for c in self.connections.values()]
            streams += self.child_socks.values()
        for stream in streams:
            try:
                stream.shutdown(socket.SHUT_RDWR)
            except (OSError, AttributeError):
                pass  # already gone, or not a stream
        # shutdown() waits for serve_forever to return, and a sync server's serve_forever
        # is inside the handler: one that never returns would hang `stop`. So it waits
        # in a thread of its own, for STOP_GRACE at most.
        if not self.manual:
            stopper = threading.Thread(target=self.server.shutdown,
                                       name=f"pslrepl:{self.name}:stop", daemon=True)  # fmt: skip
            stopper.start()
            stopper.join(timeout=STOP_GRACE)
        if self.mode == "forking":
            self._end_children(deadline)
        self.server.server_close()  # a forking server reaps what is left
        stuck = self._join_threads(deadline)
        self.nudger.stop()
        if self.room is not None:
            self.room.close()
        with self.lock:
            for keep in self.child_socks.values():
                keep.close()
            self.child_socks.clear()
        removed = ""
        if self.unix_path:
            try:
                os.unlink(self.unix_path)
                removed = f"; removed {self.unix_path}"
            except OSError:
                pass
            self.session.disown_path(self.unix_path)
        what = "datagram" if self.dgram else "client"
        outcome = f"stopped after serving {plural(self.served, what)}{removed}"
        if stuck:  # named, a few: a flood's thousand threads would be a page
            names = ", ".join(stuck[:STUCK_NAMES])
            if len(stuck) > STUCK_NAMES:
                names += f" and {len(stuck) - STUCK_NAMES} more"
            runs, each = ("a handler still runs", "the") if len(stuck) == 1 else (
                "handlers still run", "each")  # fmt: skip
            outcome += (f"; {runs} in {names}: the port is closed, and {each} thread ends "
                        "when its handler returns")  # fmt: skip
        self.post(Event(self.name, "close", outcome=outcome))
        return outcome

    def _join_threads(self, deadline: float) -> list[str]:
        """The serve loop's thread and every handler thread, joined until the deadline;
        the names of those still running then."""
        with self.slots:  # admitted: from admission to release, started or not yet
            while self.admitted and (remaining := deadline - time.monotonic()) > 0:
                self.slots.wait(remaining)
            workers = list(self.workers)
        stuck = []
        here = threading.current_thread()
        for thread in (self.thread, *workers):
            if thread is not here and thread.ident is not None:
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
                if thread.is_alive():
                    stuck.append(thread.name)
        return sorted(set(stuck))
