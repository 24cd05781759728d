"""The Session: settings, the registry of named resources, and the event queue."""

from __future__ import annotations

import threading
import time
from collections import deque

from pslrepl.commandlog import CommandLog
from pslrepl.environment import Environment
from pslrepl.events import Event
from pslrepl.output import Printer
from pslrepl.pending import LIVE_KINDS as LIVE_KINDS
from pslrepl.pending import PENDING_MAX as PENDING_MAX
from pslrepl.pending import TRAFFIC_LINES as TRAFFIC_LINES
from pslrepl.pending import Pending as Pending
from pslrepl.pitfalls import Pitfalls
from pslrepl.render import event_line
from pslrepl.resources.registry import Registry
from pslrepl.settings import Settings as Settings
from pslrepl.volatile import VOLATILE_MAX as VOLATILE_MAX
from pslrepl.volatile import Volatile as Volatile
from pslrepl.watchdog import Watchdog

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

SESSION_LOG_LENGTH = 5000
SIGNAL_LATENCY = 0.5  # seconds: the longest a main-thread wait sleeps unwoken


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
        self.history = CommandLog()
        self.pitfalls = Pitfalls(self.settings)  # each classic lesson said once, as it happens
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
        self.lab: Any = None  # the lab `lab load` brought up last (pslrepl.labs), for reset
        # While --present runs one of its transcript's steps, the numbers of the commands
        # typed live (timeline draws as a replay does, leaving those out); else False.
        self.presenting: frozenset[int] | bool = False

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
