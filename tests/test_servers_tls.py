"""--tls servers and a client that never finishes its handshake: bounded by --idle (or
ten seconds), and a sync server's log names the client that holds it."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from tests.helpers import Shell, port

LIMIT = 30.0  # seconds: only a hung server comes near it


def test_a_sync_tls_server_names_the_client_stuck_in_its_handshake(shell: Shell) -> None:
    shell.ok("serve s tcp 0 --handler echo --tls --idle 1")
    with socket.create_connection(("127.0.0.1", port(shell, "s")), timeout=LIMIT) as mute:
        mute_addr = f"127.0.0.1:{mute.getsockname()[1]}"
        # the server waits on mute's handshake; then it closes mute and serves t
        shell.ok(f"tls connect t s --timeout {LIMIT:g}")
        assert mute.recv(100) == b""  # closed by the server, no reset
    log = shell.ok("log s")
    assert (f"a sync server serves one client at a time: {mute_addr} has not finished its "
            "TLS handshake; the next client waits (up to 1 s, --idle S)") in log  # fmt: skip
    assert (f"client {mute_addr} did not finish its TLS handshake in 1 s; a sync server "
            "serves one client at a time, so the next one waited: closed it (--idle S sets "
            "how long)") in log  # fmt: skip
    assert "Traceback" not in log and "handler errors: 0" in shell.ok("info s")


def test_a_threading_tls_server_bounds_the_handshake_too(shell: Shell) -> None:
    shell.ok("serve s tcp 0 --handler echo --tls --threading --idle 0.5")
    with socket.create_connection(("127.0.0.1", port(shell, "s")), timeout=LIMIT) as mute:
        shell.ok("tls connect t s")  # its handshake at once, in a thread of its own
        assert mute.recv(100) == b""
    log = shell.ok("log s")
    assert re.search(r"client 127\.0\.0\.1:\d+ did not finish its TLS handshake in 0\.5 s: "
                     r"closed it \(--idle S sets how long\)", log), log  # fmt: skip
    assert "a sync server" not in log


def _refusals(shell: Shell, name: str, client: str) -> list[str]:
    """The server's lines about the client, once it has left and its handler's error
    (said after the client left: socketserver's handle_error runs after finish_request)
    is in the log too."""
    res = shell.session.registry.get(name)

    def lines() -> list[str]:
        return [e.detail for e in list(res.log) if client in e.detail
                and "connected" not in e.detail]  # fmt: skip

    def ended() -> bool:
        said = lines()
        return any("left after" in line for line in said) and any(
            line.endswith(")") and "left after" not in line and "refused:" not in line
            for line in said
        )

    assert shell.session.wait_for(ended, LIMIT), shell.ok(f"log {name}")
    return lines()


def test_a_client_without_a_certificate_is_refused_in_plain_words(shell: Shell) -> None:
    shell.ok("serve m tcp 0 --tls --verify-client required")
    assert "wants a client certificate" in shell.fails("tls connect c m")
    lines = _refusals(shell, "m", "127.0.0.1:")
    assert not [line for line in lines if "failed TLS:" in line], lines
    assert any(
        line.endswith(
            "sent no certificate, and --verify-client required wants one: tls connect "
            "--cert F --key F gives it one (PEER_DID_NOT_RETURN_A_CERTIFICATE)"
        )
        for line in lines
    ), lines


def test_a_client_certificate_from_another_ca_is_refused_in_plain_words(
    shell: Shell, tmp_path: Path
) -> None:
    trustme = pytest.importorskip("trustme")
    other = trustme.CA().issue_cert("stranger@example.org")
    cert, key = tmp_path / "stranger.pem", tmp_path / "stranger.key"
    other.cert_chain_pems[0].write_to_path(str(cert))
    other.private_key_pem.write_to_path(str(key))
    shell.ok("serve m tcp 0 --tls --verify-client required")
    shell.fails(f"tls connect c m --cert {cert} --key {key}")
    lines = _refusals(shell, "m", "127.0.0.1:")
    assert not [line for line in lines if "failed TLS:" in line], lines
    assert any(
        line.endswith(
            "sent a certificate the server does not trust (issued by a CA --client-ca does "
            "not name, or expired) (CERTIFICATE_VERIFY_FAILED)"
        )
        for line in lines
    ), lines
