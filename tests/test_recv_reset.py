"""A reset a read ahead met is met by the recv that comes to it: the error line, and the
timeline's RST mark on that socket."""

from __future__ import annotations

from tests.helpers import Shell


def test_a_reset_is_marked_where_the_recv_met_it(shell: Shell) -> None:
    shell.ok("tcp listen srv 0; tcp connect c srv; accept srv s; py import sys")
    shell.ok("py s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, "
             "(1).to_bytes(4, sys.byteorder) + bytes(4))")  # fmt: skip
    shell.ok("close s; wait c eof")  # the watcher's read ahead takes the reset
    assert "ECONNRESET" in shell.fails("recv c")
    drawing = shell.ok("timeline c")
    assert "* RST: ECONNRESET" in drawing
    assert drawing.index("recv c") < drawing.index("RST: ECONNRESET")
