"""expect on every stream: a child's output, and tcp, tls, unix and socketpair sockets,
where only the bytes through the match are taken and the rest waits for the next recv."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import ssl
import threading
import time
from pathlib import Path

import pytest

from pslrepl.resources.sockets import Sock
from pslrepl.testca import session_ca
from tests.helpers import Shell


def sock_of(shell: Shell, name: str) -> Sock:
    res = shell.session.registry.get(name)
    assert isinstance(res, Sock)
    return res


@pytest.fixture(params=["tcp", "unix", "socketpair", "tls"])
def stream(request: pytest.FixtureRequest, shell: Shell, tmp_path: Path) -> str:
    """A connected pair of the given kind: the shell writes with `w`, expects on `r`."""
    kind = request.param
    if kind == "tcp":
        shell.ok("tcp listen srv 0; tcp connect w srv; accept srv r")
    elif kind == "unix":
        shell.ok(f"unix listen srv {tmp_path}/s.sock; unix connect w {tmp_path}/s.sock")
        shell.ok("accept srv r")
    elif kind == "socketpair":
        shell.ok("socketpair w r")
    else:  # TLS both ways in one shell: the client's handshake meets a server thread
        context = session_ca(shell.session).server_context()
        listener = socket.create_server(("127.0.0.1", 0))
        relay: list[ssl.SSLSocket] = []

        def serve() -> None:  # pass what comes on to a plain socket `w` reaches
            conn, _ = listener.accept()
            relay.append(context.wrap_socket(conn, server_side=True))

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        shell.ok(f"tls connect r 127.0.0.1:{listener.getsockname()[1]} --server-hostname "
                 "localhost")  # fmt: skip
        thread.join(timeout=30)
        listener.close()
        tls = relay[0]
        request.addfinalizer(tls.close)
        # `w` is the test's side, written through a socketpair the test pumps into TLS.
        shell.ok("socketpair w wpeer")
        pump_from = sock_of(shell, "wpeer").sock.dup()
        request.addfinalizer(pump_from.close)

        def pump() -> None:
            try:
                while chunk := pump_from.recv(65536):
                    tls.sendall(chunk)
                tls.setblocking(False)
                tls.unwrap()  # close_notify: EOF for `r`
            except OSError:
                pass  # the test is over (its sockets closed), or the peer wants no more

        threading.Thread(target=pump, daemon=True).start()
    return kind


def test_expect_takes_only_through_the_match(shell: Shell, stream: str) -> None:
    shell.ok('send w "220 ready\\r\\nversion 42 beta\\x00\\r\\nrest"')
    out = shell.ok(r"expect r 'version (\d+) (\w+)' --timeout 10")
    assert out == "220 ready\\r\nversion 42 beta\ngroup 1: 42\ngroup 2: beta\n"
    if stream != "tls":  # left in the kernel: peeked at, not taken
        assert "unread:      7 bytes" in shell.ok("info r")
        assert "held:" not in shell.ok("info r")
    assert shell.ok("recv r --repr --timeout 10") == "b'\\x00\\r\\nrest'  (7 bytes)\n"


def test_expect_timeout_says_what_came_and_keeps_it(shell: Shell, stream: str) -> None:
    shell.ok("send w 'partial answ'")
    assert shell.fails("expect r 'answer' --timeout 0.5") == (
        "error: r: timeout after 0.5 s waiting for a match for b'answer'; 12 bytes came, "
        "kept for the next recv: b'partial answ'; --timeout S waits longer"
    )
    shell.ok("send w 'er!'")
    assert shell.ok("expect r 'answer' --timeout 10") == "partial answer\n"
    assert shell.ok("recv r --timeout 10") == "!\n(1 byte)\n"


def test_expect_eof_before_the_match(shell: Shell, stream: str) -> None:
    shell.ok("send w 'no luck'; shutdown w wr")
    ok, out, err = shell("expect r 'luckier' --timeout 10")
    assert not ok and out == "no luck\n"
    assert err == ("error: expect: the peer closed r (EOF) before b'luckier' matched; 7 bytes "
                   "came: b'no luck'\n")  # fmt: skip
    assert shell.ok("recv r --timeout 10") == "EOF: the peer closed its side (recv returned b'')\n"


def test_expect_after_a_large_binary_payload(shell: Shell, stream: str) -> None:
    """A hundred kilobytes of anything (what the kernel holds for one shell that both
    writes and reads), then the marker: the match and what follows are exact (sha256 of
    what recv shows after it)."""
    noise = os.urandom(100_000).replace(b"MARK", b"mark")
    tail = os.urandom(5000) + b"\x00\r\n"
    path = f"{shell.session.tmp}/payload"
    with open(path, "wb") as fh:
        fh.write(noise + b"MARK" + tail)
    shell.ok(f"sendall w --file {path} --timeout 30; shutdown w wr")
    out = shell.ok("expect r MARK --hex --timeout 30")
    assert out.splitlines()[-1] == f"{len(noise) + 4:08x}"  # the hexdump's length line
    rest = shell.ok("recv r --all --repr --timeout 30")
    literal = rest.split("  (")[0]
    assert hashlib.sha256(eval(literal)).hexdigest() == hashlib.sha256(tail).hexdigest()


def test_expect_on_a_socket_refuses_stderr_and_datagrams(shell: Shell) -> None:
    shell.ok("socketpair a b; udp open u")
    assert shell.fails("expect b x --stderr") == (
        "error: expect: --stderr is for a process's stderr; b is a unix socket, one stream "
        "both ways: leave it out"
    )
    assert (
        shell.fails("expect u x")
        == "error: u is a udp socket; expect takes a process, an sh job, a tcp socket, a tls "
        "connection or a unix socket"
    )
    assert "bad regular expression" in shell.fails("expect b '('")


def test_expect_on_a_process_still_works(shell: Shell) -> None:
    shell.spawn("p", "import sys; print('pid 4242 ready'); sys.stdin.read()")
    assert shell.ok(r"expect p 'pid (\d+)'") == "pid 4242\ngroup 1: 4242\n"
    line = shell.fails("expect p never --timeout 0.3")
    assert line.endswith("; --timeout S waits longer")
    shell.ok("eof p")
    assert re.search(r"before b'never' matched; 7 bytes came: b' ready\\n'$", shell.fails(
        "expect p never"))  # fmt: skip


def test_help_expect_names_sockets(shell: Shell) -> None:
    out = shell.ok("help expect")
    assert "stream socket" in out and "tcp, tls or unix socket" in out
    assert "expect t 'HTTP/1\\.[01] (\\d+)'" in out


def test_expect_on_fresh_tls_waits_for_data_not_tickets(shell: Shell) -> None:
    """A TLS 1.3 session ticket makes the socket readable with no data: expect honours
    its timeout, and Ctrl-C, all the same."""
    import select

    shell.ok("serve web tcp 0 --handler echo --tls --threading; tls connect t web")
    assert select.select([sock_of(shell, "t").sock], [], [], 10)[0]  # the ticket came
    assert shell.fails("expect t 'x+' --timeout 0.3") == (
        "error: t: timeout after 0.3 s waiting for a match for b'x+'; 0 bytes waiting; "
        "--timeout S waits longer"
    )
    res = sock_of(shell, "t")

    def interrupt() -> None:  # Ctrl-C as the terminal sends it, once expect reads
        deadline = time.monotonic() + 20
        while not res.busy and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    helper = threading.Thread(target=interrupt)
    helper.start()
    try:
        line = shell.fails("expect t zzz --timeout 60")
    finally:
        helper.join()
    assert line == "error: cancelled by Ctrl-C; everything else carries on"
    shell.ok("sendline t xx-after")
    assert shell.ok("expect t 'x+'") == "xx\n"
    assert shell.ok("recv t --line") == "-after\n(7 bytes)\n"
