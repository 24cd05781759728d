"""The one thread per session that watches sockets for something to announce, never reading."""

from __future__ import annotations

import os
import selectors
import threading

from pslrepl.events import Event

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.resources.watched import WatchedSocket
    from pslrepl.session import Session


class SocketWatcher:
    """One thread per session ("pslrepl:sockets") with a selector over the armed sockets.

    A socket whose unread bytes have been announced is not selected (it stays readable:
    the selector would wake at once, again and again) but looked at every QUIET_POLL
    seconds, to announce more bytes if more come.
    """

    QUIET_POLL = 0.5

    def __init__(self, session: Session) -> None:
        self.session = session
        self.sel = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.quiet: set[WatchedSocket] = set()
        self._wake_r, self._wake_w = os.pipe()
        self.sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._stop = False
        self.thread = threading.Thread(target=self._run, name="pslrepl:sockets", daemon=True)
        self.thread.start()

    def arm(self, res: WatchedSocket) -> None:
        """Watch ``res`` until it next has something to announce."""
        with self.lock:
            self.quiet.discard(res)
            try:
                self.sel.register(res.sock, selectors.EVENT_READ, res)
            except (KeyError, ValueError, OSError):
                pass  # already armed, or closed

    def disarm(self, res: WatchedSocket) -> None:
        with self.lock:
            self.quiet.discard(res)
            try:
                self.sel.unregister(res.sock)
            except (KeyError, ValueError, OSError):
                pass

    def hush(self, res: WatchedSocket) -> None:
        """What waits on ``res`` has been announced: look again later, for more."""
        with self.lock:
            try:
                self.sel.unregister(res.sock)
            except (KeyError, ValueError, OSError):
                pass
            self.quiet.add(res)

    def _run(self) -> None:
        from pslrepl.signals_table import background_thread

        background_thread()
        while not self._stop:
            with self.lock:
                polled = list(self.quiet)
                self.quiet.clear()
            for res in polled:
                self._notice(res)
            with self.lock:
                wait = self.QUIET_POLL if self.quiet else None
            for key, _ in self.sel.select(wait):
                res = key.data
                if res is None:
                    os.read(self._wake_r, 512)
                    continue
                self.disarm(res)
                self._notice(res)

    def _notice(self, res: WatchedSocket) -> None:
        try:
            res.notice()
        except Exception as exc:  # a bug of ours: say so, keep watching the rest
            self.session.post(Event(res.name, "error", thread="watcher", reason=repr(exc)))

    def stop(self) -> None:
        self._stop = True
        os.write(self._wake_w, b"x")
        self.thread.join(timeout=2.0)
        self.sel.close()
        os.close(self._wake_r)
        os.close(self._wake_w)


def watcher(session: Session) -> SocketWatcher:
    """The session's watcher, started on first use and stopped when the session closes."""
    if session.socket_watcher is None:
        session.socket_watcher = SocketWatcher(session)
        session.on_close("socket watcher", lambda: _stop_watcher(session))
    w = session.socket_watcher
    assert isinstance(w, SocketWatcher)
    return w


def _stop_watcher(session: Session) -> None:
    w, session.socket_watcher = session.socket_watcher, None
    if w is not None:
        w.stop()
