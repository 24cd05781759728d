"""The code an exported relay is made of: two copying threads, and the toxics as plain
classes the copiers pass each chunk through (a helper each, written once at the top)."""

from __future__ import annotations

HELPERS: dict[str, tuple[tuple[str, ...], str]] = {
    "Relay": (
        ("addr", "plural"),
        r'''
class Cut(Exception):
    """The connection was cut (a toxic's reset, limit or close_after, or close)."""


class Relay:
    """Bytes both ways between the first client of ``listener`` and another end (a
    child's pipes, or a TCP connection), a thread per direction. The end of one
    direction's input is passed on as the end of its output: a half-close (shutdown
    SHUT_WR), or the child's stdin closed."""

    def __init__(self, listener, name, connect_other):
        self.listener = listener
        self.where = f"tcp-listen:{addr(listener.getsockname())}"
        self.name = name  # the other end, as the relay was told it: exec:sort
        self.connect_other = connect_other
        self.moved = {">": 0, "<": 0}
        self.toxics = []  # each chunk goes through them in turn
        self.copiers = []
        self.client = self.other = None
        self.joined = threading.Event()  # both ends are there: timed toxics count from it
        self.joined_at = None
        self.closed = False
        self.cut_by = ""  # the toxic that ended the connection (reset, limit, close_after)
        self.started = threading.Thread(target=self.join_first_client, daemon=True)
        self.started.start()

    def link(self, toxic):
        toxic.relay = self
        self.toxics.append(toxic)
        if hasattr(toxic, "fire"):  # a timed toxic: acts at a time, data or not
            threading.Thread(target=toxic.fire, daemon=True).start()

    def join_first_client(self):
        self.client, _ = self.listener.accept()
        self.listener.close()  # one client: the relay is for it alone
        for toxic in self.toxics:
            if toxic.kind == "delay_accept":
                toxic.hold(toxic.delay)  # the client's connect is done: its bytes wait
        self.other = self.connect_other()
        for end in (self.client, self.other):
            if isinstance(end, socket.socket):
                # What comes goes on as it came: with Nagle the relay would hold a small
                # write behind an unACKed one (up to the peer's delayed ACK, 40 ms).
                end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.other, socket.socket):
            read_other, write_other = self.other.recv, self.other.sendall
        else:  # a child: its stdout and stdin
            read_other, write_other = self.other.stdout.read, self.other.stdin.write
        self.copiers = [
            threading.Thread(target=self.copy, args=(">", self.client.recv, write_other)),
            threading.Thread(target=self.copy, args=("<", read_other, self.client.sendall)),
        ]
        for thread in self.copiers:
            thread.start()
        self.joined_at = time.monotonic()
        self.joined.set()

    def copy(self, way, read, write):
        try:
            while data := read(65536):
                self.through([t for t in self.toxics if way in t.ways], data, way, write)
            if not self.cut_by:
                for toxic in [t for t in self.toxics if way in t.ways]:
                    if toxic.kind == "slow_close":
                        toxic.hold(toxic.delay)  # the end of the stream passes on late
                self.end(way)
        except (OSError, Cut):
            pass  # closed, or a toxic cut the connection: the other copier ends too

    def end(self, way):
        """The end of one direction's input passed on: a half-close of the socket it
        writes to, or the child's stdin closed."""
        to = self.other if way == ">" else self.client
        if isinstance(to, socket.socket):
            to.shutdown(socket.SHUT_WR)
        else:
            to.stdin.close()

    def through(self, toxics, data, way, write):
        if self.closed or self.cut_by:
            raise Cut
        if not toxics:
            write(data)
            self.moved[way] += len(data)
            return
        toxics[0].pass_on(data, lambda piece: self.through(toxics[1:], piece, way, write), way)

    def cut(self, why, rst=""):
        """End the connection as a toxic does: an RST to the sides in ``rst`` ("<" the
        client, ">" the other end: SO_LINGER 0, so that close() sends it), a FIN to the
        rest; the copiers' reads end."""
        if self.cut_by:
            return
        self.cut_by = why
        for way, end in (("<", self.client), (">", self.other)):
            if not isinstance(end, socket.socket):
                if end is not None:
                    end.kill()  # a child's end: nothing to reset; it goes
                continue
            try:
                if way in rst:
                    end.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    end.shutdown(socket.SHUT_RD)  # wakes its copier, sends nothing
                else:
                    end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if rst:
            threading.Thread(target=self.close_reset, args=(rst,), daemon=True).start()

    def close_reset(self, rst):
        """Close the reset sides (the RST goes) once the copiers have let go of them."""
        for thread in self.copiers:
            thread.join(3)
        for way, end in (("<", self.client), (">", self.other)):
            if way in rst and isinstance(end, socket.socket):
                end.close()

    def close(self):
        """Shut both sides down, let what a toxic holds go, and wait for the copiers."""
        self.unlink()
        self.closed = True
        self.joined.set()  # a timed toxic still waiting for a client waits no more
        for end in (self.client, self.other):
            try:
                if isinstance(end, socket.socket):
                    end.shutdown(socket.SHUT_RDWR)
                elif end is not None:
                    end.kill()
            except OSError:
                pass
        for thread in self.copiers:
            thread.join(3)
        return self.totals()

    def unlink(self, name=None):
        """Remove one toxic (or all): its names, as `unlink` says them."""
        gone = [t for t in self.toxics if name is None or t.name == name]
        self.toxics = [t for t in self.toxics if t not in gone]
        for toxic in gone:
            toxic.removed.set()  # what it holds passes on at once
        return ", ".join(t.name for t in gone)

    def wait_closed(self, timeout):
        """True once both directions have ended."""
        self.started.join(timeout)
        for thread in self.copiers:
            thread.join(timeout)
        return not self.started.is_alive() and not any(t.is_alive() for t in self.copiers)

    def totals(self):
        return (
            f"{self.where} -> {self.name}: {plural(self.moved['>'], 'byte')}; "
            f"{self.name} -> {self.where}: {plural(self.moved['<'], 'byte')}"
        )
''',
    ),
}

HELPERS["Toxics"] = (
    (),
    r'''
class Toxic:
    """What every toxic has: its name, the way it acts ("up" A to B, "down" B to A, or
    "both"), its settings as `link` lists them, how often it has acted, and an event set
    when it is unlinked, so that a wait of its ends at once."""

    kind = ""

    def __init__(self, name, way, settings):
        self.name, self.way, self.settings = name, way, settings
        self.ways = {"up": ">", "down": "<", "both": "><"}[way]
        self.removed = threading.Event()
        self.acted = 0
        self.holding = 0  # bytes it holds now (latency)
        self.relay = None  # set by Relay.link

    def hold(self, seconds):
        self.removed.wait(max(0.0, seconds))

    def pass_on(self, data, write, way):
        write(data)  # a toxic that acts on no chunk (slow_close, delay_accept, timed ones)

    def listed_way(self):
        """Its dir, as `link RELAY` lists it."""
        return self.way


class Latency(Toxic):
    """Hold each chunk DELAY seconds before passing it on (Toxiproxy's latency)."""

    kind = "latency"

    def __init__(self, name, way, settings, delay, jitter=0.0):
        super().__init__(name, way, settings)
        self.delay, self.jitter = delay, jitter

    def pass_on(self, data, write, way):
        self.holding += len(data)
        self.hold(self.delay + random.uniform(-self.jitter, self.jitter))
        self.holding -= len(data)
        self.acted += 1
        write(data)


class Slicer(Toxic):
    """Cut the stream into writes of SIZE bytes, DELAY seconds apart: the peer's recv
    sees small reads."""

    kind = "slicer"

    def __init__(self, name, way, settings, size, variation=0, delay=0.001):
        super().__init__(name, way, settings)
        self.size, self.variation, self.delay = size, variation, delay

    def pass_on(self, data, write, way):
        if len(data) > self.size:
            self.acted += 1
        while data:
            if self.removed.is_set():  # unlinked: the rest goes on in one piece
                write(data)
                return
            n = max(1, self.size + random.randint(-self.variation, self.variation))
            piece, data = data[:n], data[n:]
            write(piece)
            if data:
                self.hold(self.delay)


class BlackHole(Toxic):
    """After AFTER seconds, drop what comes: the connection stays, the data goes nowhere
    (Toxiproxy's timeout)."""

    kind = "timeout"

    def __init__(self, name, way, settings, after):
        super().__init__(name, way, settings)
        self.start = time.monotonic() + after

    def pass_on(self, data, write, way):
        if time.monotonic() < self.start:
            write(data)
        else:
            self.acted += 1


class Bandwidth(Toxic):
    """Pass at most RATE bytes a second, in pieces of a fiftieth of a second."""

    kind = "bandwidth"

    def __init__(self, name, way, settings, rate):
        super().__init__(name, way, settings)
        self.rate = rate

    def pass_on(self, data, write, way):
        self.acted += 1
        piece = max(1, int(self.rate / 50))
        for start in range(0, len(data), piece):
            write(data[start : start + piece])
            self.hold(len(data[start : start + piece]) / self.rate)


class Limit(Toxic):
    """Pass BYTES bytes each way it acts on, then close the connection (a FIN both
    ways, as Toxiproxy's limit_data)."""

    kind = "limit"

    def __init__(self, name, way, settings, bytes):  # the shell's key, bytes=N
        super().__init__(name, way, settings)
        self.limit = bytes
        self.passed = {">": 0, "<": 0}

    def pass_on(self, data, write, way):
        part = data[: max(0, self.limit - self.passed[way])]
        if part:
            self.passed[way] += len(part)
            write(part)
        if self.passed[way] >= self.limit:
            self.acted += 1
            self.relay.cut("limit")
            raise Cut


class SlowClose(Toxic):
    """Pass the end of the stream on DELAY seconds late (the relay's copier waits)."""

    kind = "slow_close"

    def __init__(self, name, way, settings, delay):
        super().__init__(name, way, settings)
        self.delay = delay


class DelayAccept(Toxic):
    """Take the relay's client DELAY seconds late: its connect is done (the kernel's),
    its first bytes wait."""

    kind = "delay_accept"

    def __init__(self, name, way, settings, delay):
        super().__init__(name, way, settings)
        self.delay = delay

    def listed_way(self):
        return "- (delays the accept)"  # the whole connection's: dir does not apply


class Timed(Toxic):
    """A toxic that acts at a time, data or not: AFTER seconds after the later of its
    link and the relay's client."""

    def __init__(self, name, way, settings, after):
        super().__init__(name, way, settings)
        self.after, self.linked = after, time.monotonic()

    def fire(self):
        self.relay.joined.wait()  # (close sets it too)
        start = max(self.linked, self.relay.joined_at or self.linked)
        self.removed.wait(max(0.0, start + self.after - time.monotonic()))
        if not (self.removed.is_set() or self.relay.closed or self.relay.cut_by):
            self.acted += 1
            self.act()


class Reset(Timed):
    """After AFTER seconds, reset the connection: an RST to the side(s) it acts toward
    (SO_LINGER 0, then close), a FIN to the other."""

    kind = "reset"

    def listed_way(self):  # which end gets the RST
        return f"{self.way} (RST to {({'up': 'B', 'down': 'A', 'both': 'A and B'})[self.way]})"

    def act(self):
        toward = ("<" if "<" in self.ways else "") + (">" if ">" in self.ways else "")
        self.relay.cut("reset", rst=toward)


class CloseAfter(Timed):
    """Close the connection TIME seconds after it opened (a FIN both ways)."""

    kind = "close_after"

    def __init__(self, name, way, settings, time):  # the shell's key, time=T
        super().__init__(name, way, settings, after=time)

    def listed_way(self):
        return "- (closes both ends)"  # the whole connection's: dir does not apply

    def act(self):
        self.relay.cut("close_after")
''',
)
HELPER_IMPORTS = {"Relay": ("socket", "struct", "threading", "time"),
                  "Toxics": ("random", "threading", "time")}  # fmt: skip
# The shell's toxic kinds -> the script's classes, with their keywords as the shell's keys.
CLASSES = {"latency": "Latency", "slicer": "Slicer", "bandwidth": "Bandwidth",
           "timeout": "BlackHole", "limit": "Limit", "slow_close": "SlowClose",
           "delay_accept": "DelayAccept", "reset": "Reset",
           "close_after": "CloseAfter"}  # fmt: skip
