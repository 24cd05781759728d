"""Bounded byte buffers that drain threads fill and commands read from, with waits."""

from __future__ import annotations

import time

from pslrepl.errors import Timeout
from pslrepl.events import plural, preview

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

    from pslrepl.session import Session

DEFAULT_CAP = 1 << 20  # 1 MiB kept per stream; older bytes are dropped and counted
CHUNK = 65536  # bytes per read from a child's pipe, and per write to its stdin
# A stream that keeps talking is announced again at most this often, so a chatty
# child (`yes`) can't flood the screen above the prompt.
REANNOUNCE_AFTER = 1.0


class StreamBuffer:
    """What a child wrote and nobody has read yet; every access holds the session lock."""

    def __init__(self, cap: int = DEFAULT_CAP) -> None:
        self.data = bytearray()
        self.cap = cap
        self.total = 0
        self.dropped = 0
        self.dropped_unread = 0
        self.eof = False
        self.announced_total: int | None = None  # total when last announced, if unread since
        self.announced_unread = 0
        self.announced_at = 0.0

    def feed(self, chunk: bytes) -> int:
        """Append; if over the cap drop the oldest bytes. Returns how many were dropped."""
        self.data += chunk
        self.total += len(chunk)
        over = len(self.data) - self.cap
        if over > 0:
            del self.data[:over]
            self.dropped += over
            self.dropped_unread += over
            return over
        return 0

    def announce(self) -> tuple[int, bytes] | None:
        """What a 'bytes waiting' notice says now, or None: nothing unread, or nothing
        new since the last notice, or the last one was under a second ago, or the buffer
        was full then and is full now (the 'buffer full' notice said so, once)."""
        if not self.data:
            return None
        now = time.monotonic()
        unread = len(self.data)
        if self.announced_total is not None and (
            self.total == self.announced_total
            or now - self.announced_at < REANNOUNCE_AFTER
            or (unread >= self.cap and self.announced_unread >= self.cap)
        ):
            return None
        self.announced_total, self.announced_unread, self.announced_at = self.total, unread, now
        return unread, bytes(self.data[:64])

    def take_dropped(self) -> int:
        """How many bytes were dropped since the last read, counting from now afresh."""
        dropped, self.dropped_unread = self.dropped_unread, 0
        return dropped

    def take(self, n: int | None = None) -> bytes:
        n = len(self.data) if n is None else n
        out = bytes(self.data[:n])
        del self.data[:n]
        if not self.data:
            self.announced_total = None  # read up: the next bytes are news again
        return out


class ReadResult:
    """What a read took: the bytes, whether the stream is at EOF, what was dropped."""

    __slots__ = ("data", "eof", "dropped", "match")

    def __init__(
        self, data: bytes, *, eof: bool, dropped: int = 0, match: re.Match[bytes] | None = None
    ) -> None:
        self.data = data
        self.eof = eof
        self.dropped = dropped
        self.match = match


def read_buffer(
    session: Session,
    buf: StreamBuffer,
    *,
    label: str,
    mode: str = "any",
    until: bytes = b"",
    pattern: re.Pattern[bytes] | None = None,
    timeout: float,
) -> ReadResult:
    """Wait for what ``mode`` asks (any, line, until, all, expect) then take it from ``buf``.

    At EOF whatever is left is returned with ``eof`` set; on timeout nothing is taken and
    the Timeout says how much is buffered.
    """
    found: list[re.Match[bytes] | None] = [None]

    def ready() -> bool:
        data = buf.data
        if buf.eof:
            if pattern is not None:
                found[0] = pattern.search(data)
            return True
        if mode == "any":
            return bool(data)
        if mode == "line":
            return b"\n" in data
        if mode == "until":
            return until in data
        if mode == "expect":
            assert pattern is not None
            found[0] = pattern.search(data)
            return found[0] is not None
        return False  # all: only EOF ends it

    if not session.wait_for(ready, timeout):
        with session.cond:
            held = bytes(buf.data)
        what = {
            "any": "data",
            "line": "a line",
            "until": f"{until!r}",
            "all": "EOF",
            "expect": f"a match for {pattern.pattern!r}" if pattern else "a match",
        }[mode]
        raise Timeout(
            f"{label}: timeout after {timeout:g} s waiting for {what}; "
            f"{plural(len(held), 'byte')} buffered" + (f": {preview(held)}" if held else "")
        )
    with session.cond:
        dropped = buf.take_dropped()
        match = None
        if found[0] is not None and pattern is not None:
            # A match made on the live bytearray would read its groups from it after
            # the take below: match again on an immutable copy.
            match = pattern.search(bytes(buf.data))
        if mode == "line" and b"\n" in buf.data:
            data = buf.take(buf.data.index(b"\n") + 1)
        elif mode == "until" and until in buf.data:
            data = buf.take(buf.data.index(until) + len(until))
        elif mode == "expect" and match is not None:
            data = buf.take(match.end())
        else:
            data = buf.take()
        return ReadResult(data, eof=buf.eof and not buf.data, dropped=dropped, match=match)
