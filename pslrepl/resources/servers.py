"""A socketserver server running in the background under a name, and its clients."""

from __future__ import annotations

import os
import signal
import socket
import socketserver
import ssl
import threading
import time
import traceback

from pslrepl.addresses import format_addr
from pslrepl.events import Event
from pslrepl.render import plural
from pslrepl.resources.base import Resource, age
from pslrepl.results import volatile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.results import Cell
    from pslrepl.session import Session

POLL_INTERVAL = 0.1  # serve_forever's poll: how soon shutdown() is noticed
STOP_GRACE = 2.0  # how long `stop` waits for handlers once their clients are cut off


class Connection:
    """One live client of a server."""

    __slots__ = ("addr", "since", "bytes_in", "bytes_out", "pid", "request", "lock", "thread")

    def __init__(self, addr: str, request: Any) -> None:
        self.addr = addr
        self.since = time.time()
        self.bytes_in = 0
        self.bytes_out = 0
        self.pid: int | None = None
        self.request = request
        self.lock = threading.Lock()  # chat's broadcasts and the handler share the socket
        self.thread = threading.current_thread()


TROUBLE = "client trouble: "  # a forked child's note that is no traceback

# TLS failures a client causes, by OpenSSL's reason: what they mean and what to do.
TLS_REASONS = {
    "TLSV1_ALERT_UNKNOWN_CA": "does not trust the certificate: give it the CA that "
    "`ca export DIR` writes (DIR/ca.pem)",
    "SSLV3_ALERT_BAD_CERTIFICATE": "rejected the certificate",
    "WRONG_VERSION_NUMBER": "did not speak TLS (plain text to a --tls server?)",
    "HTTP_REQUEST": "sent plain HTTP to a --tls server: use https://",
    "UNEXPECTED_EOF_WHILE_READING": "closed the connection in the middle of TLS",
    "NO_SHARED_CIPHER": "offered no cipher the server accepts",
    "UNSUPPORTED_PROTOCOL": "offered only a TLS version the server refuses",
}


def client_trouble(exc: BaseException | None) -> str:
    """One line for what a client did to a handler (vanished, failed TLS), or "" for a
    real error in the handler's code, which deserves its traceback."""
    if isinstance(exc, ConnectionResetError):
        return "reset the connection"
    if isinstance(exc, BrokenPipeError):
        return "stopped reading (EPIPE)"
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None) or ""
        what = TLS_REASONS.get(reason) or f"failed TLS: {reason or exc}"
        return f"{what} ({reason})" if reason in TLS_REASONS else what
    return ""


def handler_traceback() -> str:
    """The exception being handled, as a traceback that starts in the handler's own code:
    socketserver's frames and the shell's above it are left out, unless the handler is
    the shell's own (then its frames are the story)."""
    import sys

    exc = sys.exc_info()[1]
    if exc is None:
        return ""
    te = traceback.TracebackException.from_exception(exc)
    ours = (os.path.dirname(socketserver.__file__), os.path.dirname(os.path.dirname(__file__)))
    frames = list(te.stack)
    first = next((i for i, f in enumerate(frames)
                  if not f.filename.startswith(ours)), None)  # fmt: skip
    if first:
        te.stack = traceback.StackSummary.from_list(frames[first:])
    return "".join(te.format())


class _ChildTally:
    """Counts a --forking child's bytes, where no event may be posted (see
    Server.traffic); the parent reads the totals when it reaps the child."""

    def traffic(self, conn: Connection, direction: str, data: Any) -> None:
        if direction == "in":
            conn.bytes_in += len(data)
        else:
            conn.bytes_out += len(data)


CHILD_TALLY = _ChildTally()


class _Counting:
    """What a server's client socket reports: every byte the handler receives or sends,
    whatever the handler (built-in, http.server's, a user's), through recv, recv_into,
    send, sendall, or a makefile() over them. The server sets psl_conn per socket."""

    psl_server: Server | _ChildTally
    psl_conn: Connection | None = None

    def _count(self, direction: str, data: Any, size: int, flags: int = 0) -> None:
        if self.psl_conn is None or size <= 0 or flags & socket.MSG_PEEK:
            return
        if not isinstance(data, bytes):
            data = memoryview(data).cast("B")
        self.psl_server.traffic(self.psl_conn, direction, data[:size])

    def recv(self, bufsize: int = 1024, flags: int = 0) -> bytes:
        data: bytes = super().recv(bufsize, flags)  # type: ignore[misc]
        self._count("in", data, len(data), flags)
        return data

    def recv_into(self, buffer: Any, nbytes: int | None = 0, flags: int = 0) -> int:
        n: int = super().recv_into(buffer, nbytes or 0, flags)  # type: ignore[misc]
        self._count("in", buffer, n, flags)
        return n

    def send(self, data: Any, flags: int = 0) -> int:
        n: int = super().send(data, flags)  # type: ignore[misc]
        self._count("out", data, n)
        return n


class CountedSocket(_Counting, socket.socket):
    def sendall(self, data: Any, flags: int = 0) -> None:
        # Counted first: once sendall returns, the client may already be reading it.
        self._count("out", data, memoryview(data).nbytes)
        super().sendall(data, flags)


class CountedSSLSocket(_Counting, ssl.SSLSocket):
    """The same for TLS, counting the plaintext (SSLSocket's sendall loops over send)."""


def server_class(base: type[socketserver.BaseServer], mode: str, *, tls: Any = None
                 ) -> type[Any]:  # fmt: skip
    """The real socketserver class: base plus ThreadingMixIn or ForkingMixIn, with hooks
    that tell the resource about clients (the handler's own code is untouched)."""
    if tls is not None:
        tls.sslsocket_class = CountedSSLSocket
    mixins: tuple[type, ...] = ()
    if mode == "threading":
        mixins = (socketserver.ThreadingMixIn,)
    elif mode == "forking":
        mixins = (socketserver.ForkingMixIn,)

    class PslServer(*mixins, base):  # type: ignore[misc,valid-type]
        allow_reuse_address = True  # restart on the same port without TIME_WAIT trouble
        daemon_threads = True
        # socketserver's default queue of 5 drops a classroom's worth of connects.
        request_queue_size = socket.SOMAXCONN
        psl: Server

        def process_request(self, request: Any, client_address: Any) -> None:
            if mode != "forking":
                super().process_request(request, client_address)
                return
            before = set(getattr(self, "active_children", None) or ())
            super().process_request(request, client_address)
            after = set(getattr(self, "active_children", None) or ())
            self.psl.forked(client_address, sorted(after - before))

        def collect_children(self, *, blocking: bool = False) -> None:
            """socketserver's own, but it waits only for this server's children (the
            stdlib's waitpid(-1), once max_children are busy, could reap the shell's
            other children and lose their status), and it reports each one reaped."""
            children = self.active_children
            while children:
                for pid in list(children):
                    try:
                        done, status = os.waitpid(pid, 0 if blocking else os.WNOHANG)
                    except ChildProcessError:
                        children.discard(pid)
                        continue
                    if done:
                        children.discard(pid)
                        self.psl.child_ended(pid, status)
                if len(children) < self.max_children:
                    self.psl.saturated = False
                    return
                if not self.psl.saturated:  # said once each time it fills up
                    self.psl.saturated = True
                    self.psl.note(f"all {self.max_children} children busy (ForkingMixIn."
                                  "max_children): new clients wait until one ends")  # fmt: skip
                time.sleep(0.01)  # all max_children busy: wait for one to finish

        def finish_request(self, request: Any, client_address: Any) -> None:
            if self.socket_type == socket.SOCK_DGRAM:
                # A datagram is no connection: the handler counts senders instead.
                if mode != "forking":
                    super().finish_request(request, client_address)
                    return
                tally = self.psl.child_conn = Connection("", None)  # in the child
                try:
                    super().finish_request(request, client_address)
                finally:
                    self.psl.child_tally(tally)
                return
            if mode == "forking":  # in the child: the parent reported it
                # The child inherited every descriptor the shell holds, the shell's own
                # client sockets among them: while a copy stays open here, their peers
                # never see EOF. Keep only this client's socket (and stdio).
                keep = request.fileno()
                os.closerange(3, keep)
                os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))
                conn = Connection("", request)
                request.psl_server, request.psl_conn = CHILD_TALLY, conn
                try:
                    super().finish_request(request, client_address)
                finally:
                    self.psl.child_tally(conn)
                return
            conn = self.psl.connection_opened(request, client_address)
            try:
                super().finish_request(request, client_address)
            finally:
                self.psl.connection_closed(conn)

        def shutdown_request(self, request: Any) -> None:
            if tls is not None:
                from pslrepl.resources.sockets import end_tls

                end_tls(request)
            super().shutdown_request(request)

        def handle_error(self, request: Any, client_address: Any) -> None:
            self.psl.handler_raised(request, client_address)

        def get_request(self) -> Any:
            request, client_address = super().get_request()
            if self.socket_type == socket.SOCK_DGRAM:
                return request, client_address
            timeout = request.gettimeout()
            request = CountedSocket(request.family, request.type, request.proto,
                                    fileno=request.detach())  # fmt: skip
            request.settimeout(timeout)
            if tls is None:
                return request, client_address
            # The handshake happens on the handler's first read, in its own thread
            # (or child): a slow client can't hold up accept.
            return tls.wrap_socket(request, server_side=True,
                                   do_handshake_on_connect=False), client_address  # fmt: skip

    PslServer.__name__ = "".join(m.__name__.replace("MixIn", "") for m in mixins) + base.__name__
    return PslServer


class Server(Resource):
    """A running ``socketserver`` server: serve_forever in thread pslrepl:NAME."""

    kind = "server"
    wait_events = ("connect",)

    def __init__(self, session: Session, name: str, server: Any, *, proto: str,
                 handler: str, mode: str, unix_path: str = "") -> None:  # fmt: skip
        super().__init__(session, name)
        self.server = server
        self.proto = proto
        self.handler = handler
        self.mode = mode
        self.unix_path = unix_path
        self.connections: dict[int, Connection] = {}
        self.served = 0
        self.errors = 0
        self.peers: dict[str, int] = {}  # UDP: datagrams by sender
        self.children: dict[int, tuple[str, float]] = {}  # --forking: pid -> client, since
        self.saturated = False  # --forking: every one of max_children busy
        self.directory = ""  # --handler http: what it serves
        self.dgram = server.socket_type == socket.SOCK_DGRAM
        self.child_conn: Connection | None = None  # in a --forking UDP child: its counts
        self.child_dir = session.tmp if mode == "forking" else ""
        # A forked child must not touch the session: a lock another thread held at
        # fork time stays held in the child forever. Reports come from this pid only.
        self.pid = os.getpid()
        server.psl = self
        sockname = server.socket.getsockname()
        self._local = format_addr(sockname)
        if proto != "unix":
            session.volatile[f"{name}.port"] = str(sockname[1])
            session.volatile[f"{name}.addr"] = self._local
        self.post(Event(name, "start", f"{type(server).__name__} on {self._local}, "
                                       f"handler {handler}"))  # fmt: skip
        self.thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL},
            name=f"pslrepl:{name}", daemon=True,
        )  # fmt: skip
        self.thread.start()

    # -- called from handler threads -------------------------------------------------

    def connection_opened(self, request: Any, client_address: Any) -> Connection:
        with self.session.cond:
            self.served += 1
            # A UNIX socket's client has no address (unless it bound one): a number.
            addr = format_addr(client_address) or f"unix#{self.served}"
            if self.mode == "threading":  # socketserver's "Thread-7 (process_request_thread)"
                threading.current_thread().name = f"pslrepl:{self.name}#{self.served}"
            conn = Connection(addr, request)
            self.connections[id(conn)] = conn
        request.psl_server, request.psl_conn = self, conn
        self.post(Event(self.name, "client", f"client {addr} connected",
                        fields={"peer": addr}))  # fmt: skip
        return conn

    def connection_closed(self, conn: Connection) -> None:
        with self.session.cond:
            self.connections.pop(id(conn), None)
        took = time.time() - conn.since
        self.post(Event(self.name, "client", f"client {conn.addr} left after {took:.1f} s "
                        f"(in {conn.bytes_in}, out {conn.bytes_out})",
                        fields={"peer": conn.addr}))  # fmt: skip

    def note(self, text: str) -> None:
        """Something a handler wants said (in the log and live), one line."""
        if os.getpid() == self.pid:  # a --forking child stays silent (see traffic)
            self.post(Event(self.name, "note", text))

    def traffic(self, conn: Connection, direction: str, data: Any) -> None:
        """Bytes a client's socket moved (CountedSocket reports them)."""
        if os.getpid() != self.pid:
            return  # a --forking child: it can't report without risking a deadlock
        size = len(data)  # bytes, or a memoryview cast to bytes
        with self.session.cond:
            if direction == "in":
                self.bytes_in += size
                conn.bytes_in += size
            else:
                self.bytes_out += size
                conn.bytes_out += size
        kind = "recv" if direction == "in" else "send"  # logged, not shown live
        event = Event.traffic(self.name, kind, "client", direction, data)
        event.fields["peer"] = conn.addr
        self.post(event)

    def datagram(self, handler: Any, data: bytes, *, out: bool = False) -> None:
        if os.getpid() != self.pid:  # a --forking child: count, for the parent to read
            if self.child_conn is not None:
                CHILD_TALLY.traffic(self.child_conn, "out" if out else "in", data)
            return
        peer = format_addr(handler.client_address)
        with self.session.cond:
            if out:
                self.bytes_out += len(data)
            else:
                self.bytes_in += len(data)
                self.peers[peer] = self.peers.get(peer, 0) + 1
                self.served += 1
        event = Event.traffic(self.name, "send" if out else "recv", "client",
                              "out" if out else "in", data)  # fmt: skip
        event.fields["peer"] = peer
        self.post(event)

    def broadcast(self, sender: Any, data: bytes) -> None:
        if os.getpid() != self.pid:
            return
        for conn in list(self.connections.values()):
            if conn.request is sender.request:
                continue
            try:
                with conn.lock:
                    conn.request.sendall(data)  # counted as that client's bytes out
            except OSError:
                pass  # that client is leaving; its own thread reports it

    def forked(self, client_address: Any, pids: list[int]) -> None:
        addr = format_addr(client_address) or "a local client"
        with self.session.cond:
            self.served += 1
            for pid in pids:
                self.children[pid] = (addr, time.time())
            if self.dgram:
                self.peers[addr] = self.peers.get(addr, 0) + 1
        who = f" in child pid {pids[0]}" if pids else ""
        what = f"a datagram from {addr}, handled{who}" if self.dgram else (
            f"client {addr} connected{who}")  # fmt: skip
        self.post(Event(self.name, "client", what,
                        fields={"peer": addr, "pid": pids[0] if pids else None}))  # fmt: skip

    def child_ended(self, pid: int, status: int) -> None:
        """A --forking server's child was reaped: its client has gone. Exit status 1 is
        socketserver's sign that the handler raised; the child left its traceback in a
        file, as it can't post events itself."""
        with self.session.cond:
            addr, since = self.children.pop(pid, ("a client", time.time()))
        code = os.waitstatus_to_exitcode(status)
        how = "exited 0" if code == 0 else (
            f"killed by signal {-code}" if code < 0 else f"exited with status {code}")  # fmt: skip
        counted = ""
        tally = self._child_file(pid, "bytes")
        try:
            with open(tally, encoding="ascii") as f:
                bytes_in, bytes_out = (int(n) for n in f.read().split())
            os.unlink(tally)
        except (OSError, ValueError):
            pass  # killed before it could say
        else:
            with self.session.cond:
                self.bytes_in += bytes_in
                self.bytes_out += bytes_out
            counted = f"in {bytes_in}, out {bytes_out}; "
        took = f"{time.time() - since:.1f} s ({counted}child pid {pid} {how})"
        what = f"the datagram from {addr} took {took}" if self.dgram else (
            f"client {addr} left after {took}")  # fmt: skip
        self.post(Event(self.name, "client", what, fields={"peer": addr, "pid": pid}))
        path = self._child_file(pid, "err")
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read().rstrip()
            os.unlink(path)
        except OSError:
            return
        if text.startswith(TROUBLE):
            self.post(Event(self.name, "client", f"client {addr} {text[len(TROUBLE) :]}"))
        else:
            self._raised(f"{addr} in child pid {pid}", text)

    def _child_file(self, pid: int, what: str) -> str:
        """Where a --forking child leaves what it can't post: its error, its byte counts."""
        return os.path.join(self.child_dir, f"forked-{pid}.{what}")

    def child_tally(self, conn: Connection) -> None:
        """In a --forking child, once its client is served: the byte counts, to a file
        (only os calls: nothing that could wait on a lock held at fork time)."""
        if self.child_dir:
            fd = os.open(self._child_file(os.getpid(), "bytes"), os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(fd, f"{conn.bytes_in} {conn.bytes_out}".encode())
            os.close(fd)

    def handler_raised(self, request: Any, client_address: Any) -> None:
        import sys

        trouble = client_trouble(sys.exc_info()[1])
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
            self.post(Event(self.name, "client", f"client {addr} {trouble}"))
            return
        self._raised(addr, handler_traceback().rstrip())

    def _raised(self, addr: str, text: str) -> None:
        with self.session.cond:
            self.errors += 1
        what = f"the handler raised while serving {addr}; the server goes on:\n{text}"
        self.post(Event(self.name, "raised", what))

    # -- Resource ---------------------------------------------------------------------

    def waited(self, event: str) -> str:
        if event == "connect":
            return f"a client has connected ({self.served} so far)"
        return super().waited(event)

    def ready(self, event: str) -> bool:
        # "connect": a client has come (now, or already served): scripts sync on it.
        return event == "connect" and self.served > 0

    @property
    def bound_addr(self) -> Any:
        from pslrepl.addresses import reachable

        return None if self.closed else reachable(self.server.socket)

    @property
    def obj(self) -> Any:
        return self.server

    @property
    def state(self) -> str:
        if self.closed:
            return "stopped"
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
            ("thread", self.thread.name),
            ("clients now", str(len(self.connections))),
            ("served", str(self.served)),
            ("handler errors", str(self.errors)),
        ]
        if self.directory:
            pairs.insert(5, ("directory", self.directory))
        return pairs

    def client_rows(self) -> list[list[Cell]]:
        now = time.time()
        rows: list[list[Cell]] = []
        for conn in list(self.connections.values()):
            rows.append([conn.addr, volatile(age(now - conn.since), "age"),
                         str(conn.bytes_in), str(conn.bytes_out), conn.thread.name])  # fmt: skip
        for peer, count in self.peers.items():
            rows.append([peer, "", plural(count, "datagram"), "", ""])
        children = getattr(self.server, "active_children", None) or ()
        for pid in sorted(children):  # its bytes are known once it has ended
            addr, since = self.children.get(pid, ("(forked)", now))
            rows.append([addr, volatile(age(now - since), "age"), "", "", f"child pid {pid}"])
        return rows

    def close(self) -> str:
        """shutdown() then server_close(), after ending what its clients hold open."""
        if self.closed:
            return "already stopped"
        self.closed = True
        # A handler blocked in recv would keep shutdown() or server_close() waiting:
        # end the clients' connections first (and a forking server's children).
        for conn in list(self.connections.values()):
            try:
                conn.request.shutdown(socket.SHUT_RDWR)
            except (OSError, AttributeError):
                pass  # already gone, or not a stream
        children = getattr(self.server, "active_children", None)
        for pid in list(children or ()):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_GRACE
        handler_threads = [c.thread for c in list(self.connections.values())]
        # shutdown() waits for serve_forever to return, and a sync server's serve_forever
        # is inside the handler: one that never returns would hang `stop`. So it waits
        # in a thread of its own, for STOP_GRACE at most.
        stopper = threading.Thread(target=self.server.shutdown, name=f"pslrepl:{self.name}:stop",
                                   daemon=True)  # fmt: skip
        stopper.start()
        stopper.join(timeout=STOP_GRACE)
        while children and time.monotonic() < deadline:  # --forking: TERM, then KILL
            self.server.collect_children()
            time.sleep(0.02)
        for pid in list(children or ()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.server.server_close()  # a forking server reaps what is left
        stuck = []
        for thread in (self.thread, *handler_threads):
            if thread is not threading.current_thread():
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
                if thread.is_alive():
                    stuck.append(thread.name)
        removed = ""
        if self.unix_path:
            try:
                os.unlink(self.unix_path)
                removed = f"; removed {self.unix_path}"
            except OSError:
                pass
        what = "datagram" if self.dgram else "client"
        outcome = f"stopped after serving {plural(self.served, what)}{removed}"
        if stuck:
            outcome += (f"; a handler still runs in {', '.join(sorted(set(stuck)))}: the port "
                        "is closed, and the thread ends when the handler returns")  # fmt: skip
        self.post(Event(self.name, "close", outcome))
        return outcome
