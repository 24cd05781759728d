"""A relay: bytes pumped both ways between two endpoints until both close, like socat.

One thread per direction ("pslrepl:NAME>" and "pslrepl:NAME<"), so a full buffer one
way never stalls the other. Without a live display the bytes never enter Python:
os.splice moves them socket -> pipe -> socket in the kernel, a MiB at a time.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading

from pslrepl.events import Event
from pslrepl.render import plural
from pslrepl.resources.base import Resource
from pslrepl.resources.buffers import StreamBuffer as _StreamBuffer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.results import Cell
    from pslrepl.session import Session

CHUNK = 1 << 20  # 1 MiB: large buffers are most of a relay's speed
SPLICE = hasattr(os, "splice")
MOVE = getattr(os, "SPLICE_F_MOVE", 0)  # hints: move pages rather than copy them,
MORE = getattr(os, "SPLICE_F_MORE", 0)  # and more data follows (fewer small segments)
DGRAM_MAX = 65507  # the most a UDP datagram carries over IPv4: a stream is cut to this
TLS_CHUNK = 1 << 16  # plaintext per SSLSocket.send: retried whole when it wants to wait
REAP_WAIT = 2.0  # seconds a finished relay waits for its exec: child to exit


def _hold_back(child: Any) -> None:
    """While a relay takes a child's stdout, the child's drain thread waits when the
    buffer is full rather than dropping the oldest bytes (what it does for a person who
    has not read yet): the child then blocks on its full pipe, as under socat, and the
    relay carries every byte."""
    from pslrepl.resources.buffers import StreamBuffer

    buf = child.stdout
    if type(buf) is StreamBuffer:
        buf.__class__ = _HeldBack
    buf.session = child.session
    with child.session.cond:
        buf.holding = True


def _let_go(child: Any) -> None:
    buf = child.stdout
    with child.session.cond:
        buf.holding = False
        child.session.cond.notify_all()


class _HeldBack(_StreamBuffer):
    """A child's stdout buffer while a relay takes from it (see _hold_back)."""

    holding = False
    held = 0  # times the drain thread waited for the relay
    session: Any = None

    def feed(self, chunk: bytes) -> int:
        # The drain thread holds the session lock here; waiting lets it go.
        if self.holding and self.data and len(self.data) + len(chunk) > self.cap:
            self.held += 1
            while self.holding and self.data and len(self.data) + len(chunk) > self.cap:
                self.session.cond.wait(0.5)
        n: int = _StreamBuffer.feed(self, chunk)
        return n


class Endpoint:
    """One side of a relay: descriptors to read and write, and how to close them."""

    def __init__(self, label: str, *, sock: socket.socket | None = None,
                 proc: subprocess.Popen[bytes] | None = None, owned: bool = True,
                 dgram: bool = False, tls: Any = None, lent: Any = None) -> None:  # fmt: skip
        self.label = label  # grows a " <- PEER" once tcp-listen has accepted
        self.name = label  # as given: what live traffic lines call this side
        self.on_accept: Any = None  # the relay's: say who connected
        self.sock = sock
        self.proc = proc
        self.owned = owned  # made by the relay (closed with it), or a user's resource
        self.dgram = dgram
        self.lent = lent  # a user's socket resource, kept quiet while the relay reads it
        self.child: Any = None  # a spawned Process resource: read its buffer, write stdin
        self.listener: socket.socket | None = None  # tcp-listen: accept one, in the thread
        self.failed = False
        self.stopped = False
        self.ready = threading.Event()
        self._accepting = threading.Lock()  # both directions wait; one thread accepts
        # The side a tcp-listen relay reaches: connected (or its exec: child started)
        # only once a client has come, as socat does; a server that closes idle clients
        # would otherwise have closed it long before. The opener gives a ready Endpoint.
        self.opener: Any = None
        self.after: Endpoint | None = None  # whose accept comes first
        self.error_text = ""
        # A `tls` resource: an SSL object is not for two threads at once, so reads and
        # writes take turns (non-blocking, waiting outside the lock); what the shell
        # had already decrypted (its read-ahead) goes first.
        self.tls = tls
        self.io = threading.Lock()
        self.pre = b""
        self.pre_eof = False
        self.pre_error: OSError | None = None
        self.timeout: float | None = None
        self.read_done = False  # TLS: the peer's EOF has been read
        self.close_pending = False  # TLS: a half-close waits for the peer's EOF
        if tls is not None:
            assert sock is not None
            with tls.lock:
                self.pre, self.pre_eof, self.pre_error = (
                    bytes(tls.held),
                    tls.held_eof,
                    tls.held_error,
                )
                tls.held.clear()
                tls.held_eof, tls.held_error = False, None
            self.timeout = sock.gettimeout()
            sock.settimeout(0.0)
        if sock is not None or proc is not None:
            self.ready.set()

    @classmethod
    def of_child(cls, label: str, child: Any) -> Endpoint:
        """A child the shell already drains: the relay takes from its stdout buffer
        (bytes never read twice) and writes to its stdin."""
        end = cls(label, owned=False)
        end.child = child
        _hold_back(child)
        end.ready.set()
        return end

    def read(self) -> bytes:
        """Up to CHUNK bytes; b'' at EOF."""
        if self.child is not None:
            session, buf = self.child.session, self.child.stdout
            with session.cond:
                while not buf.data and not buf.eof and not self.stopped:
                    session.cond.wait(0.5)  # notified as the drain thread feeds it
                data: bytes = buf.take() if buf.data else b""
                session.cond.notify_all()  # a drain thread held back goes on
            return data
        if self.tls is not None:
            return self._tls_read()
        if self.dgram:
            assert self.sock is not None
            return self.sock.recv(65536)
        return os.read(self.rfd, CHUNK)

    def write(self, data: bytes) -> None:
        if self.child is not None:
            self.child.write(data, timeout=60.0)
            return
        view = memoryview(data)
        if self.tls is not None:
            while view:
                view = view[self._tls_send(view[:TLS_CHUNK]) :]
            return
        if self.dgram:  # one datagram each, none past what UDP carries
            assert self.sock is not None
            for start in range(0, len(view), DGRAM_MAX):
                self.sock.send(view[start : start + DGRAM_MAX])
            return
        while view:
            view = view[os.write(self.wfd, view) :]

    def _tls_read(self) -> bytes:
        import ssl

        if self.pre:
            first, self.pre = self.pre, b""
            return first
        if self.pre_error is not None:
            raise self.pre_error
        if self.pre_eof:
            self.read_done = True
            return b""
        assert self.sock is not None
        want: tuple[Any, Any]
        while True:
            with self.io:
                try:
                    data: bytes = self.sock.recv(CHUNK)
                except ssl.SSLWantReadError:
                    want = (self.sock, None)
                except ssl.SSLWantWriteError:
                    want = (None, self.sock)
                except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
                    # closed without close_notify, or close_notify after ours: EOF
                    self.read_done = True
                    return b""
                else:
                    if not data:
                        self.read_done = True
                    return data
            if self.stopped:
                return b""
            self._wait(*want)

    def _tls_send(self, chunk: memoryview) -> int:
        import ssl

        assert self.sock is not None
        want: tuple[Any, Any]
        while True:
            with self.io:
                try:
                    n: int = self.sock.send(chunk)
                    return n
                except ssl.SSLWantWriteError:
                    want = (None, self.sock)
                except ssl.SSLWantReadError:
                    want = (self.sock, None)
            if self.stopped:
                raise BrokenPipeError(32, "the relay is closing")
            self._wait(*want)  # then the same chunk again, as OpenSSL asks

    @staticmethod
    def _wait(readable: Any, writable: Any) -> None:
        import select

        select.select([readable] if readable else [], [writable] if writable else [], [])

    @property
    def rfd(self) -> int:
        if self.proc is not None:
            assert self.proc.stdout is not None
            return self.proc.stdout.fileno()
        assert self.sock is not None
        return self.sock.fileno()

    @property
    def wfd(self) -> int:
        if self.proc is not None:
            assert self.proc.stdin is not None
            return self.proc.stdin.fileno()
        assert self.sock is not None
        return self.sock.fileno()

    def wait(self) -> bool:
        """For tcp-listen: accept the one connection (in a relay thread); for the side it
        reaches, connect once that connection has come."""
        if self.opener is not None and self._accepting.acquire(blocking=False):
            ok = self.after.wait() if self.after is not None else True
            if ok and not self.stopped:
                try:
                    real = self.opener()
                    self.sock, self.proc, self.dgram = real.sock, real.proc, real.dgram
                except Exception as exc:  # a PslError, or an OSError: its words go to the log
                    self.failed, self.error_text = True, str(exc)
            else:
                self.failed = True
            self.ready.set()
        if self.listener is not None and self._accepting.acquire(blocking=False):
            try:
                conn, _ = self.listener.accept()
            except OSError:
                self.failed = True
                self.ready.set()
                return False
            conn.settimeout(None)
            self.sock = conn
            peer = f"{conn.getpeername()[0]}:{conn.getpeername()[1]}"
            self.label += f" <- {peer}"
            if self.on_accept is not None:
                self.on_accept(self, peer)
            self.ready.set()
        self.ready.wait()
        return not self.failed

    def _tls_close_write(self) -> None:
        """TLS's close_notify, once the peer has sent all it will. While data still
        comes, OpenSSL 3 can't half-close: unwrap() calls SSL_shutdown a second time at
        once, which reads on and fails on the peer's data (APPLICATION_DATA_AFTER_CLOSE_
        NOTIFY), and TCP's FIN alone is an unexpected EOF, fatal to the peer's TLS. So
        it waits for the peer's EOF (see flush_close), and the relay says so."""
        with self.io:
            if not self.read_done:
                self.close_pending = True
                return
        self.flush_close()

    def flush_close(self) -> None:
        """Send the close_notify that waited for the peer's EOF (which has come)."""
        import ssl

        with self.io:
            self.close_pending = False
            try:
                # Non-blocking: close_notify goes, and it raises rather than wait for the
                # peer's (its EOF is read: nothing comes that could be lost).
                self.tls.sock.unwrap()
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            except (OSError, ValueError):
                pass  # the peer has closed altogether

    def close_write(self) -> None:
        """Pass a half-close on: shutdown(SHUT_WR), or close a child's stdin, or TLS's
        close_notify (see _tls_close_write)."""
        try:
            if self.child is not None:
                if not self.child.stdin_closed:
                    self.child.close_stdin()
            elif self.proc is not None and self.proc.stdin is not None:
                self.proc.stdin.close()
            elif self.tls is not None:
                self._tls_close_write()
            elif self.sock is not None and not self.dgram:
                self.sock.shutdown(socket.SHUT_WR)
        except (OSError, ValueError):
            pass

    def interrupt(self) -> None:
        self.stopped = True
        for s in (self.sock, self.listener):
            if s is not None:
                try:
                    # socket.socket's own: SSLSocket.shutdown would drop its SSL object
                    socket.socket.shutdown(s, socket.SHUT_RDWR)
                except OSError:
                    pass
        if self.listener is not None:
            self.listener.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
        if self.child is not None:
            with self.child.session.cond:
                self.child.session.cond.notify_all()  # a read waiting on its buffer ends

    def reap(self, timeout: float) -> str:
        """An exec: child, once the relay is done with it: wait for its exit (it has
        its EOF) so no zombie stays behind; what it said, or ""."""
        if self.proc is None:
            return ""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return ""  # still running: closing the relay ends it
        return f"{self.name} exited with status {code}" if code >= 0 else (
            f"{self.name} was killed by signal {-code}")  # fmt: skip

    def release(self) -> None:
        """Hand a user's resource back as it was (a child's buffer, a TLS socket's timeout)."""
        if self.child is not None:
            _let_go(self.child)
        if self.tls is not None and self.sock is not None and self.sock.fileno() >= 0:
            self.sock.settimeout(self.timeout)
        if self.lent is not None:
            with self.lent.lock:
                self.lent.busy = False  # a command may read it again (the watcher stays off)

    def close(self) -> None:
        self.release()
        if not self.owned:
            return
        if self.sock is not None:
            self.sock.close()
        if self.proc is not None:
            for pipe in (self.proc.stdin, self.proc.stdout):
                if pipe is not None:
                    pipe.close()
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Relay(Resource):
    """Two endpoints and the two threads between them."""

    kind = "relay"
    wait_events = ("close",)

    def __init__(self, session: Session, name: str, a: Endpoint, b: Endpoint, *,
                 show: str | None) -> None:  # fmt: skip
        super().__init__(session, name)
        self.a, self.b = a, b
        self.show = show  # None, "hex" or "text": live traffic (and no splice)
        self.moved = {">": 0, "<": 0}  # a->b and b->a
        self.done: set[str] = set()
        self.finished = False  # both ways done, an exec: child reaped, and said so
        self.spliced = False
        self.error = ""
        self.post(Event(name, "start", f"relaying {a.label} <-> {b.label}"))
        a.on_accept = b.on_accept = self._accepted
        self.threads = [
            threading.Thread(target=self._pump, args=(a, b, ">"), name=f"pslrepl:{name}>",
                             daemon=True),
            threading.Thread(target=self._pump, args=(b, a, "<"), name=f"pslrepl:{name}<",
                             daemon=True),
        ]  # fmt: skip
        for t in self.threads:
            t.start()

    def _pump(self, src: Endpoint, dst: Endpoint, way: str) -> None:
        from pslrepl.errors import PslError
        from pslrepl.signals_table import background_thread

        background_thread()
        try:
            if not (src.wait() and dst.wait()):
                failed = next((e for e in (src, dst) if e.error_text), None)
                if failed is not None and way == ">" and not self.closed:
                    self.post(Event(self.name, "note", f"{failed.name}: {failed.error_text}; "
                                    "the client that came is closed"))  # fmt: skip
                for end in (src, dst):
                    end.interrupt()  # the client that came sees EOF, not a silent hang
            else:
                plain = not any(e.child is not None or e.dgram or e.tls is not None
                                for e in (src, dst))  # fmt: skip
                if self.show is None and SPLICE and plain:
                    self._splice(src, dst, way)
                else:
                    self._copy(src, dst, way)
                if not self.closed:
                    dst.close_write()  # EOF one way: pass the half-close on, as socat does
                    if dst.close_pending:
                        self.post(Event(self.name, "note", f"{dst.name} is TLS: its "
                                        "close_notify waits until its peer has sent all it "
                                        "will (OpenSSL can't half-close TLS while data still "
                                        "comes); close the relay to end it sooner"))  # fmt: skip
                    if src.tls is not None:
                        with src.io:
                            pending = src.close_pending
                        if pending:  # the half-close that waited for this EOF
                            src.flush_close()
        except (OSError, PslError) as exc:  # PslError: a child that stopped reading stdin
            if not self.closed:
                self.error = f"{exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
                self.post(Event(self.name, "note", f"{way} stopped: {self.error}"))
                dst.close_write()
        finally:
            with self.session.cond:
                self.done.add(way)
                finished = len(self.done) == 2
            if finished and not self.closed:
                self._finished()

    def _finished(self) -> None:
        """Both directions are done: hand back what was lent, reap an exec: child."""
        for end in (self.a, self.b):
            end.release()
        exits = [said for end in (self.a, self.b) if (said := end.reap(REAP_WAIT))]
        event = Event(self.name, "note", "both directions closed: relay done "
                      f"({self._totals()})" + "".join(f"; {e}" for e in exits))  # fmt: skip
        self.log.append(event)  # in the log before `wait NAME close` can return
        with self.session.cond:
            self.finished = True
        self.session.post(event)  # and its waiters woken

    def _splice(self, src: Endpoint, dst: Endpoint, way: str) -> None:
        pr, pw = os.pipe()
        try:
            try:
                import fcntl

                fcntl.fcntl(pw, fcntl.F_SETPIPE_SZ, CHUNK)
            except (OSError, AttributeError):
                pass  # the default pipe size still works, only slower
            self.spliced = True
            # Socket buffers are left to the kernel: fixing them (SO_RCVBUF/SO_SNDBUF)
            # turns off TCP's autotuning, which grows them past any size we would pick.
            while True:
                n = os.splice(src.rfd, pw, CHUNK, flags=MOVE)
                if n == 0:
                    return
                while n:
                    m = os.splice(pr, dst.wfd, n, flags=MOVE | MORE)
                    n -= m
                    self.moved[way] += m
        finally:
            os.close(pr)
            os.close(pw)

    def _copy(self, src: Endpoint, dst: Endpoint, way: str) -> None:
        while data := src.read():
            dst.write(data)
            self.moved[way] += len(data)
            if self.show is not None:
                event = Event.traffic(self.name, "relay", f"{src.name} -> {dst.name}", "", data)
                event.fields["show"] = self.show
                self.post(event)

    def _accepted(self, end: Endpoint, peer: str) -> None:
        self.post(Event(self.name, "note", f"{end.name}: connection from {peer}",
                        fields={"peer": peer}))  # fmt: skip

    def _totals(self) -> str:
        return (
            f"{self.a.name} -> {self.b.name}: {plural(self.moved['>'], 'byte')}; "
            f"{self.b.name} -> {self.a.name}: {plural(self.moved['<'], 'byte')}"
        )

    # -- Resource ---------------------------------------------------------------------

    @property
    def bound_addr(self) -> Any:
        """A tcp-listen endpoint's address, so `tcp connect c RELAY` reaches it."""
        from pslrepl.addresses import reachable

        for end in (self.a, self.b):
            if end.listener is not None and end.listener.fileno() >= 0:
                return reachable(end.listener)
        return None

    @property
    def state(self) -> str:
        if self.closed:
            return "closed"
        if len(self.done) == 2:
            return "done"
        if not (self.a.ready.is_set() and self.b.ready.is_set()):
            return "waiting for a connection"
        return "relaying" if not self.done else f"half-closed ({', '.join(sorted(self.done))})"

    @property
    def local(self) -> str:
        return self.a.label

    @property
    def remote(self) -> str:
        return self.b.label

    def toolbar(self) -> str:
        return f"{self.state} {self.moved['>']}> {self.moved['<']}<"

    def waited(self, event: str) -> str:
        if event == "close" and not self.closed:
            return f"both directions closed ({self._totals()})"
        return super().waited(event)

    def ready(self, event: str) -> bool:
        # Once finished: the log has said so, and an exec: child is reaped.
        return event == "close" and (self.finished or self.closed)

    def info(self) -> list[tuple[str, Cell]]:
        pairs = super().info()
        # Once both ways are done each pump has only to return: call it ended.
        alive = [t.name for t in self.threads if t.is_alive() and len(self.done) < 2]
        pairs[3:3] = [
            ("a", self.a.label),
            ("b", self.b.label),
            ("a -> b", plural(self.moved[">"], "byte")),
            ("b -> a", plural(self.moved["<"], "byte")),
            ("method", "os.splice (in the kernel)" if self.spliced else "read/write"),
            ("threads", ", ".join(alive) or "ended"),
        ]
        if self.error:
            pairs.append(("error", self.error))
        return pairs

    @property
    def bytes_in(self) -> int:
        return self.moved[">"]

    @bytes_in.setter
    def bytes_in(self, value: int) -> None:
        pass

    @property
    def bytes_out(self) -> int:
        return self.moved["<"]

    @bytes_out.setter
    def bytes_out(self, value: int) -> None:
        pass

    def close(self) -> str:
        if self.closed:
            return "already closed"
        self.closed = True
        for end in (self.a, self.b):
            end.interrupt()
        for t in self.threads:
            t.join(timeout=3)
        for end in (self.a, self.b):
            end.close()
        outcome = f"closed ({self._totals()})"
        self.post(Event(self.name, "close", outcome))
        return outcome
