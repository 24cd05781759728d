"""serve --selectors: one thread and a selectors loop serve every built-in stream handler,
byte for byte, to many clients at once, as asyncore did."""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import threading
from pathlib import Path

import pytest

from pslrepl.handlers import chargen_line
from tests.helpers import Shell, port
from tests.test_servers import said, until

BINARY = bytes(range(256)) * 64 + b"\0\r\n\r\0\n"  # every byte value, NUL, CR and LF


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def connect(shell: Shell, name: str) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port(shell, name)), timeout=10)


def read_exactly(sock: socket.socket, size: int) -> bytes:
    got = bytearray()
    while len(got) < size:
        chunk = sock.recv(1 << 16)
        if not chunk:
            break
        got += chunk
    return bytes(got)


def read_to_eof(sock: socket.socket) -> bytes:
    got = bytearray()
    while chunk := sock.recv(1 << 16):
        got += chunk
    return bytes(got)


def send_and_read(sock: socket.socket, data: bytes) -> bytes:
    """Send all of data from a thread while reading the answer: a payload bigger than
    the socket buffers would otherwise deadlock both ends."""
    sender = threading.Thread(target=sock.sendall, args=(data,))
    sender.start()
    got = read_exactly(sock, len(data))
    sender.join(timeout=10)
    return got


@pytest.mark.parametrize("handler", ["echo", "upper"])
def test_echo_and_upper_answer_large_binary_payloads_exactly(shell: Shell, handler: str) -> None:
    out = shell.ok(f"serve s tcp 0 --handler {handler} --selectors")
    assert re.fullmatch(rf"s: SelectorsTCPServer serving {handler} on 127\.0\.0\.1:\d+\n", out)
    payload = BINARY + os.urandom(4 << 20) + BINARY  # past every buffer: 4 MiB and more
    with connect(shell, "s") as c:
        got = send_and_read(c, payload)
        c.shutdown(socket.SHUT_WR)
        assert read_to_eof(c) == b""  # EOF answered by EOF once all was sent
    want = payload if handler == "echo" else payload.upper()
    assert sha(got) == sha(want)
    until(shell, said(shell, "s", "left after"))
    assert f"bytes in:       {len(payload)}\n" in shell.ok("info s")
    assert f"bytes out:      {len(payload)}\n" in shell.ok("info s")


def test_one_thread_serves_many_clients_at_once(shell: Shell) -> None:
    threads_before = set(threading.enumerate())
    shell.ok("serve s tcp 0 --handler echo --selectors")
    clients = [connect(shell, "s") for _ in range(60)]
    try:
        for i, c in enumerate(clients):  # every one connected before any is answered
            c.sendall(f"client-{i}\0\r\n".encode() * 100)
        for i, c in enumerate(clients):
            want = f"client-{i}\0\r\n".encode() * 100
            assert read_exactly(c, len(want)) == want
        until(shell, lambda: len(shell.session.registry.get("s").connections) == 60)
        new = {t.name for t in set(threading.enumerate()) - threads_before}
        assert new - {"pslrepl:s:nudge"} == {"pslrepl:s"}  # the loop's; and the log's waker
        assert "serving 60 clients" in shell.ok("info s")
    finally:
        for c in clients:
            c.close()
    until(shell, lambda: not shell.session.registry.get("s").connections)


def test_discard_and_capture_read_everything_and_count_it(shell: Shell) -> None:
    payload = os.urandom(1 << 20) + BINARY
    for handler in ("discard", "capture"):
        shell.ok(f"serve {handler} tcp 0 --handler {handler} --selectors")
        with connect(shell, handler) as c:
            c.sendall(payload)
            c.shutdown(socket.SHUT_WR)
            assert read_to_eof(c) == b""  # nothing answered, then closed
        until(shell, said(shell, handler, f"(in {len(payload)}, out 0)"))
    log = shell.ok("log capture")
    assert "<- client " in log and "\\x00" in log  # what it kept, escaped


def test_daytime_says_the_time_and_closes(shell: Shell) -> None:
    shell.ok("serve day tcp 0 --handler daytime --selectors")
    with connect(shell, "day") as c:
        assert re.fullmatch(rb"\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}\r\n", read_to_eof(c))


def test_chargen_keeps_the_pattern_across_batches_until_the_client_closes(shell: Shell) -> None:
    shell.ok("serve gen tcp 0 --handler chargen --selectors")
    lines = 3000  # many batches of 64 lines
    with connect(shell, "gen") as c:
        got = read_exactly(c, lines * 74)
    assert got[: lines * 74] == b"".join(chargen_line(n) for n in range(lines))
    until(shell, lambda: not shell.session.registry.get("gen").connections)


def test_chat_passes_binary_lines_to_the_others_and_says_who_comes_and_goes(
    shell: Shell,
) -> None:
    shell.ok("serve room tcp 0 --handler chat --selectors")
    a = connect(shell, "room")
    until(shell, said(shell, "room", "connected"))
    b = connect(shell, "room")
    b_addr = f"127.0.0.1:{b.getsockname()[1]}"
    joined = f"* {b_addr} joined\n".encode()
    assert read_exactly(a, len(joined)) == joined
    line = b"\0bin\rary\xff"
    b.sendall(line + b"\n" + line)  # a line and a half
    said_line = f"{b_addr}: ".encode() + line + b"\n"
    assert read_exactly(a, len(said_line)) == said_line
    b.sendall(b"\n")
    assert read_exactly(a, len(said_line)) == said_line
    b.close()
    left = f"* {b_addr} left\n".encode()
    assert read_exactly(a, len(left)) == left
    a.close()


def test_forward_proxies_a_large_payload_and_passes_the_half_close_on(shell: Shell) -> None:
    shell.ok("serve back tcp 0 --handler echo --threading")
    shell.ok("serve proxy tcp 0 --handler forward:back --selectors")
    payload = BINARY + os.urandom(3 << 20)
    with connect(shell, "proxy") as c:
        got = send_and_read(c, payload)
        c.shutdown(socket.SHUT_WR)
        assert read_to_eof(c) == b""  # the echo server's EOF came back through
    assert sha(got) == sha(payload)
    until(shell, said(shell, "proxy", "left after"))
    assert f"(in {len(payload)}, out {len(payload)})" in shell.ok("log proxy")


def test_forward_to_nothing_closes_that_client_and_says_why(shell: Shell) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[1]
    shell.ok(f"serve proxy tcp 0 --handler forward:127.0.0.1:{dead} --selectors")
    with connect(shell, "proxy") as c:
        assert read_to_eof(c) == b""
    until(shell, said(shell, "proxy", "can't reach"))
    assert "Connection refused" in shell.ok("log proxy")


def test_http_serves_large_binary_files_exactly_and_refuses_what_it_should(
    shell: Shell, tmp_path: Path
) -> None:
    blob = BINARY + os.urandom(5 << 20)
    (tmp_path / "blob.bin").write_bytes(blob)
    os.symlink("/etc/passwd", tmp_path / "out")
    shell.ok(f"serve web tcp 0 --handler http --dir {tmp_path} --selectors")
    p = port(shell, "web")

    def get(path: str, method: str = "GET") -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", p, timeout=10)
        conn.request(method, path)
        answer = conn.getresponse()
        body = answer.read()
        conn.close()
        return answer.status, body

    results: list[tuple[int, bytes]] = []
    getters = [threading.Thread(target=lambda: results.append(get("/blob.bin")))
               for _ in range(8)]  # fmt: skip
    for t in getters:
        t.start()
    for t in getters:
        t.join(timeout=30)
    assert [(status, sha(body)) for status, body in results] == [(200, sha(blob))] * 8
    assert get("/blob.bin", "HEAD") == (200, b"")
    assert get("/nothing-here")[0] == 404
    assert get("/out")[0] == 403  # a symbolic link out of the directory
    until(shell, said(shell, "web", '"GET /nothing-here HTTP/1.1" 404'))


def test_a_request_that_never_ends_its_headers_is_refused(shell: Shell) -> None:
    shell.ok("serve web tcp 0 --handler http --selectors")
    with connect(shell, "web") as c:
        c.sendall(b"GET / HTTP/1.0\r\nX: " + b"a" * 70000)
        assert read_to_eof(c).startswith(b"HTTP/1.0 431 ")


def test_idle_clients_are_closed_and_said(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --handler echo --selectors --idle 0.3")
    with connect(shell, "e") as c:
        assert read_to_eof(c) == b""
    until(shell, said(shell, "e", "did nothing for 0.3 s"))


def test_a_unix_server_and_stop_with_clients_still_connected(shell: Shell, tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    threads_before = set(threading.enumerate())
    shell.ok(f"serve u unix {path} --handler upper --selectors")
    held = []
    for _ in range(3):
        c = socket.socket(socket.AF_UNIX)
        c.settimeout(10)
        c.connect(str(path))
        c.sendall(b"x\n")
        assert read_exactly(c, 2) == b"X\n"
        held.append(c)
    assert shell.ok("stop u").startswith("u: stopped after serving 3 clients")
    for c in held:
        assert read_to_eof(c) == b""  # stop ended them
        c.close()
    assert not path.exists()
    assert not [t.name for t in set(threading.enumerate()) - threads_before]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("serve s udp 0 --selectors", "--selectors serves streams"),
        ("serve s tcp 0 --selectors --tls", "--tls is not for --selectors"),
        ("serve s tcp 0 --selectors --manual", "--manual is not for --selectors"),
        ("serve s tcp 0 --selectors --max-clients 3", "--max-clients is not for --selectors"),
        ("serve s tcp 0 --selectors --threading", "--threading"),
        ("serve s tcp 0 --selectors --handler python:x.py:C", "use --threading"),
    ],
)
def test_what_selectors_does_not_serve_is_one_line(shell: Shell, line: str, says: str) -> None:
    assert says in shell.fails(line)
    assert "s" not in shell.session.registry.names()


def test_a_bug_in_a_channel_is_reported_and_the_loop_goes_on(
    shell: Shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pslrepl.handlers.channels import UpperChannel

    def broken(self: UpperChannel, data: bytes) -> None:
        raise ValueError("injected: " + data.decode())

    shell.ok("serve s tcp 0 --handler upper --selectors")
    with monkeypatch.context() as patch:
        patch.setattr(UpperChannel, "received", broken)  # a bug of ours, injected
        with connect(shell, "s") as c:
            c.sendall(b"boom")
            assert read_to_eof(c) == b""  # that client is closed
            me = f"127.0.0.1:{c.getsockname()[1]}"
    until(shell, said(shell, "s", f"the handler raised while serving {me}"))
    assert "ValueError: injected: boom" in shell.ok("log s")
    with connect(shell, "s") as c:  # the loop goes on
        assert send_and_read(c, b"again\0") == b"AGAIN\0"
    assert "handler errors: 1\n" in shell.ok("info s")


def test_http_client_lost_mid_download_is_one_line_not_a_traceback(
    shell: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A client that resets mid-download: the reset made to land on the loop's first,
    # direct send of a chunk (which a real one does at its own moment), as a real
    # ECONNRESET from send.
    import errno

    from pslrepl.handlers import selecting

    real_send = selecting.SEND
    sent: dict[int, int] = {}

    def send(sock: socket.socket, data: bytes) -> int:
        if sent.get(sock.fileno(), 0) > 300_000:
            raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
        n = real_send(sock, data)
        sent[sock.fileno()] = sent.get(sock.fileno(), 0) + n
        return n

    (tmp_path / "big.bin").write_bytes(BINARY * 200)  # 3 MB
    shell.ok(f"serve web tcp 0 --handler http --dir {tmp_path} --selectors")
    monkeypatch.setattr(selecting, "SEND", send)
    with connect(shell, "web") as c:
        c.sendall(b"GET /big.bin HTTP/1.0\r\n\r\n")
        until(shell, said(shell, "web", "reset"))
    monkeypatch.setattr(selecting, "SEND", real_send)
    log = shell.ok("log web")
    assert "Traceback" not in log and "raised" not in log
    conn = http.client.HTTPConnection("127.0.0.1", port(shell, "web"), timeout=10)
    conn.request("GET", "/big.bin")
    assert sha(conn.getresponse().read()) == sha(BINARY * 200)  # the server goes on
    conn.close()


def test_a_stop_right_after_serve_leaves_no_thread_raising(shell: Shell) -> None:
    """stop before the loop's thread has run: the thread sees the stop and ends quietly
    (it registered the closed socket and raised ValueError; pytest names such a thread)."""
    for i in range(30):
        shell.ok(f"serve s{i} tcp 0 --handler echo --selectors; stop s{i}")
