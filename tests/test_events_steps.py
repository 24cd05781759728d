"""The bare socket steps (bind, listen, connect, connect_ex, shutdown) post facts, not
sentences: their words come from events.describe and read as they did."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import Shell


def logged(shell: Shell, name: str, kind: str) -> list:
    return [e for e in list(shell.session.log) if e.source == name and e.kind == kind]


def test_bind_listen_connect_and_shutdown_are_facts(shell: Shell) -> None:
    shell.ok("socket l; bind l 0; listen l; socket c; connect c l; shutdown c wr")
    (bind,) = logged(shell, "l", "bind")
    (listen,) = logged(shell, "l", "listen")
    (connect,) = logged(shell, "c", "connect")
    (shutdown,) = logged(shell, "c", "shutdown")
    for event in (bind, listen, connect, shutdown):
        assert event.sentence == "", event
    local = bind.fields["local"]
    assert local.startswith("127.0.0.1:") and bind.detail == f"bound to {local}"
    assert listen.fields["backlog"] > 0
    assert listen.detail == f"listening (backlog {listen.fields['backlog']}, listen's default)"
    assert connect.fields["remote"] == local
    assert connect.detail == f"connected {connect.fields['local']} -> {local}"
    assert shutdown.fields == {"how": "wr"} and shutdown.detail == "shutdown(SHUT_WR)"


@pytest.mark.parametrize("backlog", [0, 1, 2147483647])
def test_a_given_backlog_is_said_as_given(shell: Shell, backlog: int) -> None:
    shell.ok(f"socket l; bind l 0; listen l {backlog}")
    (listen,) = logged(shell, "l", "listen")
    assert listen.detail == f"listening (backlog {backlog})"


def test_connect_ex_that_connects_is_a_fact_too(shell: Shell) -> None:
    shell.ok("tcp listen srv 0; socket c")
    assert "connect_ex returned 0" in shell.ok("connect_ex c srv")
    (connect,) = logged(shell, "c", "connect")
    assert connect.sentence == "" and connect.detail.startswith("connected 127.0.0.1:")


def test_a_relays_end_and_its_toxics_are_facts(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --handler echo")
    shell.ok("relay r tcp-listen:0 e --link 'slicer size=2'; tcp connect c r")
    shell.ok("send c 'ab\\x00\\r\\n'; recv c --until '\\n'; close c; wait r close")
    events = [e for e in list(shell.session.log) if e.source == "r"]
    toxic = [e for e in events if e.kind == "toxic"]
    assert toxic and all(e.sentence == "" for e in toxic)
    assert toxic[0].fields["toxic"] == "slicer" and "BYTES" in toxic[0].fields["action"]
    assert toxic[0].detail.startswith("slicer: ") and "BYTES" not in toxic[0].detail
    (done,) = [e for e in events if e.kind == "relay-end"]
    assert done.sentence == "" and done.fields["phase"] == "done"
    assert done.detail.startswith("both directions closed: relay done (")


def test_a_user_handlers_steps_and_a_forked_datagrams_end_are_facts(
    shell: Shell, tmp_path: Path
) -> None:
    handler = tmp_path / "h.py"
    handler.write_text("import socketserver\n"
                       "class H(socketserver.StreamRequestHandler):\n"
                       "    def handle(self):\n"
                       "        self.wfile.write(self.rfile.readline())\n")  # fmt: skip
    shell.ok(f"serve u tcp 0 --handler python:{handler}:H; tcp connect c u")
    shell.ok("sendline c hi; recv c --line; close c; serve d udp 0 --handler echo --forking")
    shell.ok("udp open q --connect d; send q ping; recv q")
    shell.ok("stop d")  # waits for its child, whose end is then said
    events = list(shell.session.log)
    steps = [e for e in events if e.source == "u" and "step" in e.fields]
    assert steps and all(e.sentence == "" for e in steps)
    assert steps[0].detail.startswith("H.setup() for 127.0.0.1:")
    (done,) = [e for e in events if e.fields.get("phase") == "datagram-done"]
    assert done.sentence == "" and done.detail.startswith("the datagram from 127.0.0.1:")
    assert f"child pid {done.fields['pid']} " in done.detail
