"""Every way of reading a socket honours its timeout and Ctrl-C, TLS included (a session
ticket is bytes on the socket but no data), and the live notices say each thing once."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import select
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pslrepl.commands.options import TIMEOUT_HINT
from pslrepl.resources.sockets import Sock
from pslrepl.testca import session_ca
from tests.helpers import Shell, make_shell, run_cli


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll a condition a background thread makes true (not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.01)


def sock_of(shell: Shell, name: str) -> Sock:
    res = shell.session.registry.get(name)
    assert isinstance(res, Sock)
    return res


def watched(shell: Shell, name: str) -> bool:
    """Whether the socket watcher's selector holds the socket (armed)."""
    watcher = shell.session.socket_watcher
    fd = sock_of(shell, name).sock.fileno()
    with watcher.lock:
        return any(key.fd == fd for key in watcher.sel.get_map().values())


def pending_from(shell: Shell, name: str) -> bool:
    with shell.session.cond:
        return any(e.source == name for e in shell.session.pending)


def fresh_tls(shell: Shell) -> None:
    """An echo server over TLS 1.3 and a connection to it whose first bytes, a session
    ticket, have come: the socket is readable and holds no data."""
    shell.ok("serve web tcp 0 --handler echo --tls --threading; tls connect t web")
    assert select.select([sock_of(shell, "t").sock], [], [], 10)[0]


def test_first_recv_on_fresh_tls_times_out_in_a_real_shell() -> None:
    """The reported hang, as a user meets it: the whole shell, a real server, its ticket."""
    done = run_cli(
        "--keep-going", "-c",
        "serve web tcp 0 --handler echo --tls --threading; tls connect t web; "
        "recv t --timeout 0.5; sendline t after; recv t --line",
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: t: timeout after 0.5 s waiting for data; 0 bytes waiting; {TIMEOUT_HINT}"
    ]
    assert done.stdout.endswith("after\n(6 bytes)\n")


@pytest.mark.parametrize(
    ("line", "what", "then"),
    [
        ("recv t", "data", "xx-line\n"),
        ("recv t 5", "data", "xx-li"),
        ("recv t --line", "a line", "xx-line\n"),
        ("recv t --until END", "b'END'", "xx-line\nnext END"),
        ("recv t --all", "EOF", ""),
    ],
)
def test_every_tls_read_waits_for_data_not_tickets(
    shell: Shell, line: str, what: str, then: str
) -> None:
    fresh_tls(shell)
    assert shell.fails(f"{line} --timeout 0.3") == (
        f"error: t: timeout after 0.3 s waiting for {what}; 0 bytes waiting; {TIMEOUT_HINT}"
    )
    assert "unread:      0 bytes" in shell.ok("info t")
    # The connection is unharmed, and the same read works once data comes.
    shell.ok("sendline t xx-line; send t 'next END'")
    if then:
        assert shell.ok(line).startswith(then)


def test_wait_data_and_eof_on_tls(shell: Shell) -> None:
    fresh_tls(shell)
    line = shell.fails("wait t data --timeout 0.3")  # a ticket is no data
    assert line.startswith("error: t: timeout after 0.3 s waiting for data")
    assert shell.fails("wait t eof --timeout 0.3").startswith("error: t: timeout after 0.3 s")
    shell.ok("sendline t ping")
    assert shell.ok("wait t data") == "t: data waiting: recv t\n"
    assert shell.ok("recv t") == "ping\n(5 bytes)\n"
    # A server that says the time and closes: data, then EOF, each waited for.
    shell.ok("serve day tcp 0 --handler daytime --tls --threading; tls connect d day")
    assert shell.ok("wait d data") == "d: data waiting: recv d\n"
    assert re.search(r"\d\d:\d\d:\d\d", shell.ok("recv d"))
    assert shell.ok("wait d eof") == "d: the peer closed its side: recv will return EOF\n"
    assert shell.ok("recv d") == "EOF: the peer closed its side (recv returned b'')\n"


def test_tls_recv_line_keeps_the_rest_for_the_next_recv(shell: Shell) -> None:
    fresh_tls(shell)
    shell.ok('send t "one\\r\\ntwo\\x00\\nthree"')
    assert shell.ok("recv t --line --repr") == "b'one\\r\\n'  (5 bytes)\n"
    assert shell.ok("recv t --until '\\x00' --repr") == "b'two\\x00'  (4 bytes)\n"
    assert shell.ok("recv t 3") == "\nth\n(3 bytes)\n"
    assert shell.ok("recv t") == "ree\n(3 bytes)\n"


def test_tls_recv_all_of_a_large_payload(shell: Shell) -> None:
    """A megabyte and a half through TLS, read to EOF, checked by its sha256."""
    payload = os.urandom(1536 * 1024) + b"\x00\r\n"
    context = session_ca(shell.session).server_context()
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(payload)
            tls.setblocking(False)  # close_notify sent, the client's not waited for
            with contextlib.suppress(ssl.SSLWantReadError):
                tls.unwrap()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        shell.ok(f"tls connect t 127.0.0.1:{listener.getsockname()[1]} "
                 "--server-hostname localhost")  # fmt: skip
        out = shell.ok("recv t --all --repr --timeout 30")
    finally:
        thread.join(timeout=30)
        listener.close()
    literal, _, rest = out.rpartition("  (")  # the count comes last; the bytes may hold "  ("
    got = eval(literal)  # a bytes literal the shell printed
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(payload).hexdigest()
    assert rest.endswith("EOF: the peer closed its side (recv returned b'')\n")


def interrupt_when_reading(shell: Shell, name: str) -> threading.Thread:
    """Ctrl-C as the terminal sends it (SIGINT: KeyboardInterrupt in the main thread),
    once the command reads ``name``."""
    res = sock_of(shell, name)

    def interrupt() -> None:
        wait_until(lambda: res.busy)
        os.kill(os.getpid(), signal.SIGINT)

    helper = threading.Thread(target=interrupt)
    helper.start()
    return helper


def test_ctrl_c_cancels_a_tls_read(shell: Shell) -> None:
    fresh_tls(shell)
    helper = interrupt_when_reading(shell, "t")
    try:
        line = "recv t --timeout 60"
        assert shell.fails(line) == "error: cancelled by Ctrl-C; everything else carries on"
    finally:
        helper.join()
    shell.ok("sendline t still-here")
    assert shell.ok("recv t --line") == "still-here\n(11 bytes)\n"


def test_ctrl_c_keeps_what_a_read_had_taken(shell: Shell) -> None:
    shell.ok("socketpair a b; send a 'half a li'")
    helper = interrupt_when_reading(shell, "b")
    try:
        assert "cancelled by Ctrl-C" in shell.fails("recv b --line --timeout 60")
    finally:
        helper.join()
    shell.ok("sendline a ne")
    assert shell.ok("recv b --line") == "half a line\n(12 bytes)\n"


def test_recv_timeout_bounds_the_whole_read(shell: Shell) -> None:
    """A peer that trickles a byte at a time never lets a line come: the command's
    timeout is for the whole read, not for each byte."""
    shell.ok("tcp listen srv 0; tcp connect c srv; accept srv s")
    stop = threading.Event()
    peer = sock_of(shell, "c").sock.dup()

    def trickle() -> None:
        while not stop.wait(0.05):
            peer.send(b".")

    thread = threading.Thread(target=trickle)
    thread.start()
    try:
        line = shell.fails("recv s --line --timeout 0.5")
    finally:
        stop.set()
        thread.join()
        peer.close()
    assert "timeout after 0.5 s waiting for a line" in line and "came, kept" in line


# -- live notices: each change of state once, never one the user has already seen --------


@pytest.fixture
def live() -> Iterator[Shell]:
    sh = make_shell()
    try:
        sh.ok("set events live")
        yield sh
    finally:
        sh.close()


def test_no_eof_notice_after_recv_returned_eof(live: Shell) -> None:
    live.ok("socketpair a b")
    sock_of(live, "a").sock.shutdown(socket.SHUT_WR)  # by the peer, not by a command
    assert live.ok("recv b") == "EOF: the peer closed its side (recv returned b'')\n"
    wait_until(lambda: not watched(live, "b"))  # the watcher has had its look
    assert live.ok("echo after") == "after\n"  # no "[b] the peer closed its side" now
    assert live.ok("recv b") == "EOF: the peer closed its side (recv returned b'')\n"
    wait_until(lambda: not watched(live, "b"))
    assert live.ok("echo again") == "again\n"


def test_a_notice_not_shown_yet_is_withdrawn_by_the_read(live: Shell) -> None:
    live.ok("socketpair a b")
    peer = sock_of(live, "a").sock
    peer.send(b"hello")
    wait_until(lambda: pending_from(live, "b"))  # "[b] 5 bytes waiting", not shown yet
    assert live.ok("recv b") == "hello\n(5 bytes)\n"  # and not the stale notice after it
    peer.shutdown(socket.SHUT_WR)
    wait_until(lambda: pending_from(live, "b"))  # "[b] the peer closed its side"
    assert live.ok("recv b") == "EOF: the peer closed its side (recv returned b'')\n"


def test_unread_bytes_are_announced_once_and_more_again(live: Shell) -> None:
    live.ok("socketpair a b")
    peer = sock_of(live, "a").sock
    peer.send(b"abcdefg")
    wait_until(lambda: pending_from(live, "b"))
    assert live.ok("echo x") == "x\n[b] 7 bytes waiting: b'abcdefg'\n"
    assert live.ok("recv b 3") == "abc\n(3 bytes)\n"
    # The watcher looks again, finds the 4 bytes it told of already: nothing to say.
    watcher = live.session.socket_watcher
    wait_until(lambda: sock_of(live, "b") in watcher.quiet)
    assert live.ok("echo y") == "y\n"
    peer.send(b"more")  # new bytes: news again
    wait_until(lambda: pending_from(live, "b"))
    assert live.ok("echo z") == "z\n[b] 8 bytes waiting: b'defgmore'\n"
    assert live.ok("recv b") == "defgmore\n(8 bytes)\n"


def unread_raw(sock: socket.socket) -> int:
    import fcntl
    import termios

    return int.from_bytes(fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0" * 4), "little")


def test_tls_notices_say_data_not_tickets(live: Shell) -> None:
    context = session_ca(live.session).server_context()
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[ssl.SSLSocket] = []

    def accept() -> None:  # a TLS peer the test drives
        conn, _ = listener.accept()
        accepted.append(context.wrap_socket(conn, server_side=True))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        live.ok(f"tls connect t 127.0.0.1:{listener.getsockname()[1]} "
                "--server-hostname localhost")  # fmt: skip
        thread.join(timeout=30)
        server = accepted[0]
        raw = sock_of(live, "t").sock
        wait_until(lambda: not watched(live, "t"))  # the tickets came and were noticed
        assert live.ok("echo quiet") == "quiet\n"  # no notice about TLS's own records
        server.sendall(b"hello\n")
        wait_until(lambda: pending_from(live, "t") and unread_raw(raw) > 0)
        assert live.ok("echo x") == "x\n[t] 6 bytes waiting: b'hello\\n'\n"
        assert live.ok("recv t") == "hello\n(6 bytes)\n"
        server.setblocking(False)  # send close_notify (TLS's own EOF), don't wait for ours
        with contextlib.suppress(ssl.SSLWantReadError):
            server.unwrap()
        wait_until(lambda: pending_from(live, "t"))
        # Found when the notice is due (decrypting is for the main thread), told once.
        out = live.ok("echo y") + live.ok("echo z") + live.ok("echo w")
        assert out.count("[t] the peer closed its side: recv will return EOF\n") == 1, out
        assert live.ok("recv t") == "EOF: the peer closed its side (recv returned b'')\n"
        wait_until(lambda: not watched(live, "t"))
        assert live.ok("echo v") == "v\n"
    finally:
        thread.join(timeout=30)
        for tls in accepted:
            tls.close()
        listener.close()


# -- sends are bounded too ------------------------------------------------------------------


def test_a_large_send_to_a_peer_that_does_not_read_ends_at_the_timeout(shell: Shell) -> None:
    shell.ok("tcp listen srv 0; tcp connect c srv; accept srv s")
    big = f"{shell.session.tmp}/big"
    with open(big, "wb") as fh:
        fh.write(os.urandom(32 << 20))
    out = shell.ok(f"send c --file {big} --timeout 0.5")
    sent = int(
        re.fullmatch(
            r"c: sent (\d+) bytes of 33554432 \(send may send less: "
            r"sendall loops\)\nnote: c's send took \d+ of 33554432 bytes: .*\n",
            out,
        ).group(1)
    )  # type: ignore[union-attr]
    assert 0 < sent < 32 << 20
    line = shell.fails(f"sendall c --file {big} --timeout 0.5")
    assert re.fullmatch(
        r"error: c: timeout after 0.5 s: sent \d+ of 33554432 bytes; the send "
        rf"buffer is full and the peer is not reading; {TIMEOUT_HINT}",
        line,
    )


def test_a_tls_send_to_a_peer_that_does_not_read_ends_at_the_timeout(shell: Shell) -> None:
    context = session_ca(shell.session).server_context()
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve() -> None:  # handshakes, then reads nothing until told
        conn, _ = listener.accept()
        with context.wrap_socket(conn, server_side=True):
            done.wait(30)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        shell.ok(f"tls connect t 127.0.0.1:{listener.getsockname()[1]} "
                 "--server-hostname localhost")  # fmt: skip
        big = f"{shell.session.tmp}/big"
        with open(big, "wb") as fh:
            fh.write(os.urandom(32 << 20))
        line = shell.fails(f"sendall t --file {big} --timeout 0.5")
        assert line.startswith("error: t: timeout after 0.5 s: sent ") and TIMEOUT_HINT in line
    finally:
        done.set()
        thread.join(timeout=30)
        listener.close()


def test_a_tls_sockets_own_timeout_and_non_blocking_rule(shell: Shell) -> None:
    """settimeout and setblocking on a TLS socket: its own timeout ends a read that found
    only a ticket; non-blocking says EAGAIN; back to None, each command's --timeout."""
    fresh_tls(shell)
    own = "error: t: the socket's own timeout (0.3 s) ran out; settimeout t none lets each "
    shell.ok("settimeout t 0.3")
    for line in ("recv t", "recv t --line", "expect t x"):
        assert shell.fails(line) == own + "command wait its --timeout S", line
    shell.ok("setblocking t off")
    assert shell.fails("recv t") == (
        "error: t: nothing to receive on a non-blocking socket (EAGAIN); setblocking t on to wait"
    )
    shell.ok("setblocking t on; sendline t hi")
    assert shell.ok("recv t --line") == "hi\n(3 bytes)\n"
    assert "timeout:     None (blocking)" in shell.ok("info t")


def test_tls_eof_behind_unread_data_is_told_once_after_the_data(live: Shell) -> None:
    """Data, then the peer's close, both decrypted ahead: the data is announced, and once
    it is read, EOF (nothing on the wire will say so again); the watcher does not spin on
    a socket that stays readable at EOF."""
    context = session_ca(live.session).server_context()
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[ssl.SSLSocket] = []

    def accept() -> None:
        conn, _ = listener.accept()
        accepted.append(context.wrap_socket(conn, server_side=True))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        live.ok(f"tls connect t 127.0.0.1:{listener.getsockname()[1]} "
                "--server-hostname localhost")  # fmt: skip
        thread.join(timeout=30)
        server = accepted[0]
        server.sendall(b"last words\n")
        server.setblocking(False)
        with contextlib.suppress(ssl.SSLWantReadError):
            server.unwrap()
        server.close()
        # All came (CLOSE_WAIT: the FIN, so the data and close_notify before it too).
        res = sock_of(live, "t")
        wait_until(lambda: res.tcp_state() == "CLOSE_WAIT" and pending_from(live, "t"))
        out = live.ok("echo x")
        assert out == "x\n[t] 11 bytes waiting: b'last words\\n'\n", out
        assert not watched(live, "t")  # past EOF: not selected again
        assert live.ok("echo y") == "y\n" and not watched(live, "t")
        out = live.ok("recv t")
        assert out == "last words\n(11 bytes)\n[t] the peer closed its side: recv will return EOF\n"
        assert live.ok("echo z") == "z\n" and not watched(live, "t")
        assert live.ok("recv t") == "EOF: the peer closed its side (recv returned b'')\n"
        assert live.ok("echo w") == "w\n"
    finally:
        thread.join(timeout=30)
        for tls in accepted:
            tls.close()
        listener.close()


def test_shutting_reading_down_is_no_news_from_the_peer(live: Shell) -> None:
    live.ok("socketpair a b")
    out = live.ok("shutdown b rd")
    wait_until(lambda: not watched(live, "b"))  # readable now (recv returns b''): looked at
    out += live.ok("echo x")
    assert "the peer closed" not in out, out
    assert "peer EOF" not in live.ok("ls")


def test_ctrl_c_cancels_wait_on_a_fresh_tls_socket(shell: Shell) -> None:
    fresh_tls(shell)
    main = threading.main_thread().ident

    def waiting() -> bool:  # the main thread is inside the wait
        import sys
        import traceback

        frame = sys._current_frames().get(main or 0)
        return frame is not None and any(
            f.name == "wait_for" for f in traceback.extract_stack(frame)
        )

    def interrupt() -> None:
        wait_until(waiting)
        os.kill(os.getpid(), signal.SIGINT)

    helper = threading.Thread(target=interrupt)
    helper.start()
    try:
        line = shell.fails("wait t data --timeout 60")
    finally:
        helper.join()
    assert line == "error: cancelled by Ctrl-C; everything else carries on"
    shell.ok("sendline t on")
    assert shell.ok("recv t --line") == "on\n(3 bytes)\n"


@pytest.mark.parametrize("family", ["udp", "unix"])
def test_recv_on_a_datagram_socket_says_it_cut_the_datagram(
    shell: Shell, family: str, tmp_path: Path
) -> None:
    if family == "udp":
        shell.ok("udp open s --bind 127.0.0.1:0; udp open c --connect s")
        send = "send c"
    else:
        shell.ok(f"unix dgram s {tmp_path}/s.sock; unix dgram c")
        send = "sendto c s"
    # Binary, with NUL, CR and LF; the recv's buffer one byte short of it.
    payload = b"\x00\r\nab\x00cd\n"
    shell.ok(f"{send} --hex {payload.hex()}")
    out = shell.ok(f"recv s {len(payload) - 1} --repr")
    assert out.splitlines()[-3:-1] == [
        f"{payload[:-1]!r}  ({len(payload) - 1} bytes)",
        f"warning: the datagram was {len(payload)} bytes, longer than {len(payload) - 1}: "
        "the last byte of it is lost (MSG_TRUNC)",
    ]
    assert out.startswith(repr(payload[:-1]))
    note = out.splitlines()[-1]
    assert note.startswith("note: one recv reads one whole datagram")
    # A UNIX datagram is not bounded by UDP's length: the note says so there.
    assert ("a UNIX one may be longer (up to the sender's SO_SNDBUF)" in note) == (family == "unix")
    # The call made says the flag it passed and what it returned: the whole length.
    explained = shell.ok("explain")
    assert (f"s.recv_into(bytearray({len(payload) - 1}), {len(payload) - 1}, "
            f"socket.MSG_TRUNC)  # -> {len(payload)}") in explained  # fmt: skip
    # The rest is gone: the next recv waits for a datagram that never comes.
    assert "timeout after 0.2 s" in shell.fails("recv s --timeout 0.2")
    # A datagram that fits exactly is not cut, and the note is said once only.
    shell.ok(f"{send} --hex {payload.hex()}")
    out = shell.ok(f"recv s {len(payload)} --repr")
    assert out == f"{payload!r}  ({len(payload)} bytes)\n"
    assert "warning" not in out
    big = os.urandom(60000)
    (tmp_path / "big").write_bytes(big)
    shell.ok(f"{send} --file {tmp_path}/big")
    out = shell.ok("recv s 1000 --hex")
    assert "warning: the datagram was 60,000 bytes, longer than 1,000: the last 59,000 bytes" in out
    assert "note:" not in out


def test_recv_of_an_empty_datagram_says_so_and_no_eof(shell: Shell) -> None:
    shell.ok("udp open s --bind 127.0.0.1:0; udp open c --connect s")
    shell.ok('send c ""')
    assert shell.ok("recv s") == "(0 bytes: an empty datagram)\n"
    shell.ok("send c after")
    assert shell.ok("recv s") == "after\n(5 bytes)\n"  # the socket carries on: no EOF
