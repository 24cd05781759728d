"""`handlers` is made from the handler classes, and each handler serves where it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import Shell

LISTED = {
    "echo": "sends back every byte it receives (tcp, udp, unix)",
    "discard": "reads and drops everything, RFC 863 (tcp, udp, unix)",
    "upper": "sends back what it receives in upper case (tcp, udp, unix)",
    "daytime": "sends the date and time, then closes, RFC 867 (tcp, udp, unix)",
    "chargen": "sends RFC 864's rotating pattern until the client closes (tcp, unix)",
    "http": "serves --dir DIR (or a fresh directory), GET and HEAD, in threads (tcp)",
    "chat": "a line-based room: each line to the other clients, asynchat's job (tcp, unix)",
    "capture": "keeps what clients send, for `log` (tcp, udp, unix)",
    "forward:ADDR": "a TCP proxy to ADDR or a listener's name (tcp, unix)",
    "python:FILE:CLASS": "your own BaseRequestHandler subclass, loaded from FILE",
}

USER_HANDLER = """\
import socketserver

class Quiet(socketserver.BaseRequestHandler):
    def handle(self):
        pass
"""


def test_handlers_lists_each_one_in_order_with_what_it_does(shell: Shell) -> None:
    rows = shell.ok("handlers").splitlines()
    assert rows[0].split() == ["HANDLER", "DOES"]
    listed = dict(re.split(r"\s{2,}", row.strip(), maxsplit=1) for row in rows[1:])
    assert list(listed.items()) == list(LISTED.items())


def _serves(shell: Shell, name: str, proto: str, handler: str, tmp_path: Path) -> bool:
    addr = str(tmp_path / f"{name}.sock") if proto == "unix" else "0"
    ok, _, err = shell(f"serve {name} {proto} {addr} --handler {handler}")
    if ok:
        shell.ok(f"stop {name}")
    else:
        assert len(err.strip().splitlines()) == 1 and err.startswith("error: serve: "), err
        assert "tcp" in err  # it says where it can be served instead
    return ok


@pytest.mark.parametrize("handler", [h for h in LISTED if not h.startswith("python:")])
def test_each_handler_serves_exactly_where_it_says(
    shell: Shell, tmp_path: Path, handler: str
) -> None:
    said = LISTED[handler].rpartition("(")[2].rstrip(")").split(", ")
    spec = handler.replace("ADDR", "127.0.0.1:9")  # forward: reached only when a client comes
    served = [proto for n, proto in enumerate(("tcp", "udp", "unix"))
              if _serves(shell, f"s{n}", proto, spec, tmp_path)]  # fmt: skip
    assert served == said
    assert "s0" not in shell.ok("ls")  # each was stopped


def test_a_handler_of_ones_own_serves_on_every_proto(shell: Shell, tmp_path: Path) -> None:
    path = tmp_path / "mine.py"
    path.write_text(USER_HANDLER)
    served = [proto for n, proto in enumerate(("tcp", "udp", "unix"))
              if _serves(shell, f"u{n}", proto, f"python:{path}:Quiet", tmp_path)]  # fmt: skip
    assert served == ["tcp", "udp", "unix"]
