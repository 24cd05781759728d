"""serve --handler http as a web page would meet it: threads by default with an idle limit,
nothing outside its directory, no foreign Host names, and a fresh directory without
--dir. Against curl (a real peer, skipped where missing) and http.client."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.helpers import Shell, port

LIMIT = 30.0  # seconds: only a hung server comes near it


def curl(*args: str) -> tuple[str, str]:
    """curl's status code and body (skips the test where curl is missing)."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    done = subprocess.run(["curl", "-sS", "--max-time", str(LIMIT), "-w", "\n%{http_code}",
                           *args], capture_output=True, text=True, timeout=LIMIT + 10)  # fmt: skip
    body, _, code = done.stdout.rpartition("\n")
    return code, body


def get(p: int, path: str, *, host: str | None = None) -> tuple[int, bytes]:
    """http.client: a GET with the Host header given (None: http.client's own)."""
    conn = http.client.HTTPConnection("127.0.0.1", p, timeout=LIMIT)
    try:
        if host is None:
            conn.request("GET", path)
        else:
            conn.putrequest("GET", path, skip_host=True)
            conn.putheader("Host", host)
            conn.endheaders()
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        conn.close()


def test_one_idle_client_does_not_keep_others_waiting(shell: Shell, tmp_path: Path) -> None:
    (tmp_path / "page.txt").write_text("not blocked\n")
    out = shell.ok(f"serve web tcp 0 --handler http --dir {tmp_path}")
    assert out.startswith("note: http serves each client in its own thread (--threading); "
                          "a client idle for 10 s is closed (--idle S)\n")  # fmt: skip
    assert "web: ThreadingTCPServer serving http on 127.0.0.1:" in out
    base = f"http://127.0.0.1:{port(shell, 'web')}"
    with socket.create_connection(("127.0.0.1", port(shell, "web")), timeout=LIMIT):
        # that client says nothing; curl is served all the same
        assert curl(f"{base}/page.txt") == ("200", "not blocked\n")
    assert "idle limit:     10 s\n" in shell.ok("info web")


def test_an_idle_client_is_closed_and_the_log_says_so(shell: Shell, tmp_path: Path) -> None:
    shell.ok(f"serve web tcp 0 --handler http --dir {tmp_path} --idle 0.5")
    shell.ok("serve e tcp 0 --handler echo --threading --idle 0.5")
    for name in ("web", "e"):
        with socket.create_connection(("127.0.0.1", port(shell, name)), timeout=LIMIT) as idle:
            assert idle.recv(100) == b""  # the server closed it: EOF, no reset
    log = shell.ok("log web")
    assert "sent no request for 0.5 s: closed it (--idle S sets how long)" in log
    log = shell.ok("log e")
    assert "did nothing for 0.5 s (sent nothing, or read nothing): closed it (--idle S" in log
    assert "Traceback" not in log and "handler errors: 0" in shell.ok("info e")
    shell.ok("tcp connect c e; sendline c busy; recv c --line")  # one that talks is served
    assert "--idle is for a stream" in shell.fails("serve u udp 0 --idle 1")


def test_http_serves_nothing_outside_its_directory(shell: Shell, tmp_path: Path) -> None:
    www, outside = tmp_path / "www", tmp_path / "secret"
    www.mkdir()
    outside.mkdir()
    (outside / "key.txt").write_text("private\n")
    (www / "page.txt").write_text("public\n")
    os.symlink(outside / "key.txt", www / "link")  # ln -s ../secret/key.txt www/link
    os.symlink(outside, www / "dir")
    os.symlink("/etc/passwd", www / "passwd")
    os.symlink(www / "page.txt", www / "inside")  # a link that stays inside is fine
    shell.ok(f"serve web tcp 0 --handler http --dir {www}")
    p = port(shell, "web")
    for path in ("/link", "/dir/key.txt", "/passwd"):
        status, body = get(p, path)
        assert status == 403 and b"private" not in body and b"root:" not in body, path
    assert curl(f"http://127.0.0.1:{p}/link")[0] == "403"
    assert get(p, "/inside") == (200, b"public\n")
    assert get(p, "/page.txt") == (200, b"public\n")
    log = shell.ok("log web")
    assert f"refused GET /link: it resolves to {outside / 'key.txt'}, outside {www}" in log
    assert "refused GET /passwd: it resolves to /etc/passwd, outside" in log


def test_http_answers_only_its_own_name(shell: Shell, tmp_path: Path) -> None:
    """DNS rebinding: a page on attacker.example, whose name now resolves to 127.0.0.1,
    sends Host: attacker.example. Loopback names and the bound address are served."""
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("[remote]\n")
    shell.ok(f"serve web tcp 0 --handler http --dir {tmp_path}")
    p = port(shell, "web")
    for host in ("attacker.example", f"attacker.example:{p}", "localhost.attacker.example",
                 "10.1.2.3", "[::2]:80"):  # fmt: skip
        status, body = get(p, "/.git/config", host=host)
        assert status == 421 and b"remote" not in body, host
    code, _ = curl("-H", "Host: attacker.example", f"http://127.0.0.1:{p}/.git/config")
    assert code == "421"
    for host in ("localhost", f"localhost:{p}", "127.0.0.1", f"127.0.0.1:{p}", "[::1]",
                 f"[::1]:{p}", "LOCALHOST", "127.0.0.2"):  # fmt: skip
        assert get(p, "/.git/config", host=host) == (200, b"[remote]\n"), host
    shell.ok("tcp connect c web")  # HTTP/1.0 without a Host header: no browser sends that
    shell.ok('sendall c "GET /.git/config HTTP/1.0\\r\\n\\r\\n"')
    assert shell.ok("recv c --all").startswith("HTTP/1.0 200 OK")
    log = shell.ok("log web")
    assert ("refused GET /.git/config: its Host header 'attacker.example' names neither "
            f"this server (127.0.0.1:{p}) nor loopback") in log  # fmt: skip


def test_http_without_dir_serves_a_fresh_directory(
    shell: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("[remote]\n")
    monkeypatch.chdir(tmp_path)  # the working directory is not what gets served
    out = shell.ok("serve web tcp 0 --handler http")
    www = os.path.join(shell.session.tmp, "www-web")
    assert (f"note: web serves {www}, a fresh directory with an index page; --dir DIR "
            "serves yours\n") in out  # fmt: skip
    p = port(shell, "web")
    assert get(p, "/.git/config")[0] == 404
    status, index = get(p, "/")
    assert status == 200
    assert f"serve web tcp {p} --handler http --dir DIR".encode() in index
    assert os.listdir(www) == ["index.html"]
    assert f"directory:      {www}\n" in shell.ok("info web")
    assert oct(os.stat(www).st_mode & 0o777) == "0o700"
    code, body = curl(f"http://localhost:{p}/")
    assert code == "200" and "--handler http --dir DIR" in body


def test_idle_is_the_kernels_timeout_so_a_request_costs_no_poll(shell: Shell) -> None:
    """--idle on a plain client socket is SO_RCVTIMEO/SO_SNDTIMEO, the socket blocking:
    settimeout would poll() before every recv and send. A user's handler that calls
    settimeout itself still may."""
    import struct

    shell.ok("serve e tcp 0 --handler echo --threading --idle 2.5")
    server = shell.session.registry.get("e")
    with socket.create_connection(("127.0.0.1", port(shell, "e")), timeout=LIMIT) as c:
        c.sendall(b"\0\r\n")
        assert c.recv(3) == b"\0\r\n"
        (conn,) = list(server.connections.values())
        request = conn.request
        assert request.gettimeout() is None
        for opt in (socket.SO_RCVTIMEO, socket.SO_SNDTIMEO):
            raw = request.getsockopt(socket.SOL_SOCKET, opt, struct.calcsize("ll"))
            assert struct.unpack("ll", raw) == (2, 500000)


def test_a_client_that_stops_reading_is_closed_after_idle(shell: Shell) -> None:
    """The send side of --idle: echo blocks sending to a client that reads nothing, and
    SO_SNDTIMEO ends it with the same line as a silent client gets."""
    import threading

    shell.ok("serve e tcp 0 --handler echo --threading --idle 0.5")
    server = shell.session.registry.get("e")
    c = socket.create_connection(("127.0.0.1", port(shell, "e")), timeout=LIMIT)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    done = threading.Event()

    def flood() -> None:
        try:
            c.sendall(b"\0\r\n" * (8 << 20))  # far past what both buffers hold
        except OSError:
            pass  # the server closed it, as it should
        done.set()

    threading.Thread(target=flood, daemon=True).start()
    try:
        said = "did nothing for 0.5 s (sent nothing, or read nothing): closed it"
        assert shell.session.wait_for(lambda: said in shell.ok("log e"), LIMIT)
        assert done.wait(LIMIT)
    finally:
        c.close()
    assert "Traceback" not in shell.ok("log e") and server.errors == 0
