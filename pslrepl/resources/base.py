"""The Resource base class: a named, logged, closable thing the shell keeps alive."""

from __future__ import annotations

import time
from collections import deque

from pslrepl.events import Event
from pslrepl.results import volatile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar

    from pslrepl.results import Cell
    from pslrepl.session import Session

LOG_LENGTH = 2000


def age(seconds: float) -> str:
    """How long something has lived, the one way every age is written: 0.4s, 12s, 1m05s,
    2h03m (tenths under 10 s, where a client's visit or a child's life often falls)."""
    if seconds < 9.95:
        return f"{max(seconds, 0.0):.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m{seconds % 60:02.0f}s"
    return f"{seconds // 3600:.0f}h{seconds % 3600 // 60:02.0f}m"


# What `wait` says for each event, once it has come (kinds may say more).
WAITED = {
    "data": "data waiting",
    "eof": "the peer closed its side: recv will return EOF",
    "accept": "a connection is waiting",
    "close": "closed",
}


class Resource:
    """Base of every kind: a name, a history, counters, and a close that frees everything."""

    kind: ClassVar[str] = "resource"
    #: Events ``wait NAME EVENT`` understands for this kind; the first is the default.
    wait_events: ClassVar[tuple[str, ...]] = ("close",)

    def __init__(self, session: Session, name: str) -> None:
        self.session = session
        self.name = name
        self.created = time.time()
        self.log: deque[Event] = deque(maxlen=LOG_LENGTH)
        self.bytes_in = 0
        self.bytes_out = 0
        self.closed = False

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
