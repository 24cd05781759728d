"""set tls-keylog FILE: every TLS context of the session writes NSS key-log lines there
(what Wireshark decrypts a capture with); 0600, never through a link."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pslrepl.tls_trace import CLIENT_HELLO, client_random, trace_of
from tests.helpers import Shell, port

TLS13_LABELS = {
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET",
}  # fmt: skip
LINE = re.compile(r"([A-Z_0-9]+) ([0-9a-f]{64}) ([0-9a-f]{64,})")


def secrets(path: Path) -> list[tuple[str, str, str]]:
    """The key log's lines, each checked to be NSS's format (comments aside)."""
    found = []
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            continue
        m = LINE.fullmatch(line)
        assert m, f"not an NSS key-log line: {line!r}"
        found.append((m[1], m[2], m[3]))
    return found


def random_of(shell: Shell, name: str) -> str:
    """The client random a connection's ClientHello carried: what key-log lines name it by."""
    trace = trace_of(shell.session.registry.get(name).sock)
    assert trace is not None
    return client_random(trace.last(CLIENT_HELLO, out=True))


def test_the_key_log_holds_each_connections_secrets_from_both_sides(
    shell: Shell, tmp_path: Path
) -> None:
    shell.ok("serve web tcp 0 --handler echo --tls --threading")  # made before the set
    (tmp_path / "keys").mkdir()  # the key log goes in a directory that is there
    log = tmp_path / "keys" / "tls.log"
    assert shell.ok(f"set tls-keylog {log}") == f"tls-keylog: {log}\n"
    assert log.stat().st_mode & 0o777 == 0o600 and log.read_text() == ""
    out = shell.ok("tls connect a web") + shell.ok("tls connect b web --max-version TLSv1.2")
    assert str(log) not in out  # its path was said once, when set
    shell.ok("sendline a one; recv a --line; sendline b two; recv b --line")
    lines = secrets(log)
    a, b = random_of(shell, "a"), random_of(shell, "b")
    assert a != b
    of_a = [(label, secret) for label, rnd, secret in lines if rnd == a]
    # TLS 1.3: five secrets, written by the client and by the server alike
    assert {x for x, _ in of_a} == TLS13_LABELS
    assert len(of_a) == 2 * len(TLS13_LABELS) and len(set(of_a)) == len(TLS13_LABELS)
    # TLS 1.2: one master secret, CLIENT_RANDOM
    of_b = [(label, secret) for label, rnd, secret in lines if rnd == b]
    assert len(of_b) == 2 and len(set(of_b)) == 1 and of_b[0][0] == "CLIENT_RANDOM"
    assert log.stat().st_mode & 0o777 == 0o600


def test_off_stops_it_and_a_removed_log_is_made_again_0600(shell: Shell, tmp_path: Path) -> None:
    log = tmp_path / "tls.log"
    shell.ok(f"set tls-keylog {log}; serve web tcp 0 --handler echo --tls --threading")
    shell.ok("tls connect a web; sendline a x; recv a --line")
    assert secrets(log)
    log.unlink()
    shell.ok("tls connect b web; sendline b x; recv b --line")
    assert log.stat().st_mode & 0o777 == 0o600  # not the 0644 fopen would make
    assert {rnd for _, rnd, _ in secrets(log)} == {random_of(shell, "b")}
    assert shell.ok("set tls-keylog off") == "tls-keylog: off\n"
    before = log.read_text()
    shell.ok("tls connect c web; sendline c x; recv c --line; tls bio d")
    assert log.read_text() == before
    assert shell.ok("set tls-keylog") == "tls-keylog: off\n"


def test_the_key_log_is_never_written_through_a_link(shell: Shell, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    (tmp_path / "tls.log").symlink_to(victim)
    assert shell.fails(f"set tls-keylog {tmp_path}/tls.log") == (
        f"error: tls-keylog: {tmp_path}/tls.log is a symbolic link: not written through it; "
        "remove the link or pick another place"
    )
    assert shell.ok("set tls-keylog") == "tls-keylog: off\n"
    shared = tmp_path / "shared.log"
    shared.write_text("")
    shared.chmod(0o644)
    shell.ok(f"set tls-keylog {shared}")
    assert shared.stat().st_mode & 0o777 == 0o600
    # Swapped for a link after the set: the next connection writes nothing through it.
    shared.unlink()
    shared.symlink_to(victim)
    shell.ok("serve web tcp 0 --handler echo --tls --threading; tls connect a web")
    assert victim.read_text() == "keep me\n"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_s_client_writes_the_same_secrets(shell: Shell, tmp_path: Path) -> None:
    """openssl's own key log of a connection to serve --tls, line for line in ours."""
    log, theirs = tmp_path / "ours.log", tmp_path / "theirs.log"
    shell.ok(f"set tls-keylog {log}; ca export {tmp_path}")
    shell.ok("serve web tcp 0 --handler echo --tls --threading")
    done = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port(shell, 'web')}", "-CAfile",
         str(tmp_path / "ca.pem"), "-servername", "localhost", "-keylogfile", str(theirs)],
        input=b"", capture_output=True, timeout=20,
    )  # fmt: skip
    assert b"Verification: OK" in done.stdout + done.stderr
    shell.ok("stop web")  # its handler has finished: its lines are written
    expected = set(secrets(theirs))
    assert {label for label, _, _ in expected} == TLS13_LABELS
    assert expected <= set(secrets(log))
