"""The Resource base class: a named, logged, closable thing the shell keeps alive."""

from __future__ import annotations

import time
from collections import deque

from pslrepl.events import Event
from pslrepl.events import age as age  # where every module has found it
from pslrepl.results import volatile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar

    from pslrepl.addresses import Addr
    from pslrepl.results import Cell
    from pslrepl.session import Session

LOG_LENGTH = 2000


# What `wait` says for each event, once it has come (kinds may say more).
WAITED = {
    "data": "data waiting",
    "eof": "the peer closed its side: recv will return EOF",
    "accept": "a connection is waiting",
    "close": "closed",
}


class Resource:
    """Base of every kind: a name, a history, counters, and a close that frees everything.

    What every resource answers, so callers ask rather than probe: its ``kind`` (one of
    its class's KINDS), the ``wait`` EVENTS it has, whether it is ``readable``,
    ``writable``, ``listening`` or ``closable`` now, and its ``bound_addr``.
    """

    #: The kinds a resource of this class can be, as ls shows them (``ls KIND``).
    KINDS: ClassVar[tuple[str, ...]] = ("resource",)
    #: The events ``wait NAME EVENT`` has for it, each one ready() answers; the first is
    #: the default.
    EVENTS: ClassVar[tuple[str, ...]] = ("close",)

    def __init__(self, session: Session, name: str) -> None:
        self.session = session
        self.name = name
        self.created = time.time()
        self.log: deque[Event] = deque(maxlen=LOG_LENGTH)
        self.closed = False

    @property
    def kind(self) -> str:
        """What this one is (a class with several KINDS says which)."""
        return self.KINDS[0]

    @property
    def wait_events(self) -> tuple[str, ...]:
        return self.EVENTS

    # -- what callers ask of any resource ---------------------------------------------

    @property
    def readable(self) -> bool:
        """A command can take bytes it received now (read, recv, expect)."""
        return False

    @property
    def writable(self) -> bool:
        """A command can give it bytes now (write, send)."""
        return False

    @property
    def listening(self) -> bool:
        """It takes connections (a server: clients) at ``bound_addr`` now."""
        return False

    @property
    def closable(self) -> bool:
        """``close`` has something to free: true until it is closed."""
        return not self.closed

    @property
    def bound_addr(self) -> Addr | None:
        """Where to reach it by address (an ADDR that names it): what listens, and a
        bound datagram socket (sendto's NAME); None for the rest."""
        return None

    # Bytes moved, for ls and info: a kind that moves bytes counts them where it moves
    # them, under the lock that guards them there.
    @property
    def bytes_in(self) -> int:
        return 0

    @property
    def bytes_out(self) -> int:
        return 0

    def post(self, event: Event) -> None:
        """Record an event in this resource's history and hand it to the session."""
        self.log.append(event)
        self.session.post(event)

    # What ls, the toolbar and info show; kinds override.
    @property
    def state(self) -> str:
        return "closed" if self.closed else "open"

    @property
    def state_style(self) -> str:
        return "state.closed" if self.closed else "state.running"

    @property
    def local(self) -> str:
        return ""

    @property
    def remote(self) -> str:
        return ""

    def toolbar(self) -> str:
        return self.state

    def info(self) -> list[tuple[str, Cell]]:
        return [
            ("name", self.name),
            ("kind", self.kind),
            ("state", self.state),
            ("created", time.strftime("%H:%M:%S", time.localtime(self.created))),
            ("age", volatile(age(time.time() - self.created), "age")),
            ("bytes in", str(self.bytes_in)),
            ("bytes out", str(self.bytes_out)),
            ("log entries", str(len(self.log))),
        ]

    @property
    def obj(self) -> Any:
        """The real stdlib object ``py`` binds this name to."""
        return self

    def ready(self, event: str) -> bool:
        """Whether ``wait NAME EVENT`` is satisfied now."""
        return event == "close" and self.closed

    def waited(self, event: str) -> str:
        """What ``wait NAME EVENT`` says once the event has come."""
        return WAITED.get(event, event)

    def announce(self, stream: str) -> tuple[int, bytes] | None:
        """(unread count, first bytes) for a live 'bytes waiting' notice, or None when
        there is nothing new to say; called with the session lock held."""
        return None

    def close(self) -> str:
        """Free everything; return what happened, for the user."""
        self.closed = True
        return "closed"
