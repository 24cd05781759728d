"""forward:ADDR: a TCP proxy, a connection to ADDR for each client and bytes both ways."""

from __future__ import annotations

import socket

from pslrepl.handlers.base import CHUNK, Tracked


class Forward(Tracked):
    """A TCP proxy: each client gets its own connection to the target; bytes both ways."""

    name = "forward:ADDR"
    does = "a TCP proxy to ADDR or a listener's name"

    target: tuple[str, int] = ("127.0.0.1", 0)

    def handle(self) -> None:
        import selectors

        try:
            upstream = socket.create_connection(self.target, timeout=10)
        except OSError as exc:  # the network, not a bug in the handler: one line
            from pslrepl.addresses import format_addr
            from pslrepl.errors import describe_oserror

            self.psl.note(f"forward: can't reach {format_addr(self.target)} for client "
                          f"{format_addr(self.client_address)}: {describe_oserror(exc)}; "
                          "closed that client")  # fmt: skip
            return
        upstream.settimeout(None)
        idle = self.psl.idle
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(self.stream, selectors.EVENT_READ, upstream)
                sel.register(upstream, selectors.EVENT_READ, self.stream)
                open_ends = 2
                while open_ends:
                    ready = sel.select(idle)
                    if not ready:  # --idle: nothing either way for that long
                        raise TimeoutError("idle")
                    for key, _ in ready:
                        src, dst = key.fileobj, key.data
                        assert isinstance(src, socket.socket)
                        data = src.recv(CHUNK)
                        if not data:
                            sel.unregister(src)
                            open_ends -= 1
                            try:
                                dst.shutdown(socket.SHUT_WR)  # pass the half-close on
                            except OSError:
                                pass
                            continue
                        dst.sendall(data)  # the client's socket counts both ways
        finally:
            upstream.close()
