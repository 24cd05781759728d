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
# the facts below; describe (at the end) words it, render lays it out.
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
    "toxic": "a relay's toxic acted (toxic, action: what it did, BYTES for the amount; "
    "reason: how; count, and size in bytes)",
    "relay-end": "a relay's direction ended (side: the end or direction; phase: refused, "
    "stopped, close-waits or done; reason)",
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
    "toxic": str,  # a relay toxic's name (latency, or the name --name gave it)
    "action": str,  # what a toxic did, BYTES standing for the amount: held BYTES 100 ms
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
    for what it sent. ``detail`` is the event in words (describe, from the facts); the
    third argument, a sentence of the poster's own, is kept for modules not converted
    yet and shown as it is (``sentence``).
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
        return describe(self)

    @property
    def sentence(self) -> str:
        """The words a module not converted yet passed itself ("" once it posts facts)."""
        return self._detail


# -- the words ----------------------------------------------------------------------
# The English for each kind, from its facts alone: the live notice, the log and close's
# answer all say it this way (render lays it out; resources write no sentence).


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


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def preview(data: bytes, limit: int = 40) -> str:
    """A short repr of bytes for one-line messages: b'hello wor'..."""
    if len(data) <= limit:
        return repr(bytes(data))
    return repr(bytes(data[:limit])) + "..."


def _bytes(n: int) -> str:
    return plural(n, "byte")


def describe(event: Event) -> str:
    """An event in words, from its kind and facts (a module not converted yet still
    passes its own sentence as ``detail``)."""
    if event.sentence:
        return event.sentence
    f = event.fields
    kind = event.kind
    if kind == "start":
        if "pid" in f:
            return f"started pid {f['pid']}: {f.get('command', '')}"
        if "handler" in f:
            how = f"; --manual: handle_request {event.source} serves one request"
            return (f"{f.get('origin', '')} on {f.get('local', '')}, handler {f['handler']}"
                    + (how if f.get("manual") else ""))  # fmt: skip
        if f.get("origin") == "relay":
            return f"relaying {f.get('local', '')} <-> {f.get('remote', '')}"
        if "side" in f:
            return f"SSLObject over two MemoryBIOs, {f['side']}"
        if "mode" in f:
            return f"makefile({f['mode']!r}) on {f.get('parent', '?')}"
        if "origin" in f:
            local, remote = f.get("local") or "(unbound)", f.get("remote", "")
            return f"{f['origin']}: {local} -> {remote}" if remote else f"{f['origin']}: {local}"
    elif kind == "toxic":
        size, count = event.size, int(f.get("count", 1))
        amount = f"{size:,} {'byte' if size == 1 else 'bytes'}"
        action = str(f.get("action", ""))
        if count > 1 and "datagram" not in action:  # a datagram toxic counts them itself
            amount = f"{amount} in {count} chunks"
        return f"{f.get('toxic', '')}: {action.replace('BYTES', amount)}{f.get('reason', '')}"
    elif kind == "relay-end":
        return _relay_end_words(f)
    elif kind == "bind":
        return f"bound to {f.get('local', '')}"
    elif kind == "listen":
        why = f", {f['reason']}" if "reason" in f else ""
        return f"listening (backlog {f.get('backlog', '?')}{why})"
    elif kind == "connect":
        local, remote = f.get("local") or "(unbound)", f.get("remote", "")
        return f"connected {local} -> {remote}" if remote else f"connected {local}"
    elif kind == "shutdown" and "how" in f:
        return f"shutdown(SHUT_{str(f['how']).upper()})"
    elif kind == "eof" and event.direction == "in":
        return "the peer closed its side: recv will return EOF"
    elif kind == "eof":
        return f"{event.stream or 'stdin'} closed (EOF sent)"
    elif kind == "accept":
        return f"{f.get('parent', '')}: connection from {f.get('peer', '')}"
    elif kind in ("sent", "signal") and "signum" in f:
        return _signal_words(event)
    elif kind == "client" and "phase" in f:
        return _client_words(f)
    elif kind == "client" and "step" in f:
        return f"{f.get('handler', '')}.{f['step']}() for {f.get('peer', '')}"
    elif kind == "http" and "reason" in f:
        return str(f["reason"])
    elif kind == "raised":
        return (f"the handler raised while serving {f.get('peer', '')}; the server goes on:\n"
                f"{f.get('reason', '')}")  # fmt: skip
    elif kind == "timeout":
        return f"handle_timeout(): no request came in {f.get('wait', 0.0):g} s"
    elif kind == "elided":
        count = f.get("count", 0)
        if event.source == "session":
            return f"... and {count} more events not shown; `log` keeps them"
        return (f"... and {count} more chunks ({event.size} bytes) not shown; "
                f"`log {event.source}` keeps them")  # fmt: skip
    elif kind == "pending":
        return f"a connection is waiting: accept {event.source}"
    elif kind == "error":
        if "thread" in f:
            return f"{f['thread']} failed: {f.get('reason', '')}"
        code = f.get("errno")
        reason = f.get("reason", "")
        if code is not None:
            import errno as errno_
            import os

            name = errno_.errorcode.get(code, str(code))
            reason = f"{reason or os.strerror(code)} ({name})".replace("\n", " ")
        return f"{reason}: " + (
            "the read met it" if event.direction == "in" else "recv will say so"
        )
    elif kind == "exit" and "rc" in f:
        from pslrepl.signals_table import describe_status

        raised = f" ({f['exception']})" if "exception" in f else ""
        return describe_status(f["rc"]) + raised
    elif kind == "dropped":
        return (f"{event.stream} buffer full ({_bytes(f.get('cap', 0))}): dropping "
                "the oldest unread output; read it to keep up")  # fmt: skip
    elif kind == "close":
        if "outcome" in f:
            return str(f["outcome"])
        if "parent" in f:
            left = ("its socket was closed already: its descriptor is closed now"
                    if f.get("parent_closed") else f"{f['parent']} stays open")  # fmt: skip
            lost = f.get("reason", "")
            lost = f" (what its buffer held was not sent: {lost})" if lost else ""
            return f"closed; {left}{lost}"
        return "closed" + (f"; removed {f['path']}" if "path" in f else "")
    return event.kind


def _relay_end_words(f: dict[str, Any]) -> str:
    """A relay's direction, or the relay, at its end."""
    side, reason, phase = f.get("side", ""), f.get("reason", ""), f.get("phase", "")
    if phase == "refused":
        return f"{side}: {reason}; the client that came is closed"
    if phase == "close-waits":
        return (f"{side} is TLS: its close_notify waits until its peer has sent all it will "
                "(OpenSSL can't half-close TLS while data still comes); close the relay to "
                "end it sooner")  # fmt: skip
    if phase == "stopped":
        return f"{side} stopped: {reason}"
    return f"both directions closed: relay done ({reason})"


def _signal_words(event: Event) -> str:
    """A signal the shell received, or one it sent to a child or its group."""
    from pslrepl.signals_table import signal_label, signal_name

    f = event.fields
    signum = f["signum"]
    if event.kind == "signal" and f.get("phase") == "timer-stopped":
        name = f.get("origin", "")
        return (f"itimer {name} stopped after {f.get('count', 0)} {signal_name(signum)}s: the "
                f"session's event cap; `itimer {name} S INTERVAL` starts it again")  # fmt: skip
    if event.kind == "signal":
        count = f.get("count", 1)
        return f"received {signal_label(signum)}" + (f" again: {count} so far" if count > 1 else "")
    if "group" in f:
        n = f.get("count")
        members = "" if n is None else f" ({n} process{'es' if n != 1 else ''})"
        if signum == 0:
            return f"process group {f['group']} exists{members} (signal 0 sends nothing)"
        return f"sent {signal_label(signum)} to process group {f['group']}{members}"
    if signum == 0:
        return f"pid {f.get('pid', '?')} exists (signal 0)"
    return f"sent {signal_label(signum)}"


def _client_words(f: dict[str, object]) -> str:
    """A server's client: connected, left, a datagram handled, or trouble."""
    peer, phase, pid = f.get("peer", ""), f["phase"], f.get("pid")
    child = f" in child pid {pid}" if pid is not None else ""
    if phase == "connected":
        return f"client {peer} connected{child}"
    if phase == "datagram":
        return f"a datagram from {peer}, handled{child}"
    if phase == "datagram-done":  # a forked child's, when it ended
        took = age(float(f.get("took", 0.0)))  # type: ignore[arg-type]
        counted = f"in {f['bytes_in']}, out {f['bytes_out']}; " if "bytes_in" in f else ""
        return (
            f"the datagram from {peer} took {took} ({counted}child pid {pid} {f.get('reason', '')})"
        )
    if phase == "left":
        took = age(float(f.get("took", 0.0)))  # type: ignore[arg-type]
        counted = f"in {f['bytes_in']}, out {f['bytes_out']}" if "bytes_in" in f else ""
        if pid is not None:  # a forked child's: how it ended
            counted = f"{counted}; " if counted else ""
            how = f.get("reason", "")
            return f"client {peer} left after {took} ({counted}child pid {pid} {how})"
        return f"client {peer} left after {took} ({counted})"
    return f"client {peer} {f.get('reason', '')}"
