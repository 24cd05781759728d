"""The code an exported serve --selectors is made of: the shell's own server (socketserver
has none) as a readable selectors loop, and the built-in handlers as its channels."""

from __future__ import annotations

# The built-in handlers a script's selectors server carries: name -> its channel class.
CHANNELS = {"echo": "EchoChannel", "upper": "UpperChannel", "discard": "DiscardChannel",
            "daytime": "DaytimeChannel"}  # fmt: skip

HELPERS: dict[str, tuple[tuple[str, ...], str]] = {
    "SelectorsServer": (
        ("Channels",),
        r'''
class SelectorsServer:
    """What serve --selectors runs (the shell's own SelectorsTCPServer, not
    socketserver's): one thread serves every client from a selectors loop. Each client
    is a channel (the handler class): the bytes that come go to its received(), and what
    it has to send waits in its out buffer until the selector says the socket has room."""

    def __init__(self, *args, **kwargs):
        self.stopping = False
        self.stopped = threading.Event()
        self.channels = {}
        self.selector = selectors.DefaultSelector()
        super().__init__(*args, **kwargs)

    def serve_forever(self, poll_interval=0.5):
        self.selector.register(self.socket, selectors.EVENT_READ)
        try:
            while not self.stopping:
                for key, events in self.selector.select(poll_interval):
                    if key.fileobj is self.socket:
                        self._handle_request_noblock()  # accept, then process_request
                    else:
                        self.step(key.data, events)
        finally:
            for channel in list(self.channels.values()):
                self.drop(channel)
            self.selector.close()
            self.stopped.set()

    def shutdown(self):
        self.stopping = True
        self.stopped.wait()

    def process_request(self, request, client_address):
        """A new client: a channel of the loop (no thread, no fork)."""
        request.setblocking(False)
        channel = self.RequestHandlerClass(request)
        self.channels[request] = channel
        self.selector.register(request, selectors.EVENT_READ, channel)
        channel.opened()
        self.step(channel, 0)

    def step(self, channel, events):
        """Read what came, send what waits; drop a channel that is done."""
        sock = channel.sock
        try:
            if events & selectors.EVENT_READ:
                data = sock.recv(65536)
                if data:
                    channel.received(data)
                else:
                    channel.done = True  # the client's EOF: send what waits, then close
            if events & selectors.EVENT_WRITE and channel.out:
                del channel.out[: sock.send(channel.out)]
        except BlockingIOError:
            pass
        except OSError:  # the connection is gone (stop shuts each one down)
            channel.out.clear()
            channel.done = True
        if channel.done and not channel.out:
            self.drop(channel)
            return
        wanted = selectors.EVENT_READ | (selectors.EVENT_WRITE if channel.out else 0)
        self.selector.modify(sock, wanted, channel)

    def drop(self, channel):
        self.selector.unregister(channel.sock)
        del self.channels[channel.sock]
        self.shutdown_request(channel.sock)
''',
    ),
    "Channels": (
        (),
        r'''
class Channel:
    """A client of a selectors server: what it does with each chunk that comes
    (received), and what it has to send (out). The base reads and drops: discard."""

    def __init__(self, sock):
        self.sock = sock
        self.out = bytearray()
        self.done = False  # closed once out is sent

    def opened(self):
        pass

    def received(self, data):
        pass


class EchoChannel(Channel):
    def received(self, data):
        self.out += data


class UpperChannel(Channel):
    def received(self, data):
        self.out += data.upper()


class DiscardChannel(Channel):
    """Reads and drops what comes."""


class DaytimeChannel(Channel):
    def opened(self):
        self.out += time.ctime().encode() + b"\r\n"
        self.done = True
''',
    ),
}
HELPER_IMPORTS = {"SelectorsServer": ("selectors", "threading"), "Channels": ("time",)}
