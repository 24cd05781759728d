"""Reading into buffers you own (recv_into, recvfrom_into) and through a file object
(makefile, then read and write on it), on real loopback sockets."""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pslrepl.commands.options import TIMEOUT_HINT
from tests.helpers import Shell, make_shell, open_fds
from tests.test_sockets_reading import sock_of

PAYLOAD = b"hel\x00\r\nlo, 24 bytes here\n"  # NUL, CR and LF among them
assert len(PAYLOAD) == 24


@pytest.fixture
def fshell() -> Iterator[Shell]:
    sh = make_shell()
    sh.session.settings.timeout = 5.0
    try:
        yield sh
    finally:
        sh.close()


def peer_of(shell: Shell, name: str) -> socket.socket:
    """A socketpair's other end, taken out of the shell: the test's own peer."""
    return sock_of(shell, name).sock


def test_recv_into_of_5_bytes_out_of_24_fills_the_buffer_from_the_start(shell: Shell) -> None:
    shell.ok("socketpair a b")
    peer_of(shell, "a").sendall(PAYLOAD)
    out = shell.ok("recv_into b 5 --size 24")
    assert out.splitlines() == [
        "b: recv_into returned 5: buf[:5] filled, 19 of its 24 bytes untouched",
        "buf = bytearray(b'hel\\x00\\r' + b'\\x00' * 19)",
    ]
    assert shell.ok("explain").splitlines()[1:] == [
        "  buf = bytearray(24)",
        "  b.recv_into(buf, 5)  # -> 5",
    ]
    # What did not fit in NBYTES stays for the next read.
    assert shell.ok("recv b --repr").splitlines()[0] == repr(PAYLOAD[5:]) + "  (19 bytes)"


def test_recv_into_the_whole_buffer_then_eof(shell: Shell) -> None:
    shell.ok("socketpair a b")
    peer_of(shell, "a").sendall(b"\r\n\x00")
    assert shell.ok("recv_into b --size 3").splitlines() == [
        "b: recv_into returned 3: all 3 bytes of buf filled",
        "buf = bytearray(b'\\r\\n\\x00')",
    ]
    shell.ok("close a")
    assert shell.ok("recv_into b").splitlines() == [
        "b: recv_into returned 0: EOF: the peer closed its side; buf untouched",
        "buf = bytearray(b'\\x00' * 64)",
    ]


def test_recv_into_refuses_more_than_the_buffer_and_times_out_as_recv_does(shell: Shell) -> None:
    shell.ok("socketpair a b")
    assert shell.fails("recv_into b 30 --size 24") == (
        "error: recv_into: NBYTES 30 is more than the buffer's 24 bytes: give --size 30 or more"
    )
    assert shell.fails("recv_into b --timeout 0.2") == (
        f"error: b: timeout after 0.2 s waiting for data; 0 bytes waiting; {TIMEOUT_HINT}"
    )


def test_recv_into_takes_what_a_timed_out_recv_kept_first(shell: Shell) -> None:
    shell.ok("socketpair a b")
    peer_of(shell, "a").sendall(b"no newline")
    assert "kept for the next recv" in shell.fails("recv b --line --timeout 0.2")
    out = shell.ok("recv_into b 2 --size 4")
    assert out.splitlines()[1] == "buf = bytearray(b'no' + b'\\x00' * 2)"
    assert "equivalent: the bytes an earlier read took" in shell.ok("explain")
    assert shell.ok("recv b") == " newline\n(8 bytes)\n"


def test_recvfrom_into_says_the_sender_and_warns_of_a_cut_datagram(shell: Shell) -> None:
    shell.ok("udp open u --bind 0; udp open v --bind 0")
    sender = sock_of(shell, "v").sock.getsockname()
    shell.ok("sendto v u 'ten\\x00bytes'; sendto v u next")
    out = shell.ok("recvfrom_into u 4 --size 6").splitlines()
    assert out == [
        f"u: recvfrom_into returned (4, {sender!r}): buf[:4] filled, 2 of its 6 bytes untouched",
        "buf = bytearray(b'ten\\x00' + b'\\x00' * 2)",
        "warning: the datagram was 9 bytes: the 5 that did not fit are lost (a datagram is "
        "read whole or cut)",
    ]
    # The rest of that datagram is gone: the next one comes whole.
    assert shell.ok("recvfrom_into u").splitlines()[1] == "buf = bytearray(b'next' + b'\\x00' * 60)"


def test_makefile_then_recv_shows_the_buffered_bytes_gone(fshell: Shell) -> None:
    fshell.ok("socketpair a b")
    peer = peer_of(fshell, "a")
    peer.sendall(PAYLOAD)
    assert (
        fshell.ok("makefile f b rb")
        == "f: BufferedReader over b (mode 'rb'): read f --line|--all|N\n"
    )
    assert fshell.ok("read f --line --repr").splitlines()[0] == "b'hel\\x00\\r\\n'  (6 bytes)"
    # readline took all 24 bytes into the file's buffer: the socket has none left.
    info = fshell.ok("info f")
    assert "holds:           18 bytes taken from b and not read yet" in info
    assert "from the socket: 24 bytes" in info
    assert fshell.fails("recv b --timeout 0.2") == (
        f"error: b: timeout after 0.2 s waiting for data; 0 bytes waiting; {TIMEOUT_HINT}"
    )
    assert fshell.ok("read f 5 --repr").splitlines()[0] == "b'lo, 2'  (5 bytes)"
    peer.shutdown(socket.SHUT_WR)
    assert fshell.ok("read f --all --repr").splitlines() == [
        repr(PAYLOAD[11:]) + "  (13 bytes)",
        "(13 bytes)",
        "EOF: the peer closed its side",
    ]
    assert fshell.ok("explain").splitlines()[1:] == [
        "  f.read()  # -> b'4 bytes here\\n'; equivalent: non-blocking tries as bytes come, "
        "so --timeout and Ctrl-C can end it"
    ]


def test_a_file_read_waits_for_a_whole_line_and_keeps_a_part_on_timeout(fshell: Shell) -> None:
    fshell.ok("socketpair a b; makefile f b rb")
    peer = peer_of(fshell, "a")
    peer.sendall(b"par")
    assert fshell.fails("read f --line --timeout 0.3") == (
        "error: f: timeout after 0.3 s waiting for a line; 3 bytes came, kept for the next "
        f"read: b'par'; {TIMEOUT_HINT}"
    )
    peer.sendall(b"t\nnext")
    assert fshell.ok("read f --line") == "part\n(5 bytes)\n"
    peer.close()
    assert fshell.ok("read f --line").splitlines() == [
        "next",
        "(4 bytes)",
        "EOF: the peer closed its side before the newline",
    ]


def test_a_text_file_reads_and_writes_str(fshell: Shell) -> None:
    fshell.ok("socketpair a b; makefile r b; makefile w b w")
    peer = peer_of(fshell, "a")
    peer.sendall("héllo\nrest".encode())
    assert fshell.ok("read r --line") == "héllo\n(7 bytes)\n"
    assert fshell.ok("explain").splitlines()[1].startswith("  r.readline()  # -> 'héllo\\n'")
    assert fshell.ok("write w 'ça va\\n'") == "w: wrote 7 bytes and flushed\n"
    assert peer.recv(64) == "ça va\n".encode()
    assert "DATA must decode" in fshell.fails("write w '\\xff'")


def test_a_file_says_what_its_mode_does_not_do(fshell: Shell) -> None:
    fshell.ok("socketpair a b; makefile f b rb; makefile g b wb")
    assert fshell.fails("write f hi") == (
        "error: write: f was made with mode 'rb': it only reads (makefile NEW b wb writes)"
    )
    assert fshell.fails("read g --line") == (
        "error: read: g was made with mode 'wb': it only writes (makefile NEW b rb reads)"
    )
    assert fshell.fails("read f") == (
        "error: read: say how to read f: --line (readline), --all (read to EOF) or N (read(N))"
    )
    assert "is a file object" in fshell.fails("read f --until x")
    assert fshell.fails("makefile h f") == (
        "error: f is a file; makefile takes a tcp socket or a unix socket"
    )


def test_a_large_write_through_a_file_reaches_the_peer_whole(fshell: Shell, tmp_path: Path) -> None:
    data = bytes(range(256)) * 4096 + b"\x00\r\n"  # a MiB and a bit: past the socket buffers
    (tmp_path / "big").write_bytes(data)
    fshell.ok("socketpair a b; makefile w b wb")
    peer = peer_of(fshell, "a")
    got = hashlib.sha256()
    count = [0]

    def drain() -> None:
        while count[0] < len(data):
            chunk = peer.recv(65536)
            if not chunk:
                break
            got.update(chunk)
            count[0] += len(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        assert fshell.ok(f"write w --file {tmp_path}/big") == (
            f"w: wrote {len(data):,} bytes and flushed\n".replace(",", "")
        )
    finally:
        reader.join(timeout=30)
    assert count[0] == len(data) and got.hexdigest() == hashlib.sha256(data).hexdigest()


def test_closing_the_file_keeps_the_socket_and_closing_both_frees_the_fd(fshell: Shell) -> None:
    fshell.ok("socketpair x y; close x y")  # the socket watcher's own fds, made once
    before = open_fds()
    fshell.ok("socketpair a b; makefile f b rb")
    assert fshell.ok("close f") == "f: closed; b stays open\n"
    fshell.ok("send a hi")
    assert fshell.ok("recv b") == "hi\n(2 bytes)\n"
    fshell.ok("makefile g b rb")
    fd = sock_of(fshell, "b").sock.fileno()
    # socket.close leaves the descriptor open while a file object is: the stdlib's rule.
    assert fshell.ok("close b") == (
        "b: closed; its descriptor stays open while g is (close g too: the connection "
        "ends with the last file object)\n"
    )
    assert fd in open_fds()
    assert (
        fshell.ok("close g")
        == "g: closed; its socket was closed already: its descriptor is closed now\n"
    )
    fshell.ok("close a")
    assert open_fds() <= before


def test_ls_info_and_wait_know_a_file(fshell: Shell) -> None:
    fshell.ok("socketpair a b; makefile f b rb")
    (row,) = [r.split() for r in fshell.ok("ls").splitlines() if r.startswith("f ")]
    assert row[:4] == ["f", "file", "open", "(rb)"]
    assert "--timeout" in fshell.fails("wait f data --timeout 0.2")
    peer_of(fshell, "a").sendall(b"x\n")
    assert fshell.ok("wait f data") == "f: data to read: read f\n"
    assert fshell.ok("fileno f") == f"f: fileno() returned {sock_of(fshell, 'b').sock.fileno()}\n"
