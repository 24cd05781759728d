"""Exporters for relay: a listening side whose first client is joined to a child's pipes
(exec:) or to a TCP connection (tcp:), by two copying threads; wait NAME close; the
toxics that shape a stream (latency, slicer, bandwidth) from relay --link, link, unlink."""

from __future__ import annotations

from pslrepl.export.script import wrapped_print

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord

HELPERS: dict[str, tuple[tuple[str, ...], str]] = {
    "Relay": (
        ("addr",),
        r'''
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
        self.toxics = []  # Latency, Slicer, Bandwidth: each chunk goes through them in turn
        self.copiers = []
        self.ends = []  # once joined: how to shut down each side (close)
        self.started = threading.Thread(target=self.join_first_client, daemon=True)
        self.started.start()

    def join_first_client(self):
        client, _ = self.listener.accept()
        self.listener.close()  # one client: the relay is for it alone
        read_other, write_other, end_other, stop_other = self.connect_other()
        self.ends = [lambda: client.shutdown(socket.SHUT_RDWR), stop_other]

        def end_client():
            client.shutdown(socket.SHUT_WR)

        self.copiers = [
            threading.Thread(target=self.copy, args=(">", client.recv, write_other, end_other)),
            threading.Thread(target=self.copy, args=("<", read_other, client.sendall, end_client)),
        ]
        for thread in self.copiers:
            thread.start()

    def copy(self, way, read, write, end):
        try:
            while data := read(65536):
                self.through([t for t in self.toxics if way in t.ways], data, way, write)
            end()
        except OSError:
            pass  # closed (close, below): the other copier ends too

    def close(self):
        """Shut both sides down, let what a toxic holds go, and wait for the copiers."""
        self.unlink()
        for stop in self.ends:
            try:
                stop()
            except OSError:
                pass
        for thread in self.copiers:
            thread.join(3)
        return self.totals()

    def through(self, toxics, data, way, write):
        if not toxics:
            write(data)
            self.moved[way] += len(data)
            return
        toxics[0].pass_on(data, lambda piece: self.through(toxics[1:], piece, way, write))

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
    """What every toxic has: its name, the ways it acts on (">" A to B, "<" B to A),
    and an event set when it is unlinked, so that a wait of its ends at once."""

    def __init__(self, name, ways):
        self.name, self.ways = name, ways
        self.removed = threading.Event()

    def hold(self, seconds):
        self.removed.wait(max(0.0, seconds))


class Latency(Toxic):
    """Hold each chunk DELAY seconds before passing it on (Toxiproxy's latency)."""

    def __init__(self, name, ways, delay, jitter=0.0):
        super().__init__(name, ways)
        self.delay, self.jitter = delay, jitter

    def pass_on(self, data, write):
        self.hold(self.delay + random.uniform(-self.jitter, self.jitter))
        write(data)


class Slicer(Toxic):
    """Cut the stream into writes of SIZE bytes, DELAY seconds apart: the peer's recv
    sees small reads."""

    def __init__(self, name, ways, size, variation=0, delay=0.001):
        super().__init__(name, ways)
        self.size, self.variation, self.delay = size, variation, delay

    def pass_on(self, data, write):
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

    def __init__(self, name, ways, after):
        super().__init__(name, ways)
        self.start = time.monotonic() + after

    def pass_on(self, data, write):
        if time.monotonic() < self.start:
            write(data)


class Bandwidth(Toxic):
    """Pass at most RATE bytes a second, in pieces of a fiftieth of a second."""

    def __init__(self, name, ways, rate):
        super().__init__(name, ways)
        self.rate = rate

    def pass_on(self, data, write):
        piece = max(1, int(self.rate / 50))
        for start in range(0, len(data), piece):
            write(data[start : start + piece])
            self.hold(len(data[start : start + piece]) / self.rate)
''',
)
EXPORTED_TOXICS = {"latency": "Latency", "slicer": "Slicer", "bandwidth": "Bandwidth",
                   "timeout": "BlackHole"}  # fmt: skip
HELPER_IMPORTS = {"Relay": ("socket", "threading"), "Toxics": ("random", "threading", "time")}


def _relay(script: Script, record: CommandRecord) -> None:
    import shlex

    from pslrepl.addresses import parse_addr

    values = record.values
    name, a, b = values["name"], str(values["a"]), str(values["b"])
    v = script.var(name)
    server = script.kinds.get(b) == "server"  # a TCP server by NAME: the relay connects
    if (
        not a.startswith("tcp-listen:")
        or not (b.startswith(("exec:", "tcp:")) or server)
        or (values.get("hex") or values.get("text"))
    ):
        script.not_exported(record, "only relay NAME tcp-listen:ADDR exec:CMD|tcp:ADDR is "
                            "exported yet")  # fmt: skip
        return
    toxics = _toxics(script, record, list(values.get("link") or ()))
    if toxics is None:
        return
    listen = parse_addr(a.removeprefix("tcp-listen:")).sockaddr
    script.imp("socket")
    script.use("Relay")
    script.use("plural")
    script.add(f"{v}_a = socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
               f"{v}_a.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
               f"{v}_a.bind({listen!r})", f"{v}_a.listen(1)", "")  # fmt: skip
    opener = f"open_{v}_b"
    b_expr = repr(b)
    script.add("", f"def {opener}():")
    if b.startswith("exec:"):
        script.imp("subprocess")
        argv = shlex.split(b.removeprefix("exec:"))
        script.add(f'    """{b}: a child, when the first client comes; its stdout and stdin."""',
                   "    child = subprocess.Popen(",
                   f"        {argv!r}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0",
                   "    )",
                   "    return child.stdout.read, child.stdin.write, "
                   "child.stdin.close, child.kill")  # fmt: skip
    else:
        from pslrepl.export.common import address_of

        target = address_of(script, b.removeprefix("tcp:"), record)
        if server:  # named as the shell names it: tcp:HOST:PORT, the server's own
            script.use("addr")
            b_expr = f'f"tcp:{{addr({target})}}"'
        script.add(f'    """{b}: a connection, when the first client comes."""',
                   f"    other = socket.create_connection({target})",
                   "    return (other.recv, other.sendall, lambda: other.shutdown(socket.SHUT_WR),",
                   "            lambda: other.shutdown(socket.SHUT_RDWR))")  # fmt: skip
    script.add("", "")
    script.add(f"{v} = Relay({v}_a, {b_expr}, {opener})")
    script.add(wrapped_print(f"{name}: relaying {{{v}.where}} <-> {{{v}.name}}", f=True))
    script.kinds[name] = "relay"
    for toxic in toxics:  # before the first client can come: in the shell, before any byte
        _add_toxic(script, name, toxic)


def _toxics(script: Script, record: CommandRecord, specs: list[str]) -> list[Any] | None:
    """The toxics of relay --link, made again; None (and marked) if one is not exported."""
    from pslrepl.resources.toxics import from_spec

    toxics: list[Any] = []
    for spec in specs:
        toxic = from_spec(spec, seed=None, taken=tuple(t.name for t in toxics))
        if toxic.kind not in EXPORTED_TOXICS:
            script.not_exported(record, f"the {toxic.kind} toxic is not exported yet (latency, "
                                "slicer, bandwidth and timeout are)")  # fmt: skip
            return None
        toxics.append(toxic)
    return toxics


def _add_toxic(script: Script, name: str, toxic: Any) -> None:
    from pslrepl.commands.relays import describe

    v = script.var(name)
    script.use("Toxics")
    cls = EXPORTED_TOXICS[toxic.kind]
    from pslrepl.resources.toxics import KINDS

    args = ", ".join(f"{k}={toxic.params[k]!r}" for k in KINDS[toxic.kind])
    script.add(f"{v}.toxics.append({cls}({toxic.name!r}, {''.join(toxic.ways)!r}, {args}))")
    script.add(wrapped_print(f"{name}: linked {toxic.name}: {describe(toxic)}"))


def _link(script: Script, record: CommandRecord) -> None:
    from pslrepl.resources.toxics import make, parse_prob

    values = record.values
    name = str(values["relay"])
    if script.kinds.get(name) != "relay":
        script.not_exported(record, f"{name} is not a relay the script made")
        return
    if values.get("toxic") is None:
        script.not_exported(record, "link RELAY (the list of its toxics) is not exported yet")
        return
    if values.get("toxicity") is not None and parse_prob(values["toxicity"], "") < 1:
        script.not_exported(record, "a toxic's toxicity is not exported yet")
        return
    toxic = make(values["toxic"], list(values.get("key=value") or ()),
                 way=values.get("dir") or "down", name=values.get("name"))  # fmt: skip
    if toxic.kind not in EXPORTED_TOXICS:
        script.not_exported(record, f"the {toxic.kind} toxic is not exported yet (latency, "
                            "slicer, bandwidth and timeout are)")  # fmt: skip
        return
    _add_toxic(script, name, toxic)


def _unlink(script: Script, record: CommandRecord) -> None:
    name, which = str(record.values["relay"]), record.values.get("n")
    if script.kinds.get(name) != "relay" or not record.ok:
        script.not_exported(record, f"{name} is not a relay the script made")
        return
    v = script.var(name)
    script.add(f"if gone := {v}.unlink({which!r}):")
    script.add(f'    print(f"{name}: unlinked {{gone}}")')
    script.add("else:", f'    print("{name}: no toxics to remove")')


def close(script: Script, name: str) -> None:
    """close NAME of a relay the script made: for session_cmds' close."""
    v = script.var(name)
    script.add(f'print(f"{name}: closed ({{{v}.close()}})")')


def _wait_close(script: Script, record: CommandRecord) -> None:
    name = record.values["name"]
    v = script.var(name)
    timeout = record.values.get("timeout")
    timeout = script.timeout if timeout is None else float(timeout)
    script.add(f"if {v}.wait_closed(timeout={timeout:g}):")
    script.add(f'    print(f"{name}: both directions closed ({{{v}.totals()}})")')
    script.add("else:", wrapped_print(f"error: {name}: timeout after {timeout:g} s waiting "
                                      "for both directions to close", indent="    "))  # fmt: skip


EXPORTERS = {"relay": _relay, "link": _link, "unlink": _unlink}
WAITS = {"relay": _wait_close}
