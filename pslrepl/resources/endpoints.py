"""One side of a relay: a socket, a child, an exec: program or a tcp-listen's one client."""

from __future__ import annotations

import os
import socket
import subprocess
import threading

from pslrepl.resources.buffers import StreamBuffer as _StreamBuffer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

CHUNK = 1 << 20  # 1 MiB: large buffers are most of a relay's speed
DGRAM_MAX = 65507  # the most a UDP datagram carries over IPv4: a stream is cut to this
TLS_CHUNK = 1 << 16  # plaintext per SSLSocket.send: retried whole when it wants to wait


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
        self.before_accept: Any = None  # the relay's delay_accept toxic, if it has one
        # udp-listen: a bound UDP socket whose first datagram's sender becomes its peer
        # (connected to it), as socat's UDP-LISTEN
        self.udp_listen = False
        self.nodelay = False  # TCP_NODELAY set (a toxic's small writes: toxics_link)
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
        from pslrepl.resources.polling import poll_ready

        poll_ready([readable] if readable else [], [writable] if writable else [], None)

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
        if self.udp_listen and self._accepting.acquire(blocking=False):
            self._first_datagram()
        if self.listener is not None and self._accepting.acquire(blocking=False):
            try:
                if self.before_accept is not None:
                    from pslrepl.resources.polling import poll_ready

                    poll_ready([self.listener], [], None)  # a client has come: now hold it
                    self.before_accept()
                conn, _ = self.listener.accept()
            except OSError:
                self.failed = True
                self.ready.set()
                return False
            # One client, as socat without fork: the port closes now, so the next client
            # is refused at once instead of waiting in the backlog for ever.
            self.listener.close()
            conn.settimeout(None)
            self.sock = conn
            peer = f"{conn.getpeername()[0]}:{conn.getpeername()[1]}"
            self.label += f" <- {peer}"
            if self.on_accept is not None:
                self.on_accept(self, peer)
            self.ready.set()
        self.ready.wait()
        return not self.failed

    def _first_datagram(self) -> None:
        """udp-listen: wait for the first datagram (left queued: MSG_PEEK) and connect to
        its sender, so replies go there and other senders are filtered out."""
        assert self.sock is not None
        try:
            _, peer = self.sock.recvfrom(1, socket.MSG_PEEK)
            if not peer or self.stopped:  # shut down while it waited
                raise OSError("the relay is closing")
            self.sock.connect(peer)
        except OSError:
            self.failed = True
            self.ready.set()
            return
        said = f"{peer[0]}:{peer[1]}"
        self.label += f" <- {said}"
        if self.on_accept is not None:
            self.on_accept(self, said)
        self.ready.set()

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
