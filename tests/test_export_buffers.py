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


def test_fromfd_of_a_socket_by_name_is_a_dup_in_the_script_too(shell: Shell, tmp_path: Path):
    import re

    from tests.test_export_units import masked, run_alone, shell_output

    lines = ["tcp listen s 0", "tcp connect c s", "accept s a", "fromfd c2 c", "fromfd s2 s",
             "close c", "send c2 again", "recv a"]  # fmt: skip
    expected = shell_output(shell, lines)
    source = script_of(shell)
    assert "c2 = socket.fromfd(c.fileno(), c.family, c.type)" in source
    out = run_alone(source, tmp_path)

    def fds(found: list[str]) -> list[str]:  # fds are each process's own
        return masked([re.sub(r"fd \d+", "fd N", line) for line in found])

    assert fds(out) == fds(expected)
    assert out[-2:] == ["again", "(5 bytes)"]  # the connection lives on in the dup


def test_fromfd_of_a_bare_number_is_marked(shell: Shell):
    shell.ok("tcp listen s 0")
    fd = shell.ok("fileno s").split()[-1]
    shell.ok(f"fromfd s2 {fd}")
    assert "fromfd of an fd given as a number is not exported" in script_of(shell)


def test_makefile_objects_read_and_write_through_their_sockets(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "socketpair a b",
        "makefile f b rb",
        "makefile w a wb",
        r'write w "one\ntwo\n"',
        "read f --line",
        "read f 3",
        r'write w "x\x00y\r"',
        "close w",
        "close a",
        "read f --all",
        "read f --line",
    ], tmp_path)  # fmt: skip
    assert "w: closed; a stays open" in out
    assert out[-4:] == ["x\\x00y\\r", "(5 bytes)", "EOF: the peer closed its side",
                        "EOF: the peer closed its side"]  # fmt: skip


def test_a_text_mode_file_object_is_marked(shell: Shell):
    shell.ok("socketpair a b")
    shell.ok("makefile f b r")
    assert "makefile in text mode ('r') is not exported yet" in script_of(shell)
