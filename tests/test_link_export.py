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
    assert "r.toxics.append(Latency('latency', '><', delay=0.05, jitter=0.0))" in source
    assert "Slicer('slicer', '<', size=2, variation=0, delay=0.001)" in source
    assert "Bandwidth('bandwidth', '>', rate=65536.0)" in source


def test_a_toxic_not_exported_yet_is_marked(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --handler echo --threading")
    shell.ok("relay r tcp-listen:0 tcp:127.0.0.1:{e.port} --link 'reset after=10s'")
    shell.ok("relay q tcp-listen:0 tcp:127.0.0.1:{e.port}")
    shell.ok("link q limit bytes=10")
    source = script_of(shell)
    assert f"{NOT_EXPORTED} the reset toxic is not exported yet" in source
    assert f"{NOT_EXPORTED} the limit toxic is not exported yet" in source


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
    assert "BlackHole('timeout', '>', after=0.0)" in script_of(shell)
