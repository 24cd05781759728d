"""A TLS endpoint with no socket: an SSLObject over two MemoryBIOs, stepped by hand, whose
records are handed to its peer by `tls pass`."""

from __future__ import annotations

from pslrepl.events import Event
from pslrepl.resources.base import Resource

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    from typing import ClassVar

    from pslrepl.results import Cell
    from pslrepl.session import Session
    from pslrepl.tls_trace import Record, Trace


class TlsBio(Resource):
    """``SSLContext.wrap_bio(incoming, outgoing)``: what the SSLObject writes waits in
    ``outbox`` until `tls pass` hands it to the peer's ``incoming``."""

    KINDS: ClassVar[tuple[str, ...]] = ("tls-bio",)
    EVENTS: ClassVar[tuple[str, ...]] = ("close",)
    bytes_in = 0  # TLS bytes passed in
    bytes_out = 0  # TLS bytes it wrote

    def __init__(self, session: Session, name: str, context: ssl.SSLContext, note: str, *,
                 server_side: bool, hostname: str | None) -> None:  # fmt: skip
        import ssl

        super().__init__(session, name)
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=server_side,
                                    server_hostname=hostname)  # fmt: skip
        self.note = note
        self.server_side = server_side
        self.outbox = bytearray()  # written, not passed to the peer yet
        self.cursor = 0  # trace entries already shown
        self.done = False  # the handshake is complete
        self.failed = ""  # why it failed, once it has
        self.steps = 0
        self.post(Event(name, "start", side=self.side))

    @property
    def side(self) -> str:
        return "server side" if self.server_side else "client side"

    @property
    def trace(self) -> Trace | None:
        from pslrepl.tls_trace import trace_of

        return trace_of(self.tls)

    # -- what the commands do ---------------------------------------------------------

    def take_written(self) -> bytes:
        """What the SSLObject wrote since last asked, added to the outbox."""
        data = self.outgoing.read()
        if data:
            self.outbox += data
            self.bytes_out += len(data)
            self.post(Event.traffic(self.name, "send", "tls", "out", data))
        return data

    def give(self, data: bytes) -> None:
        """Bytes the peer wrote, for the SSLObject to read."""
        self.incoming.write(data)
        self.bytes_in += len(data)
        self.post(Event.traffic(self.name, "recv", "tls", "in", data))

    def new_records(self) -> list[Record]:
        """The records read and written since the last command showed them."""
        trace = self.trace
        if trace is None:
            return []
        records = trace.records(self.cursor)
        self.cursor = len(trace.entries)
        return records

    # -- Resource ---------------------------------------------------------------------

    @property
    def obj(self) -> ssl.SSLObject:
        return self.tls

    @property
    def readable(self) -> bool:
        return not self.closed and self.done

    @property
    def writable(self) -> bool:
        return not self.closed and self.done

    @property
    def state(self) -> str:
        if self.closed:
            return "closed"
        if self.failed:
            return "handshake failed"
        if self.done:
            return f"{self.tls.version() or 'TLS'} established"
        if not self.steps:
            return "new: tls step " + self.name
        return "handshaking"

    @property
    def local(self) -> str:
        return f"memory BIO, {self.side}"

    @property
    def remote(self) -> str:
        return f"{len(self.outbox)} bytes to pass" if self.outbox else ""

    def info(self) -> list[tuple[str, Cell]]:
        pairs = super().info()
        pairs[3:3] = [
            ("side", self.side),
            ("handshake", self.failed or ("done" if self.done else "not done")),
            ("to pass", f"{len(self.outbox)} bytes (tls pass {self.name} PEER)"),
            ("incoming", f"{self.incoming.pending} bytes not read yet"),
        ]
        return pairs

    def details(self) -> list[tuple[str, str]]:
        """`tls info` for it: the connection's once the handshake is done."""
        if not self.done or self.failed or self.tls.version() is None:
            pairs = [("state", self.state), ("side", self.side), ("verified", self.note)]
            return pairs + ([("failed", self.failed)] if self.failed else [])
        from pslrepl.tls_details import describe_tls

        return describe_tls(self.tls, self.note)

    def close(self) -> str:
        """Nothing to free but memory: no socket, no thread."""
        if self.closed:
            return "already closed"
        self.closed = True
        self.outbox.clear()
        self.post(Event(self.name, "close"))
        return "closed"
