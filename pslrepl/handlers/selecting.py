"""--selectors: one thread serves every client from a ``selectors`` loop, as asyncore did."""

from __future__ import annotations

import selectors
import socket
import threading
import time

from pslrepl.handlers.base import CHUNK

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.resources.counting import Connection

# The plain socket's calls: a channel counts what they move itself, once, with no
# CountedSocket method (a Python call per chunk) in between.
RECV = socket.socket.recv
SEND = socket.socket.send
HIGH_WATER = 1 << 20  # bytes queued for one client: past this it is not read from
IDLE_SWEEP = 0.5  # seconds: how often --idle looks for clients that did nothing


class Channel:
    """One client of a --selectors server: asyncore.dispatcher's part. The loop calls
    on_read when the socket is readable and on_write when it is writable and there is
    output; a handler's channel says what it does with the bytes (``received``)."""

    def __init__(self, loop: SelectorLoop, sock: Any, conn: Connection | None) -> None:
        self.loop = loop
        self.sock = sock
        self.conn = conn
        self.out = bytearray()
        self.closing = False  # close once out is sent
        self.reading = True
        self.mask = 0
        self.last = loop.now  # --idle: when the last byte went either way
        self.psl = loop.psl
        # Counts and logs a chunk; the loop wakes the session's waiters once per select.
        self.record = loop.psl.record

    # -- what a handler's channel overrides ----------------------------------------

    def opened(self) -> None:
        """The client has just connected."""

    def received(self, data: bytes) -> None:
        """Bytes from the client."""

    def eof(self) -> None:
        """The client sent EOF: close once what is queued is sent."""
        self.finish()

    def drained(self) -> None:
        """Everything queued has been sent."""

    def closed(self) -> None:
        """The channel is gone (the loop has closed its socket)."""

    # -- what a channel calls -------------------------------------------------------

    def write(self, data: bytes) -> None:
        if not data or self.closing:
            return
        if not self.out and self.mask:
            # Sent at once when nothing waits before it (asyncore's initiate_send): a
            # round trip then costs no change to what the selector watches.
            try:
                sent = SEND(self.sock, data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                self.loop.lost(self, exc)
                return
            self.last = self.loop.now
            if sent and self.conn is not None:
                self.record(self.conn, "out", data[:sent] if sent < len(data) else data)
            if sent == len(data):
                return
            data = data[sent:]
        self.out += data
        self.update()

    def finish(self) -> None:
        """Close once everything queued has been sent."""
        self.closing = True
        self.reading = False
        if not self.out:
            self.loop.drop(self)
        else:
            self.update()

    def update(self) -> None:
        """Tell the selector what this channel waits for now."""
        if self.loop.channels.get(id(self)) is not self:
            return  # dropped (its client went while it was being answered)
        reading = self.reading and len(self.out) < HIGH_WATER
        mask = (selectors.EVENT_READ if reading else 0) | (selectors.EVENT_WRITE if self.out else 0)
        if mask != self.mask:
            self.loop.watch(self, mask)

    # -- the loop's ---------------------------------------------------------------

    def on_read(self) -> None:
        try:
            data = RECV(self.sock, CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.loop.lost(self, exc)
            return
        self.last = self.loop.now
        if self.conn is not None and data:  # counted here: the socket's own recv is not
            self.record(self.conn, "in", data)  # a counting one's (see counting.py)
        if not data:
            self.reading = False
            self.eof()
            self.update()
            return
        self.received(data)
        if self.out:  # queued (past what the socket took): watch for room, maybe stop reading
            self.update()

    def on_write(self) -> None:
        if not self.out:
            return
        try:
            sent = SEND(self.sock, self.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.loop.lost(self, exc)
            return
        self.last = self.loop.now
        if sent and self.conn is not None:
            self.record(self.conn, "out", bytes(self.out[:sent]))
        del self.out[:sent]
        if not self.out:
            if self.closing:
                self.loop.drop(self)
                return
            self.drained()
        self.update()


class SelectorLoop:
    """The one thread's loop: accept, read, write, and wake-ups from other threads."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.psl = server.psl
        self.sel = selectors.DefaultSelector()
        self.channels: dict[int, Channel] = {}
        self.now = time.monotonic()  # as of the last select: the channels' clock
        self.room: dict[int, Any] = {}  # chat: its members, by id
        self.http_class: type[Any] | None = None  # http: the handler over a buffer
        self.stopping = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.sel.register(self._wake_r, selectors.EVENT_READ, None)
        self.sel.register(server.socket, selectors.EVENT_READ, self)
        self.make = channel_class(server.psl_channels, server.RequestHandlerClass)

    def wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass  # full: the loop will look anyway

    def watch(self, channel: Channel, mask: int) -> None:
        fileobj = channel.sock
        if channel.mask == 0:
            self.sel.register(fileobj, mask, channel)
        elif mask == 0:
            self.sel.unregister(fileobj)
        else:
            self.sel.modify(fileobj, mask, channel)
        channel.mask = mask

    def run(self) -> None:
        idle = self.psl.idle
        nudge = self.psl.nudger.traffic  # the waiters, once per select: not per chunk
        next_sweep = time.monotonic() + IDLE_SWEEP
        while not self.stopping:
            timeout = IDLE_SWEEP if idle else None
            ready = self.sel.select(timeout)
            self.now = time.monotonic()
            for key, events in ready:
                target = key.data
                if target is None:
                    self._drain_wake()
                elif target is self:
                    self._accept()
                else:
                    try:
                        if events & selectors.EVENT_READ and target.mask:
                            target.on_read()
                        if events & selectors.EVENT_WRITE and target.mask:
                            target.on_write()
                    except Exception:  # a bug of ours: its traceback; the loop goes on
                        self._raised(target, "")
            if ready:
                nudge()
            if idle and self.now >= next_sweep:
                next_sweep = self.now + IDLE_SWEEP
                self._sweep(idle)

    def close(self) -> None:
        for channel in list(self.channels.values()):
            self.drop(channel)
        self.sel.close()
        self._wake_r.close()
        self._wake_w.close()

    def _drain_wake(self) -> None:
        try:
            self._wake_r.recv(4096)
        except OSError:
            pass

    def _accept(self) -> None:
        # A burst of connects is taken in one go (asyncore took one per wake-up).
        for _ in range(64):
            try:
                request, client_address = self.server.get_request()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # EMFILE and the like: said, and the loop goes on
                from pslrepl.errors import describe_oserror

                self.psl.note(f"accept failed: {describe_oserror(exc)}")
                return
            request.setblocking(False)
            conn = self.psl.connection_opened(request, client_address)
            channel = self.make(self, request, conn)
            self.channels[id(channel)] = channel
            channel.update()
            try:
                channel.opened()
            except Exception:
                self._raised(channel, client_address)

    def _raised(self, channel: Channel, client_address: Any) -> None:
        """A channel's bug: reported as a handler's (its Connection names the client),
        and that client closed."""
        self.psl.handler_raised(channel.sock, client_address)
        self.drop(channel)

    def lost(self, channel: Channel, exc: BaseException) -> None:
        """The client went away mid-send or mid-recv (a reset), or did nothing for
        --idle seconds: said as a threading server's handler says it; the channel ends."""
        from pslrepl.resources.handler_errors import client_trouble

        trouble = client_trouble(exc, self.psl.idle)
        if not trouble:
            from pslrepl.errors import describe_oserror

            err = exc if isinstance(exc, OSError) else OSError(str(exc))
            trouble = f"{describe_oserror(err)}: closed it"
        self.psl.client_said(channel.conn.addr if channel.conn else "a client", trouble)
        self.drop(channel)

    def drop(self, channel: Channel) -> None:
        if self.channels.pop(id(channel), None) is None:
            return
        if channel.mask:
            try:
                self.sel.unregister(channel.sock)
            except (KeyError, ValueError):
                pass
            channel.mask = 0
        channel.closing = True
        try:
            channel.closed()
        finally:
            self.server.shutdown_request(channel.sock)
            if channel.conn is not None:
                self.psl.connection_closed(channel.conn)

    def _sweep(self, idle: float) -> None:
        now = self.now
        for channel in list(self.channels.values()):
            if now - channel.last >= idle:
                self.lost(channel, TimeoutError("idle"))


def channel_class(channels: dict[str, type[Channel]], handler: type[Any]) -> type[Channel]:
    """The channel that does what a built-in stream handler does."""
    name = getattr(handler, "name", "")
    make = channels.get(name.split(":")[0] if ":" in name else name)
    if make is None:
        raise LookupError(f"no --selectors channel for handler {name!r}")
    return make


class SelectorsMixIn:
    """socketserver has ThreadingMixIn and ForkingMixIn; this is the third way, the one
    asyncore taught: serve_forever is one selectors loop over the listening socket and
    every client's, each client a Channel with its bytes queued, never blocking."""

    socket: socket.socket
    RequestHandlerClass: Any
    psl: Any
    psl_channels: dict[str, type[Channel]] = {}  # by handler name (handlers.channels)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.socket.setblocking(False)
        self.psl_loop: SelectorLoop | None = None
        self.psl_lock = threading.Lock()
        self.psl_stop = False
        self.psl_done = threading.Event()
        self.psl_done.set()  # not serving yet

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        with self.psl_lock:
            # A stop that came before this thread ran has closed the socket already:
            # nothing to register (the loop made of it raised ValueError in the thread).
            if self.psl_stop or self.socket.fileno() < 0:
                return
            loop = SelectorLoop(self)
            self.psl_loop = loop
            self.psl_done.clear()
        try:
            loop.run()
        finally:
            loop.close()
            self.psl_done.set()

    def shutdown(self) -> None:
        """Ends serve_forever and waits for it, as BaseServer.shutdown does."""
        with self.psl_lock:
            self.psl_stop = True
            loop = self.psl_loop
        if loop is not None:
            loop.stopping = True
            loop.wake()
        self.psl_done.wait()
