"""latency's delay line: each chunk written DELAY after the relay read it, by a thread
of its own, while the relay's pump reads on (a wait in the pump made a queue)."""

from __future__ import annotations

import socket
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from pslrepl.resources.endpoints import Endpoint
    from pslrepl.resources.toxics import Toxic
    from pslrepl.resources.toxics_link import Link


class Stopped(Exception):
    """The relay is closing (or its connection cut): drop what is in hand."""


LINE_MAX = 1 << 22  # bytes a latency line holds at most before the pump waits to read
POLL = 0.5  # seconds between looks while waiting on a line (each change notifies too)


class DelayLine:
    """One latency toxic's chunks on their way to one end: a FIFO whose thread writes
    each at its time (read time + delay) and then ends until the next chunk comes.
    Guarded by the Link's condition."""

    def __init__(self, link: Link, toxic: Toxic, dst: Endpoint) -> None:
        from collections import deque

        self.link, self.toxic, self.dst = link, toxic, dst
        self.queue: deque[tuple[bytes, float, float, Callable[[bytes, float], None]]] = deque()
        self.size = 0  # bytes queued
        self.busy = False  # one taken off the queue and still being written
        self.error: BaseException | None = None  # what a write raised: the pump's to raise
        self.worker: threading.Thread | None = None

    def put(self, data: bytes, t: float, delay: float,
            after: Callable[[bytes, float], None]) -> None:  # fmt: skip
        """(With the condition held.) Queue a chunk; start the thread if none runs."""
        self.queue.append((data, t, delay, after))
        self.size += len(data)
        self.toxic.holding += len(data)
        self.link.cond.notify_all()
        if self.worker is None:
            name = f"pslrepl:{self.link.relay.name}~{self.toxic.name}"
            self.worker = threading.Thread(target=self._run, name=name, daemon=True)
            self.worker.start()

    def _run(self) -> None:
        from pslrepl.errors import PslError
        from pslrepl.signals_table import background_thread

        background_thread()
        link, toxic = self.link, self.toxic
        while True:
            with link.cond:
                if not self.queue:
                    self.worker = None
                    link.cond.notify_all()
                    return
                data, t, delay, after = self.queue.popleft()
                self.busy = True
            try:
                try:
                    whole = link.hold(t + delay, toxic)
                finally:
                    with link.cond:
                        self.size -= len(data)
                        toxic.holding -= len(data)
                        link.cond.notify_all()
                held = delay if whole else time.monotonic() - t
                how = f" {held * 1000:,.0f} ms" + ("" if whole else " (until unlinked)")
                link.say(toxic, "held BYTES", len(data), how)
                after(data, time.monotonic())
            except (Stopped, OSError, PslError) as exc:
                with link.cond:  # the rest is dropped: the relay closed or this way broke
                    self.error = Stopped() if isinstance(exc, Stopped) else exc
                    for rest in self.queue:
                        toxic.holding -= len(rest[0])
                    self.queue.clear()
                    self.size = 0
                    self.busy = False
                    self.worker = None
                    link.cond.notify_all()
                return
            with link.cond:
                self.busy = False
                link.cond.notify_all()


def latency(self: Link, toxic: Toxic, data: bytes, t: float,
        after: Callable[[bytes, float], None], dst: Endpoint) -> None:  # fmt: skip
    """Each chunk leaves DELAY after it was read, in order, while the pump goes on
    reading: a delay line (its own thread), not a wait in the pump, which would
    queue each chunk behind the one before and merge what came meanwhile."""
    key = (id(toxic), id(dst))
    with self.cond:
        line = self.lines.get(key)
        if line is None:
            line = self.lines[key] = DelayLine(self, toxic, dst)
        # A bounded line: a fast sender waits here (as on a full socket buffer).
        while line.size >= LINE_MAX and not line.error:
            if self.relay.closed or self.cut:
                raise Stopped
            self.cond.wait(POLL)
        if line.error is not None:
            raise line.error
        if self.relay.closed or self.cut:
            raise Stopped
        line.put(data, t, toxic.jittered(dst is self.relay.b), after)


def drain(self: Link, dst: Endpoint, *, unlinked: bool = False) -> None:
    """Before an EOF goes on (or, ``unlinked``, before a chunk passes a latency
    toxic that is gone): wait until every delay line to ``dst`` (of a toxic unlinked)
    has written what it holds, so that nothing overtakes it. Raises what a line's
    write raised, or Stopped when the relay closes."""
    with self.cond:
        if not self.lines:
            return
        for key, line in list(self.lines.items()):
            if line.toxic.removed and not (line.size or line.busy or line.error):
                del self.lines[key]  # an unlinked toxic's line, empty: forgotten
        while True:
            lines = [ln for ln in self.lines.values()
                     if ln.dst is dst and (ln.toxic.removed or not unlinked)]  # fmt: skip
            for line in lines:
                if line.error is not None:
                    raise line.error
            if self.relay.closed or self.cut:
                raise Stopped
            if not any(ln.size or ln.busy for ln in lines):
                return
            self.cond.wait(POLL)


def no_delay(end: Endpoint) -> None:
    """TCP_NODELAY on a TCP socket the relay made: a toxic's small writes (slicer,
    bandwidth) go as they are written, not merged by Nagle's algorithm."""
    end.nodelay = True
    sock = end.sock
    if sock is not None and not end.dgram and sock.family != socket.AF_UNIX:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # closed meanwhile: the write will say so
