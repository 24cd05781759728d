"""Key presses for the show, read one at a time from the terminal, woken by events."""

from __future__ import annotations

import contextlib
import os
import select

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

WAKE = "wake"  # not a key: an event came and is to be shown
INTERRUPT = "ctrl-c"

# Keys by what they do; arrows as a clicker (a presentation remote) sends them.
NEXT = {" ", "\r", "\n", "\x1b[C", "\x1b[B", "\x1b[6~", "n"}
BACK = {"b", "\x1b[D", "\x1b[A", "\x1b[5~"}
LIVE = {"l"}
QUIT = {"q", "\x04"}


class KeyReader:
    """Reads single key presses from ``fd`` (a terminal) without echo; ``wake()`` from
    any thread makes a waiting ``read`` return WAKE, so events show as they come."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.quit_asked = False  # q pressed while a command ran (see unechoed)
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)

    def wake(self) -> None:
        try:
            os.write(self._w, b".")
        except (BlockingIOError, OSError):  # full: a wake is already waiting, or closed
            pass

    def close(self) -> None:
        for fd in (self._r, self._w):
            try:
                os.close(fd)
            except OSError:
                pass

    @contextlib.contextmanager
    def raw(self) -> Iterator[None]:
        """Keys one at a time, not echoed; Ctrl-C is still a signal."""
        import termios
        import tty

        try:
            old = termios.tcgetattr(self.fd)
        except termios.error:  # not a terminal after all: read lines as they come
            yield
            return
        tty.setcbreak(self.fd, termios.TCSANOW)
        try:
            yield
        finally:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, old)

    @contextlib.contextmanager
    def unechoed(self) -> Iterator[None]:
        """The terminal as a command has it (lines, Ctrl-C a signal), but what is typed
        is not echoed into the command's output; q (or Ctrl-D) stops the command as
        Ctrl-C would, and ``quit_asked`` says so afterwards (the show then ends)."""
        import termios

        self.quit_asked = False
        try:
            old = termios.tcgetattr(self.fd)
        except termios.error:
            yield
            return
        new = list(old)
        new[3] = new[3] & ~termios.ECHO
        new[6] = list(old[6])
        # Still line mode (a command sees the terminal as usual), but q ends a line
        # too, so the watcher reads it the moment it is pressed.
        new[6][termios.VEOL] = b"q"
        termios.tcsetattr(self.fd, termios.TCSANOW, new)
        watcher = _QuitWatcher(self)
        try:
            yield
        finally:
            try:
                watcher.stop()
            finally:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, old)

    def discard(self) -> None:
        """Drop the keys pressed while a command ran (an impatient second Space would run
        the next one at once)."""
        import termios

        try:
            termios.tcflush(self.fd, termios.TCIFLUSH)
        except (termios.error, OSError):  # not a terminal: nothing typed ahead to drop
            pass

    def read(self, timeout: float | None = None) -> str | None:
        """The next key (an escape sequence whole), WAKE, INTERRUPT, or None when
        ``timeout`` seconds pass first. End of input reads as q."""
        try:
            ready, _, _ = select.select([self.fd, self._r], [], [], timeout)
        except KeyboardInterrupt:
            return INTERRUPT
        if self._r in ready:
            try:
                while os.read(self._r, 512):
                    pass
            except BlockingIOError:
                pass
            return WAKE
        if self.fd in ready:
            try:
                data = os.read(self.fd, 64)
            except KeyboardInterrupt:
                return INTERRUPT
            if not data:
                return "q"
            text = data.decode("utf-8", errors="replace")
            # Several keys at once (a key held down) count as one: the show never races.
            return text if text.startswith("\x1b") else text[0]
        return None


class _QuitWatcher:
    """While a command runs: reads what is typed (dropped, as the show drops it) and,
    at q or Ctrl-D, interrupts the main thread as Ctrl-C would."""

    def __init__(self, keys: KeyReader) -> None:
        import threading

        self.keys = keys
        self.lock = threading.Lock()
        self.done = False
        self._r, self._w = os.pipe()
        self.thread = threading.Thread(target=self._watch, name="show-keys", daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while True:
            ready, _, _ = select.select([self.keys.fd, self._r], [], [])
            if self._r in ready:
                return
            try:
                data = os.read(self.keys.fd, 4096)  # a whole line (line mode's most)
            except OSError:  # the terminal is gone: SIGHUP ends the show
                return
            # Line mode hands over a line at Enter or q; Ctrl-D hands over what was
            # typed before it without an ending (nothing, at a line's start).
            if data.endswith(b"\n") and b"q" not in data:
                continue  # any other key: dropped
            import signal
            import threading

            with self.lock:  # never once the command is over: the show goes on
                if not self.done:
                    self.keys.quit_asked = True
                    # The main thread (a signal to the process may land in this one and
                    # leave the main thread's wait unbroken).
                    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
            return

    def stop(self) -> None:
        # Each part runs even if q's interrupt lands in this one (it is the last: the
        # watcher has returned once it sent it).
        try:
            with self.lock:
                self.done = True
        finally:
            try:
                os.write(self._w, b".")
                self.thread.join()
            finally:
                os.close(self._r)
                os.close(self._w)
