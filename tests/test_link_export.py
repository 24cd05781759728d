"""export py of relay --link, link and unlink: the script shapes the stream as the shell did."""

from __future__ import annotations

from pathlib import Path

from pslrepl.export import NOT_EXPORTED
from tests.helpers import Shell
from tests.test_export_units import check_same, script_of


def test_latency_and_slicer_export_as_the_scripts_own_toxics(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "serve e tcp 0 --handler echo --threading",
        "relay r tcp-listen:0 tcp:127.0.0.1:{e.port} --link 'latency delay=50ms dir=both'",
        "tcp connect c r",
        r'send c "a\x00\r\nb"',
        "recv c 6 --repr",
        "link r slicer size=2 delay=1ms",
        "link r bandwidth rate=64KiB/s --dir up",
        "sendline c abcdef",
        "recv c --line",
        "unlink r slicer",
        "unlink r",
        "unlink r",
        "shutdown c wr",
        "recv c",
        "wait r close",
    ], tmp_path)  # fmt: skip
    assert "r: linked latency: latency delay=50ms (both ways)" in out
    assert "r: linked slicer: slicer size=2 (B -> A)" in out
    assert "r: unlinked slicer" in out and "r: unlinked latency, bandwidth" in out
    assert "r: no toxics to remove" in out
    source = script_of(shell)
    assert "r.link(Latency('latency', 'both', 'delay=50ms', delay=0.05, jitter=0.0))" in source
    assert "Slicer('slicer', 'down', 'size=2', size=2, variation=0, delay=0.001)" in source
    assert "Bandwidth('bandwidth', 'up', 'rate=64KiB/s', rate=65536.0)" in source


def test_limit_cuts_the_stream_and_link_lists_the_toxics(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "serve e tcp 0 --handler echo --threading",
        "relay r tcp-listen:0 e --link 'limit bytes=5'",
        "link r",
        "tcp connect c r",
        r'send c "ab\x00\r\nfghij"',
        "recv c --all --repr",
        "wait r close",
        "link r",
        "unlink r",
        "link r",
        "close r",
    ], tmp_path)  # fmt: skip
    assert "limit  limit  bytes=5   down  1         0" in out
    assert "limit  limit  bytes=5   down  1         1" in out
    assert r"b'ab\x00\r\n'  (5 bytes)" in out
    assert "(no toxics on r: link r TOXIC ...)" in out
    assert "Limit('limit', 'down', 'bytes=5', bytes=5)" in script_of(shell)


def test_reset_sends_an_rst_to_the_client(shell: Shell, tmp_path: Path) -> None:
    out = check_same(shell, [
        "set notes off",  # (the shell's note is on stdout, its error on stderr: one order)
        "serve e tcp 0 --handler echo --threading",
        "relay r tcp-listen:0 e",
        "tcp connect c r",
        "sendline c hi",
        "recv c --line",
        "link r reset",
        "recv c",
        "wait r close",
    ], tmp_path)  # fmt: skip
    assert "error: c: Connection reset by peer (ECONNRESET): the peer reset the connection" in out


def test_close_after_slow_close_and_delay_accept(shell: Shell, tmp_path: Path) -> None:
    out = check_same(shell, [
        "serve e tcp 0 --handler echo --threading",
        "relay r tcp-listen:0 e --link 'delay_accept delay=20ms' --link 'slow_close delay=20ms'",
        "tcp connect c r",
        "sendline c hi",
        "recv c --line",
        "shutdown c wr",
        "recv c",
        "wait r close",
        "relay q tcp-listen:0 e --link 'close_after time=0 dir=both'",
        "tcp connect d q",
        "recv d",
        "wait q close",
    ], tmp_path)  # fmt: skip
    assert out.count("EOF: the peer closed its side (recv returned b'')") == 2
    source = script_of(shell)
    assert "DelayAccept('delay_accept', 'down', 'delay=20ms', delay=0.02)" in source
    assert "CloseAfter('close_after', 'both', 'time=0ms', time=0.0)" in source


def test_a_toxic_with_a_toxicity_is_marked(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --handler echo --threading")
    shell.ok("relay q tcp-listen:0 tcp:127.0.0.1:{e.port}")
    shell.ok("link q limit bytes=10 --toxicity 0.5 --seed 1")
    source = script_of(shell)
    assert f"{NOT_EXPORTED} a toxic's toxicity is not exported yet" in source


def test_a_black_hole_to_a_server_by_name(shell: Shell, tmp_path: Path) -> None:
    out = check_same(shell, [
        "serve e tcp 0 --handler echo --threading",
        "relay r tcp-listen:0 e --link 'timeout after=0 dir=up'",
        "tcp connect c r",
        "sendline c lost",
        "recv c --timeout 0.3",
        "unlink r",
        "sendline c found",
        "recv c --line",
    ], tmp_path)  # fmt: skip
    assert any(line.startswith("r: relaying tcp-listen:127.0.0.1:") and " <-> tcp:127.0.0.1:"
               in line for line in out)  # fmt: skip
    assert "error: c: timeout after 0.3 s waiting for data" in "\n".join(out)
    assert "found" in out
    assert "BlackHole('timeout', 'up', 'after=0ms', after=0.0)" in script_of(shell)


def test_a_port_typed_as_a_placeholder_in_a_childs_argv_is_the_scripts_own(
    shell: Shell, tmp_path: Path
) -> None:
    from tests.helpers import child

    code = child("""
        import socket, sys
        c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
        c.sendall(b"through\\n")
        print(c.recv(100))
    """)
    out = check_same(shell, [
        "serve e tcp 0 --handler echo --threading",
        "relay r tcp-listen:0 e",
        f"run -- {code} {{r.port}}",
    ], tmp_path)  # fmt: skip
    # The child printed a repr: its backslash is shown doubled, as every byte of data is.
    assert "b'through\\\\n'" in out and "exited with status 0" in out
    assert "str(r.where.rpartition(':')[2])" in script_of(shell)


def test_link_lists_what_dir_means_for_each_toxic_as_the_shell(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "serve e tcp 0 --handler echo --threading",
        "relay r tcp-listen:0 e --link 'delay_accept delay=10ms' --link 'reset after=60s dir=up'"
        " --link 'close_after time=60s' --link 'slow_close delay=1ms dir=both'",
        "link r",
        "close r",
    ], tmp_path)  # fmt: skip
    assert any("up (RST to B)" in line for line in out)
    assert any(line.startswith("close_after ") and "- (closes both ends)" in line for line in out)
