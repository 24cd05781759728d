"""Export of recv_into and recvfrom_into: the script fills its own bytearray and shows it
as the shell does (part filled, all filled, more than is shown, EOF)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Shell
from tests.test_export_units import check_same, script_of


def test_recv_into_and_recvfrom_into_fill_the_scripts_own_buffer(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "socketpair a b",
        r"send a 'he\x00\r\n'",
        "recv_into b 2 --size 8",
        "recvfrom_into b",
        "send a " + "x" * 70,
        "recv_into b",
        "send a " + "y" * 100,
        "recv_into b 70 --size 70",
        "close a",
        "recv_into b",
        "recv_into b",
    ], tmp_path)  # fmt: skip
    assert "buf = bytearray(b'he' + b'\\x00' * 6)" in out
    assert (
        "b: recvfrom_into returned (3, None): buf[:3] filled, 61 of its 64 bytes untouched" in out
    )
    assert "b: recv_into returned 64: all 64 bytes of buf filled" in out
    assert f"buf = bytearray(b'{'x' * 6}{'y' * 58}'... (70 bytes))" in out
    assert out[-2:] == ["b: recv_into returned 0: EOF: the peer closed its side; buf untouched",
                        "buf = bytearray(b'\\x00' * 64)"]  # fmt: skip


def test_recvfrom_into_a_datagram_is_marked_not_exported(shell: Shell):
    shell.ok("udp open u --bind 0")
    shell.ok("sendto u u hello")
    shell.ok("recvfrom_into u 2 --size 8")
    assert "recvfrom_into on a datagram socket is not exported yet" in script_of(shell)
