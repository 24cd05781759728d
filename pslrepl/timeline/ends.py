"""Which lane an address belongs to, over time: each socket's lives (a name used again is
a new socket), socketpairs' and UNIX connections' other ends, and a relay's own addresses."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from pslrepl.events import Event
    from pslrepl.session import Session


class Ends:
    """Which lane an address belongs to, and each socket's addresses as they were then:
    a name used again (close c, a new c) is a new socket with addresses of its own, so
    each step takes those of the life it happened in. From each start event and, while
    a resource lives, from the resource itself (a UDP socket binds on sendto)."""

    def __init__(self) -> None:
        self.pairs: dict[tuple[str, str], str] = {}
        self.local: dict[str, str] = {}
        self.ports: dict[str, str] = {}  # a port -> the resource bound to it (loopback)
        self.names: set[str] = set()  # every resource the log speaks of
        # A name's lives, oldest first: (when it started, its own address, its peer's).
        self.lives: dict[str, list[list[float | str]]] = {}
        # A life's peer that no address names: a socketpair's other end, a UNIX
        # connection's accepted end (its client is unbound): (name, start) -> lane.
        self.partner: dict[tuple[str, float], str] = {}
        self.dgram: set[tuple[str, float]] = set()  # lives that are datagram sockets
        self.first_of_pair: set[tuple[str, float]] = set()
        self.relay_clients: dict[str, list[tuple[float, str]]] = {}  # (when, who) accepted
        # A relay's onward connection matched by order (it logged no address for it):
        # the address -> the relay. The drawing says so.
        self.guessed: dict[str, str] = {}
        self.relaying: set[str] = set()  # every relay the log speaks of

    def add(self, name: str, local: str, remote: str, t: float | None = None) -> None:
        """An address pair of ``name``: of the life that started at ``t``, or (None)
        of the life it has now."""
        lives = self.lives.setdefault(name, [])
        if t is not None:
            lives.append([t, local, remote])
        elif not lives:
            lives.append([float("-inf"), local, remote])
        else:  # what the live resource knows fills in what its start did not
            newest = lives[-1]
            if not newest[1] or str(newest[1]).endswith(":0"):
                newest[1] = local
            if not newest[2]:
                newest[2] = remote
        if not local or local.endswith(":0"):
            return
        self.ports.setdefault(local.rpartition(":")[2], name)
        if remote:
            self.pairs.setdefault((local, remote), name)
        self.local.setdefault(local, name)

    def life(self, name: str, t: float) -> tuple[float, str, str]:
        """The life of ``name`` at ``t``: when it started, its address and its peer's."""
        lives = self.lives.get(name) or [[float("-inf"), "", ""]]
        found = lives[0]
        for each in lives:
            if float(each[0]) <= t:
                found = each
        return float(found[0]), str(found[1]), str(found[2])

    def peer_at(self, name: str, t: float) -> str:
        """The lane at the other end of ``name``'s connection at ``t`` ('' if none)."""
        start, local, remote = self.life(name, t)
        partner = self.partner.get((name, start))
        if partner:
            return partner
        return self.peer_of(name, local, remote) if remote else ""

    def is_dgram(self, name: str, t: float) -> bool:
        return (name, self.life(name, t)[0]) in self.dgram

    def peer_of(self, name: str, local: str, remote: str) -> str:
        """The lane at the other end of ``name``'s connection, or the address itself."""
        found = self.pairs.get((remote, local)) or self.owner(remote)
        return found if found != name else remote

    def owner(self, address: str) -> str:
        """The lane at ``address``: a socket bound there (or on every address at its
        port: a UDP socket that bound by sending), else the address itself."""
        found = self.local.get(address)
        if found is None:
            # Every peer is on this machine: a port names whoever is bound to it.
            found = self.ports.get(address.rpartition(":")[2])
        return found or address


_DGRAM_ORIGINS = ("udp socket", "unix datagram socket")


def address(label: str) -> str:
    """A relay side's address: 'tcp-listen:127.0.0.1:80 <- 127.0.0.1:5' -> 127.0.0.1:80
    (the ' <- PEER' it grows once it accepted is the client's, not its own)."""
    label = label.partition(" <- ")[0]
    kind, _, rest = label.partition(":")
    if kind in ("tcp", "tcp-listen", "udp", "udp-listen", "tls", "tls-listen") and ":" in rest:
        return rest
    return ""


def find_ends(session: Session, events: Iterable[Event]) -> Ends:
    ends = Ends()
    pairing: tuple[str, float] | None = None  # a socketpair's first end, until its second
    unix_clients: dict[str, list[tuple[str, float]]] = {}  # a path -> its unbound clients
    relays: dict[str, list[str]] = {}  # a relay's target -> relays that just accepted
    owns: dict[str, str] = {}  # a server's or socket's name -> its own address
    targets: dict[str, str] = {}  # a relay -> the address it connects to
    events = list(events)
    # A relay that logged its onward connection (connect, with its own address): what
    # it connects to sees that address; nothing is matched by order for it.
    relaying = {e.source for e in events if e.kind == "start" and e.fields.get("origin") == "relay"}
    ends.relaying = relaying
    exact = {e.source for e in events if e.kind == "connect" and e.source in relaying
             and e.fields.get("local")}  # fmt: skip
    for event in events:
        if event.kind == "connect" and event.source in exact:
            ends.local[event.fields["local"]] = event.source
        name, f = event.source, event.fields
        ends.names.add(name)
        if event.kind == "start":
            local, remote, origin = f.get("local", ""), f.get("remote", ""), f.get("origin", "")
            if origin == "relay":
                ends.add(name, address(local), "", event.t)
                target = targets[name] = address(remote)
                if name in exact:
                    continue
                if target and not local.startswith(("tcp-listen:", "udp-listen:")):
                    relays.setdefault(target, []).append(name)  # it connects at once
                continue
            ends.add(name, local, remote, event.t)
            owns[name] = local
            life = (name, event.t)
            if origin in _DGRAM_ORIGINS:
                ends.dgram.add(life)
            if origin == "socketpair":
                if pairing is None:
                    pairing = life
                else:
                    ends.partner[pairing], ends.partner[life] = name, pairing[0]
                    ends.first_of_pair.add(pairing)
                    pairing = None
            elif origin == "connected" and remote.startswith("/") and not local:
                unix_clients.setdefault(remote, []).append(life)
            elif origin == "accepted" and remote and remote not in ends.local and relays.get(local):
                ends.local[remote] = ends.guessed[remote] = relays[local].pop(0)  # by order
            elif origin == "accepted" and local.startswith("/") and not remote:
                waiting = unix_clients.get(local)
                if waiting:
                    client = waiting.pop(0)
                    ends.partner[client], ends.partner[life] = name, client[0]
        elif event.kind == "accept" and name in targets:  # a relay's client came:
            ends.relay_clients.setdefault(name, []).append((event.t, f.get("peer", "")))
            if targets[name] and name not in exact:
                relays.setdefault(targets[name], []).append(name)  # it connects now
        peer, own = f.get("peer", ""), owns.get(name, "")
        if peer and own and peer not in ends.local and relays.get(own):
            # What a relay connects to sees it as a new peer: that peer is the relay (by
            # order: the first relay that connected there and is not matched yet).
            ends.local[peer] = ends.guessed[peer] = relays[own].pop(0)
    for key, value in list(session.volatile.items()):  # servers', relays' addresses
        owner, _, what = key.rpartition(".")
        if owner and what in ("addr", "laddr") and ":" in value:
            ends.add(owner, value, session.volatile.get(f"{owner}.raddr", ""))
        elif owner and what == "port" and value.isdigit():
            ends.ports.setdefault(value, owner)
            ends.names.add(owner)
    for res in session.registry:  # what lives knows its addresses now
        try:
            local, remote = res.local, res.remote
        except Exception:  # closing: nothing more to learn from it
            continue
        if not (isinstance(local, str) and isinstance(remote, str)):
            continue
        if hasattr(res, "link"):  # a relay: its labels are endpoints, not addresses
            _relay_ends(ends, res)
            continue
        ends.add(res.name, local, remote)
    return ends


def _relay_ends(ends: Ends, relay: object) -> None:
    """A live relay's own addresses: where it listens, and its connection's local end
    (the peer what it connects to sees)."""
    for side in (getattr(relay, "a", None), getattr(relay, "b", None)):
        for sock in (getattr(side, "listener", None), getattr(side, "sock", None)):
            try:
                host, port = sock.getsockname()[:2]  # type: ignore[union-attr]
            except Exception:  # not a socket, not an inet one, or closed
                continue
            if isinstance(port, int) and port:
                own = f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
                ends.local.setdefault(own, getattr(relay, "name", ""))
                if ends.guessed.get(own) == getattr(relay, "name", ""):
                    del ends.guessed[own]  # the live relay's socket says so: no guess
    name = getattr(relay, "name", "")
    ends.add(name, address(getattr(relay, "local", "")), "")


def datagram(result: str, who: str, t: float, ends: Ends) -> bool:
    """A read of b'' on a datagram socket (UDP has no EOF): by what the socket is, or
    by the sender's address that recvfrom returned with it (a stream's is None)."""
    if ends.is_dgram(who, t):
        return True
    return result.startswith(("(b'', (", "(b'', '", "(0, (", "(0, '"))
