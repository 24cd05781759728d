"""How a relay's toxics act: the bytes of one direction through each toxic in turn.

A relay's pump thread calls deliver() with what it read; latency hands each chunk to
a delay line (a thread that writes it at its time) so the pump reads on; a toxic that
waits (a delay line, bandwidth, slicer) waits on the Link's condition, which `unlink`
and `close` notify, so a wait ends at once: the data passes on unchanged once its
toxic is gone, and is dropped once the relay is closed. Timed toxics (reset,
close_after) have a thread each.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

from pslrepl.events import Event
from pslrepl.resources.toxics import TIMED, Toxic, counted, show_value, spread_of
from pslrepl.resources.toxics_delay import DelayLine, Stopped, drain, latency, no_delay

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from pslrepl.resources.endpoints import Endpoint
    from pslrepl.resources.relays import Relay

PIECE = 1 << 14  # bandwidth: paced in pieces this big at most (and at least 1/50 s of rate)


def peer_of(end: Endpoint) -> str:
    """Who is at the far side of an end: HOST:PORT, or its name."""
    try:
        if end.sock is not None and end.sock.family != socket.AF_UNIX:
            host, port = end.sock.getpeername()[:2]
            return f"{host}:{port}"
    except OSError:
        pass
    return end.name


class Link:
    """A relay's toxics, and the one condition every wait of theirs is on."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.toxics: list[Toxic] = []
        self.cond = threading.Condition()
        self.connected_at: float | None = None  # both ends there: timed toxics count from it
        self.cut = ""  # "reset", "limit" or "close_after" once a toxic has ended it
        self.timers: list[threading.Thread] = []
        self.lines: dict[tuple[int, int], DelayLine] = {}  # latency: (toxic, dst) -> line

    # -- changes (the shell's thread) ---------------------------------------------------

    def add(self, toxic: Toxic) -> None:
        with self.cond:
            self.toxics.append(toxic)
            self.cond.notify_all()
        if toxic.kind in TIMED and toxic.active:
            t = threading.Thread(target=self._timer, args=(toxic,), daemon=True,
                                 name=f"pslrepl:{self.relay.name}~{toxic.name}")  # fmt: skip
            self.timers.append(t)
            t.start()

    def remove(self, name: str | None) -> list[Toxic]:
        with self.cond:
            gone = [t for t in self.toxics if name is None or t.name == name]
            for toxic in gone:
                toxic.removed = True
                self.toxics.remove(toxic)
            self.cond.notify_all()
        for toxic in gone:
            self.release_held(toxic)
            self.flush(toxic)
        return gone

    def stop(self) -> None:
        """The relay closes: every wait ends now, every timer and delay line thread
        with it (what a delay line held is dropped)."""
        with self.cond:
            self.cond.notify_all()
            workers = [ln.worker for ln in self.lines.values() if ln.worker is not None]
        for t in self.timers + workers:
            t.join(timeout=1)
        for toxic in list(self.toxics):
            self.flush(toxic)

    def connected(self) -> None:
        with self.cond:
            if self.connected_at is None:
                self.connected_at = time.monotonic()
                self.cond.notify_all()

    def on(self, way: str) -> list[Toxic]:
        with self.cond:
            return [t for t in self.toxics if way in t.ways and t.active]

    def any(self, way: str) -> bool:
        return bool(self.on(way))

    # -- waiting --------------------------------------------------------------------

    def hold(self, until: float, toxic: Toxic) -> bool:
        """Wait until `until` (monotonic); False at once if the toxic is removed meanwhile.
        Raises Stopped when the relay closes."""
        with self.cond:
            while True:
                if self.relay.closed or self.cut:
                    raise Stopped
                if toxic.removed:
                    return False
                left = until - time.monotonic()
                if left <= 0:
                    return True
                self.cond.wait(left)

    def start_of(self, toxic: Toxic) -> float | None:
        """When a timed toxic's clock started: the later of its link and the connection."""
        if self.connected_at is None:
            return None
        return max(toxic.added, self.connected_at)

    # -- saying (coalesced) ---------------------------------------------------------

    def say(self, toxic: Toxic, what: str, nbytes: int, how: str = "") -> None:
        """An event each time a toxic acts, at most one a second per toxic: the rest are
        summed into the next (or into one when it is unlinked or the relay closes)."""
        with self.cond:  # a pump and a delay line may both say
            toxic.acted += 1
            now = time.monotonic()
            # Each kind of action summed apart (reorder's held and sent): one line never
            # counts one kind's bytes under another's words.
            unsaid = toxic.unsaid.setdefault(what, [0, 0, "", None])
            unsaid[0] += 1
            unsaid[1] += nbytes
            unsaid[2] = how
            unsaid[3] = spread_of(unsaid[3], how, first=unsaid[0] == 1)
            due = now - toxic.said_at >= 1.0
            if due:
                toxic.said_at = now
        if due:
            self.flush(toxic)

    def flush(self, toxic: Toxic) -> None:
        with self.cond:
            unsaid, toxic.unsaid = toxic.unsaid, {}
        for what, (count, nbytes, how, spread) in unsaid.items():
            if count > 1 and spread is not None and spread[0] != spread[1]:
                how = f" {spread[0]:,} to {spread[1]:,} ms"  # jitter: not the last alone
            self.relay.post(Event(self.relay.name, "toxic", size=nbytes, toxic=toxic.name,
                                  action=counted(what, count), reason=how or None,
                                  count=count))  # fmt: skip

    # -- the data path (a pump thread) --------------------------------------------------

    def deliver(self, data: bytes, t: float, way: str, dst: Endpoint,
                count: Callable[[int], None]) -> None:  # fmt: skip
        """Pass `data`, read at `t`, through this way's toxics in order, then write it."""
        self.drain(dst, unlinked=True)
        toxics = self.on(way)
        if dst.owned and not dst.nodelay and toxics:
            no_delay(dst)  # each slice or paced piece its own segment, as Toxiproxy's

        def write(piece: bytes) -> None:
            if self.relay.closed or self.cut:
                raise Stopped
            dst.write(piece)
            count(len(piece))

        def last(piece: bytes, _t: float) -> None:
            write(piece)

        stage: Callable[[bytes, float], None] = last
        for toxic in reversed(toxics):
            stage = self._stage(toxic, stage, dst)
        stage(data, t)

    def _stage(self, toxic: Toxic, after: Callable[[bytes, float], None],
               dst: Endpoint) -> Callable[[bytes, float], None]:  # fmt: skip
        act = getattr(self, f"_{toxic.kind}", None)
        if act is None:  # delay_accept, close_after, slow_close: not on the data path
            return after

        def stage(data: bytes, t: float) -> None:
            if toxic.removed:
                after(data, t)
            else:
                act(toxic, data, t, after, dst)

        return stage

    def _latency(self, toxic: Toxic, data: bytes, t: float, after: Callable[[bytes, float], None],
                 dst: Endpoint) -> None:  # fmt: skip
        """Each chunk leaves DELAY after it was read, in order, while the pump reads on
        (a delay line: see toxics_delay)."""
        latency(self, toxic, data, t, after, dst)

    def drain(self, dst: Endpoint, *, unlinked: bool = False) -> None:
        """Before an EOF goes on (or, ``unlinked``, before a chunk passes a latency toxic
        that is gone): what the delay lines to ``dst`` hold is written first."""
        drain(self, dst, unlinked=unlinked)

    def _bandwidth(self, toxic: Toxic, data: bytes, t: float,
                   after: Callable[[bytes, float], None], dst: Endpoint) -> None:  # fmt: skip
        rate: float = toxic["rate"]
        piece = max(1, min(PIECE, int(rate / 50)))
        view = memoryview(data)
        slowed = False
        while view:
            chunk = bytes(view[:piece])
            view = view[piece:]
            if toxic.removed:
                after(chunk, t)
                continue
            start = max(toxic.next_send, time.monotonic())
            slowed = self.hold(start, toxic) or slowed
            toxic.next_send = start + len(chunk) / rate
            after(chunk, t)
        if slowed:
            self.say(toxic, "paced BYTES", len(data), f" at {show_value('rate', rate)}")

    def _slicer(self, toxic: Toxic, data: bytes, t: float, after: Callable[[bytes, float], None],
                dst: Endpoint) -> None:  # fmt: skip
        sizes = toxic.slice_sizes(len(data), dst is self.relay.b)
        at = 0
        for n in sizes:
            # DELAY after the last slice, this chunk's or the one before's: two chunks
            # read apart must not make two slices meet at the peer.
            self.hold(toxic.next_send + toxic["delay"], toxic)
            if toxic.removed:  # the rest goes on in one piece
                after(data[at:], t)
                return
            after(data[at : at + n], t)
            toxic.next_send = time.monotonic()
            at += n
        if len(sizes) > 1:
            most = toxic["size"] + toxic["variation"]
            self.say(toxic, f"cut BYTES into writes of at most {most}", len(data))

    def _timeout(self, toxic: Toxic, data: bytes, t: float, after: Callable[[bytes, float], None],
                 dst: Endpoint) -> None:  # fmt: skip
        start = self.start_of(toxic) or toxic.added
        if time.monotonic() >= start + toxic["after"]:
            self.say(toxic, "dropped BYTES (a black hole)", len(data))
            return
        after(data, t)

    def _limit(self, toxic: Toxic, data: bytes, t: float, after: Callable[[bytes, float], None],
               dst: Endpoint) -> None:  # fmt: skip
        # Each way counts its own bytes (dir=both: N each way, as two Toxiproxy
        # limit_data toxics, one on each stream, would).
        way = "A -> B" if dst is self.relay.b else "B -> A"
        passed = toxic.passed.get(way, 0)
        left = toxic["bytes"] - passed
        if left > 0:
            part = data[:left]
            passed = toxic.passed[way] = passed + len(part)
            after(part, t)
        if passed >= toxic["bytes"]:
            other = "B -> A" if way == "A -> B" else "A -> B"
            also = (f" ({other}: {toxic.passed.get(other, 0):,})"
                    if len(toxic.ways) > 1 else "")  # fmt: skip
            self.say(toxic, f"passed {passed:,} bytes {way}{also}, closed the connection", 0)
            self.end("limit", rst=())
            raise Stopped

    def _drop(self, toxic: Toxic, data: bytes, t: float, after: Callable[[bytes, float], None],
              dst: Endpoint) -> None:  # fmt: skip
        if toxic.rng_to(dst is self.relay.b).random() < toxic["rate"]:
            self.say(toxic, "dropped a datagram (BYTES)", len(data))
            return
        after(data, t)

    def _duplicate(self, toxic: Toxic, data: bytes, t: float,
                   after: Callable[[bytes, float], None], dst: Endpoint) -> None:  # fmt: skip
        after(data, t)
        if toxic.rng_to(dst is self.relay.b).random() < toxic["rate"]:
            self.say(toxic, "sent a datagram twice (BYTES)", len(data))
            after(data, t)

    def _reorder(self, toxic: Toxic, data: bytes, t: float, after: Callable[[bytes, float], None],
                 dst: Endpoint) -> None:  # fmt: skip
        if toxic.rng_to(dst is self.relay.b).random() < toxic["rate"]:
            toxic.reordered.append([toxic["gap"], dst, data, after])
            self.say(toxic, f"held a datagram (BYTES) back to go after {toxic['gap']} others",
                     len(data))  # fmt: skip
            return
        after(data, t)
        # Each datagram passed brings the held ones one nearer their turn.
        for held in list(toxic.reordered):
            if held[1] is dst:
                held[0] -= 1
                if held[0] <= 0:
                    toxic.reordered.remove(held)
                    self.say(toxic, f"sent a datagram (BYTES) {toxic['gap']} late", len(held[2]))
                    held[3](held[2], t)

    def _truncate(self, toxic: Toxic, data: bytes, t: float,
                  after: Callable[[bytes, float], None], dst: Endpoint) -> None:  # fmt: skip
        if len(data) > toxic["size"]:
            self.say(toxic, f"cut a datagram to {toxic['size']} of BYTES", len(data))
            data = data[: toxic["size"]]
        after(data, t)

    def release_held(self, toxic: Toxic) -> None:
        """Reorder's held datagrams go once it is unlinked (late, but not lost), through
        what follows it (and counted, as every datagram the relay passes)."""
        while toxic.reordered:
            _, _dst, data, after = toxic.reordered.pop(0)
            try:
                after(data, time.monotonic())
            except (OSError, Stopped):
                continue  # the relay's other side is gone: so is the datagram, as UDP's
            self.say(toxic, "sent a held datagram (BYTES) on unlink", len(data))

    # -- the ends of a connection -------------------------------------------------------

    def before_eof(self, way: str) -> None:
        """slow_close: the end of the stream passes on late."""
        for toxic in self.on(way):
            if toxic.kind == "slow_close":
                with self.cond:
                    t0 = time.monotonic()
                if self.hold(t0 + toxic["delay"], toxic):
                    self.say(toxic, f"passed the close on {toxic['delay'] * 1000:,.0f} ms late",
                             0)  # fmt: skip

    def before_accept(self) -> None:
        """delay_accept: a client waits this long to be taken (not its connect: the
        kernel has completed that; its first bytes wait)."""
        with self.cond:
            delays = [t for t in self.toxics if t.kind == "delay_accept" and t.active]
        for toxic in delays:
            try:
                if self.hold(time.monotonic() + toxic["delay"], toxic):
                    self.say(toxic, f"accepted {toxic['delay'] * 1000:,.0f} ms late", 0)
            except Stopped:
                return

    def _timer(self, toxic: Toxic) -> None:
        from pslrepl.signals_table import background_thread

        background_thread()
        key = "after" if toxic.kind == "reset" else "time"
        with self.cond:
            while True:
                if self.relay.closed or self.cut or toxic.removed:
                    return
                start = self.start_of(toxic)
                left = None if start is None else start + toxic[key] - time.monotonic()
                if left is not None and left <= 0:
                    break
                self.cond.wait(left)
        toxic.fired = True
        a, b = self.relay.a, self.relay.b
        if toxic.kind == "reset":
            targets = tuple(e for e, w in ((a, "<"), (b, ">")) if w in toxic.ways)
            peers = ", ".join(peer_of(e) for e in targets)
            self.say(toxic, f"sent RST to {peers}", 0)
            self.end("reset", rst=targets)
        else:
            self.say(toxic, f"closed the connection after {toxic[key]:g} s", 0)
            self.end("close_after", rst=())

    def end(self, why: str, *, rst: tuple[Endpoint, ...]) -> None:
        """Cut the connection: an RST (SO_LINGER 0, then close) to the endpoints in rst,
        a FIN to the others; the pump threads see their reads end."""
        with self.cond:
            if self.cut:
                return
            self.cut = why
            self.cond.notify_all()
        relay = self.relay
        for end in (relay.a, relay.b):
            sock = end.sock
            if sock is None or sock.fileno() < 0:
                continue
            try:
                if end in rst:
                    # struct linger {l_onoff 1, l_linger 0}: close() then sends RST
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    socket.socket.shutdown(sock, socket.SHUT_RD)  # wakes its reader, sends nothing
                else:
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass
        threading.Thread(target=self._close_reset, args=(rst,), daemon=True,
                         name=f"pslrepl:{relay.name}~{why}").start()  # fmt: skip

    def _close_reset(self, rst: tuple[Endpoint, ...]) -> None:
        """Close the reset endpoints (the RST goes) once the pumps have let go of them."""
        me = threading.current_thread()
        for t in self.relay.threads:
            if t is not me:
                t.join(timeout=1)
        for end in rst:
            if end.owned and end.sock is not None:
                end.sock.close()
