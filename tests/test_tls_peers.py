"""TLS in depth against openssl as the peer, nobody's code but openssl's: client
certificates both ways, version and cipher pins, and refusals said in the alert's words."""

from __future__ import annotations

import contextlib
import re
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Shell, port

LIMIT = 20.0  # seconds: only a hung peer comes near it

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None,
                                   reason="openssl is not installed")  # fmt: skip
pytestmark = needs_openssl


class Peer:
    """An openssl s_server or s_client: its process, and what it printed so far."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.out = b""

    def read_until(self, pattern: bytes, limit: float = LIMIT) -> bytes:
        """What it printed, once ``pattern`` is in it (or it exited, or the limit)."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + limit
        while pattern not in self.out:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.proc.stdout], [], [], remaining)[0]:
                break
            chunk = self.proc.stdout.read1(65536)  # type: ignore[attr-defined]
            if not chunk:
                break
            self.out += chunk
        return self.out

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def finish(self) -> str:
        """Its whole output, once it has exited (killed if it has not)."""
        try:
            self.proc.wait(timeout=LIMIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.read_until(b"\0never\0", limit=0.1 if self.proc.poll() is None else LIMIT)
        return self.out.decode(errors="replace")


def _start(argv: list[str]) -> Peer:
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)  # fmt: skip
    return Peer(proc)


@contextlib.contextmanager
def openssl_server(*args: str) -> Iterator[tuple[int, Peer]]:
    """openssl s_server on a free loopback port, one client: yields (port, the peer)."""
    peer = _start(["openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", *args])
    try:
        found = re.search(rb"ACCEPT 127\.0\.0\.1:(\d+)", peer.read_until(b"ACCEPT"))
        assert found, peer.out
        yield int(found.group(1)), peer
    finally:
        if peer.proc.poll() is None:
            peer.proc.kill()
        peer.proc.wait()
        for stream in (peer.proc.stdin, peer.proc.stdout):
            if stream is not None:
                stream.close()


@contextlib.contextmanager
def openssl_client(*args: str) -> Iterator[Peer]:
    peer = _start(["openssl", "s_client", *args])
    try:
        yield peer
    finally:
        if peer.proc.poll() is None:
            peer.proc.kill()
        peer.proc.wait()
        for stream in (peer.proc.stdin, peer.proc.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture
def certs(shell: Shell, tmp_path: Path) -> Path:
    """The session CA, a client certificate (alice) and a server one (srv), as files."""
    shell.ok(f"ca export {tmp_path}; ca issue alice --client {tmp_path}; ca issue srv {tmp_path}")
    return tmp_path


def server_args(certs: Path, *more: str) -> list[str]:
    return ["-cert", str(certs / "srv.pem"), "-key", str(certs / "srv.key"),
            "-CAfile", str(certs / "ca.pem"), *more]  # fmt: skip


ALICE = "--cert {d}/alice.pem --key {d}/alice.key"


def test_openssl_s_server_verify_takes_our_client_certificate_and_names_it(
    shell: Shell, certs: Path
) -> None:
    with openssl_server(*server_args(certs, "-Verify", "1")) as (p, server):
        out = shell.ok(f"tls connect t 127.0.0.1:{p} {ALICE.format(d=certs)} "
                       "--server-hostname localhost")  # fmt: skip
        assert out.startswith("t: TLS connected 127.0.0.1:")
        assert "note:" not in out  # openssl sent its tickets: it took the certificate
        shell.ok("sendline t over-mutual-tls")
        said = server.read_until(b"over-mutual-tls").decode()
        shell.ok("close t")
    assert "verify return:1" in said
    assert re.search(r"subject=O = trustme v\S+, OU = Testing cert #\S+, CN = alice\n", said), said


def test_tls_info_names_the_certificate_we_sent_and_the_servers_chain(
    shell: Shell, certs: Path
) -> None:
    with openssl_server(*server_args(certs, "-Verify", "1")) as (p, _):
        shell.ok(f"tls connect t 127.0.0.1:{p} {ALICE.format(d=certs)} --server-hostname localhost")
        info = shell.ok("tls info t")
    assert re.search(r"client cert: +sent CN=alice,OU=Testing cert #\S+,O=trustme", info), info
    # openssl s_server sends its certificate and the CA's it found in -CAfile
    assert re.search(r"chain 0: +CN=srv,OU=Testing cert #\S+,O=trustme v\S+ \(issuer OU=Testing "
                     r"CA #\S+,O=pslrepl session test CA\)\n", info), info  # fmt: skip
    assert re.search(r"chain 1: +OU=Testing CA #(\S+),O=pslrepl session test CA \(issuer "
                     r"OU=Testing CA #\1,O=pslrepl session test CA\)\n", info), info  # fmt: skip
    assert "chain 2:" not in info
    assert ("handshake:       out ClientHello; in ServerHello, EncryptedExtensions, "
            "CertificateRequest, Certificate, CertificateVerify, Finished; out Certificate, "
            "CertificateVerify, Finished\n") in info  # fmt: skip
    assert "session reused:  no\n" in info


def test_openssl_s_server_refuses_a_client_without_certificate_in_the_alerts_words(
    shell: Shell, certs: Path
) -> None:
    """TLS 1.3 says a refusal after the handshake: the shell waits for the word, and the
    failure names the side and the alert; TLS 1.2 refuses in the handshake itself."""
    with openssl_server(*server_args(certs, "-Verify", "1")) as (p, server):
        line = shell.fails(f"tls connect t 127.0.0.1:{p} --server-hostname localhost")
        said = server.finish()
    assert line == (
        "error: t: the server wants a client certificate (alert: certificate required); "
        "--cert F --key F gives it one (`ca issue NAME --client DIR` makes one); the "
        "connection is closed"
    )
    assert "peer did not return a certificate" in said
    assert "t" not in shell.session.registry
    with openssl_server(*server_args(certs, "-Verify", "1", "-tls1_2")) as (p, _):
        line = shell.fails(f"tls connect t 127.0.0.1:{p} --server-hostname localhost")
    assert line.startswith("error: t: the server wants a client certificate (alert: handshake "
                           "failure); ")  # fmt: skip


def test_openssl_s_server_refuses_a_certificate_from_another_ca(
    shell: Shell, certs: Path, tmp_path: Path
) -> None:
    import trustme

    other = trustme.CA()
    other.cert_pem.write_to_path(str(tmp_path / "other.pem"))
    args = ["-cert", str(certs / "srv.pem"), "-key", str(certs / "srv.key"),
            "-CAfile", str(tmp_path / "other.pem"), "-Verify", "1",
            "-verify_return_error"]  # fmt: skip
    with openssl_server(*args) as (p, _):
        line = shell.fails(f"tls connect t 127.0.0.1:{p} {ALICE.format(d=certs)} "
                           "--server-hostname localhost")  # fmt: skip
    assert line == (
        "error: t: the server does not accept our client certificate (alert: unknown ca): it "
        "does not trust the CA that signed it; the connection is closed"
    )


def test_openssl_s_client_with_a_certificate_is_served_by_verify_client_required(
    shell: Shell, certs: Path
) -> None:
    shell.ok("serve m tcp 0 --handler upper --tls --threading --verify-client required")
    with openssl_client("-connect", f"127.0.0.1:{port(shell, 'm')}", "-servername", "localhost",
                        "-CAfile", str(certs / "ca.pem"), "-cert", str(certs / "alice.pem"),
                        "-key", str(certs / "alice.key"), "-quiet") as client:  # fmt: skip
        client.send(b"hello from openssl\n")
        assert b"HELLO FROM OPENSSL\n" in client.read_until(b"HELLO FROM OPENSSL\n")
    log = shell.ok("log m")
    assert re.search(r"client 127\.0\.0\.1:\d+ presented CN=alice,OU=Testing cert #\S+,"
                     r"O=trustme v\S+ \(verified against the session's test CA\)",
                     log), log  # fmt: skip


def test_openssl_s_client_without_a_certificate_is_refused_and_the_log_says_why(
    shell: Shell, certs: Path
) -> None:
    shell.ok("serve m tcp 0 --handler upper --tls --threading --verify-client required")
    with openssl_client("-connect", f"127.0.0.1:{port(shell, 'm')}", "-servername", "localhost",
                        "-CAfile", str(certs / "ca.pem"), "-brief") as client:  # fmt: skip
        client.send(b"let me in\n")
        said = client.finish()
    assert "alert certificate required" in said and "LET ME IN" not in said
    shell.ok("stop m")  # its handler threads are done: the log is complete
    log = shell.ok("log m")
    assert re.search(r"client 127\.0\.0\.1:\d+ refused: the client sent no certificate, and "
                     r"--verify-client required wants one \(we sent alert: certificate "
                     r"required\)", log), log  # fmt: skip
    assert "Traceback" not in log


def test_verify_client_optional_serves_a_client_without_a_certificate(
    shell: Shell, certs: Path
) -> None:
    shell.ok("serve o tcp 0 --handler upper --tls --threading --verify-client optional")
    with openssl_client("-connect", f"127.0.0.1:{port(shell, 'o')}", "-servername", "localhost",
                        "-CAfile", str(certs / "ca.pem"), "-quiet") as client:  # fmt: skip
        client.send(b"anonymous\n")
        assert b"ANONYMOUS\n" in client.read_until(b"ANONYMOUS\n")
    assert "presented no certificate (--verify-client optional: served all the same)" in shell.ok(
        "log o"
    )


def test_a_tls1_3_only_server_refuses_max_version_tls1_2_in_the_alerts_words(
    shell: Shell, certs: Path
) -> None:
    with openssl_server(*server_args(certs, "-tls1_3")) as (p, _):
        line = shell.fails(f"tls connect t 127.0.0.1:{p} --max-version TLSv1.2")
    assert line == (
        "error: t: no TLS version both sides accept (we allow up to TLSv1.2; the server "
        "requires TLSv1.3; alert: protocol version); the connection is closed"
    )
    assert "t" not in shell.session.registry


def test_a_tls1_2_server_refuses_min_version_tls1_3(shell: Shell, certs: Path) -> None:
    with openssl_server(*server_args(certs, "-tls1_2")) as (p, _):
        line = shell.fails(f"tls connect t 127.0.0.1:{p} --min-version TLSv1.3")
    assert line == (
        "error: t: no TLS version both sides accept (we require TLSv1.3; the server does not "
        "take TLSv1.3; alert: protocol version); the connection is closed"
    )


def test_serve_min_version_refuses_an_openssl_client_that_offers_only_tls1_2(
    shell: Shell, certs: Path
) -> None:
    shell.ok("serve n tcp 0 --handler echo --tls --threading --min-version TLSv1.3")
    with openssl_client("-connect", f"127.0.0.1:{port(shell, 'n')}", "-tls1_2",
                        "-CAfile", str(certs / "ca.pem"), "-brief") as client:  # fmt: skip
        said = client.finish()
    assert "alert protocol version" in said
    shell.ok("stop n")
    assert re.search(r"client 127\.0\.0\.1:\d+ refused: no TLS version both sides accept \(we "
                     r"require TLSv1\.3; the client offers TLSv1\.2; we sent alert: protocol "
                     r"version\)", shell.ok("log n"))  # fmt: skip


def test_version_and_cipher_pins_are_what_openssl_negotiates(shell: Shell, certs: Path) -> None:
    """The server's pins, seen from openssl's side; the client's, from s_server's."""
    shell.ok("serve old tcp 0 --handler echo --tls --threading --max-version TLSv1.2 "
             "--ciphers ECDHE-ECDSA-AES128-GCM-SHA256")  # fmt: skip
    with openssl_client("-connect", f"127.0.0.1:{port(shell, 'old')}", "-brief",
                        "-CAfile", str(certs / "ca.pem")) as client:  # fmt: skip
        said = client.read_until(b"Ciphersuite").decode() + client.read_until(b"\n").decode()
    assert "Protocol version: TLSv1.2" in said
    assert "Ciphersuite: ECDHE-ECDSA-AES128-GCM-SHA256" in said
    with openssl_server(*server_args(certs)) as (p, server):
        out = shell.ok(f"tls connect t 127.0.0.1:{p} --max-version TLSv1.2 "
                       "--ciphers ECDHE-ECDSA-CHACHA20-POLY1305")  # fmt: skip
        assert "TLSv1.2, ECDHE-ECDSA-CHACHA20-POLY1305;" in out
        assert (
            "Shared ciphers:ECDHE-ECDSA-CHACHA20-POLY1305\n"
            in server.read_until(b"CIPHER is").decode()
        )


def test_a_cipher_the_server_lacks_is_refused_and_a_pin_tls1_3_ignores_is_said(
    shell: Shell, certs: Path
) -> None:
    with openssl_server(*server_args(certs, "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384",
                                     "-tls1_2")) as (p, _):  # fmt: skip
        line = shell.fails(f"tls connect t 127.0.0.1:{p} --ciphers ECDHE-ECDSA-AES128-GCM-SHA256")
    assert line == (
        "error: t: no cipher or parameters both sides accept (alert: handshake failure); "
        "check --ciphers; the connection is closed"
    )
    with openssl_server(*server_args(certs)) as (p, _):
        out = shell.ok(f"tls connect t 127.0.0.1:{p} --ciphers ECDHE-ECDSA-AES128-GCM-SHA256")
    assert "TLSv1.3, TLS_AES_256_GCM_SHA384;" in out
    assert ("note: --ciphers chooses among TLS 1.2's ciphers; TLS 1.3 used a suite of its own "
            "(ssl can't choose those): add --max-version TLSv1.2 to use yours") in out  # fmt: skip


def test_a_resumed_session_says_so_in_tls_info(shell: Shell, certs: Path) -> None:
    """openssl s_server issues tickets after a TLS 1.3 handshake: a later connection
    resumes the first one's session, once it has closed (s_server serves one connection
    at a time), and is sent no certificate."""
    with openssl_server(*server_args(certs, "-naccept", "2")) as (p, server):
        shell.ok(f"tls connect a 127.0.0.1:{p} --server-hostname localhost")
        server.send(b"after the tickets\n")  # what a reads comes after them: they are in
        assert shell.ok("recv a --line") == "after the tickets\n(18 bytes)\n"
        assert "session reused:  no\n" in shell.ok("tls info a")
        shell.ok("close a")
        out = shell.ok(f"tls connect b 127.0.0.1:{p} --server-hostname localhost --session a")
        assert out.endswith("; resumed a's session\n")
        shell.ok("close b")
        said = server.finish()
    assert said.count("Reused session-id") == 1, said  # openssl's own word for it


def test_tls_info_of_a_resumed_session(shell: Shell) -> None:
    shell.ok("serve web tcp 0 --handler echo --tls --threading")
    shell.ok("tls connect a web; sendline a one; recv a --line")  # its tickets came first
    shell.ok("tls connect b web --session a")  # a is live: its session still resumes
    info = shell.ok("tls info b")
    assert "session reused:  yes (a's session)\n" in info
    assert "chain:           (none sent: a resumed session)\n" in info
    assert ("handshake:       out ClientHello; in ServerHello, EncryptedExtensions, Finished; "
            "out Finished\n") in info  # fmt: skip
    assert "client cert:     (none asked for: a resumed session)\n" in info
    # STARTTLS resumes too, and a session is resumed only with the context that made it
    shell.ok("tcp connect c web")
    assert shell.ok("tls wrap c --session a") == (
        "c: now TLS: TLSv1.3, TLS_AES_256_GCM_SHA384; resumed a's session\n"
    )
    assert shell.fails("tls connect d web --session a --cafile x.pem") == (
        "error: tls connect: --session resumes with a's context (its CA, certificate and "
        "pins): leave out --cafile"
    )
    assert shell.fails("tls connect d web --session web") == (
        "error: tls connect: --session web is a server; give a TLS connection's name, live or "
        "closed, whose session to resume"
    )


def test_no_ticket_yet_is_said(shell: Shell, certs: Path) -> None:
    """A server that sends no ticket after a TLS 1.3 handshake leaves nothing to resume."""
    with openssl_server(*server_args(certs, "-num_tickets", "0")) as (p, _):
        shell.ok(f"tls connect a 127.0.0.1:{p} --server-hostname localhost")
        line = shell.fails(f"tls connect b 127.0.0.1:{p} --session a --timeout 0.5")
    assert line == (
        "error: tls connect: a has no session to resume yet: its server has sent no session "
        "ticket (TLS 1.3 sends them after the handshake; none in 0.5 s); recv a reads what "
        "came, then try again"
    )
    assert "b" not in shell.session.registry
