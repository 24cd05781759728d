"""The handlers that answer each client alone: echo, discard, upper, daytime, chargen, capture."""

from __future__ import annotations

import time

from pslrepl.handlers.base import CHUNK, RECV, SENDALL, DatagramTracked, Tracked


class UdpEcho(DatagramTracked):
    def answer(self, data: bytes) -> bytes | None:
        return data


class UdpUpper(DatagramTracked):
    def answer(self, data: bytes) -> bytes | None:
        return data.upper()


class UdpDaytime(DatagramTracked):
    def answer(self, data: bytes) -> bytes | None:
        return time.ctime().encode() + b"\r\n"


class Echo(Tracked):
    """Sends back every byte it receives, until the client closes."""

    name = "echo"
    does = "sends back every byte it receives"
    datagram = UdpEcho

    def handle(self) -> None:
        if not self.plain:  # TLS, or a socket that doesn't count: its own calls count
            while data := self.recv():
                self.send(data)
            return
        # Tracked.recv and send, in one loop: a round trip is what the bare stdlib
        # echo does (recv, sendall) and its counting and logging, with no Python call
        # between but those two records, and the waiters woken once, not per chunk.
        request = self.request
        conn, psl = request.psl_conn, request.psl_server
        record, nudge = psl.record, psl.nudger.traffic
        while True:
            try:
                data = RECV(request, CHUNK)
                if not data:
                    return
                record(conn, "in", data)
                record(conn, "out", data)  # first, as Tracked.send does
                SENDALL(request, data)
            except BlockingIOError:  # --idle's SO_RCVTIMEO or SO_SNDTIMEO ran out
                raise TimeoutError("timed out") from None
            nudge()


class Discard(Tracked):
    """Reads and drops everything (RFC 863)."""

    name = "discard"
    does = "reads and drops everything, RFC 863"
    datagram = DatagramTracked

    def handle(self) -> None:
        while self.recv():
            pass


class Upper(Tracked):
    """Sends back what it receives in upper case."""

    name = "upper"
    does = "sends back what it receives in upper case"
    datagram = UdpUpper

    def handle(self) -> None:
        while data := self.recv():
            self.send(data.upper())


class Daytime(Tracked):
    """Sends the date and time as text, then closes (RFC 867)."""

    name = "daytime"
    does = "sends the date and time, then closes, RFC 867"
    datagram = UdpDaytime

    def handle(self) -> None:
        self.send(time.ctime().encode() + b"\r\n")


def chargen_line(n: int) -> bytes:
    """Line n of RFC 864's pattern: 72 of the 95 printable characters, rotating by one."""
    printable = bytes(range(32, 127))
    start = n % len(printable)
    return (printable * 2)[start : start + 72] + b"\r\n"


class Chargen(Tracked):
    """Sends RFC 864's rotating character pattern until the client closes."""

    name = "chargen"
    does = "sends RFC 864's rotating pattern until the client closes"

    def handle(self) -> None:
        n = 0
        try:
            while True:
                self.send(b"".join(chargen_line(n + i) for i in range(64)))
                n += 64
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client closed: that is how chargen ends


class Capture(Tracked):
    """Keeps what clients send (see `log`), answers nothing."""

    name = "capture"
    does = "keeps what clients send, for `log`"
    datagram = DatagramTracked

    def handle(self) -> None:
        while self.recv():
            pass
