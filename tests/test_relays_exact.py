"""A relay carries bytes exactly: 64 MiB of random bytes (NUL, CR, LF and invalid UTF-8
among them) through every path it has, compared by sha256 each way where the path is
two-way: os.splice, --text, --hex, exec:, udp, unix, a spawned child, and TLS.

The far end of a two-way path is a real socket that sends its own 64 MiB while it
reads ours (one thread, non-blocking, so a TLS socket is never used by two threads).
exec:cat, a spawned cat and a UDP echo server send back what they get: there one
digest covers the way there and back. UDP is lossy (a burst overflows the receiver's
buffer and is dropped): it goes in lock-step, 60,000 bytes out and back at a time,
each under the 65,507 a datagram carries."""

from __future__ import annotations

import hashlib
import os
import selectors
import socket
import ssl
import threading
from pathlib import Path

import pytest

from tests.helpers import Shell, child_pids, port

SIZE = 64 << 20
HEADER = b"\x00\r\n\r\r\n\n\x00\xff\xfe\xc3\x28\xa0\xa1\xed\xa0\x80"  # NUL, CR, LF, bad UTF-8
LIMIT = 120.0  # seconds: only a hung relay comes near it; nothing here is timed
STEP = 60_000  # UDP lock-step: what one round trip carries


@pytest.fixture(scope="module")
def payloads() -> tuple[bytes, bytes]:
    """Two different 64 MiB payloads, one for each way."""
    return tuple(HEADER + os.urandom(SIZE - len(HEADER)) for _ in range(2))  # type: ignore[return-value]


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def exchange(sock: socket.socket, data: bytes) -> bytes:
    """Send ``data`` then a half-close (in a thread), while reading to EOF here."""
    errors: list[BaseException] = []

    def send() -> None:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except BaseException as exc:  # shown by the assertion below
            errors.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    got = bytearray()
    sock.settimeout(LIMIT)
    while chunk := sock.recv(1 << 20):
        got += chunk
    sender.join(LIMIT)
    assert not errors, errors
    return bytes(got)


class Peer:
    """The far end: accepts one connection (TLS if given a context), then sends ``data``
    while it reads to EOF, in one thread; ``received`` is what it read."""

    def __init__(self, listener: socket.socket, data: bytes, tls: ssl.SSLContext | None) -> None:
        self.listener, self.data, self.tls = listener, data, tls
        self.received = bytearray()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.listener.settimeout(LIMIT)
            conn, _ = self.listener.accept()
            with conn:
                if self.tls is not None:
                    conn.settimeout(LIMIT)
                    conn = self.tls.wrap_socket(conn, server_side=True)
                self._pump(conn)
        except BaseException as exc:  # the test asserts there was none
            self.error = exc

    def _pump(self, conn: socket.socket) -> None:
        conn.setblocking(False)
        view, eof, closed = memoryview(self.data), False, False
        with selectors.DefaultSelector() as sel:
            sel.register(conn, selectors.EVENT_READ | selectors.EVENT_WRITE)
            while not (eof and closed):
                if not sel.select(LIMIT):
                    raise TimeoutError("the peer waited in vain")
                if view:
                    chunk = view[: 1 << 16]  # the same chunk again if TLS wants to wait
                    try:
                        view = view[conn.send(chunk) :]
                    except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                        pass
                elif not closed and not isinstance(conn, ssl.SSLSocket):
                    closed = True
                    conn.shutdown(socket.SHUT_WR)
                    sel.modify(conn, selectors.EVENT_READ)
                elif not closed and len(self.received) == SIZE:
                    # TLS: close_notify only once nothing more comes (OpenSSL fails on
                    # data that comes after it: the relay waits for it the same way)
                    closed = True
                    try:
                        conn.unwrap()
                    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                        pass
                    sel.modify(conn, selectors.EVENT_READ)
                while not eof:
                    try:
                        got = conn.recv(1 << 20)
                    except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                        break
                    except ssl.SSLZeroReturnError:  # close_notify, after ours went
                        got = b""
                    if not got:
                        eof = True
                    self.received += got

    def join(self) -> bytes:
        self.thread.join(LIMIT)
        assert self.error is None, repr(self.error)
        return bytes(self.received)


def tcp_listener() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s


@pytest.mark.parametrize("show", ["", "--text", "--hex"])
def test_tcp_both_ways_exactly(shell: Shell, payloads: tuple[bytes, bytes], show: str) -> None:
    a, b = payloads
    with tcp_listener() as listener:
        peer = Peer(listener, b, None)
        shell.ok(f"relay r tcp-listen:0 tcp:127.0.0.1:{listener.getsockname()[1]} {show}")
        with socket.create_connection(("127.0.0.1", port(shell, "r")), timeout=LIMIT) as c:
            assert digest(exchange(c, a)) == digest(b)  # the way back
        assert digest(peer.join()) == digest(a)  # the way there
    shell.ok("wait r close --timeout 60")
    info = shell.ok("info r")
    assert f"a -> b:      {SIZE:,} bytes".replace(",", "") in info.replace(",", "")
    method = "os.splice (in the kernel)" if not show else "read/write"
    assert f"method:      {method}\n" in info


def test_unix_both_ways_exactly(
    shell: Shell, payloads: tuple[bytes, bytes], tmp_path: Path
) -> None:
    a, b = payloads
    path = str(tmp_path / "peer.sock")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(path)
        listener.listen(1)
        peer = Peer(listener, b, None)
        shell.ok(f"relay r tcp-listen:0 unix:{path}")
        with socket.create_connection(("127.0.0.1", port(shell, "r")), timeout=LIMIT) as c:
            assert digest(exchange(c, a)) == digest(b)
        assert digest(peer.join()) == digest(a)


def test_a_tls_socket_is_an_endpoint_both_ways_exactly(
    shell: Shell, payloads: tuple[bytes, bytes]
) -> None:
    from pslrepl.testca import session_ca

    a, b = payloads
    context = session_ca(shell.session).server_context()
    with tcp_listener() as listener:
        peer = Peer(listener, b, context)
        shell.ok(f"tls connect t 127.0.0.1:{listener.getsockname()[1]} --timeout 30")
        shell.ok("relay r tcp-listen:0 t")
        with socket.create_connection(("127.0.0.1", port(shell, "r")), timeout=LIMIT) as c:
            assert digest(exchange(c, a)) == digest(b)  # decrypted, every byte
        assert digest(peer.join()) == digest(a)  # encrypted by the relay, every byte
    shell.ok("wait r close --timeout 60")
    assert "method:      read/write\n" in shell.ok("info r")
    # the client's EOF reached t while its peer still sent: the relay waited
    assert "t is TLS: its close_notify waits until its peer has sent all it will" in (
        shell.ok("log r")
    )


@pytest.mark.parametrize("way", ["exec", "spawn"])
def test_through_cat_exactly(shell: Shell, payloads: tuple[bytes, bytes], way: str) -> None:
    """exec:cat is the relay's own child; `spawn p -- cat` is the shell's, drained into a
    1 MiB buffer: the relay holds the drain back rather than let it drop bytes."""
    a, _ = payloads
    if way == "exec":
        shell.ok("relay r tcp-listen:0 exec:cat")
    else:
        shell.ok("spawn p -- cat; relay r tcp-listen:0 p")
    with socket.create_connection(("127.0.0.1", port(shell, "r")), timeout=LIMIT) as c:
        assert digest(exchange(c, a)) == digest(a)
    shell.ok("wait r close --timeout 60")
    if way == "spawn":
        assert "dropping" not in shell.ok("log p")
        assert shell.ok("wait p --timeout 30") == "p: exited with status 0\n"


def test_a_spawned_child_whose_output_backs_up_loses_nothing(
    shell: Shell, payloads: tuple[bytes, bytes]
) -> None:
    """Nobody reads the relay's far end for a while: the child's 1 MiB buffer fills,
    and the drain waits (the child blocks on its pipe) instead of dropping bytes."""
    data = payloads[0][: 16 << 20]
    shell.ok("spawn p -- cat; relay r tcp-listen:0 p")
    child = shell.session.registry.get("p")
    with socket.create_connection(("127.0.0.1", port(shell, "r")), timeout=LIMIT) as c:
        sender = threading.Thread(target=lambda: (c.sendall(data), c.shutdown(socket.SHUT_WR)))
        sender.start()
        buf = child.stdout
        # until the drain has had to wait for the relay (or, as it did, dropped bytes)
        assert shell.session.wait_for(lambda: getattr(buf, "held", 0) or buf.dropped, LIMIT)
        got = bytearray()
        while chunk := c.recv(1 << 20):  # now read it all
            got += chunk
        sender.join(LIMIT)
    assert digest(bytes(got)) == digest(data)
    assert "dropping" not in shell.ok("log p")


def test_udp_in_lock_step_exactly(shell: Shell, payloads: tuple[bytes, bytes]) -> None:
    a, _ = payloads
    shell.ok("serve ue udp 0 --handler echo; relay r tcp-listen:0 udp:ue")
    got = bytearray()
    with socket.create_connection(("127.0.0.1", port(shell, "r")), timeout=10) as c:
        for start in range(0, len(a), STEP):  # a lost datagram: recv times out
            piece = a[start : start + STEP]
            c.sendall(piece)
            want = len(got) + len(piece)
            while len(got) < want:
                chunk = c.recv(want - len(got))
                assert chunk, "the relay closed early"
                got += chunk
    assert digest(bytes(got)) == digest(a)


def test_a_finished_or_closed_exec_relay_leaves_no_zombie(shell: Shell) -> None:
    shell.session.watchdog.start()  # a baseline with the session's watchdog in it
    before = child_pids()
    shell.ok("relay r tcp-listen:0 exec:cat")
    shell.ok("tcp connect c r; sendline c hi; shutdown c wr; recv c --all")
    assert shell.ok("wait r close").startswith("r: both directions closed")
    # wait returns once the child is reaped and the log says how it ended
    assert "; exec:cat exited with status 0" in shell.ok("log r")
    assert child_pids() == before  # no zombie, though the relay is not closed
    shell.ok("relay r2 tcp-listen:0 exec:cat; tcp connect d r2; sendline d x; recv d --line")
    assert child_pids() != before
    shell.ok("close r2")
    assert child_pids() == before
