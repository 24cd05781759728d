"""export py of a bind that failed: on a port of the script's own (TIME_WAIT's lesson,
a port in use) the script meets the same error on its own port; a typed number stays
marked."""

from __future__ import annotations

from pathlib import Path

from pslrepl.export import NOT_EXPORTED
from tests.helpers import Shell
from tests.test_export_units import check_same, script_of


def test_a_bind_in_time_wait_fails_on_the_scripts_own_port(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "set notes off",
        "tcp listen srv 0",
        "tcp connect c srv",
        "accept srv s",
        "close s",  # s closes first: its side of the connection waits in TIME_WAIT
        "wait c eof",
        "close c",
        "close srv",
        "socket again tcp",
        "bind again 127.0.0.1:{srv.port}",
        "close again",
    ], tmp_path)  # fmt: skip
    port = next(line for line in out if line.startswith("srv: listening on ")).rpartition(":")[2]
    assert f"error: again: Address already in use (EADDRINUSE): 127.0.0.1:{port} is taken; " in (
        "\n".join(out)
    )
    source = script_of(shell)
    # the address is kept before the close, and the bind is of the script's own port
    assert source.index("srv_addr = srv.getsockname()") < source.index("srv.close()")
    assert "where = ('127.0.0.1', srv_addr[1])" in source


def test_a_bind_on_a_listeners_port_in_use(shell: Shell, tmp_path: Path) -> None:
    out = check_same(shell, [
        "tcp listen srv 0",
        "socket b tcp",
        "bind b 127.0.0.1:{srv.port}",
        "close b",
    ], tmp_path)  # fmt: skip
    assert any(line.startswith("error: b: Address already in use (EADDRINUSE)") for line in out)
    assert "where = ('127.0.0.1', srv.getsockname()[1])" in script_of(shell)


def test_a_bind_that_failed_on_a_typed_port_stays_marked(shell: Shell) -> None:
    port = shell.ok("tcp listen srv 0").strip().rpartition(":")[2]
    shell.ok("socket b tcp")
    shell.fails(f"bind b 127.0.0.1:{port}")
    source = script_of(shell)
    assert f"{NOT_EXPORTED} this bind failed in the session on a port typed as a number" in source
