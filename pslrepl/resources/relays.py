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

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.results import Cell
    from pslrepl.session import Session

CHUNK = 1 << 20  # 1 MiB: large buffers are most of a relay's speed
SPLICE = hasattr(os, "splice")
MOVE = getattr(os, "SPLICE_F_MOVE", 0)  # hints: move pages rather than copy them,
MORE = getattr(os, "SPLICE_F_MORE", 0)  # and more data follows (fewer small segments)


class Endpoint:
    """One side of a relay: descriptors to read and write, and how to close them."""

    def __init__(self, label: str, *, sock: socket.socket | None = None,
                 proc: subprocess.Popen[bytes] | None = None, owned: bool = True,
                 dgram: bool = False) -> None:  # fmt: skip
        self.label = label  # grows a " <- PEER" once tcp-listen has accepted
        self.name = label  # as given: what live traffic lines call this side
        self.on_accept: Any = None  # the relay's: say who connected
        self.sock = sock
        self.proc = proc
        self.owned = owned  # made by the relay (closed with it), or a user's resource
        self.dgram = dgram
        self.child: Any = None  # a spawned Process resource: read its buffer, write stdin
        self.listener: socket.socket | None = None  # tcp-listen: accept one, in the thread
        self.failed = False
        self.stopped = False
        self.ready = threading.Event()
        self._accepting = threading.Lock()  # both directions wait; one thread accepts
        if sock is not None or proc is not None:
            self.ready.set()

    @classmethod
    def of_child(cls, label: str, child: Any) -> Endpoint:
        """A child the shell already drains: the relay takes from its stdout buffer
        (bytes never read twice) and writes to its stdin."""
        end = cls(label, owned=False)
        end.child = child
        end.ready.set()
        return end

    def read(self) -> bytes:
        """Up to CHUNK bytes; b'' at EOF."""
        if self.child is not None:
            from pslrepl.errors import Timeout
            from pslrepl.resources.buffers import read_buffer

            while not self.stopped:  # short waits, so closing the relay is noticed
                try:
                    got = read_buffer(self.child.session, self.child.stdout,
                                      label=self.label, mode="any", timeout=0.2)  # fmt: skip
                except Timeout:
                    continue
                return got.data
            return b""
        if self.dgram:
            assert self.sock is not None
            return self.sock.recv(65536)
        return os.read(self.rfd, CHUNK)

    def write(self, data: bytes) -> None:
        if self.child is not None:
            self.child.write(data, timeout=60.0)
            return
        view = memoryview(data)
        while view:
            view = view[os.write(self.wfd, view) :]

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
        """For tcp-listen: accept the one connection (in a relay thread)."""
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

    def close_write(self) -> None:
        """Pass a half-close on: shutdown(SHUT_WR), or close a child's stdin."""
        try:
            if self.child is not None:
                if not self.child.stdin_closed:
                    self.child.close_stdin()
            elif self.proc is not None and self.proc.stdin is not None:
                self.proc.stdin.close()
            elif self.sock is not None and not self.dgram:
                self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def interrupt(self) -> None:
        self.stopped = True
        for s in (self.sock, self.listener):
            if s is not None:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        if self.listener is not None:
            self.listener.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def close(self) -> None:
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
        from pslrepl.signals_table import background_thread

        background_thread()
        try:
            if src.wait() and dst.wait():
                plain = src.child is None and dst.child is None and not (src.dgram or dst.dgram)
                if self.show is None and SPLICE and plain:
                    self._splice(src, dst, way)
                else:
                    self._copy(src, dst, way)
                if not self.closed:
                    dst.close_write()  # EOF one way: pass the half-close on, as socat does
        except OSError as exc:
            if not self.closed:
                self.error = f"{exc.strerror or exc}"
                self.post(Event(self.name, "note", f"{way} stopped: {self.error}"))
                dst.close_write()
        finally:
            with self.session.cond:
                self.done.add(way)
                finished = len(self.done) == 2
            if finished and not self.closed:
                self.post(Event(self.name, "note", "both directions closed: relay done "
                                f"({self._totals()})"))  # fmt: skip

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
        return event == "close" and (len(self.done) == 2 or self.closed)

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
