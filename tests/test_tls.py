"""TLS for real: the session's test CA, serve --tls against curl and openssl s_client,
verification failures of every kind, STARTTLS both ways."""

from __future__ import annotations

import contextlib
import datetime
import re
import select
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from pslrepl.testca import session_ca
from tests.helpers import Shell, make_shell, port


@pytest.fixture
def web(shell: Shell, tmp_path: Path) -> Path:
    (tmp_path / "secret.txt").write_text("over TLS\n")
    out = shell.ok(f"serve web tcp 0 --handler http --tls --threading --dir {tmp_path}")
    assert out.startswith("web: ThreadingTCPServer serving http over TLS on 127.0.0.1:")
    shell.ok(f"ca export {tmp_path}/ca")
    return tmp_path / "ca" / "ca.pem"


def test_curl_trusts_serve_tls_after_ca_export(shell: Shell, web: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    url = f"https://localhost:{port(shell, 'web')}/secret.txt"
    ok = subprocess.run(["curl", "-sS", "--cacert", str(web), url], capture_output=True,
                        text=True, timeout=20)  # fmt: skip
    assert ok.stdout == "over TLS\n", ok.stderr
    shell.ok("sleep 0.2")
    # Bytes are counted as the handler sees them: the plaintext, not the TLS records.
    log = shell.ok("log web")
    assert re.search(r"<- client \d+ bytes: GET /secret.txt HTTP/1.1\\r\\n", log), log
    assert re.search(r"-> client 9 bytes: over TLS\\n", log), log
    refused = subprocess.run(["curl", "-sS", url], capture_output=True, text=True, timeout=20)
    assert refused.returncode == 60  # curl: the peer's certificate could not be verified


@pytest.mark.parametrize("mode", ["--threading", "--forking"])
def test_clients_that_fail_tls_are_one_line_each(shell: Shell, mode: str) -> None:
    """A client that doesn't trust the CA, or doesn't speak TLS at all, is the client's
    doing: one line in the log, no traceback, no handler error, and the server goes on."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    shell.ok(f"serve s tcp 0 --handler upper --tls {mode}")
    p = port(shell, "s")
    subprocess.run(["curl", "-s", f"https://localhost:{p}/"], capture_output=True, timeout=20)
    subprocess.run(["curl", "-s", f"http://127.0.0.1:{p}/"], capture_output=True, timeout=20)
    with socket.create_connection(("127.0.0.1", p), timeout=10) as plain:
        plain.sendall(b"hello in plain text\n")
        plain.recv(100)  # the server's alert, or its close
    shell.ok("tls connect t s --server-hostname localhost; sendline t ok; recv t --line")
    shell.ok("close t; stop s")  # stop reaps a forking server's last children
    log = shell.ok("log s")
    assert "does not trust the certificate: give it the CA that `ca export DIR` writes" in log
    assert "sent plain HTTP to a --tls server: use https:// (HTTP_REQUEST)" in log
    assert "did not speak TLS (plain text to a --tls server?) (WRONG_VERSION_NUMBER)" in log
    assert "Traceback" not in log and "the handler raised" not in log


def test_tls_ends_with_close_notify_both_ways(shell: Shell) -> None:
    """Neither a --tls server's handler nor `close` cuts TLS off: the peer gets TLS's
    close_notify, so a strict client (suppress_ragged_eofs=False) reads a clean EOF."""
    context = ssl.create_default_context()
    session_ca(shell.session).trust(context)
    shell.ok("serve day tcp 0 --handler daytime --tls --threading")
    raw = socket.create_connection(("127.0.0.1", port(shell, "day")), timeout=10)
    with context.wrap_socket(raw, server_hostname="localhost",
                             suppress_ragged_eofs=False) as tls:  # fmt: skip
        got = b""
        while chunk := tls.recv(100):  # SSLEOFError here if the server just closed
            got += chunk
    assert got.endswith(b"\r\n")

    server_context = session_ca(shell.session).server_context()
    ended: list[bytes] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def serve_one() -> None:
            conn, _ = listener.accept()
            with server_context.wrap_socket(conn, server_side=True,
                                            suppress_ragged_eofs=False) as tls:  # fmt: skip
                ended.append(tls.recv(100))

        thread = threading.Thread(target=serve_one, daemon=True)
        thread.start()
        shell.ok(f"tls connect t 127.0.0.1:{listener.getsockname()[1]}; close t")
        thread.join(timeout=10)
    assert ended == [b""]


def test_openssl_s_client_verifies(shell: Shell, web: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    done = subprocess.run(
        ["openssl", "s_client", "-CAfile", str(web), "-connect",
         f"127.0.0.1:{port(shell, 'web')}", "-servername", "localhost", "-brief"],
        input="", capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert "Verification: OK" in done.stdout + done.stderr


def test_tls_connect_and_info(shell: Shell, web: Path) -> None:
    out = shell.ok("tls connect t web --server-hostname localhost")
    assert "verified against the system CAs and the session's test CA" in out
    shell.ok('sendall t "GET /secret.txt HTTP/1.0\\r\\n\\r\\n"')
    assert shell.ok("recv t --all").split("\\r\n")[-1].startswith("over TLS")
    info = shell.ok("tls info t")
    assert "version:         TLSv1." in info
    assert "issuer:          organizationName=pslrepl session test CA" in info
    assert "alt names:       localhost, 127.0.0.1, 0:0:0:0:0:0:0:1" in info
    assert "sha256:" in info
    assert shell.ok("tls connect by-ip web").startswith("by-ip: TLS connected")  # SAN 127.0.0.1


def test_hostname_mismatch_leaves_nothing(shell: Shell, web: Path) -> None:
    line = shell.fails("tls connect t web --server-hostname wrong.example")
    assert "certificate verification failed: Hostname mismatch" in line
    assert "t" not in shell.session.registry


def test_insecure_is_flagged(shell: Shell, web: Path) -> None:
    shell.ok("tls connect t web --insecure --server-hostname wrong.example")
    assert "tls:         INSECURE: the certificate was not verified" in shell.ok("info t")
    # Unverified, ssl decodes nothing of the certificate; tls info still names it.
    details = shell.ok("tls info t")
    assert re.search(r"issuer: +OU=Testing CA #\S+,O=pslrepl session test CA\n", details)
    assert re.search(r"subject: +OU=Testing cert #\S+,O=trustme", details), details
    assert "alt names:       localhost, 127.0.0.1, ::1" in details
    assert re.search(r"valid: +\w{3} \d\d \d\d:\d\d:\d\d \d{4} GMT to ", details)
    assert "contradict" in shell.fails(f"tls connect u web --insecure --cafile {web}")
    assert "No such file or directory (ENOENT)" in shell.fails(
        f"tls connect u web --cafile {web}.missing"
    )
    web.with_name("not-a-cert.pem").write_text("just text\n")
    assert "no CA certificate in --cafile" in shell.fails(
        f"tls connect u web --cafile {web.with_name('not-a-cert.pem')}"
    )
    assert "u" not in shell.session.registry  # nothing half-made is kept


@contextlib.contextmanager
def tls_server(cert: trustme.LeafCert) -> Iterator[int]:
    """A TLS server in a thread presenting ``cert``, for the failures a client must name.
    Yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            cert.configure_cert(context)
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(10)
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(timeout=5)


def test_unknown_issuer(shell: Shell, tmp_path: Path) -> None:
    ca = trustme.CA()  # not the session's: its certificates are unknown to the shell
    with tls_server(ca.issue_cert("localhost", "127.0.0.1")) as p:
        line = shell.fails(f"tls connect t 127.0.0.1:{p} --timeout 5")
        assert "unable to get local issuer certificate" in line
        ca.cert_pem.write_to_path(str(tmp_path / "other.pem"))
        shell.ok(f"tls connect t 127.0.0.1:{p} --cafile {tmp_path}/other.pem")
        assert "verified against" in shell.ok("tls info t")


def test_expired_certificate(shell: Shell, tmp_path: Path) -> None:
    ca = trustme.CA()
    past = datetime.datetime(2001, 1, 1, tzinfo=datetime.timezone.utc)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    with tls_server(ca.issue_cert("localhost", not_after=past)) as p:
        line = shell.fails(f"tls connect t 127.0.0.1:{p} --cafile {tmp_path}/ca.pem "
                           "--server-hostname localhost")  # fmt: skip
        assert "certificate has expired" in line


def test_starttls_client_side(shell: Shell) -> None:
    """A plaintext greeting, then both sides upgrade: the shell is the client."""
    context = session_ca(shell.session).server_context()
    listener = socket.create_server(("127.0.0.1", 0))
    got: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            assert conn.recv(100) == b"STARTTLS\n"
            conn.sendall(b"GO\n")
            with context.wrap_socket(conn, server_side=True) as tls:
                data = tls.recv(100)
                got.append(data)
                tls.sendall(data.upper())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    shell.ok(f"tcp connect c 127.0.0.1:{listener.getsockname()[1]}")
    shell.ok("sendline c STARTTLS")
    assert shell.ok("recv c --line") == "GO\n(3 bytes)\n"
    assert "now TLS: TLSv1." in shell.ok("tls wrap c --server-hostname localhost")
    shell.ok("sendline c secret")
    assert shell.ok("recv c --line") == "SECRET\n(7 bytes)\n"
    thread.join(timeout=5)
    listener.close()
    assert got == [b"secret\n"]


def test_starttls_server_side(shell: Shell) -> None:
    """The shell's accepted connection upgrades as the server, with the test CA's cert."""
    shell.ok("tcp listen srv 0; socketpair x y")  # a socketpair to show tls wrap refuses it
    assert "x is a unix socket; tls wrap takes a tcp socket" in shell.fails("tls wrap x --server")
    client_context = ssl.create_default_context()
    session_ca(shell.session).trust(client_context)
    answers: list[bytes] = []

    def client() -> None:
        raw = socket.create_connection(("127.0.0.1", port(shell, "srv")), timeout=10)
        with client_context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"hello server\n")
            answers.append(tls.recv(100))

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    shell.ok("accept srv s")
    assert "now TLS" in shell.ok("tls wrap s --server")
    assert shell.ok("recv s --line") == "hello server\n(13 bytes)\n"
    shell.ok("sendline s welcome")
    thread.join(timeout=5)
    assert answers == [b"welcome\n"]
    assert re.search(r"server hostname: +\(none: server side\)", shell.ok("tls info s"))


def test_starttls_against_openssl_s_client_smtp(shell: Shell, tmp_path: Path) -> None:
    """The shell plays an SMTP server by hand; openssl's own STARTTLS client upgrades."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    shell.ok(f"tcp listen srv 0; ca export {tmp_path}")
    client = subprocess.Popen(
        ["openssl", "s_client", "-starttls", "smtp", "-connect",
         f"127.0.0.1:{port(shell, 'srv')}", "-CAfile", str(tmp_path / "ca.pem"),
         "-verify_return_error", "-quiet"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        shell.ok("accept srv s --timeout 10")
        shell.ok('sendall s "220 pslrepl ESMTP\\r\\n"')
        assert shell.ok("recv s --line --timeout 10").startswith("EHLO ")
        shell.ok('sendall s "250-pslrepl\\r\\n250 STARTTLS\\r\\n"')
        assert shell.ok("recv s --line --timeout 10").startswith("STARTTLS\\r\n")
        shell.ok('sendall s "220 go ahead\\r\\n"')
        assert "s: now TLS: TLSv1." in shell.ok("tls wrap s --server --timeout 10")
        shell.ok('sendall s "250 over TLS\\r\\n"')
        assert client.stdin is not None and client.stdout is not None
        client.stdin.write(b"NOOP\r\n")
        client.stdin.flush()
        assert shell.ok("recv s --line --timeout 10") == "NOOP\\r\n(6 bytes)\n"
        shell.ok("close s")
        out = client.communicate(timeout=10)[0].decode()
        assert "250 over TLS" in out and "verify return:1" in out
        assert "unexpected eof" not in out  # close sent close_notify
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()


def test_tls_over_a_unix_socket(shell: Shell, tmp_path: Path) -> None:
    """serve unix --tls, reached by the shell's tls connect and by openssl s_client -unix;
    a UNIX path names no host, so the certificate is checked for localhost."""
    path = tmp_path / "tls.sock"
    shell.ok(f"serve x unix {path} --handler upper --tls --threading; ca export {tmp_path}")
    assert shell.ok("tls connect t x").startswith(f"t: TLS connected (unbound) -> {path}\n")
    shell.ok("sendline t over-unix")
    assert shell.ok("recv t --line") == "OVER-UNIX\n(10 bytes)\n"
    assert "server hostname: localhost\n" in shell.ok("tls info t")
    if shutil.which("openssl") is not None:
        client = subprocess.Popen(
            ["openssl", "s_client", "-quiet", "-unix", str(path), "-CAfile",
             str(tmp_path / "ca.pem"), "-verify_hostname", "localhost", "-verify_return_error"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        assert client.stdin is not None and client.stdout is not None
        try:
            client.stdin.write(b"from openssl\n")
            client.stdin.flush()
            ready, _, _ = select.select([client.stdout], [], [], 20)  # -quiet: no chatter
            assert ready and client.stdout.readline() == b"FROM OPENSSL\n"
        finally:
            client.kill()
            client.wait()
    assert "/nope.sock: no socket there" in shell.fails(f"tls connect t2 unix:{tmp_path}/nope.sock")


def test_starttls_with_a_peer_that_speaks_no_tls(shell: Shell) -> None:
    shell.ok("tcp listen l 0; tcp connect c l; accept l s")
    line = shell.fails("tls wrap c --timeout 0.5")  # the peer stays silent
    assert line.startswith("error: c: the TLS handshake took more than 0.5 s (does the peer")
    shell.ok("tcp connect c2 l; accept l s2; sendline s2 garbage")
    assert shell.fails("tls wrap c2 --timeout 5") == (
        "error: c2: TLS handshake failed: WRONG_VERSION_NUMBER (the peer answered, but not "
        "in TLS: is it a TLS port?); the connection is closed"
    )
    assert "c" not in shell.session.registry and "c2" not in shell.session.registry
    # Closed for real: s sees EOF after the ClientHello; c2 closed with "garbage" unread,
    # and TCP answers that with a reset.
    assert shell.ok("recv s --all --hex").endswith("EOF: the peer closed its side "
                                                   "(recv returned b'')\n")  # fmt: skip
    assert "(ECONNRESET)" in shell.fails("recv s2 --all --hex")


def test_ca_export_needs_a_directory(shell: Shell) -> None:
    assert shell.fails('ca export ""') == (
        "error: ca export: give a directory, like /tmp/ca (it is made if need be)"
    )


def test_ca_show(shell: Shell) -> None:
    out = shell.ok("ca show")
    assert (
        "O=pslrepl session test CA" in out and "server cert for: localhost, 127.0.0.1, ::1" in out
    )
    assert "--tls needs a stream" in shell.fails("serve u udp 0 --tls")


def test_tls_wrap_checks_the_hostname_against_a_wrap_server_peer(shell: Shell) -> None:
    """STARTTLS with the wrong name: both sides are this shell's commands (the server side
    in a second session, in a thread, sharing the test CA), and only a name on the
    certificate passes."""
    server = make_shell()
    server.session.test_ca = session_ca(shell.session)  # the client trusts this CA
    try:
        server.ok("tcp listen srv 0")
        for name, hostname, ok in (("c1", "wrong.example", False), ("c2", "localhost", True)):
            shell.ok(f"tcp connect {name} 127.0.0.1:{port(server, 'srv')}")
            server.ok(f"accept srv s{name}")
            answer: list[tuple[bool, str, str]] = []
            line = f"tls wrap s{name} --server --timeout 10"
            thread = threading.Thread(target=lambda a=answer, x=line: a.append(server(x)))
            thread.start()
            try:
                if ok:
                    assert "now TLS: TLSv1." in shell.ok(
                        f"tls wrap {name} --server-hostname {hostname} --timeout 10"
                    )
                else:
                    line = shell.fails(f"tls wrap {name} --server-hostname {hostname} --timeout 10")
                    assert line == (
                        f"error: {name}: certificate verification failed: Hostname mismatch, "
                        "certificate is not valid for 'wrong.example'; the connection is closed "
                        "(--cafile FILE to trust another CA, or --insecure)"
                    )
                    assert name not in shell.session.registry  # not kept
            finally:
                thread.join(timeout=30)
            assert answer and answer[0][0] is ok, answer
        # The good one carries data both ways, encrypted.
        shell.ok("sendline c2 over-tls")
        assert server.ok("recv sc2 --line --timeout 10") == "over-tls\n(9 bytes)\n"
        assert shell.ok("tls info c2").count("server hostname: localhost") == 1
    finally:
        server.close()


def test_tls_wrap_refuses_plaintext_a_recv_kept(shell: Shell) -> None:
    """Bytes a timed-out recv took before STARTTLS are plaintext: never mixed into TLS."""
    shell.ok("tcp listen srv 0; tcp connect c srv; accept srv s; send s partial")
    assert "came, kept for the next recv" in shell.fails("recv c --line --timeout 0.2")
    line = shell.fails("tls wrap c --timeout 1")
    assert line == "error: tls wrap: c holds 7 bytes received before TLS: recv c first"
    assert shell.ok("recv c") == "partial\n(7 bytes)\n"


def test_ca_export_never_writes_through_a_symlink(shell: Shell, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "ca.pem").symlink_to(victim)
    assert shell.fails(f"ca export {out}") == (
        f"error: ca export: {out}/ca.pem is a symbolic link: not written through it; remove "
        "the link or export to another directory"
    )
    assert victim.read_text() == "keep me\n"
    (out / "ca.pem").unlink()
    assert shell.ok(f"ca export {out}").startswith(f"wrote {out}/ca.pem")
    pem = (out / "ca.pem").read_bytes()
    assert pem.startswith(b"-----BEGIN CERTIFICATE-----") and b"PRIVATE" not in pem
    assert (out / "ca.pem").stat().st_mode & 0o777 == 0o644
    # A dangling link too: it would create the file where it points.
    (out / "ca.pem").unlink()
    (out / "ca.pem").symlink_to(tmp_path / "created-elsewhere")
    assert "is a symbolic link" in shell.fails(f"ca export {out}")
    assert not (tmp_path / "created-elsewhere").exists()


def test_explain_of_tls_names_the_calls(shell: Shell, web: Path) -> None:
    shell.ok("set explain on")
    out = shell.ok("tls connect t web --server-hostname localhost")
    calls = [x.strip() for x in out.splitlines() if x.startswith("  ")]
    assert calls[0] == "context = ssl.create_default_context(cafile=None)"
    assert calls[-1].startswith("t = context.wrap_socket(sock, server_hostname='localhost')")
    shell.ok('sendall t "GET /secret.txt HTTP/1.0\\r\\n\\r\\n"')
    out = shell.ok("recv t --all")
    assert "  t.recv(65536)  # -> b'HTTP/1.0 200 OK" in out
    assert not re.search(r"pslrepl\.| at 0x", out)


def test_an_empty_server_hostname_is_refused(shell: Shell) -> None:
    shell.ok("serve w tcp 0 --handler echo --tls --threading; tcp connect c w")
    assert "--server-hostname needs a name" in shell.fails('tls connect t w --server-hostname ""')
    assert "--server-hostname needs a name" in shell.fails('tls wrap c --server-hostname ""')
    assert "t" not in shell.session.registry
