"""The handshake one flight at a time, with no socket: tls bio, tls step, tls pass, and
the data after it (tls write, tls read)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import Shell

TLS13 = ["tls step c", "tls pass c s", "tls step s", "tls pass s c", "tls step c",
         "tls pass c s", "tls step s"]  # fmt: skip


def rows(out: str) -> list[tuple[str, str, str, str]]:
    """The records table's rows: (DIR, RECORD, VERSION, INSIDE); LENGTH varies."""
    found = []
    for line in out.splitlines():
        m = re.match(r"(in|out) +(\w+) +(TLSv[\d.]+) +\d+ +(.+)$", line)
        if m:
            found.append((m[1], m[2], m[3], re.sub(r"\(\d+\)", "(N)", m[4])))
    return found


def hexdump_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if re.match(r"[0-9a-f]{8}(  |$)", line)]


def test_a_tls13_handshake_in_four_steps_then_data_both_ways(shell: Shell) -> None:
    assert shell.ok("tls bio c") == ("c: SSLObject over two MemoryBIOs, client side; nothing "
                                     "sent yet (tls step c)\n")  # fmt: skip
    shell.ok("tls bio s --server")
    out = shell.ok("tls step c")
    assert rows(out) == [("out", "handshake", "TLSv1", "ClientHello (N)")]
    dump = hexdump_lines(out)
    # The record header: handshake (16), TLS 1.0 for a ClientHello (03 01), then its length;
    # the message: ClientHello (01), its 3-byte length, and the legacy version 03 03.
    assert dump[0].startswith("00000000  16 03 01 02 00 01 00 01  fc 03 03 ")
    assert dump[-1] == "00000205"  # 517 bytes: 5 of header, 512 of ClientHello
    assert out.endswith("c: wrote 1 record (517 bytes); the handshake waits for the peer: "
                        "tls pass c s\n")  # fmt: skip
    assert shell.ok("tls pass c s") == ("c -> s: 517 bytes, 1 record (handshake): tls step s "
                                        "reads them\n")  # fmt: skip
    out = shell.ok("tls step s")
    assert rows(out) == [
        ("in", "handshake", "TLSv1", "ClientHello (N)"),
        ("out", "handshake", "TLSv1.2", "ServerHello (N)"),
        ("out", "change_cipher_spec", "TLSv1.2", "ChangeCipherSpec (N)"),
        ("out", "application_data", "TLSv1.2", "encrypted: EncryptedExtensions (N)"),
        ("out", "application_data", "TLSv1.2", "encrypted: Certificate (N)"),
        ("out", "application_data", "TLSv1.2", "encrypted: CertificateVerify (N)"),
        ("out", "application_data", "TLSv1.2", "encrypted: Finished (N)"),
    ]
    # each record's first 16 bytes, at its offset in the flight, then the flight's size
    dump = hexdump_lines(out)
    assert [line[10:24] for line in dump[:3]] == ["16 03 03 00 7a", "14 03 03 00 01",
                                                  "17 03 03 00 17"]  # fmt: skip
    assert dump[1].startswith("0000007f  ") and len(dump) == 7
    assert re.search(r"s: wrote 6 records \(\d+ bytes\); the handshake waits for the peer: "
                     r"tls pass s c\n$", out)  # fmt: skip
    shell.ok("tls pass s c")
    out = shell.ok("tls step c")
    assert rows(out)[-2:] == [
        ("out", "change_cipher_spec", "TLSv1.2", "ChangeCipherSpec (N)"),
        ("out", "application_data", "TLSv1.2", "encrypted: Finished (N)"),
    ]
    assert out.endswith("c: handshake done: TLSv1.3, TLS_AES_256_GCM_SHA384; it wrote 2 records "
                        "(80 bytes): tls pass c s\n")  # fmt: skip
    shell.ok("tls pass c s")
    out = shell.ok("tls step s")
    assert rows(out) == [
        ("in", "change_cipher_spec", "TLSv1.2", "ChangeCipherSpec (N)"),
        ("in", "application_data", "TLSv1.2", "encrypted: Finished (N)"),
        ("out", "application_data", "TLSv1.2", "encrypted: NewSessionTicket (N)"),
        ("out", "application_data", "TLSv1.2", "encrypted: NewSessionTicket (N)"),
    ]
    assert re.search(r"s: handshake done: TLSv1\.3, TLS_AES_256_GCM_SHA384; it wrote 2 session "
                     r"tickets \(\d+ bytes\) that the client's first read meets: tls pass s c\n$",
                     out)  # fmt: skip
    shell.ok("tls pass s c")
    # The client's first read meets the tickets, and no data.
    out = shell.ok("tls read c")
    assert rows(out) == [("in", "application_data", "TLSv1.2",
                          "encrypted: NewSessionTicket (N)")] * 2  # fmt: skip
    assert out.endswith("c: no data: the 2 records that came were TLS's own (NewSessionTicket); "
                        "a socket's first read after a TLS 1.3 handshake meets its session "
                        "tickets the same way\n")  # fmt: skip
    # Then data, each way, bytes of every kind included.
    out = shell.ok('tls write c "GET /\\r\\n\\x00end"')
    assert rows(out) == [("out", "application_data", "TLSv1.2", "encrypted: application data")]
    assert out.endswith("c: encrypted 11 bytes into 33 bytes of TLS: tls pass c s\n")
    shell.ok("tls pass c s")
    out = shell.ok("tls read s --repr")
    assert "b'GET /\\r\\n\\x00end'" in out and out.endswith("s: read 11 bytes of data\n")
    shell.ok("tls write s --hex 'de ad be ef'; tls pass s c")
    assert "de ad be ef" in shell.ok("tls read c --hex")
    info = shell.ok("tls info s")
    assert re.search(r"version: +TLSv1\.3\n", info)
    assert re.search(r"shared ciphers: +\d+: TLS_AES_256_GCM_SHA384, ", info)
    assert re.search(r"handshake: +in ClientHello; out ServerHello, EncryptedExtensions, "
                     r"Certificate, CertificateVerify, Finished; in Finished\n", info)  # fmt: skip
    assert "c     tls-bio  TLSv1.3 established  memory BIO, client side" in shell.ok("ls")


def test_a_tls12_handshake_shows_its_plaintext_messages(shell: Shell) -> None:
    shell.ok("tls bio c --max-version TLSv1.2; tls bio s --server")
    shell.ok("tls step c; tls pass c s")
    out = shell.ok("tls step s")
    assert [r[3] for r in rows(out) if r[0] == "out"] == [
        "ServerHello (N)", "Certificate (N)", "ServerKeyExchange (N)", "ServerHelloDone (N)",
    ]  # fmt: skip
    shell.ok("tls pass s c")
    out = shell.ok("tls step c")
    assert [r[3] for r in rows(out) if r[0] == "out"] == [
        "ClientKeyExchange (N)", "ChangeCipherSpec (N)", "encrypted: Finished (N)",
    ]  # fmt: skip
    assert rows(out)[-1][1:3] == ("handshake", "TLSv1.2")  # Finished: encrypted, yet type 22
    shell.ok("tls pass c s")
    assert "s: handshake done: TLSv1.2, ECDHE-ECDSA-AES256-GCM-SHA384" in shell.ok("tls step s")
    shell.ok("tls pass s c")
    out = shell.ok("tls step c")  # the server's ticket, ChangeCipherSpec and Finished
    assert [r[3] for r in rows(out)] == [
        "NewSessionTicket (N)", "ChangeCipherSpec (N)", "encrypted: Finished (N)",
    ]  # fmt: skip
    assert out.endswith("c: handshake done: TLSv1.2, ECDHE-ECDSA-AES256-GCM-SHA384\n")
    assert shell.ok("tls step c") == ("c: the handshake is done (TLSv1.2): tls write c DATA and "
                                      "tls read c carry data now\n")  # fmt: skip


def test_mutual_tls_by_steps_shows_the_certificate_request(shell: Shell, tmp_path: object) -> None:
    shell.ok(f"ca issue alice --client {tmp_path}")
    shell.ok(f"tls bio c --cert {tmp_path}/alice.pem --key {tmp_path}/alice.key")
    shell.ok("tls bio s --server --verify-client required")
    for line in TLS13[:3]:
        out = shell.ok(line)
    assert ("out", "application_data", "TLSv1.2", "encrypted: CertificateRequest (N)") in rows(out)
    shell.ok("tls pass s c")
    out = shell.ok("tls step c")
    assert [r[3] for r in rows(out) if r[0] == "out"] == [
        "ChangeCipherSpec (N)", "encrypted: Certificate (N)", "encrypted: CertificateVerify (N)",
        "encrypted: Finished (N)",
    ]  # fmt: skip
    shell.ok("tls pass c s; tls step s")
    assert re.search(r"client cert: +CN=alice,OU=Testing cert #\S+,O=trustme v\S+ \(verified\)",
                     shell.ok("tls info s"))  # fmt: skip


def test_a_refusal_by_steps_is_an_alert_to_pass(shell: Shell) -> None:
    """The server refuses the client's versions: its step fails in the alert's words, and
    the alert it wrote, passed over, fails the client's step in turn."""
    shell.ok("tls bio c --max-version TLSv1.2; tls bio s --server --min-version TLSv1.3")
    shell.ok("tls step c; tls pass c s")
    ok, out, err = shell("tls step s")
    assert not ok
    assert rows(out) == [
        ("in", "handshake", "TLSv1", "ClientHello (N)"),
        ("out", "alert", "TLSv1.2", "alert: protocol version (fatal)"),
    ]
    assert err == (
        "error: s: no TLS version both sides accept (we require TLSv1.3; the client offers "
        "TLSv1.2; we sent alert: protocol version); its alert waits to be passed: tls pass s c\n"
    )
    assert "handshake failed" in shell.ok("ls")
    shell.ok("tls pass s c")
    assert shell.fails("tls step c") == (
        "error: c: no TLS version both sides accept (we allow up to TLSv1.2; the server "
        "requires TLSv1.3; alert: protocol version)"
    )
    assert shell.fails("tls step c").startswith("error: c: its handshake failed (no TLS version")


def test_steps_out_of_turn_say_what_to_do(shell: Shell) -> None:
    shell.ok("tls bio c; tls bio s --server")
    assert shell.ok("tls step s") == ("s: nothing to do: it waits for the peer's records "
                                      "(tls pass c s)\n")  # fmt: skip
    assert shell.fails("tls pass s c") == ("error: tls pass: s has written nothing to pass: "
                                           "tls step s first")  # fmt: skip
    assert shell.fails("tls pass c c") == "error: tls pass: c can't pass to itself; give its peer"
    assert shell.fails("tls write c hi") == (
        "error: tls write: c's handshake is not done: tls step c (and tls pass) until it is"
    )
    assert shell.fails("tls read c").startswith("error: tls read: c's handshake is not done")
    assert shell.fails("tls bio x --server --server-hostname h") == (
        "error: tls bio: --server-hostname is a client's option: leave it out, or drop --server"
    )
    assert shell.fails("tls bio x --verify-client required") == (
        "error: tls bio: --verify-client is a server's option: add --server, or leave it out"
    )
    assert (
        shell.fails("tls step nope") == "error: no resource named 'nope'; `ls` lists what is live"
    )
    shell.ok("tcp listen l 0")
    assert shell.fails("tls step l") == "error: l is a listener; tls step takes a tls-bio pair"
    assert shell.ok("close c") == "c: closed\n"
    assert "c" not in shell.session.registry


def test_a_refusal_after_the_client_thought_it_done_is_an_error_everywhere(
    shell: Shell,
) -> None:
    """TLS 1.3: the server's verdict on a missing client certificate comes after the
    client's Finished; the client learns it at its next read."""
    shell.ok("tls bio c; tls bio s --server --verify-client required")
    shell.ok("tls step c; tls pass c s; tls step s; tls pass s c; tls step c; tls pass c s")
    shell.fails("tls step s")
    shell.ok("tls pass s c")
    assert shell.fails("tls read c").splitlines()[-1] == (
        "error: c: the server wants a client certificate (alert: certificate required); "
        "--cert F --key F gives it one (`ca issue NAME --client DIR` makes one)"
    )
    info = shell.ok("tls info c")
    assert "state:    handshake failed" in info and "certificate required" in info
    assert "None" not in shell.ok("ls")


def test_a_recorded_handshake_by_steps_replays(shell: Shell, tmp_path: Path) -> None:
    """Randoms, key shares, certificates and signatures differ on every run: a recording
    writes their bytes and sizes as shapes, so `--check` passes, run after run."""
    from tests.helpers import run_cli

    transcript = tmp_path / "steps.psl"
    shell.ok(f"record {transcript}")
    shell.ok("tls bio c; tls bio s --server")
    shell.ok("tls step c; tls pass c s; tls step s; tls pass s c; tls step c; tls pass c s")
    shell.ok("tls step s; tls pass s c; tls write c hi; tls pass c s; tls read s")
    shell.ok("record stop")
    text = transcript.read_text()
    assert "{hexrow}" in text and "out  handshake" in text
    for _ in range(2):
        done = run_cli("--check", str(transcript))
        assert done.returncode == 0, done.stdout + done.stderr
