"""Export of serve --manual and handle_request: socketserver's class variables set on the
script's own server class, one request served per call, and a stop that does not wait
for a serve_forever never started."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Shell
from tests.test_export_units import check_same, script_of


def test_handle_request_serves_one_request_or_times_out(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "serve m tcp 0 --manual --timeout 0.05 --handler echo --queue-size 1 --reuse-address",
        "handle_request m",
        "tcp connect mc m",
        "sendline mc hi",
        "shutdown mc wr",
        "handle_request m --timeout 5",
        "recv mc --all",
        "handle_request m",
        "stop m",
    ], tmp_path)  # fmt: skip
    assert out.count("m: no request came in 0.05 s: handle_request returned through "
                     "handle_timeout()") == 2  # fmt: skip
    assert out[-1] == "m: stopped after serving 1 client"
    source = script_of(shell)
    for line in ("    manual = True", "    timeout = 0.05", "    request_queue_size = 1",
                 "    allow_reuse_address = True", "m.timeout = 5  # this call's"):  # fmt: skip
        assert line in source


def test_class_variables_of_a_server_that_serves_forever(shell: Shell, tmp_path: Path):
    out = check_same(shell, ["serve e tcp 0 --queue-size 2 --reuse-address --threading",
                             "tcp connect c e", "sendline c x", "recv c --line"],
                     tmp_path)  # fmt: skip
    assert out[-2:] == ["x", "(2 bytes)"]
    source = script_of(shell)
    assert (
        "    request_queue_size = 2" in source
        and "threading.Thread(target=e.serve_forever" in source
    )


def test_a_forking_server_serves_each_client_in_a_child(shell: Shell, tmp_path: Path):
    out = check_same(shell, ["serve e tcp 0 --forking", "tcp connect c e", "sendline c hi",
                             "recv c --line", "close c", "stop e"], tmp_path)  # fmt: skip
    assert out[0].startswith("e: ForkingTCPServer serving echo on ")
    assert out[-1] == "e: stopped after serving 1 client"
    # the child closes the script's other sockets, or c's connection would outlive c
    assert "class ForkedChild:" in script_of(shell)


def test_the_daytime_and_chargen_handlers_as_classes_of_the_script(shell: Shell, tmp_path: Path):
    import re

    from tests.test_export_units import masked, run_alone, shell_output

    lines = ["serve g tcp 0 --handler chargen", "tcp connect c g", "recv c 150", "close c",
             "serve d tcp 0 --handler daytime", "tcp connect c2 d", "recv c2 --all"]  # fmt: skip
    expected = shell_output(shell, lines)
    source = script_of(shell)
    out = run_alone(source, tmp_path)

    def clock(found: list[str]) -> list[str]:  # a second may pass between the two runs
        return masked([re.sub(r"\d\d:\d\d:\d\d", "T", line) for line in found])

    assert clock(out) == clock(expected)
    assert out[2].startswith(' !"#$%') and out[5] == "(150 bytes)"
    assert "class Chargen(socketserver.BaseRequestHandler):" in source


def test_a_selectors_server_is_a_selectors_loop_in_the_script(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "serve e tcp 0 --handler upper --selectors",
        "tcp connect a e",
        "tcp connect b e",
        r'send a "ab\x00\r\n"',
        r'send b "cd\n"',
        "recv b --line",
        "recv a 5 --repr",
        "shutdown a wr",
        "recv a",
        "stop e",
        "serve d tcp 0 --handler discard --selectors",
        "tcp connect c d",
        "send c gone",
        "close c",
    ], tmp_path)  # fmt: skip
    assert out[0].startswith("e: SelectorsTCPServer serving upper on ")
    assert "CD" in out and r"b'AB\x00\r\n'  (5 bytes)" in out
    source = script_of(shell)
    assert "class EServer(CountedServer, SelectorsServer, socketserver.TCPServer):" in source
    assert "self.selector.select(poll_interval)" in source and "ThreadingMixIn" not in source
