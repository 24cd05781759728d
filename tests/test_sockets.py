"""Sockets on loopback: every command against real peers, and the errors made for real."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from tests.helpers import Shell, python_http_server


def pair(shell: Shell) -> None:
    shell.ok("tcp listen srv 0; tcp connect c srv; accept srv s")


def test_tcp_pair_and_message_boundaries(shell: Shell) -> None:
    out = shell.ok("tcp listen srv 0")
    assert re.fullmatch(r"srv: listening on 127\.0\.0\.1:\d+\n", out)
    assert re.fullmatch(r"c: connected 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+\n",
                        shell.ok("tcp connect c srv"))  # fmt: skip
    assert shell.ok("accept srv s").startswith("s: accepted from 127.0.0.1:")
    shell.ok('send c "one "; send c "two"')
    assert shell.ok("wait s data") == "s: data waiting: recv s\n"
    # Two sends, one recv: TCP is a byte stream, not messages (and a note says so).
    assert shell.ok("recv s").startswith("one two\n(7 bytes)\nnote: one recv on s read 7 bytes")
    shell.ok("send s abcdef")
    assert shell.ok("recv c 4") == "abcd\n(4 bytes)\n"
    assert shell.ok("recv c").startswith("ef\n(2 bytes)\nnote: the 6 bytes s sent in one send")
    shell.ok("set events live")
    # Said once, by the command: the log keeps it, the live display doesn't repeat it.
    out = shell.ok("shutdown c wr; wait s eof")
    assert out.startswith("c: shut down wr: the peer will read EOF\n") and "[c]" not in out
    assert out.endswith("s: the peer closed its side: recv will return EOF\n")
    assert "-- shutdown(SHUT_WR)" in shell.ok("log c --last 1")


def test_recv_line_leaves_the_rest_in_the_kernel(shell: Shell) -> None:
    pair(shell)
    shell.ok('send c "first\\nsecond\\nthi"')
    shell.ok("wait s data")
    assert shell.ok("recv s --line") == "first\n(6 bytes)\n"
    assert "unread:      10 bytes" in shell.ok("info s")
    assert shell.ok("recv s --until ond") == "second\n(6 bytes)\n"
    assert shell.ok("recv s --line") == "\n(1 byte)\n"  # the newline after "second"
    shell.ok('send c "rd\\n"')
    assert shell.ok("recv s --line") == "third\n(6 bytes)\n"


def test_half_close_and_eof(shell: Shell) -> None:
    pair(shell)
    shell.ok("sendline c bye; shutdown c wr")
    assert (
        shell.ok("recv s --all")
        == "bye\n(4 bytes)\nEOF: the peer closed its side (recv returned b'')\n"
    )
    assert shell.ok("recv s") == "EOF: the peer closed its side (recv returned b'')\n"
    assert "tcp state:   CLOSE_WAIT" in shell.ok("info s")
    # The other direction still works after a half-close.
    shell.ok("sendline s still-open")
    assert shell.ok("recv c --line") == "still-open\n(11 bytes)\n"
    ls = shell.ok("ls")
    assert "shut wr" in ls and "peer EOF" in ls


def test_recv_timeout_says_what_waits(shell: Shell) -> None:
    pair(shell)
    assert shell.fails("recv s --timeout 0.2") == (
        "error: s: timeout after 0.2 s waiting for data; 0 bytes waiting; --timeout S waits longer"
    )
    shell.ok("send c partial")
    line = shell.fails("recv s --line --timeout 0.3")
    assert line == ("error: s: timeout after 0.3 s waiting for a line; 7 bytes came, kept for "
                    "the next recv: b'partial'; --timeout S waits longer")  # fmt: skip
    # Kept, not lost: the next recv returns them first, then what follows.
    shell.ok('send c " and more\\n"')
    assert shell.ok("recv s --line") == "partial and more\n(17 bytes)\n"


def test_socket_timeout_and_nonblocking_are_the_sockets_own(shell: Shell) -> None:
    pair(shell)
    assert "non-blocking" in shell.ok("setblocking s off")
    assert "(EAGAIN)" in shell.fails("recv s")
    shell.ok("settimeout s 0.2")
    assert "the socket's own timeout (0.2 s) ran out" in shell.fails("recv s")
    shell.ok("settimeout s none")
    assert "timeout:     None (blocking)" in shell.ok("info s")


def test_accept_names_and_listener_kinds(shell: Shell) -> None:
    shell.ok("tcp listen srv 0; tcp connect a srv; tcp connect b srv")
    assert shell.ok("accept srv").startswith("srv-1: accepted from")
    assert shell.ok("accept srv").startswith("srv-2: accepted from")
    assert "accepted:    2" in shell.ok("info srv")
    assert "timeout after 0.2 s waiting for a connection" in shell.fails("accept srv --timeout 0.2")
    assert "srv is a listener; recv takes a tcp socket" in shell.fails("recv srv")
    assert "a is a tcp socket; accept takes a listener" in shell.fails("accept a")


def test_udp(shell: Shell) -> None:
    shell.ok("udp open server --bind 0; udp open client --connect server")
    shell.ok("send client ping")
    out = shell.ok("recvfrom server")
    assert re.fullmatch(r"from 127\.0\.0\.1:\d+  \(4 bytes\)\nping\n", out)
    shell.ok("udp open loose")
    shell.ok("sendto loose server 0123456789")
    out = shell.ok("recvfrom server 4")
    assert (
        "0123\nwarning: the datagram was longer than 4 bytes: the rest is lost (MSG_TRUNC)\n"
        "note: one recv reads one whole datagram or what fits" in out
    )
    shell.ok("sendto loose server one; sendto loose server two")
    assert shell.ok("recv server") == "one\n(3 bytes)\n"  # one datagram per recv
    assert "each recv is one datagram" in shell.fails("recv server --line")


def test_unix_stream_and_its_file(shell: Shell, tmp_path: Path) -> None:
    path = tmp_path / "demo.sock"
    shell.ok(f"unix listen srv {path}")
    assert path.exists()
    shell.ok(f"unix connect c {path}; accept srv s; sendline c over-unix")
    assert shell.ok("recv s --line") == "over-unix\n(10 bytes)\n"
    assert f"removed {path}" in shell.ok("close srv")
    assert not path.exists()
    assert shell.fails(f"unix connect d {path}") == (
        f"error: d: No such file or directory (ENOENT): {path}: no socket there, or no "
        "directory to make it in"
    )
    path.touch()  # a file that is no socket
    assert f"{path} is a file, not a socket: pick another path" in shell.fails(
        f"unix listen again {path}"
    )
    line = shell.fails(f"unix connect d {path}")
    assert "(ECONNREFUSED)" in line and "exists but nothing listens on it" in line
    path.unlink()
    with socket.socket(socket.AF_UNIX) as crashed:  # one a crashed server left behind
        crashed.bind(str(path))
    assert f"{path} already exists (a socket left behind?): remove it or pick" in shell.fails(
        f"unix listen again {path}"
    )
    # never "remove it" of a directory: the user meant a socket inside it
    assert f"{tmp_path} is a directory: give a path for a new socket in it, like " in (
        shell.fails(f"serve newserver unix {tmp_path}")
    )


def test_unix_dgram_and_socketpair(shell: Shell, tmp_path: Path) -> None:
    shell.ok(f"unix dgram server {tmp_path}/d.sock; unix dgram client")
    shell.ok(f"sendto client {tmp_path}/d.sock hello")
    assert shell.ok("recv server") == "hello\n(5 bytes)\n"
    shell.ok("socketpair left right; sendline left across")
    assert shell.ok("recv right --line") == "across\n(7 bytes)\n"


def test_ipv6_loopback(shell: Shell) -> None:
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    assert re.fullmatch(r"v6: listening on \[::1\]:\d+\n", shell.ok("tcp listen v6 [::1]:0"))
    shell.ok("tcp connect c v6; accept v6 s; send c six")
    assert shell.ok("recv s") == "six\n(3 bytes)\n"
    assert "family:      AF_INET6" in shell.ok("info s")


def test_fetch_from_pythons_own_http_server(shell: Shell, tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hello from http.server\n")
    with python_http_server(tmp_path) as port:
        shell.ok(f"tcp connect web 127.0.0.1:{port}")
        shell.ok('sendall web "GET /hello.txt HTTP/1.0\\r\\n\\r\\n"')
        out = shell.ok("recv web --all")
        assert out.startswith("HTTP/1.0 200 OK\\r\nServer: SimpleHTTP/")
        assert "hello from http.server" in out and out.endswith("recv returned b'')\n")


def test_errors_made_for_real(shell: Shell) -> None:
    shell.ok("tcp listen gone 0")
    port = shell.session.volatile["gone.port"]
    shell.ok("close gone")
    assert shell.fails(f"tcp connect c {port}") == (
        f"error: c: Connection refused (ECONNREFUSED): nothing listens on 127.0.0.1:{port}"
    )
    shell.ok("tcp listen busy 0")
    busy = shell.session.volatile["busy.port"]
    line = shell.fails(f"tcp listen again {busy}")
    assert "(EADDRINUSE)" in line and "or 0 for a free one" in line and "--reuseaddr" in line
    assert "can't resolve nosuch.invalid:80" in shell.fails("tcp connect c nosuch.invalid:80")
    assert "bad address" in shell.fails("tcp connect c nowhere")
    assert "out of range" in shell.fails("tcp connect c 70000")
    pair(shell)
    shell.ok("close s")
    errors = []
    for _ in range(20):
        ok, _, err = shell("send c x")
        if not ok:
            errors.append(err)
            break
    assert errors and ("(EPIPE)" in errors[0] or "(ECONNRESET)" in errors[0]), errors


def test_sockopt_and_dup(shell: Shell) -> None:
    pair(shell)
    assert shell.ok("sockopt c TCP_NODELAY") == "c: IPPROTO_TCP.TCP_NODELAY = 0\n"
    assert shell.ok("sockopt c tcp_nodelay on") == "c: IPPROTO_TCP.TCP_NODELAY = 1\n"
    assert "SOL_SOCKET.SO_RCVBUF = " in shell.ok("sockopt c SO_RCVBUF")
    assert "unknown option" in shell.fails("sockopt c SO_NOPE")
    shell.ok("dup c c2; send c2 via-dup")
    assert shell.ok("recv s") == "via-dup\n(7 bytes)\n"


def test_hex_and_repr_display(shell: Shell) -> None:
    pair(shell)
    shell.ok("send c --hex '00 01 02 ff'")
    shell.ok("wait s data")
    assert shell.ok("recv s --repr") == "b'\\x00\\x01\\x02\\xff'  (4 bytes)\n"


def test_py_sees_the_socket(shell: Shell) -> None:
    pair(shell)
    assert shell.ok("py type(c).__name__") == "'socket'\n"
    assert shell.ok("py c.getpeername() == s.getsockname()") == "True\n"


def test_log_shows_socket_traffic(shell: Shell) -> None:
    pair(shell)
    shell.ok("sendline c hello; recv s --line")
    log = shell.ok("log s")
    assert "<- socket 6 bytes: hello\\n" in log
    assert "-> socket 6 bytes: hello\\n" in shell.ok("log c")


def test_family_picks_the_address_family(shell: Shell) -> None:
    try:
        socket.getaddrinfo("localhost", 0, socket.AF_INET6)
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.skip("localhost has no IPv6 address here")
    shell.ok("tcp listen v6 [::1]:0")
    port = shell.session.volatile["v6.port"]
    assert f"-> [::1]:{port}" in shell.ok(f"tcp connect c localhost:{port} --family 6")
    assert "refused" in shell.fails(f"tcp connect d localhost:{port} --family 4")


def test_wait_eof_withdraws_the_watchers_notice_that_came_first(shell: Shell) -> None:
    """The watcher may post "the peer closed its side" just before `wait s eof` says the
    same: said once, by the command (this once showed twice under load)."""
    shell.ok("tcp listen srv 0; tcp connect c srv; accept srv s; set events live")
    shell.ok("shutdown c wr")
    s = shell.session.registry.get("s")
    assert shell.session.wait_for(lambda: s.ready("eof"), 10)  # the FIN has come
    # The watcher's notice, as it lands when it wins the race (made here, not raced).
    s._post("note", "the peer closed its side: recv will return EOF")
    assert any(e.source == "s" and "EOF" in e.detail for e in list(shell.session.pending))
    out = shell.ok("wait s eof")
    assert "[s]" not in out
    assert out.startswith("s: the peer closed its side: recv will return EOF\n")
