"""What happened, as data: events posted by resources and shown live, logged and recorded."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

# How much of one chunk of traffic a log entry keeps: the log is a history, not a
# second buffer, so a chatty peer can't grow memory through it.
LOG_DATA_LIMIT = 4096


@dataclass(frozen=True)
class Event:
    """One thing that happened to a resource (or to the session, source ``session``).

    ``kind`` is one of: start, data, write, eof, exit, signal, close, dropped, note.
    ``direction`` is ``in`` for bytes that came to the shell, ``out`` for bytes it sent.
    """

    source: str
    kind: str
    detail: str = ""
    stream: str = ""
    direction: str = ""
    size: int = 0
    data: bytes = b""
    t: float = field(default_factory=time.time)
    fields: dict[str, Any] = field(default_factory=dict)

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
