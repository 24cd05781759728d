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
FINISH_GRACE = 1.0  # --forking: of that, how long children may finish before TERM
MAX_THREADS = 256  # --threading: live handler threads at most (--max-clients N)
HANDSHAKE_TIMEOUT = 10.0  # --tls: the longest a client may take over its handshake
SYNC_NOTE_AFTER = 1.0  # a sync server says who holds it in a handshake after this long
STUCK_NAMES = 3  # stop names this many threads that won't end, and counts the rest


class Connection:
    """One live client of a server."""

    __slots__ = ("addr", "since", "bytes_in", "bytes_out", "pid", "request", "thread", "member")

    def __init__(self, addr: str, request: Any) -> None:
        self.addr = addr
        self.since = time.time()
        self.bytes_in = 0
        self.bytes_out = 0
        self.pid: int | None = None
        self.request = request
        self.thread = threading.current_thread()
        self.member: Any = None  # chat: its place in the room


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


class HandshakeTimeout(TimeoutError):
    """A --tls client that did not finish its handshake in time."""


def client_trouble(exc: BaseException | None, idle: float | None = None) -> str:
    """One line for what a client did to a handler (vanished, failed TLS, idled), or ""
    for a real error in the handler's code, which deserves its traceback."""
    if isinstance(exc, HandshakeTimeout):
        return f"{exc}: closed it (--idle S sets how long)"
    if isinstance(exc, TimeoutError) and idle:  # socket.timeout is TimeoutError (3.10)
        return (f"did nothing for {idle:g} s (sent nothing, or read nothing): closed it "
                "(--idle S sets how long)")  # fmt: skip
    if isinstance(exc, ConnectionResetError):
        return "reset the connection"
    if isinstance(exc, BrokenPipeError):
        return "stopped reading (EPIPE)"
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None) or ""
        what = TLS_REASONS.get(reason) or f"failed TLS: {reason or exc}"
        return f"{what} ({reason})" if reason in TLS_REASONS else what
    return ""


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


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


# Signals a forked child must not handle as the shell does: the shell's handlers (TERM
# and HUP end the shell, traps report) would run in the child, and write to the event
# loop's wakeup fd, which the child has closed.
CHILD_SIGNALS = frozenset(signal.valid_signals()) - {
    signal.SIGKILL, signal.SIGSTOP, signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE,
    signal.SIGILL,
}  # fmt: skip


def reset_child_signals(mask: Any) -> None:
    """In a --forking child, first thing: a child that is TERMed dies of SIGTERM, as a
    server's child should. Python handlers go back to the default; the event loop's
    wakeup fd is let go; Ctrl-C (SIGINT to the shell's whole process group, the server's
    children among them) is ignored, as it cancels only the shell's running command."""
    for signum in CHILD_SIGNALS:
        try:
            if callable(signal.getsignal(signum)):
                signal.signal(signum, signal.SIG_DFL)
        except (OSError, ValueError):
            pass  # not a signal Python can handle
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.set_wakeup_fd(-1)
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # as it was before the fork


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
        # UDPServer reads 8192 bytes of a datagram and drops the rest unsaid: take all
        # that UDP carries (65,507 bytes over IPv4), as the shell's own recv does.
        max_packet_size = 65536
        psl: Server
        psl_mask: Any = None  # --forking: the signal mask before the fork

        def process_request(self, request: Any, client_address: Any) -> None:
            if mode == "threading":
                # At most max_clients handler threads: past that, accept waits for one
                # to end (the rest wait in the listen queue), as ForkingMixIn does.
                if not self.psl.admit():
                    self.shutdown_request(request)  # stopping: no new clients
                    return
                try:
                    super().process_request(request, client_address)
                except BaseException:
                    self.psl.release()  # no thread after all (RuntimeError: can't start)
                    raise
                return
            if mode != "forking":
                super().process_request(request, client_address)
                return
            # The child's stream, kept here too: `stop` shuts it down, and the child sees
            # its client gone and finishes as it would (its tally is not lost).
            keep = None
            if self.socket_type == socket.SOCK_STREAM:
                keep = socket.socket(fileno=os.dup(request.fileno()))
            before = set(getattr(self, "active_children", None) or ())
            # No signal until the child has put the defaults back (reset_child_signals).
            self.psl_mask = signal.pthread_sigmask(signal.SIG_BLOCK, CHILD_SIGNALS)
            try:
                super().process_request(request, client_address)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, self.psl_mask)
            after = set(getattr(self, "active_children", None) or ())
            self.psl.forked(client_address, sorted(after - before), keep)

        def process_request_thread(self, request: Any, client_address: Any) -> None:
            self.psl.started()
            try:
                super().process_request_thread(request, client_address)
            finally:
                self.psl.release()

        def collect_children(self, *, blocking: bool = False) -> None:
            """socketserver's own, but it waits only for this server's children (the
            stdlib's waitpid(-1), once max_children are busy, could reap the shell's
            other children and lose their status), and it reports each one reaped."""
            while self.psl.reap(blocking=blocking) >= self.max_children:
                if self.psl.closed:
                    return  # stop is ending them
                if not self.psl.saturated:  # said once each time it fills up
                    self.psl.saturated = True
                    self.psl.note(f"all {self.max_children} children busy (ForkingMixIn."
                                  "max_children): new clients wait until one ends")  # fmt: skip
                time.sleep(0.01)  # all max_children busy: wait for one to finish
            self.psl.saturated = False

        def finish_request(self, request: Any, client_address: Any) -> None:
            if mode == "forking":  # in the child: first of all, signals as a child's
                reset_child_signals(self.psl_mask)
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
                    if tls is not None:
                        self.psl.handshake(request, client_address)
                    super().finish_request(request, client_address)
                finally:
                    self.psl.child_tally(conn)
                return
            conn = self.psl.connection_opened(request, client_address)
            try:
                if tls is not None:
                    self.psl.handshake(request, client_address)
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
            request = CountedSocket(request.family, request.type, request.proto,
                                    fileno=request.detach())  # fmt: skip
            # --idle: a client that sends nothing (or reads nothing) that long is closed.
            request.settimeout(self.psl.idle or None)
            if tls is None:
                return request, client_address
            # The handshake happens in the handler's thread (or child), bounded (see
            # Server.handshake): a slow client can't hold up accept.
            return tls.wrap_socket(request, server_side=True,
                                   do_handshake_on_connect=False), client_address  # fmt: skip

    PslServer.__name__ = "".join(m.__name__.replace("MixIn", "") for m in mixins) + base.__name__
    return PslServer


class Server(Resource):
    """A running ``socketserver`` server: serve_forever in thread pslrepl:NAME."""

    kind = "server"
    wait_events = ("connect",)

    def __init__(self, session: Session, name: str, server: Any, *, proto: str,
                 handler: str, mode: str, unix_path: str = "", idle: float | None = None,
                 max_clients: int | None = None) -> None:  # fmt: skip
        super().__init__(session, name)
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
        self.post(Event(name, "start", f"{type(server).__name__} on {self._local}, "
                                       f"handler {handler}"))  # fmt: skip
        self.thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL},
            name=f"pslrepl:{name}", daemon=True,
        )  # fmt: skip

    def start(self) -> None:
        """Serve: once what the handler needs (a room, a directory) is in place."""
        self.thread.start()

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

    # -- called from handler threads -------------------------------------------------

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
            conn.member = self.room.join(request, conn)
        self.post(Event(self.name, "client", f"client {addr} connected",
                        fields={"peer": addr}))  # fmt: skip
        return conn

    def connection_closed(self, conn: Connection) -> None:
        if conn.member is not None and self.room is not None:
            self.room.leave(conn.member)  # if its handler never ran (a failed handshake)
        with self.lock:
            self.connections.pop(id(conn), None)
        took = time.time() - conn.since
        self.post(Event(self.name, "client", f"client {conn.addr} left after {age(took)} "
                        f"(in {conn.bytes_in}, out {conn.bytes_out})",
                        fields={"peer": conn.addr}))  # fmt: skip

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

    def note(self, text: str) -> None:
        """Something a handler wants said (in the log and live), one line."""
        if os.getpid() == self.pid:  # a --forking child stays silent (see traffic)
            self.post(Event(self.name, "note", text))

    def traffic(self, conn: Connection, direction: str, data: Any) -> None:
        """Bytes a client's socket moved (CountedSocket reports them)."""
        if os.getpid() != self.pid:
            return  # a --forking child: it can't report without risking a deadlock
        size = len(data)  # bytes, or a memoryview cast to bytes
        with self.lock:
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
        with self.lock:
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

    # -- --forking: children -----------------------------------------------------------

    def forked(self, client_address: Any, pids: list[int], keep: socket.socket | None) -> None:
        addr = format_addr(client_address) or "a local client"
        with self.lock:
            self.served += 1
            for pid in pids:
                self.children[pid] = (addr, time.time())
                self.session.watchdog.guard_pid(pid)  # it dies with the shell, even kill -9
            if self.dgram:
                self.peers[addr] = self.peers.get(addr, 0) + 1
            if keep is not None and len(pids) == 1:
                self.child_socks[pids[0]], keep = keep, None
        if keep is not None:
            keep.close()
        who = f" in child pid {pids[0]}" if pids else ""
        what = f"a datagram from {addr}, handled{who}" if self.dgram else (
            f"client {addr} connected{who}")  # fmt: skip
        self.post(Event(self.name, "client", what,
                        fields={"peer": addr, "pid": pids[0] if pids else None}))  # fmt: skip

    def reap(self, *, blocking: bool = False) -> int:
        """Reap this server's children that have ended (all, waiting, if blocking);
        how many are left."""
        children = self.server.active_children
        for pid in list(children or ()):
            try:
                done, status = os.waitpid(pid, 0 if blocking else os.WNOHANG)
            except ChildProcessError:
                children.discard(pid)
                continue
            if done:
                children.discard(pid)
                self.session.watchdog.release_pid(pid)
                self.child_ended(pid, status)
        return len(children or ())

    def child_ended(self, pid: int, status: int) -> None:
        """A --forking server's child was reaped: its client has gone. Exit status 1 is
        socketserver's sign that the handler raised; the child left its traceback in a
        file, as it can't post events itself."""
        with self.lock:
            addr, since = self.children.pop(pid, ("a client", time.time()))
            keep = self.child_socks.pop(pid, None)
        if keep is not None:
            keep.close()
        code = os.waitstatus_to_exitcode(status)
        how = "exited 0" if code == 0 else (f"killed by {signal_name(-code)}" if code < 0
                                            else f"exited with status {code}")  # fmt: skip
        counted = ""
        tally = self._child_file(pid, "bytes")
        try:
            with open(tally, encoding="ascii") as f:
                bytes_in, bytes_out = (int(n) for n in f.read().split())
            os.unlink(tally)
        except (OSError, ValueError):
            pass  # killed before it could say
        else:
            with self.lock:
                self.bytes_in += bytes_in
                self.bytes_out += bytes_out
            counted = f"in {bytes_in}, out {bytes_out}; "
        took = f"{age(time.time() - since)} ({counted}child pid {pid} {how})"
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
            self.post(Event(self.name, "client", f"client {addr} {trouble}"))
            return
        self._raised(addr, handler_traceback().rstrip())

    def _raised(self, addr: str, text: str) -> None:
        with self.lock:
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
        if self.mode in ("threading", "forking"):
            at_once = f"{self.max_clients} (--max-clients)"
            if self.cap_reached:
                at_once += f"; all were busy {plural(self.cap_reached, 'time')}"
            pairs.insert(9, ("max clients", at_once))
        if not self.dgram:
            pairs.insert(9, ("idle limit", f"{self.idle:g} s" if self.idle else "none (--idle S)"))
        if self.directory:
            pairs.insert(5, ("directory", self.directory))
        return pairs

    def client_rows(self) -> list[list[Cell]]:
        now = time.time()
        rows: list[list[Cell]] = []
        with self.lock:  # handler threads change these as we read them
            conns, peers = list(self.connections.values()), list(self.peers.items())
        for conn in conns:
            rows.append([conn.addr, volatile(age(now - conn.since), "age"),
                         str(conn.bytes_in), str(conn.bytes_out), conn.thread.name])  # fmt: skip
        for peer, count in peers:
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
        stopper = threading.Thread(target=self.server.shutdown, name=f"pslrepl:{self.name}:stop",
                                   daemon=True)  # fmt: skip
        stopper.start()
        stopper.join(timeout=STOP_GRACE)
        if self.mode == "forking":
            self._end_children(deadline)
        self.server.server_close()  # a forking server reaps what is left
        stuck = self._join_threads(deadline)
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
        self.post(Event(self.name, "close", outcome))
        return outcome

    def _end_children(self, deadline: float) -> None:
        """--forking: let children that are finishing finish (socketserver's
        block_on_close waits for them too), then TERM the rest, then KILL."""
        finish_by = min(deadline, time.monotonic() + FINISH_GRACE)
        for sig, until in ((None, finish_by), (signal.SIGTERM, deadline),
                           (signal.SIGKILL, None)):  # fmt: skip
            if not self.reap():
                return
            for pid in list(self.server.active_children or ()):
                if sig is not None:
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass
            if until is None:
                self.reap(blocking=True)
                return
            while self.reap() and (remaining := until - time.monotonic()) > 0:
                self._wait_children(remaining)

    def _wait_children(self, timeout: float) -> None:
        """Until one of this server's children ends, or timeout: a pidfd is readable
        once its process has exited (Linux 5.3), so no polling."""
        import select

        fds: list[int] = []
        try:
            for pid in list(self.server.active_children or ()):
                try:
                    fds.append(os.pidfd_open(pid))
                except ProcessLookupError:
                    return  # already exited: reap it now
            select.select(fds, [], [], timeout)
        except (AttributeError, OSError):  # no pidfd_open here: look again shortly
            time.sleep(min(timeout, 0.02))
        finally:
            for fd in fds:
                os.close(fd)

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
