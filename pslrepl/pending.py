"""Events waiting to be shown live above the prompt: which kinds, bounded and coalesced."""

from __future__ import annotations

from collections import deque

from pslrepl.events import Event

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

# What is shown live above the prompt. The rest (start, write, eof, close) answers a
# command the user just typed, which already said so; it is logged all the same.
LIVE_KINDS = frozenset(
    {
        "accept",
        "data",
        "elided",
        "eof",
        "error",
        "exit",
        "signal",
        "timeout",
        "dropped",
        "note",
        "waiting",
        "pending",
        "client",
        "raised",
        "http",
        "relay",
        "toxic",
        "relay-end",
    }
)


# A relay shown live (--text, --hex) gives a line per chunk; past this many lines in
# one go the rest is summed up in one line, so a bulk transfer can't flood the terminal.
TRAFFIC_LINES = 20
# The most events kept waiting to be shown; past it they are counted, not kept (the
# log has them all). A script that says `set events live` and never reads a chatty
# child shows its events only between commands: they must not pile up meanwhile.
PENDING_MAX = 500


class Pending:
    """Events waiting to be shown live, bounded and coalesced as they come: one "bytes
    waiting" per stream (the notice reads the buffer when it is shown), TRAFFIC_LINES
    chunks per relay, PENDING_MAX in all; what is left out is counted."""

    def __init__(self) -> None:
        self.events: deque[Event] = deque()
        self._data: set[tuple[str, str]] = set()  # (source, stream) with a data event queued
        self._traffic: dict[str, list[int]] = {}  # relay -> [shown, more chunks, more bytes]
        self.overflow = 0

    def __bool__(self) -> bool:
        return bool(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[Event]:
        return iter(list(self.events))

    def remove(self, event: Event) -> None:
        """Withdraw a notice not shown yet (a command has just said the same)."""
        self.events.remove(event)
        if event.kind == "data" and event.direction == "in":
            self._data.discard((event.source, event.stream))

    def add(self, event: Event) -> None:
        """Called with the session lock held."""
        if (event.kind, event.direction) in (("eof", "out"), ("error", "in")):
            # The shell closed its own side, or a read met an error: the command said so.
            return
        if event.kind == "data" and event.direction == "in":
            key = (event.source, event.stream)
            if key in self._data:
                return  # the queued notice will say how much is waiting when it shows
            self._data.add(key)
        elif event.kind == "relay" or (event.kind == "note" and event.stream):
            # Traffic shown as it passes (a relay's chunks, sh --iter's lines): a few
            # per refresh, then a count, so a fast producer can't flood the screen.
            tally = self._traffic.setdefault(event.source, [0, 0, 0])
            if tally[0] >= TRAFFIC_LINES:
                tally[1] += 1
                tally[2] += event.size
                return
            tally[0] += 1
        if len(self.events) >= PENDING_MAX:
            self.overflow += 1
            return
        self.events.append(event)

    def take(self) -> list[Event]:
        """Everything queued, and notes for what was left out; called with the lock held.
        A signal handler (trap) may post while this runs, in this same thread: popleft
        takes each event once, and one that comes meanwhile waits for the next call."""
        events = []
        while self.events:
            events.append(self.events.popleft())
        self._data.clear()
        for source, (_, chunks, size) in self._traffic.items():
            if chunks:
                events.append(Event(source, "elided", size=size, count=chunks))
        self._traffic.clear()
        if self.overflow:
            events.append(Event("session", "elided", count=self.overflow))
            self.overflow = 0
        return events
