"""A relay: bytes pumped both ways between two endpoints until both close, like socat.

One thread per direction ("pslrepl:NAME>" and "pslrepl:NAME<"), so a full buffer one
way never stalls the other. Without a live display the bytes never enter Python:
os.splice moves them socket -> pipe -> socket in the kernel, a MiB at a time.
"""

from __future__ import annotations

import os
import threading
import time

from pslrepl.events import Event
from pslrepl.render import plural
from pslrepl.resources.base import Resource
from pslrepl.resources.endpoints import CHUNK
from pslrepl.resources.endpoints import Endpoint as Endpoint
from pslrepl.resources.toxics_delay import no_delay
from pslrepl.resources.toxics_link import Link, Stopped

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.addresses import Addr
    from pslrepl.resources.toxics import Toxic
    from pslrepl.results import Cell
    from pslrepl.session import Session

SPLICE = hasattr(os, "splice")
MOVE = getattr(os, "SPLICE_F_MOVE", 0)  # hints: move pages rather than copy them,
MORE = getattr(os, "SPLICE_F_MORE", 0)  # and more data follows (fewer small segments)
BULK = 1 << 16  # a splice this big is a bulk transfer's: more follows (SPLICE_F_MORE)
REAP_WAIT = 2.0  # seconds a finished relay waits for its exec: child to exit


class Relay(Resource):
    """Two endpoints and the two threads between them."""

    KINDS = ("relay",)
    EVENTS = ("close",)

    def __init__(self, session: Session, name: str, a: Endpoint, b: Endpoint, *,
                 show: str | None, toxics: tuple[Toxic, ...] = (),
                 seed: int | None = None) -> None:  # fmt: skip
        super().__init__(session, name)
        self.a, self.b = a, b
        self.show = show  # None, "hex" or "text": live traffic (and no splice)
        self.moved = {">": 0, "<": 0}  # a->b and b->a, each counted by its own thread
        self.lock = threading.Lock()  # held to count: ls and info read as the threads count
        self.done: set[str] = set()
        self.finished = False  # both ways done, an exec: child reaped, and said so
        self.spliced = False
        self.error = ""
        self.seed = seed  # --seed: a toxic linked later without its own takes this one
        self.link = Link(self)
        self._listen_addr: Addr | None = None
        self.bound_addr  # noqa: B018 - kept now: a tcp-listen port closes on its client
        for toxic in toxics:  # before any byte passes
            self.link.add(toxic)
        self.post(Event(name, "start", origin="relay", local=a.label, remote=b.label))
        a.on_accept = b.on_accept = self._accepted
        a.before_accept = b.before_accept = self.link.before_accept
        self.threads = [
            threading.Thread(target=self._pump, args=(a, b, ">"), name=f"pslrepl:{name}>",
                             daemon=True),
            threading.Thread(target=self._pump, args=(b, a, "<"), name=f"pslrepl:{name}<",
                             daemon=True),
        ]  # fmt: skip
        for t in self.threads:
            t.start()

    def _connected(self, end: Endpoint) -> None:
        """The side the relay reaches has connected: its addresses go in the log, so the
        timeline matches the onward connection by address, not by order."""
        from pslrepl.addresses import format_addr

        sock = end.sock
        if sock is None or end.dgram or end.tls is not None:
            return
        try:
            local, remote = format_addr(sock.getsockname()), format_addr(sock.getpeername())
        except OSError:  # already gone: nothing to match
            return
        # {NAME.onward}: the onward connection's own address, so a transcript holding
        # this log line replays (the kernel picks its port anew each run).
        self.session.volatile[f"{self.name}.onward"] = local
        self.post(Event(self.name, "connect", local=local, remote=remote))

    def _pump(self, src: Endpoint, dst: Endpoint, way: str) -> None:
        from pslrepl.errors import PslError
        from pslrepl.signals_table import background_thread

        background_thread()
        try:
            if not (src.wait() and dst.wait()):
                failed = next((e for e in (src, dst) if e.error_text), None)
                if failed is not None and way == ">" and not self.closed:
                    self.post(Event(self.name, "relay-end", side=failed.name,
                                    phase="refused", reason=failed.error_text))  # fmt: skip
                for end in (src, dst):
                    end.interrupt()  # the client that came sees EOF, not a silent hang
            else:
                self.link.connected()
                for end in (src, dst) if way == ">" else ():
                    if end.owned and end.opener is not None:
                        self._connected(end)
                if dst.owned and not dst.nodelay:
                    # What comes goes on as it came: with Nagle the relay would hold a
                    # small write behind an unACKed one (up to the peer's delayed ACK,
                    # 40 ms), a stall the client's own TCP_NODELAY could not lift.
                    no_delay(dst)
                plain = not any(e.child is not None or e.dgram or e.tls is not None
                                for e in (src, dst))  # fmt: skip
                # Spliced while no toxic acts this way; read and written once one does.
                if not (self.show is None and SPLICE and plain and self._splice(src, dst, way)):
                    self._copy(src, dst, way)
                self.link.drain(dst)  # what a latency still holds goes before the EOF
                if self.link.any(way):
                    self.link.before_eof(way)  # slow_close
                if not self.closed and not self.link.cut:
                    dst.close_write()  # EOF one way: pass the half-close on, as socat does
                    if dst.close_pending:
                        self.post(Event(self.name, "relay-end", side=dst.name,
                                        phase="close-waits"))  # fmt: skip
                    if src.tls is not None:
                        with src.io:
                            pending = src.close_pending
                        if pending:  # the half-close that waited for this EOF
                            src.flush_close()
        except Stopped:
            pass  # closed, or a toxic cut the connection (and said so)
        except (OSError, PslError) as exc:  # PslError: a child that stopped reading stdin
            if not self.closed and not self.link.cut:
                self.error = f"{exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
                self.post(Event(self.name, "relay-end", side=way, phase="stopped",
                                reason=self.error))  # fmt: skip
                dst.close_write()
        finally:
            with self.session.cond:
                self.done.add(way)
                finished = len(self.done) == 2
            if finished and not self.closed:
                self._finished()

    def _finished(self) -> None:
        """Both directions are done: hand back what was lent, reap an exec: child."""
        for toxic in list(self.link.toxics):
            self.link.flush(toxic)  # what a toxic did and has not said yet, before "done"
        for end in (self.a, self.b):
            end.release()
        exits = [said for end in (self.a, self.b) if (said := end.reap(REAP_WAIT))]
        event = Event(self.name, "relay-end", phase="done",
                      reason=self._totals() + "".join(f"; {e}" for e in exits))  # fmt: skip
        self.log.append(event)  # in the log before `wait NAME close` can return
        with self.session.cond:
            self.finished = True
        self.session.post(event)  # and its waiters woken

    def _splice(self, src: Endpoint, dst: Endpoint, way: str) -> bool:
        """Splice until EOF (True), or until a toxic is linked this way (False: what the
        pipe holds has gone through it, and the rest is to be copied)."""
        if self.link.any(way):
            return False
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
                    return True
                more = MORE if n >= BULK else 0
                if self.link.any(way):  # linked meanwhile: what the pipe holds goes through it
                    t = time.monotonic()
                    parts = []
                    while n:
                        part = os.read(pr, n)
                        parts.append(part)
                        n -= len(part)
                    self.link.deliver(b"".join(parts), t, way, dst,
                                      lambda k: self._count(way, k))  # fmt: skip
                    return False
                while n:
                    # MORE (MSG_MORE) corks the socket for up to 200 ms waiting for the
                    # rest: only in a bulk transfer is more sure to follow; a small
                    # message (a keystroke, a request) goes at once.
                    m = os.splice(pr, dst.wfd, n, flags=MOVE | more)
                    n -= m
                    with self.lock:
                        self.moved[way] += m
        finally:
            os.close(pr)
            os.close(pw)

    def _count(self, way: str, n: int) -> None:
        with self.lock:
            self.moved[way] += n

    def _copy(self, src: Endpoint, dst: Endpoint, way: str) -> None:
        while data := src.read():
            if self.link.any(way):
                self.link.deliver(data, time.monotonic(), way, dst,
                                  lambda n: self._count(way, n))  # fmt: skip
            else:
                self.link.drain(dst, unlinked=True)  # what an unlinked latency held goes first
                dst.write(data)
                self._count(way, len(data))
            if self.show is not None:
                event = Event.traffic(self.name, "relay", f"{src.name} -> {dst.name}", "", data)
                event.fields["show"] = self.show
                self.post(event)

    def _accepted(self, end: Endpoint, peer: str) -> None:
        self.post(Event(self.name, "accept", parent=end.name, peer=peer))

    def _totals(self) -> str:
        return (
            f"{self.a.name} -> {self.b.name}: {plural(self.moved['>'], 'byte')}; "
            f"{self.b.name} -> {self.a.name}: {plural(self.moved['<'], 'byte')}"
        )

    # -- Resource ---------------------------------------------------------------------

    @property
    def listening(self) -> bool:
        """A tcp-listen side waits for its one client (or a udp-listen side is open)."""
        for end in (self.a, self.b):
            if end.listener is not None and end.listener.fileno() >= 0:
                return True
            if end.udp_listen and end.sock is not None and end.sock.fileno() >= 0:
                return True
        return False

    @property
    def bound_addr(self) -> Addr | None:
        """A tcp-listen (or udp-listen) endpoint's address, so `tcp connect c RELAY`
        (`sendto q RELAY`) reaches it; once its one client has come, still the address
        (a connect there is refused, as it would be without the name)."""
        from pslrepl.addresses import reachable

        if self.closed:
            return None
        if self._listen_addr is None:
            for end in (self.a, self.b):
                if end.listener is not None and end.listener.fileno() >= 0:
                    self._listen_addr = reachable(end.listener)
                elif end.udp_listen and end.sock is not None and end.sock.fileno() >= 0:
                    self._listen_addr = reachable(end.sock)  # sendto q RELAY reaches it
        return self._listen_addr

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
            ("method", self._method()),
            ("threads", ", ".join(alive) or "ended"),
        ]
        if self.link.toxics:
            pairs.append(("toxics", "; ".join(t.spec() for t in self.link.toxics)))
        if self.error:
            pairs.append(("error", self.error))
        return pairs

    def _method(self) -> str:
        """How the bytes move: spliced in the kernel, but read and written in Python in a
        direction a toxic acts on (said, so `info` doesn't say splice for both)."""
        if not self.spliced:
            return "read/write"
        toxic = [label for way, label in ((">", "A -> B"), ("<", "B -> A")) if self.link.any(way)]
        if not toxic:
            return "os.splice (in the kernel)"
        if len(toxic) == 2:
            return "read/write in Python both ways (toxics act)"
        return f"os.splice (in the kernel); {toxic[0]}: read/write in Python (a toxic acts)"

    @property
    def bytes_in(self) -> int:
        return self.moved[">"]

    @property
    def bytes_out(self) -> int:
        return self.moved["<"]

    def close(self) -> str:
        if self.closed:
            return "already closed"
        held = sum(t.holding for t in self.link.toxics)  # latency's: dropped, said so
        self.closed = True
        self.link.stop()  # a toxic's wait ends now
        for end in (self.a, self.b):
            end.interrupt()
        for t in self.threads:
            t.join(timeout=3)
        for end in (self.a, self.b):
            end.close()
        outcome = f"closed ({self._totals()})"
        if held:
            outcome += f"; dropped {plural(held, 'byte')} a latency toxic held"
        self.post(Event(self.name, "close", outcome=outcome))
        return outcome
