"""What happened, as facts: events posted by resources, worded by render, drawn by timeline."""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# How much of one chunk of traffic a log entry keeps: the log is a history, not a
# second buffer, so a chatty peer can't grow memory through it.
LOG_DATA_LIMIT = 4096

# The closed set of kinds, each with what it means. A resource posts one of these and
# the facts below; render.describe words it (see /work/notes/facts-api.md).
KINDS: dict[str, str] = {
    "start": "a resource came to be (origin, local, remote, pid, command, mode, parent, side)",
    "bind": "a socket was bound (local)",
    "listen": "a socket listens (backlog)",
    "connect": "a socket connected (local, remote)",
    "accept": "a connection came in (peer, parent: the end that took it)",
    "data": "bytes came in on a stream (stream, size, data; direction in)",
    "waiting": "a live notice: bytes wait unread (size, data; direction in)",
    "pending": "a live notice: a connection waits to be accepted",
    "write": "bytes written to a child's stdin (stream, size, data; direction out)",
    "send": "bytes sent on a socket (size, data, peer; direction out)",
    "recv": "bytes read from a socket (size, data, peer; direction in)",
    "relay": "bytes a relay copied from one end to the other (stream, size, data)",
    "eof": "end of a stream: in, the peer closed its side; out, the shell closed its own",
    "shutdown": "socket.shutdown (how)",
    "error": "an error met or ahead (errno, reason) or a thread's failure (thread, reason)",
    "exit": "a child ended (rc, pid)",
    "signal": "the shell itself received a signal (signum, count)",
    "sent": "a signal sent to a child (signum, group, pid)",
    "dropped": "a full buffer dropped the oldest unread bytes (stream, cap)",
    "client": "a server's client came, left or had trouble (peer, pid, took, ...)",
    "raised": "a server's handler raised (reason)",
    "http": "a web server's request line",
    "timeout": "a server's handle_request waited in vain (wait)",
    "close": "a resource was closed (path, parent_closed, reason, ...)",
    "elided": "live notices left out of one refresh (count, and size for a relay's bytes)",
    "note": "anything else a resource says: kept for sentences not yet turned into facts",
}

# The closed set of facts: name -> type (bool is checked apart from int).
FACTS: dict[str, type | tuple[type, ...]] = {
    "peer": str,  # the other end's address, as the shell writes addresses: 127.0.0.1:4242
    "local": str,  # this end's address
    "remote": str,  # the address connected to
    "origin": str,  # how a resource came to be: connected, accepted, socket(), dup of s...
    "pid": int,
    "rc": int,  # a Popen returncode: negative for a signal
    "signum": int,
    "group": int,  # the process group a signal went to
    "count": int,  # how many times (a signal received)
    "errno": int,
    "reason": str,  # an error's own words: strerror, an exception's text
    "thread": str,  # which of our threads failed (drain thread, watcher)
    "path": str,  # a file a close removed
    "mode": str,  # makefile's mode
    "parent": str,  # the resource this one is made on (a socket file's socket)
    "parent_closed": bool,  # a socket file's socket was closed before it
    "side": str,  # a TLS end: client or server
    "how": str,  # shutdown's: rd, wr or rdwr
    "backlog": int,
    "cap": int,  # a buffer's size in bytes
    "command": str,  # a child's command line as the user gave it
    "took": float,  # seconds something lasted
    "wait": float,  # seconds waited
    "bytes_in": int,
    "bytes_out": int,
    "show": str,  # how a relay shows traffic live: text or hex
    "step": str,  # a user handler's method (setup, handle, finish)
    "watcher": bool,  # a live notice the socket watcher posted (withdrawn if read first)
    "phase": str,  # a server's client: connected, left, datagram, trouble
    "handler": str,  # a server's handler, as serve names it
    "manual": bool,  # a server run by handle_request (--manual)
    "exception": str,  # the exception class a wait raised (sh's ErrorReturnCode_1)
    "outcome": str,  # what close() did, in the words the command showed (the result)
}


def check_facts(kind: str, facts: dict[str, Any]) -> dict[str, Any]:
    """``facts`` without its None values, or a ValueError/TypeError naming the slip: a
    kind or fact outside the closed sets, or a fact of the wrong type."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}: add it to events.KINDS")
    out: dict[str, Any] = {}
    for key, value in facts.items():
        if value is None:
            continue
        want = FACTS.get(key)
        if want is None:
            raise ValueError(f"unknown event fact {key!r}: add it to events.FACTS")
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise TypeError(f"event fact {key!r} is {type(value).__name__}, not {want}")
        out[key] = value
    return out


class Event:
    """One thing that happened to a resource (or to the session, source ``session``).

    ``kind`` is one of KINDS; ``fields`` holds its facts (FACTS names them and their
    types). ``direction`` is ``in`` for bytes or news that came to the shell, ``out``
    for what it sent. ``detail`` is a sentence only modules not yet converted still
    pass; render.describe words every event from its facts.
    """

    __slots__ = ("source", "kind", "_detail", "stream", "direction", "size", "data", "t",
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
        **facts: Any,
    ) -> None:
        self.source = source
        self.kind = kind
        self._detail = detail
        self.stream = stream
        self.direction = direction
        self.size = size
        self.data = data
        self.t = time.time() if t is None else t
        self.fields = check_facts(kind, {**(fields or {}), **facts})

    def __repr__(self) -> str:
        return f"Event({self.source!r}, {self.kind!r}, {self.fields!r})"

    @property
    def facts(self) -> dict[str, Any]:
        return self.fields

    @classmethod
    def traffic(
        cls, source: str, kind: str, stream: str, direction: str, chunk: bytes, **facts: Any
    ) -> Event:
        return cls(
            source,
            kind,
            stream=stream,
            direction=direction,
            size=len(chunk),
            data=bytes(chunk[:LOG_DATA_LIMIT]),
            **facts,
        )

    @property
    def truncated(self) -> bool:
        return self.size > len(self.data)

    @property
    def detail(self) -> str:
        """The event in words, as the live notice and the log say it."""
        from pslrepl.render import describe

        return describe(self)

    @property
    def sentence(self) -> str:
        """The words a module not converted yet passed itself ("" once it posts facts)."""
        return self._detail
