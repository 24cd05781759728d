"""Export of tls wrap and tls unwrap (STARTTLS and its end) against the script's own TLS
server, which trusts nothing but the session's test CA carried as PEM text."""

from __future__ import annotations

from pathlib import Path

from pslrepl.export import NOT_EXPORTED
from tests.helpers import Shell
from tests.test_export_units import check_same, script_of


def test_tls_wrap_and_unwrap_over_an_open_connection(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "serve w tcp 0 --handler upper --tls --threading",
        "tcp connect t w",
        "tls wrap t --server-hostname localhost",
        "sendline t 'hi\\x00there'",
        "recv t --line",
        "tls unwrap t",
    ], tmp_path)  # fmt: skip
    assert out[2].startswith("t: now TLS: TLSv1.")
    assert out[-1] == "t: TLS ended (close_notify both ways): the connection goes on as plain tcp"
    source = script_of(shell)
    assert "t = tls_client.wrap_socket(t, server_hostname='localhost')" in source
    assert "t = t.unwrap()" in source


def test_tls_wrap_as_the_server_side_is_marked(shell: Shell):
    shell.ok("tcp listen l 0")
    shell.ok("tcp connect c l")
    shell.ok("accept l s")
    shell("tls wrap s --server --timeout 0.1")  # no client handshakes: it fails
    source = script_of(shell)
    at = source.index("# psl> tls wrap s --server")
    assert source[at:].split("\n")[1].startswith(NOT_EXPORTED)


def test_ca_show_and_ca_export_carry_the_sessions_own_ca(shell: Shell, tmp_path: Path):
    import shutil

    if shutil.which("openssl") is None:
        import pytest

        pytest.skip("no openssl here to read the exported ca.pem")
    out = check_same(shell, [
        "ca show",
        f"ca export {tmp_path}/shell-ca",
        f"run -- openssl x509 -in {tmp_path}/shell-ca/ca.pem -noout -fingerprint -sha256",
    ], tmp_path)  # fmt: skip
    fingerprint = next(line for line in out if line.startswith("sha256:")).split()[-1]
    assert out[-2].lower() == f"sha256 fingerprint={fingerprint}"
    assert "hashlib.sha256(ssl.PEM_cert_to_DER_cert(TEST_CA_PEM))" in script_of(shell)
