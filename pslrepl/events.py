"""What happened, as data: events posted by resources and shown live, logged and recorded."""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# How much of one chunk of traffic a log entry keeps: the log is a history, not a
# second buffer, so a chatty peer can't grow memory through it.
LOG_DATA_LIMIT = 4096


class Event:
    """One thing that happened to a resource (or to the session, source ``session``).

    ``kind`` is one of: start, data, write, eof, exit, signal, close, dropped, note.
    ``direction`` is ``in`` for bytes that came to the shell, ``out`` for bytes it sent.
    """

    __slots__ = ("source", "kind", "detail", "stream", "direction", "size", "data", "t",
                 "fields")  # fmt: skip

    def __init__(
        self,
        source: str,
        kind: str,
        detail: str = "",
        *,
        stream: str = "",
        direction: str = "",
        size: int = 0,
        data: bytes = b"",
        t: float | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        self.source = source
        self.kind = kind
        self.detail = detail
        self.stream = stream
        self.direction = direction
        self.size = size
        self.data = data
        self.t = time.time() if t is None else t
        self.fields = fields or {}

    def __repr__(self) -> str:
        return f"Event({self.source!r}, {self.kind!r}, {self.detail!r})"

    @classmethod
    def traffic(cls, source: str, kind: str, stream: str, direction: str, chunk: bytes) -> Event:
        return cls(
            source,
            kind,
            stream=stream,
            direction=direction,
            size=len(chunk),
            data=bytes(chunk[:LOG_DATA_LIMIT]),
        )

    @property
    def truncated(self) -> bool:
        return self.size > len(self.data)
