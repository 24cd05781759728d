"""ca issue (certificates and keys from the session's test CA, written 0600, never through
a link), and what --cert, --key, --verify-client and --client-ca do with them."""

from __future__ import annotations

import re
import socket
import ssl
import threading
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from pslrepl.testca import session_ca
from tests.helpers import Shell, port

LIMIT = 20.0


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def alt_names(cert: x509.Certificate) -> list[str]:
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(n.value) for n in sans]


def test_ca_issue_writes_a_client_certificate_and_its_key_0600(
    shell: Shell, tmp_path: Path
) -> None:
    out = shell.ok(f"ca issue alice --client {tmp_path}/certs")
    assert out == (
        f"wrote {tmp_path}/certs/alice.pem and {tmp_path}/certs/alice.key (0600): CN=alice, for "
        f"a client: alice\nuse: tls connect NAME ADDR --cert {tmp_path}/certs/alice.pem --key "
        f"{tmp_path}/certs/alice.key\n"
    )
    pem, key = tmp_path / "certs" / "alice.pem", tmp_path / "certs" / "alice.key"
    assert pem.stat().st_mode & 0o777 == 0o600 and key.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "certs").stat().st_mode & 0o777 == 0o700  # made for it: private
    cert = load(pem)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "alice"
    assert alt_names(cert) == ["alice"]
    ca = x509.load_pem_x509_certificate(session_ca(shell.session).pem())
    assert cert.issuer == ca.subject
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    assert private.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]
    assert b"PRIVATE KEY" not in pem.read_bytes()  # the key is in its own file only
    assert "PRIVATE" not in out


def test_ca_issue_for_a_server_defaults_to_loopback_names(shell: Shell, tmp_path: Path) -> None:
    shell.ok(f"ca issue web {tmp_path}")
    assert alt_names(load(tmp_path / "web.pem")) == ["localhost", "127.0.0.1", "::1"]
    shell.ok(f"ca issue api {tmp_path} --san api.example --san 10.0.0.1 --san ops@example.org")
    assert alt_names(load(tmp_path / "api.pem")) == ["api.example", "10.0.0.1", "ops@example.org"]


def test_ca_issue_never_writes_through_a_symlink(shell: Shell, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "alice.key").symlink_to(victim)
    assert shell.fails(f"ca issue alice --client {tmp_path}/out") == (
        f"error: ca issue: {tmp_path}/out/alice.key is a symbolic link: not written through "
        "it; remove the link or pick another place"
    )
    assert victim.read_text() == "keep me\n"
    assert not (tmp_path / "out" / "alice.pem").exists()  # the key first: nothing half-made
    (tmp_path / "out" / "alice.key").unlink()
    (tmp_path / "out" / "alice.pem").symlink_to(tmp_path / "elsewhere.pem")  # dangling
    assert "alice.pem is a symbolic link" in shell.fails(f"ca issue alice --client {tmp_path}/out")
    assert not (tmp_path / "elsewhere.pem").exists()


def test_ca_issue_tightens_an_existing_file_it_replaces(shell: Shell, tmp_path: Path) -> None:
    old = tmp_path / "alice.key"
    old.write_text("old\n")
    old.chmod(0o644)
    shell.ok(f"ca issue alice --client {tmp_path}")
    assert old.stat().st_mode & 0o777 == 0o600 and b"PRIVATE KEY" in old.read_bytes()


def test_ca_issue_refuses_what_it_cannot_name(shell: Shell, tmp_path: Path) -> None:
    assert shell.fails(f"ca issue alice_1 {tmp_path}") == (
        "error: ca issue: 'alice_1' can't name a certificate: NAME is its CN and its files' "
        "name, so letters, digits, '-' and '.', like alice"
    )
    assert "can't name a certificate" in shell.fails(f"ca issue ../up {tmp_path}")
    assert shell.fails(f"ca issue x {tmp_path} --san a..b") == (
        "error: ca issue: a --san is a host name, an IP address or an email; a..b has one that "
        "is none of those (Empty Label)"
    )
    (tmp_path / "file").write_text("")
    assert "is a file, not a directory" in shell.fails(f"ca issue x {tmp_path}/file")
    assert not list(tmp_path.glob("*.key"))


def test_serve_tls_serves_a_certificate_of_ours(shell: Shell, tmp_path: Path) -> None:
    shell.ok(f"ca issue web {tmp_path}")
    out = shell.ok(f"serve w tcp 0 --handler upper --tls --threading --cert {tmp_path}/web.pem "
                   f"--key {tmp_path}/web.key")  # fmt: skip
    assert re.search(rf"w: TLS with {re.escape(str(tmp_path))}/web\.pem \(CN=web,OU=Testing cert "
                     r"#\S+,O=trustme v\S+\)\n", out), out  # fmt: skip
    shell.ok("tls connect t w --server-hostname localhost")
    assert re.search(r"subject: +organizationName=trustme v\S+, organizationalUnitName=Testing "
                     r"cert #\S+, commonName=web\n", shell.ok("tls info t"))  # fmt: skip
    shell.ok("sendline t hi")
    assert shell.ok("recv t --line") == "HI\n(3 bytes)\n"


def test_certificate_and_key_files_that_do_not_fit_are_said(shell: Shell, tmp_path: Path) -> None:
    d = tmp_path
    shell.ok(f"ca issue alice --client {d}; ca issue web {d}; serve w tcp 0 --tls --threading")
    fails = {
        f"tls connect t w --cert {d}/alice.pem": f"error: tls connect: {d}/alice.pem holds no "
        "private key: give its key file with --key F",
        f"tls connect t w --cert {d}/alice.pem --key {d}/web.key": f"error: tls connect: the key "
        f"in {d}/web.key is not the key of the certificate in {d}/alice.pem; give the pair `ca "
        "issue` wrote together",
        f"tls connect t w --cert {d}/alice.key": f"error: tls connect: {d}/alice.key holds no "
        "PEM certificate: --cert takes one, like the NAME.pem `ca issue NAME DIR` writes",
        f"tls connect t w --cert {d}/nope.pem": f"error: tls connect: can't read '{d}/nope.pem': "
        "No such file or directory (ENOENT)",
        f"tls connect t w --key {d}/alice.key": "error: tls connect: --key goes with --cert F, "
        "the certificate it is the key of",
        f"serve x tcp 0 --cert {d}/web.pem": "error: serve: --cert is for a TLS server: add --tls",
        "serve x tcp 0 --verify-client optional": "error: serve: --verify-client is for a TLS "
        "server: add --tls",
        "tls connect t w --min-version TLSv1.3 --max-version TLSv1.2": "error: tls connect: "
        "--min-version TLSv1.3 is above --max-version TLSv1.2: no version is left",
        "tls connect t w --max-version TLSv1.1": "error: tls connect: --max-version must be one "
        "of TLSv1.2, TLSv1.3, not 'TLSv1.1'",
        "tls connect t w --ciphers NOPE": "error: tls connect: --ciphers 'NOPE' selects no cipher "
        "OpenSSL knows; `openssl ciphers -v SPEC` lists what a spec selects, like ECDHE+AESGCM",
        f"serve x tcp 0 --tls --client-ca {d}/alice.pem": "error: serve: --client-ca is the CA "
        "--verify-client trusts; add --verify-client required (or optional)",
    }
    for line, error in fails.items():
        assert shell.fails(line) == error, line
    assert "t" not in shell.session.registry and "x" not in shell.session.registry


def test_an_encrypted_key_is_refused_without_a_prompt(shell: Shell, tmp_path: Path) -> None:
    """OpenSSL would ask for the password on the terminal: the shell says so instead."""
    shell.ok(f"ca issue alice --client {tmp_path}")
    key = serialization.load_pem_private_key((tmp_path / "alice.key").read_bytes(), None)
    (tmp_path / "locked.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret")))  # fmt: skip
    shell.ok("serve w tcp 0 --tls --threading")
    line = f"tls connect t w --cert {tmp_path}/alice.pem --key {tmp_path}/locked.key"
    assert shell.fails(line) == (
        f"error: tls connect: the key in {tmp_path}/locked.key is encrypted; give an "
        "unencrypted one (`openssl pkey -in KEY -out PLAIN` asks the password once)"
    )


def client_thread(
    shell: Shell, cert: trustme.LeafCert | None, got: list[object]
) -> threading.Thread:
    """A stdlib client for the shell's srv, presenting ``cert`` (or none)."""
    context = ssl.create_default_context()
    session_ca(shell.session).trust(context)
    if cert is not None:
        cert.configure_cert(context)

    def run() -> None:
        raw = socket.create_connection(("127.0.0.1", port(shell, "srv")), timeout=LIMIT)
        try:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"from the client\n")
                got.append(tls.recv(100))
        except (ssl.SSLError, OSError) as exc:
            got.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_tls_wrap_server_verifies_the_clients_certificate(shell: Shell) -> None:
    shell.ok("tcp listen srv 0")
    alice = session_ca(shell.session).ca.issue_cert("alice", common_name="alice")
    got: list[object] = []
    thread = client_thread(shell, alice, got)
    shell.ok(f"accept srv s --timeout {LIMIT:g}")
    out = shell.ok("tls wrap s --server --verify-client required")
    assert out.startswith("s: now TLS: TLSv1.3")
    info = shell.ok("tls info s")
    assert re.search(r"client cert: +CN=alice,OU=Testing cert #\S+,O=trustme v\S+ \(verified\)\n",
                     info), info  # fmt: skip
    assert ("verified:        server side, with the session test CA's certificate; client "
            "certificates required, trusting the session's test CA\n") in info  # fmt: skip
    assert re.search(r"chain 0: +CN=alice,", info)
    assert re.search(r"shared ciphers: +\d+: TLS_AES_256_GCM_SHA384, ", info)
    assert shell.ok("recv s --line") == "from the client\n(16 bytes)\n"
    shell.ok("sendline s welcome")
    thread.join(timeout=LIMIT)
    assert got == [b"welcome\n"]


def test_tls_wrap_server_refuses_a_client_without_certificate(shell: Shell) -> None:
    shell.ok("tcp listen srv 0")
    got: list[object] = []
    thread = client_thread(shell, None, got)
    shell.ok(f"accept srv s --timeout {LIMIT:g}")
    assert shell.fails("tls wrap s --server --verify-client required") == (
        "error: s: the client sent no certificate, and --verify-client required wants one (we "
        "sent alert: certificate required); the connection is closed"
    )
    thread.join(timeout=LIMIT)
    assert isinstance(got[0], OSError)  # the alert, or the close behind it: refused either way
    assert "s" not in shell.session.registry


def test_client_ca_trusts_another_ca_instead(shell: Shell, tmp_path: Path) -> None:
    other = trustme.CA()
    other.cert_pem.write_to_path(str(tmp_path / "other.pem"))
    shell.ok("tcp listen srv 0")
    ours = session_ca(shell.session).ca
    for cert, ok in ((other.issue_cert("bob", common_name="bob"), True),
                     (ours.issue_cert("eve", common_name="eve"), False)):  # fmt: skip
        got: list[object] = []
        thread = client_thread(shell, cert, got)
        shell.ok(f"accept srv s --timeout {LIMIT:g}")
        line = f"tls wrap s --server --verify-client required --client-ca {tmp_path}/other.pem"
        if ok:
            assert re.search(r"client cert: +CN=bob,", (shell.ok(line), shell.ok("tls info s"))[1])
            shell.ok("close s")
        else:
            assert shell.fails(line) == (
                "error: s: the client's certificate failed verification: self-signed "
                "certificate in certificate chain (we sent alert: unknown ca); --client-ca F "
                "trusts another CA; the connection is closed"
            )
        thread.join(timeout=LIMIT)


@pytest.mark.parametrize("line", [
    "tls wrap c --server --cafile x.pem",
    "tls wrap c --server --server-hostname h",
    "tls wrap c --verify-client required",
])  # fmt: skip
def test_options_of_the_other_side_are_said(shell: Shell, line: str) -> None:
    shell.ok("tcp listen l 0; tcp connect c l")
    error = shell.fails(line)
    assert re.fullmatch(r"error: tls wrap: --[\w-]+ is a (client|server)'s option: .+", error)
    assert shell.session.registry.get("c").kind == "tcp"  # untouched


def test_a_tls13_server_that_asks_for_a_certificate_and_says_nothing_is_noted(
    shell: Shell, tmp_path: Path
) -> None:
    """No ticket, no data, no alert: the connection is kept, and the note says the
    server's verdict on our certificate is still to come."""
    context = session_ca(shell.session).server_context()
    context.verify_mode = ssl.CERT_OPTIONAL
    session_ca(shell.session).trust(context)
    context.num_tickets = 0
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with context.wrap_socket(conn, server_side=True):
            done.wait(LIMIT)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        shell.ok(f"ca issue alice --client {tmp_path}")
        out = shell.ok(f"tls connect t 127.0.0.1:{listener.getsockname()[1]} --server-hostname "
                       f"localhost --cert {tmp_path}/alice.pem --key {tmp_path}/alice.key "
                       "--timeout 0.3")  # fmt: skip
        assert out.endswith(
            "note: the server asked for a client certificate and has not said yet whether it "
            "takes ours (TLS 1.3 says so after the handshake): a refusal comes on the first "
            "read\n"
        )
        assert shell.session.registry.get("t").kind == "tls"
    finally:
        done.set()
        thread.join(timeout=LIMIT)
        listener.close()


def test_every_explain_line_of_the_tls_commands_is_python(shell: Shell, tmp_path: Path) -> None:
    lines = [
        f"ca issue alice --client {tmp_path}",
        "serve m tcp 0 --handler echo --tls --threading --verify-client optional "
        "--max-version TLSv1.2 --ciphers ECDHE+AESGCM",
        f"tls connect t m --cert {tmp_path}/alice.pem --key {tmp_path}/alice.key",
        "sendline t hi", "recv t --line", "tls connect r m --session t", "tls info t",
        "tls bio c", "tls bio s --server", "tls step c", "tls pass c s", "tls step s",
        "tls unwrap t --timeout 5",
    ]  # fmt: skip
    shell.ok("set explain on")
    seen = 0
    for line in lines:
        shell.ok(line)
        record = shell.session.history.last()
        for call in record.calls:
            seen += 1
            compile(call.python(), "<explain>", "exec")  # a SyntaxError fails the test
    assert seen >= 15


def test_refused_handshakes_and_unwrap_leave_no_descriptor_behind(shell: Shell) -> None:
    """Each socket closed by the shell, none left for the garbage collector (which would
    close it too, late, with a ResourceWarning)."""
    import gc
    import warnings

    from tests.helpers import open_fds

    shell.ok("tcp listen w 0; tls bio warm; close w warm")  # the watcher, the test CA: once
    before = open_fds()
    shell.ok("serve m tcp 0 --handler echo --tls --threading --verify-client required")
    shell.ok("serve n tcp 0 --handler echo --tls --threading --min-version TLSv1.3")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        refuse_and_unwrap(shell)
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    shell.ok("stop m; stop n")  # their handler threads have ended: their clients' sockets too
    assert open_fds() == before


def refuse_and_unwrap(shell: Shell) -> None:
    for _ in range(3):
        assert "wants a client certificate" in shell.fails("tls connect t m")
        assert "no TLS version both sides accept" in shell.fails(
            "tls connect t n --max-version TLSv1.2"
        )
        shell.ok("tls connect u n; sendline u x; recv u --line")
        shell.ok(f"tls unwrap u --timeout {LIMIT:g}; close u")  # echo's side answers
        shell.ok("tls bio b; tls bio s --server; tls step b; tls pass b s; tls step s")
        shell.ok("close b s")
