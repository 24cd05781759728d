"""tls unwrap: close_notify both ways, then the same connection goes on as plain TCP, the
reverse of STARTTLS; bounded by --timeout while the peer has not answered."""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pslrepl.testca import session_ca
from tests.helpers import Shell, make_shell, port

LIMIT = 20.0  # seconds: only a hung peer comes near it
MIB = 1 << 20


@pytest.fixture
def other() -> Iterator[Shell]:
    """A second shell, for the other end (a shell runs one command at a time)."""
    sh = make_shell()
    try:
        yield sh
    finally:
        sh.close()


def both(first: Callable[[], object], second: Callable[[], object]) -> None:
    """Run ``first`` in a thread and ``second`` here: two shells' commands at once."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            first()
        except BaseException as exc:  # reported below, not lost in the thread
            failed.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        second()
    finally:
        thread.join(timeout=LIMIT)
    assert not thread.is_alive()
    if failed:
        raise failed[0]


def tls_pair(shell: Shell, other: Shell) -> None:
    """shell's c and other's s, one TCP connection, wrapped: other is the server."""
    other.session.test_ca = session_ca(shell.session)  # c trusts s's certificate
    other.ok("tcp listen srv 0")
    shell.ok(f"tcp connect c 127.0.0.1:{port(other, 'srv')}")
    other.ok("accept srv s")
    wrap_both(shell, other)


def wrap_both(shell: Shell, other: Shell) -> None:
    both(
        lambda: other.ok(f"tls wrap s --server --timeout {LIMIT:g}"),
        lambda: shell.ok(f"tls wrap c --server-hostname localhost --timeout {LIMIT:g}"),
    )


def read_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    sock.settimeout(LIMIT)
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, f"EOF after {len(data)} bytes"
        data += chunk
    return bytes(data)


def test_unwrap_on_both_ends_carries_on_with_plain_bytes(
    shell: Shell, other: Shell, tmp_path: Path
) -> None:
    tls_pair(shell, other)
    shell.ok("sendline c over-tls")
    assert other.ok("recv s --line") == "over-tls\n(9 bytes)\n"
    outs: list[str] = []
    both(lambda: outs.append(other.ok(f"tls unwrap s --timeout {LIMIT:g}")),
         lambda: outs.append(shell.ok(f"tls unwrap c --timeout {LIMIT:g}")))  # fmt: skip
    assert sorted(outs) == [
        f"{n}: TLS ended (close_notify both ways): the connection goes on as plain tcp\n"
        for n in ("c", "s")
    ]
    c, s = shell.session.registry.get("c"), other.session.registry.get("s")
    assert c.kind == s.kind == "tcp"
    assert type(c.sock) is socket.socket and type(s.sock) is socket.socket  # no SSLSocket
    # 1 MiB of every byte value (NUL, CR, LF...) goes through as it is: no TLS records.
    payload = os.urandom(MIB - 256) + bytes(range(256))
    (tmp_path / "payload").write_bytes(payload)
    shell.ok(f"sendall c --file {tmp_path / 'payload'}")
    got = read_exactly(s.sock, MIB)
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(payload).hexdigest()
    other.ok("sendline s plain-answer")
    assert shell.ok("recv c --line") == "plain-answer\n(13 bytes)\n"
    # And TLS again over the same connection: STARTTLS after its reverse.
    wrap_both(shell, other)
    shell.ok("sendline c again")
    assert other.ok("recv s --line") == "again\n(6 bytes)\n"


def python_tls_peer(shell: Shell, script: Callable[[ssl.SSLSocket], None]) -> threading.Thread:
    """A stdlib TLS server in a thread, for one client: ``script`` runs on its side of
    the connection once the handshake is done."""
    context = session_ca(shell.session).server_context()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(LIMIT)

    def serve() -> None:
        with listener:
            conn, _ = listener.accept()
        conn.settimeout(LIMIT)
        tls = context.wrap_socket(conn, server_side=True)
        script(tls)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    shell.ok(f"tls connect c 127.0.0.1:{listener.getsockname()[1]} --server-hostname localhost")
    return thread


def test_a_peer_that_has_not_answered_bounds_unwrap_and_may_unwrap_later(shell: Shell) -> None:
    go = threading.Event()
    sent: list[bytes] = []

    def peer(tls: ssl.SSLSocket) -> None:
        assert go.wait(LIMIT)
        plain = tls.unwrap()  # ours came long ago: it answers and goes on in plain TCP
        plain.sendall(b"plain at last\n")
        sent.append(plain.recv(100))
        plain.close()

    thread = python_tls_peer(shell, peer)
    line = shell.fails("tls unwrap c --timeout 0.3")
    assert line == (
        "error: c: sent close_notify; the peer has not answered with its own in 0.3 s: once "
        "it unwraps its side, `tls unwrap c` again finishes (until then the connection is "
        "TLS, and sends nothing)"
    )
    assert ("unwrap:          close_notify sent; the peer's has not come: tls unwrap c "
            "finishes once it has\n") in shell.ok("tls info c")  # fmt: skip
    assert shell.session.registry.get("c").kind == "tls"
    go.set()
    assert shell.ok(f"tls unwrap c --timeout {LIMIT:g}").startswith("c: TLS ended")
    assert shell.ok("recv c --line") == "plain at last\n(14 bytes)\n"
    shell.ok("sendline c thanks")
    thread.join(timeout=LIMIT)
    assert sent == [b"thanks\n"]


def test_bytes_that_came_over_tls_are_read_before_unwrapping(shell: Shell) -> None:
    go = threading.Event()

    def peer(tls: ssl.SSLSocket) -> None:
        tls.sendall(b"late words\n")
        assert go.wait(LIMIT)
        tls.unwrap().close()

    thread = python_tls_peer(shell, peer)
    shell.ok(f"wait c data --timeout {LIMIT:g}")
    assert shell.fails("tls unwrap c") == (
        "error: c: 11 bytes came over TLS and were not read yet: recv c first, then tls unwrap c"
    )
    assert shell.ok("recv c --line") == "late words\n(11 bytes)\n"
    go.set()
    assert shell.ok(f"tls unwrap c --timeout {LIMIT:g}").startswith("c: TLS ended")
    thread.join(timeout=LIMIT)


def test_a_peer_that_closed_without_close_notify_leaves_nothing_to_go_on_with(
    shell: Shell,
) -> None:
    def peer(tls: ssl.SSLSocket) -> None:
        tls.close()  # SSLSocket.close sends no close_notify: TCP's FIN only

    thread = python_tls_peer(shell, peer)
    thread.join(timeout=LIMIT)
    shell.ok(f"wait c eof --timeout {LIMIT:g}")
    line = shell.fails(f"tls unwrap c --timeout {LIMIT:g}")
    assert line == (
        "error: c: the peer closed the connection without ending TLS (no close_notify); no "
        "plain connection is left to go on with: close c"
    )
    assert "tcp" not in shell.ok("ls")
    shell.ok("close c")


def test_unwrap_takes_a_tls_connection_only(shell: Shell) -> None:
    shell.ok("tcp listen l 0; tcp connect p l")
    assert shell.fails("tls unwrap p") == (
        "error: p is a tcp socket; tls unwrap takes a tls connection"
    )


@pytest.mark.timeout(40)  # a blocking unwrap would sit out its 120 s: the bound fails it
def test_ctrl_c_cancels_an_unwrap_waiting_for_the_peer(shell: Shell) -> None:
    import signal

    done = threading.Event()

    def peer(tls: ssl.SSLSocket) -> None:
        assert tls.recv(100) == b""  # our close_notify came: the shell is waiting now
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, as the terminal sends it
        done.wait(LIMIT)  # and never answers with its own

    thread = python_tls_peer(shell, peer)
    try:
        line = shell.fails("tls unwrap c --timeout 120")
        assert line == "error: cancelled by Ctrl-C; everything else carries on"
    finally:
        done.set()
        thread.join(timeout=LIMIT)
    assert shell.ok("echo still here") == "still here\n"


@pytest.mark.timeout(40)
def test_ctrl_c_during_a_server_side_wrap_says_the_connection_is_gone(shell: Shell) -> None:
    """The client never starts its handshake; Ctrl-C ends the wait, and the socket ssl
    had taken over is gone: said, not only missing from ls."""
    import signal

    from tests.test_repl_loop import wait_until

    shell.ok("tcp listen l 0; tcp connect c l; accept l s")
    res = shell.session.registry.get("s")

    def interrupt() -> None:
        wait_until(lambda: bool(getattr(res, "busy", False)), LIMIT)
        os.kill(os.getpid(), signal.SIGINT)

    helper = threading.Thread(target=interrupt)
    helper.start()
    try:
        ok, out, err = shell("tls wrap s --server --timeout 30")
    finally:
        helper.join(LIMIT)
    assert not ok and err == "error: cancelled by Ctrl-C; everything else carries on\n"
    assert out == "s: closed: a TLS handshake cut short leaves no connection to go on with\n"
    assert "s" not in shell.session.registry
