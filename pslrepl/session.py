"""The Session: settings, the registry of named resources, and the event queue."""

from __future__ import annotations

import codecs
import threading
import time
from collections import deque

from pslrepl.environment import Environment
from pslrepl.errors import UsageError
from pslrepl.events import Event
from pslrepl.output import Printer
from pslrepl.parsing import parse_duration
from pslrepl.render import event_line
from pslrepl.resources.registry import Registry
from pslrepl.watchdog import Watchdog

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

SESSION_LOG_LENGTH = 5000
SIGNAL_LATENCY = 0.5  # seconds: the longest a main-thread wait sleeps unwoken
# What is shown live above the prompt. The rest (start, write, eof, close) answers a
# command the user just typed, which already said so; it is logged all the same.
LIVE_KINDS = frozenset(
    {
        "data",
        "exit",
        "signal",
        "dropped",
        "note",
        "waiting",
        "pending",
        "client",
        "raised",
        "http",
        "relay",
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
        if event.kind == "data" and event.direction == "in":
            key = (event.source, event.stream)
            if key in self._data:
                return  # the queued notice will say how much is waiting when it shows
            self._data.add(key)
        elif event.kind == "relay":
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
                events.append(Event(source, "note", f"... and {chunks} more chunks ({size} "
                                    f"bytes) not shown; `log {source}` keeps them"))  # fmt: skip
        self._traffic.clear()
        if self.overflow:
            events.append(Event("session", "note", f"... and {self.overflow} more events not "
                                "shown; `log` keeps them"))  # fmt: skip
            self.overflow = 0
        return events


VOLATILE_MAX = 2000


class Volatile(dict[str, str]):
    """Values that change from run to run, by the placeholder a transcript writes for
    them; bounded: past VOLATILE_MAX the oldest values of resources no longer live go
    first (a long session creates and closes names without end)."""

    def __init__(self, is_live: Callable[[str], bool]) -> None:
        super().__init__()
        self._is_live = is_live

    def __setitem__(self, key: str, value: str) -> None:
        self.pop(key, None)  # newest last: the order says what to drop first
        super().__setitem__(key, value)
        if len(self) > VOLATILE_MAX:
            self._trim()

    def _trim(self) -> None:
        excess = len(self) - VOLATILE_MAX * 3 // 4
        for keep_live in (True, False):  # thousands of live names: the oldest go too
            for key in [k for k in self if "." in k]:  # session-wide ({tmp}) stay
                if excess <= 0:
                    return
                if not (keep_live and self._is_live(key.partition(".")[0])):
                    del self[key]
                    excess -= 1


class Settings:
    """What ``set`` shows and changes."""

    def __init__(self, *, events: str = "quiet", color: bool = False) -> None:
        self.display = "text"
        self.encoding = "utf-8"
        self.timeout = 5.0
        self.events = events
        self.color = color
        self.explain = False
        self.grace = 1.0

    CHOICES = {
        "display": ("text", "hex", "repr"),
        "events": ("live", "quiet"),
        "color": ("on", "off"),
        "explain": ("on", "off"),
    }
    HELP = {
        "display": "how received bytes are shown: text, hex (a hexdump) or repr",
        "encoding": "how bytes are decoded for text display and DATA encoded",
        "timeout": "seconds a blocking command waits unless given --timeout",
        "events": "live: show what happens above the prompt; quiet: only log it",
        "color": "coloured output (off when NO_COLOR is set or output is not a terminal)",
        "explain": "after each command, list the stdlib calls it made",
        "grace": "seconds between TERM and KILL when a child is closed",
    }

    def names(self) -> list[str]:
        return list(self.HELP)

    def show(self, key: str) -> str:
        value = getattr(self, key)
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)

    def change(self, key: str, raw: str) -> None:
        if key not in self.HELP:
            raise UsageError(f"no setting {key!r}; settings: {', '.join(self.HELP)}")
        choices = self.CHOICES.get(key)
        if choices and raw not in choices:
            raise UsageError(f"{key} must be one of {', '.join(choices)}, not {raw!r}")
        if key in ("color", "explain"):
            setattr(self, key, raw == "on")
        elif key in ("timeout", "grace"):
            setattr(self, key, parse_duration(raw, what=key))
        elif key == "encoding":
            try:
                setattr(self, key, codecs.lookup(raw).name)
            except LookupError:
                raise UsageError(f"unknown encoding {raw!r}; try utf-8 or latin-1") from None
        else:
            setattr(self, key, raw)


class Session:
    """Everything a shell run holds; passed to every handler, never a module global."""

    def __init__(self, env: Environment, *, is_command: Callable[[str], bool]) -> None:
        self.env = env
        self.settings = Settings(
            events="live" if env.interactive else "quiet",
            color=env.color,
        )
        self.printer = Printer(env.stdout, env.stderr, color=env.color)
        self.registry = Registry(is_command)
        self.cond = threading.Condition()
        self.log: deque[Event] = deque(maxlen=SESSION_LOG_LENGTH)
        self.pending = Pending()
        self.waker: Callable[[], None] | None = None
        self.py_namespace: dict[str, Any] = {}
        self.traps: dict[int, Any] = {}
        self.started = time.time()
        self.exit_requested: int | None = None
        # Each command's effect as data (its calls and results), newest last: what
        # explain, export and timeline are built on.
        self.history: deque[Any] = deque(maxlen=1000)
        # Values that change from run to run, by the placeholder a transcript writes
        # for them ({p.pid} -> "4242"); resources add theirs as they learn them.
        self.volatile = Volatile(lambda name: name in self.registry)
        self.recorder: Any = None
        self._tmp: str | None = None
        self.watchdog = Watchdog()
        self._paths: set[str] = set()  # UNIX socket files made, for the watchdog
        self._on_close: dict[str, Callable[[], None]] = {}  # in the order registered
        self.socket_watcher: Any = None
        self.test_ca: Any = None  # the session's TLS test CA, made on first use

    @property
    def tmp(self) -> str:
        """The session's own temporary directory ({tmp} in transcripts), made on first use
        and removed with everything in it when the session ends (or by the watchdog, or
        the next start, if it ends without closing: its name holds the shell's pid)."""
        if self._tmp is None:
            import tempfile

            from pslrepl.watchdog import session_tmp_prefix

            self._tmp = tempfile.mkdtemp(prefix=session_tmp_prefix())
            self.volatile["tmp"] = self._tmp
            self.watchdog.guard_tree(self._tmp)
        return self._tmp

    def remove_tmp(self) -> None:
        if self._tmp is not None:
            import shutil

            shutil.rmtree(self._tmp, ignore_errors=True)
            self.watchdog.release_tree(self._tmp)
            self._tmp = None

    # -- the end ------------------------------------------------------------------------

    def on_close(self, key: str, hook: Callable[[], None]) -> None:
        """Run ``hook`` when the session ends, after every resource is closed (newest
        first): what changed process-wide state registers its own undoing, once per
        ``key`` (the signal traps, the socket watcher, the recorder...)."""
        self._on_close.setdefault(key, hook)

    def run_on_close(self) -> None:
        while self._on_close:
            key = next(reversed(self._on_close))
            hook = self._on_close.pop(key)
            try:
                hook()
            except Exception as exc:  # one failing hook must not keep the rest from running
                self.printer.warning(f"while closing ({key}): {type(exc).__name__}: {exc}")

    # -- what must not outlive the shell ------------------------------------------------

    def guard_child(self, pid: int) -> None:
        """A child started in its own session (start_new_session): if the shell dies
        without closing it, the watchdog ends it and what it started."""
        self.watchdog.guard_session(pid)

    def release_child(self, pid: int) -> None:
        """The child was reaped, and its session ended with it."""
        self.watchdog.release_session(pid)

    def own_path(self, path: str) -> None:
        """A UNIX socket file the shell made: removed if the shell dies without closing."""
        import os

        from pslrepl.watchdog import SOCKETS_LIST

        path = os.path.abspath(path)
        self.watchdog.guard_path(path)
        self._paths.add(path)
        self._write_paths(SOCKETS_LIST)

    def disown_path(self, path: str) -> None:
        import os

        from pslrepl.watchdog import SOCKETS_LIST

        path = os.path.abspath(path)
        if path in self._paths:
            self._paths.discard(path)
            self.watchdog.release_path(path)
            self._write_paths(SOCKETS_LIST)

    def _write_paths(self, name: str) -> None:
        """The list the next start reads if this session dies with the watchdog too."""
        import os

        target = os.path.join(self.tmp, name)
        try:
            with open(target + ".new", "w", encoding="utf-8", errors="surrogateescape") as fh:
                fh.write("".join(p + "\n" for p in sorted(self._paths)))
            os.replace(target + ".new", target)
        except OSError:
            pass  # the watchdog still knows them

    # -- events ---------------------------------------------------------------------

    def post(self, event: Event, *, log: bool = True) -> None:
        """Called from any thread: log the event, queue it for display, wake waiters.
        A notice (``log=False``: "bytes waiting") is shown but kept out of the history,
        whose replay must not depend on when the notice came."""
        with self.cond:
            if log:
                self.log.append(event)
            # Scripts default to quiet (output must not depend on timing); a script
            # that says `set events live` gets them between its commands.
            if self.settings.events == "live" and event.kind in LIVE_KINDS:
                self.pending.add(event)
            self.cond.notify_all()
        waker = self.waker
        if waker is not None:
            waker()

    def take_pending(self) -> list[Event]:
        """The events to show now, coalesced: one 'bytes waiting' notice per stream."""
        with self.cond:
            events = self.pending.take()
        shown: list[Event] = []
        data_seen: set[tuple[str, str]] = set()
        for event in reversed(events):
            if event.kind == "data" and event.direction == "in":
                key = (event.source, event.stream)
                if key in data_seen:
                    continue
                data_seen.add(key)
                res = self.registry.find(event.source)
                with self.cond:
                    waiting = res.announce(event.stream) if res is not None else None
                if waiting is None:
                    continue  # already read, or announced a moment ago
                unread, head = waiting
                event = Event(
                    event.source, "data", stream=event.stream, direction="in",
                    size=unread, data=head, t=event.t,
                )  # fmt: skip
            shown.append(event)
        shown.reverse()
        return shown

    def flush_events(self) -> None:
        """Show pending events now; only the thread that owns the terminal calls this."""
        if not self.pending:
            return
        events = self.take_pending()
        if events:
            enc = self.settings.encoding
            self.printer.write([event_line(e, encoding=enc) for e in events], event=True)

    def wait_for(self, ready: Callable[[], bool], timeout: float | None) -> bool:
        """Block until ``ready()`` is true (re-checked on every event) or the timeout ends.

        Event-driven: resources notify ``cond`` when anything changes, so there is no
        polling. Live events are shown while waiting; Ctrl-C raises KeyboardInterrupt.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self.cond:
                if ready():
                    return True
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                if not self.pending:
                    # Wake at least twice a second: a signal delivered to another thread
                    # (a server's, which may fork and so keeps signals open) is handled
                    # only when the main thread runs again.
                    self.cond.wait(SIGNAL_LATENCY if remaining is None else
                                   min(remaining, SIGNAL_LATENCY))  # fmt: skip
            self.flush_events()

    def sleep(self, seconds: float) -> None:
        self.wait_for(lambda: False, seconds)

    # -- resources ------------------------------------------------------------------

    def close_all(self) -> list[tuple[str, str]]:
        """Close every resource, newest first; what each close did."""
        done = []
        for res in reversed(list(self.registry)):
            done.append((res.name, self.close(res.name)))
        return done

    def close(self, name: str) -> str:
        res = self.registry.get(name)
        try:
            return res.close()
        finally:
            self.registry.remove(name)
