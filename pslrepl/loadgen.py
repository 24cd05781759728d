"""`load`'s generator, run in a process of its own: lock-step echo or http GET round trips
over many connections from one selectors loop, with progress and a summary as JSON lines."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import resource
import selectors
import signal
import socket
import sys
import time
from array import array

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PROGRESS_EVERY = 0.5  # seconds between progress lines
REQUEST_TIMEOUT = 10.0  # a round trip that takes longer is an error (timeout)
FINISH_GRACE = 5.0  # --duration: how long round trips under way may finish
GIVE_UP_AFTER = 3  # connects refused per connection, none ever accepted: it stops
RETRY_AFTER = 0.05  # a connection whose connect failed tries again this much later
READ_CHUNK = 262144
HEAD_LIMIT = 65536
# Every byte value, so a payload carries NUL, CR and LF: request n's is PATTERN[n % 256:].
PATTERN = bytes(range(256)) * 2


class Conn:
    """One connection's lock-step round trip: connect, send, read the whole answer."""

    __slots__ = ("sock", "state", "out", "got", "expect", "started", "mask", "wait_until",
                 "keep", "body", "status", "length")  # fmt: skip

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.state = "idle"  # idle, connecting, busy, waiting (--rate), retry, done
        self.out = self.expect = b""
        self.got = bytearray()
        self.started = self.wait_until = 0.0
        self.mask = self.status = 0
        self.keep = True  # http: the server keeps the connection for the next request
        self.body = -1  # http: where the body starts in got
        self.length: int | None = None


class Load:
    """The generator: config is what `load` was given."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.host: str = config["host"]
        self.port: int = config["port"]
        self.http: bool = config["http"]
        self.path: str = config.get("path") or "/"
        self.size: int = config["size"]
        self.conns = [Conn() for _ in range(config["conns"])]
        self.requests: int | None = config.get("requests")
        self.duration: float | None = config.get("duration")
        self.rate: float | None = config.get("rate")
        self.sel = selectors.DefaultSelector()
        self.issued = 0  # round trips begun (ok, failed or under way)
        self.ok = self.sent = self.received = self.opened = 0
        self.errors: dict[str, int] = {}
        self.latencies = array("d")
        self.start = self.cpu_start = 0.0  # cpu_start: os.times() user + system then
        self.stop_at = float("inf")
        self.unix: str = config.get("unix") or ""
        self.timeout: float = config.get("timeout") or REQUEST_TIMEOUT
        self.target: Any = self.unix or (self.host, self.port)
        self.label: str = config.get("label") or str(self.target)
        self.family = (socket.AF_UNIX if self.unix else config.get("family") or
                       (socket.AF_INET6 if ":" in self.host else socket.AF_INET))  # fmt: skip
        # An IPv6 host goes in brackets ([::1]:8080): unbracketed, servers answer 421.
        host = config.get("host_header") or (f"[{self.host}]" if ":" in self.host else self.host)
        self.request_bytes = (f"GET {self.path} HTTP/1.1\r\nHost: {host}:{self.port}\r\n"
                              "User-Agent: pslrepl-load\r\n\r\n").encode()  # fmt: skip

    # -- the loop -------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self.start = time.monotonic()
        # The CPU the run itself takes: the interpreter's start and imports are not it
        # (they made a run of a few ms look like 400% of a core).
        self.cpu_start = sum(os.times()[:2])  # user + system
        if self.duration is not None:
            self.stop_at = self.start + self.duration
        # The shell holds our stdin: when it goes (killed, even), so do we.
        self.sel.register(sys.stdin.fileno(), selectors.EVENT_READ, None)
        next_progress = self.start + PROGRESS_EVERY
        for conn in self.conns:
            self.next_round_trip(conn)
        parent_gone = False
        while not parent_gone and any(c.state != "done" for c in self.conns):
            now = time.monotonic()
            timeout = min(next_progress, self.next_deadline(now)) - now
            for key, events in self.sel.select(max(0.0, timeout)):
                if key.data is None:
                    parent_gone = not os.read(sys.stdin.fileno(), 4096)
                    continue
                self.ready(key.data, events)
            now = time.monotonic()
            self.expire(now)
            if now >= next_progress:
                next_progress = now + PROGRESS_EVERY
                self.say({"progress": True, **self.counts(now)})
        for conn in self.conns:
            self.close(conn)
        return self.summary(time.monotonic())

    def next_deadline(self, now: float) -> float:
        soonest = now + PROGRESS_EVERY
        for conn in self.conns:
            if conn.state in ("waiting", "retry"):
                soonest = min(soonest, conn.wait_until)
            elif conn.state in ("busy", "connecting"):
                soonest = min(soonest, conn.started + self.timeout)
        if self.stop_at != float("inf"):
            soonest = min(soonest, self.stop_at)
        return soonest

    def expire(self, now: float) -> None:
        for conn in self.conns:
            if conn.state == "waiting" and now >= conn.wait_until:
                conn.state = "idle"
                self.begin(conn)
            elif conn.state == "retry" and now >= conn.wait_until:
                conn.state = "idle"
                self.next_round_trip(conn)
            elif conn.state in ("busy", "connecting") and now - conn.started > self.timeout:
                self.failed(conn, "timeout")
            elif conn.state == "idle":
                self.next_round_trip(conn)
            if now >= self.stop_at + FINISH_GRACE and conn.state != "done":
                if conn.state in ("busy", "connecting"):
                    self.failed(conn, "unfinished")
                conn.state = "done"
                self.close(conn)

    def next_round_trip(self, conn: Conn) -> None:
        """Begin the next round trip on conn, or end it when the run is over."""
        now = time.monotonic()
        # --rate: round trip n may begin at start + n / rate, no sooner.
        slot = self.start + self.issued / self.rate if self.rate else now
        if (self.requests is not None and self.issued >= self.requests) or (
            max(now, slot) >= self.stop_at
        ):
            conn.state = "done"
            self.close(conn)
            return
        self.issued += 1
        if slot > now:
            conn.state, conn.wait_until = "waiting", slot
            self.watch(conn, 0)
            return
        self.begin(conn)

    def begin(self, conn: Conn) -> None:
        conn.started = time.monotonic()
        conn.got.clear()
        conn.body, conn.status, conn.length = -1, 0, None
        if self.http:
            conn.out = self.request_bytes
        else:
            n = self.issued % 256
            conn.out = conn.expect = PATTERN[n : n + self.size] if self.size <= 256 else (
                (PATTERN[n:] * (self.size // 256 + 2))[: self.size])  # fmt: skip
        if conn.sock is None:
            try:
                sock = socket.socket(self.family, socket.SOCK_STREAM)
            except OSError as exc:
                raise Fatal(out_of(exc, self.opened)) from None
            sock.setblocking(False)
            if not self.unix:  # a round trip's small send goes at once (no Nagle)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.sock, conn.state = sock, "connecting"
            err = sock.connect_ex(self.target)
            if err not in CONNECTING:
                self.failed(conn, error_kind(err))
                return
            self.watch(conn, selectors.EVENT_WRITE)
            return
        conn.state = "busy"
        self.send(conn)

    def ready(self, conn: Conn, events: int) -> None:
        if conn.state == "connecting":
            assert conn.sock is not None
            err = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.failed(conn, error_kind(err))
                return
            self.opened += 1
            conn.state = "busy"
            self.send(conn)
            return
        if conn.state != "busy":
            return
        if events & selectors.EVENT_WRITE and conn.out:
            self.send(conn)
        if events & selectors.EVENT_READ:
            self.read(conn)

    def send(self, conn: Conn) -> None:
        assert conn.sock is not None
        try:
            n = conn.sock.send(conn.out)
        except BlockingIOError:
            n = 0
        except OSError as exc:
            self.failed(conn, error_kind(exc.errno or 0))
            return
        self.sent += n
        conn.out = conn.out[n:]
        self.watch(conn, selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.out else 0))

    def read(self, conn: Conn) -> None:
        assert conn.sock is not None
        try:
            data = conn.sock.recv(READ_CHUNK)
        except BlockingIOError:
            return
        except OSError as exc:
            self.failed(conn, error_kind(exc.errno or 0))
            return
        self.received += len(data)
        if not data:
            if self.http and conn.body >= 0 and conn.length is None:  # the end is the end
                self.answered(conn, keep=False)
            else:
                self.failed(conn, "closed")
            return
        conn.got += data
        if self.http:
            self.http_read(conn)
        elif len(conn.got) >= self.size:
            if conn.got != conn.expect:
                self.failed(conn, "wrong bytes")
            else:
                self.answered(conn, keep=True)

    def http_read(self, conn: Conn) -> None:
        got = conn.got
        if conn.body < 0:
            end = got.find(b"\r\n\r\n")
            if end < 0:
                if len(got) > HEAD_LIMIT:
                    self.failed(conn, "bad answer")
                return
            conn.body = end + 4
            head = bytes(got[:end]).decode("latin-1").split("\r\n")
            parts = head[0].split(" ", 2)
            try:
                conn.status = int(parts[1])
            except (IndexError, ValueError):
                self.failed(conn, "bad answer")
                return
            pairs = (line.partition(":") for line in head[1:])
            headers = {name.strip().lower(): value.strip().lower() for name, _, value in pairs}
            conn.keep = parts[0] == "HTTP/1.1" and headers.get("connection") != "close"
            if "content-length" in headers:
                conn.length = int(headers["content-length"])
            elif conn.status < 200 or conn.status in (204, 304):  # never a body
                conn.length = 0
            else:
                conn.keep = False  # its end is the connection's end
        if conn.length is not None and len(got) - conn.body >= conn.length:
            self.answered(conn, keep=conn.keep)

    def answered(self, conn: Conn, *, keep: bool) -> None:
        if self.http and conn.status >= 400:
            self.count_error(f"HTTP {conn.status}")
        else:
            self.ok += 1
            self.latencies.append(time.monotonic() - conn.started)
        if not keep:
            self.close(conn)
        conn.state = "idle"
        self.watch(conn, 0)
        self.next_round_trip(conn)

    def failed(self, conn: Conn, kind: str) -> None:
        self.count_error(kind)
        refused = self.errors.get("refused", 0)
        if kind == "refused" and not self.opened and refused >= GIVE_UP_AFTER * len(self.conns):
            # Nothing ever connected: a typo'd port, not a server to measure.
            raise Fatal(f"{self.label} refused every connection ({refused:,} tries); is "
                        "a server listening there?")  # fmt: skip
        timeouts = self.errors.get("timeout", 0)
        if kind == "timeout" and not self.ok and timeouts >= len(self.conns):
            # Not one answer: a listener that never accepts, an http server without http://
            raise Fatal(f"no answer from {self.label} in {self.timeout:g} s on any of "
                        f"{len(self.conns):,} connections; is it an echo server (or http://"
                        "HOST:PORT/PATH for an http one)?")  # fmt: skip
        self.close(conn)
        conn.state = "retry"  # a new connection, after a moment: a refusing server
        conn.wait_until = time.monotonic() + RETRY_AFTER  # is not hammered in a loop
        if (self.requests is not None and self.issued >= self.requests) or (
            time.monotonic() >= self.stop_at
        ):
            conn.state = "done"

    def count_error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def watch(self, conn: Conn, mask: int) -> None:
        if conn.sock is None or mask == conn.mask:
            return
        if conn.mask == 0:
            self.sel.register(conn.sock, mask, conn)
        elif mask == 0:
            self.sel.unregister(conn.sock)
        else:
            self.sel.modify(conn.sock, mask, conn)
        conn.mask = mask

    def close(self, conn: Conn) -> None:
        if conn.sock is None:
            return
        if conn.mask:
            self.sel.unregister(conn.sock)
            conn.mask = 0
        conn.sock.close()
        conn.sock = None

    # -- what it says ---------------------------------------------------------------

    def counts(self, now: float) -> dict[str, Any]:
        return {"elapsed": now - self.start, "ok": self.ok,
                "errors": sum(self.errors.values())}  # fmt: skip

    def summary(self, now: float) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float | None:
            return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else None

        return {**self.counts(now), "kinds": self.errors, "sent": self.sent,
                "received": self.received, "connections": self.opened,
                "p50": pct(0.50), "p99": pct(0.99), "max": lat[-1] if lat else None,
                "cpu": sum(os.times()[:2]) - self.cpu_start}  # fmt: skip

    @staticmethod
    def say(what: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(what) + "\n")
        sys.stdout.flush()


ERROR_KINDS = {errno.ECONNREFUSED: "refused", errno.ECONNRESET: "reset", errno.EPIPE: "reset",
               errno.ETIMEDOUT: "timeout"}  # fmt: skip
# A connect under way; EAGAIN: a UNIX socket's connect whose listen queue is full.
CONNECTING = (0, errno.EINPROGRESS, errno.EAGAIN)


def error_kind(err: int) -> str:
    return ERROR_KINDS.get(err) or (os.strerror(err) if err else "error")


class Fatal(Exception):
    """The run can't go on: one line for the shell to say."""


def out_of(exc: OSError, opened: int) -> str:
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        return (f"the generator ran out of file descriptors after {opened:,} connections "
                f"(ulimit -n is {limit:,}); try fewer --conns")  # fmt: skip
    return f"can't make a socket: {exc.strerror or exc}"


def more_files(conns: int) -> None:
    """Raise the soft limit on open files towards the hard one: --conns may be 10,000."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = conns + 64 if hard == resource.RLIM_INFINITY else min(conns + 64, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        with contextlib.suppress(OSError, ValueError):  # else EMFILE, said in one line
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def main() -> int:
    # Ctrl-C reaches the shell's whole process group: the shell ends us (TERM) itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    config = json.loads(sys.argv[1])
    more_files(config["conns"])
    try:
        Load.say({"done": True, **Load(config).run()})
    except Fatal as exc:
        Load.say({"fatal": str(exc)})
    except OSError as exc:  # unforeseen, but still one line
        Load.say({"fatal": f"the generator stopped: {exc.strerror or exc}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
