"""A user's own handler class, derived from each of socketserver's three: served on real
sockets, with setup, handle and finish each shown as an event as socketserver calls them."""

from __future__ import annotations

import hashlib
import os
import re
import textwrap
from pathlib import Path

import pytest

from tests.helpers import Shell

HANDLERS = textwrap.dedent("""
    import socketserver

    class Shout(socketserver.StreamRequestHandler):
        def handle(self):
            self.wfile.write(self.rfile.readline().upper())

    class Greet(socketserver.StreamRequestHandler):
        def setup(self):
            super().setup()
            self.wfile.write(b"hello from setup\\n")

        def finish(self):
            self.wfile.write(b"bye from finish\\n")
            super().finish()

        def handle(self):
            self.wfile.write(self.rfile.readline())

    class Reverse(socketserver.DatagramRequestHandler):
        def handle(self):
            self.wfile.write(self.rfile.read()[::-1])

    class Hash(socketserver.BaseRequestHandler):
        def handle(self):
            import hashlib
            digest = hashlib.sha256()
            while chunk := self.request.recv(65536):
                digest.update(chunk)
            self.request.sendall(digest.hexdigest().encode())

    class Broken(socketserver.StreamRequestHandler):
        def handle(self):
            raise ValueError("handler bug")
""")


@pytest.fixture
def mine(tmp_path: Path) -> Path:
    path = tmp_path / "mine.py"
    path.write_text(HANDLERS)
    return path


def steps(shell: Shell, name: str) -> list[str]:
    """The lifecycle events in NAME's log, in order, with client events among them."""
    wanted = re.compile(r"(\w+\.(?:setup|handle|finish)\(\) for \S+|client \S+ "
                        r"(?:connected|left))")  # fmt: skip
    return [m.group(1) for m in wanted.finditer(shell.ok(f"log {name}"))]


def test_a_stream_handler_shows_setup_handle_finish_in_order(shell: Shell, mine: Path) -> None:
    shell.ok(f"serve s tcp 0 --manual --handler python:{mine}:Shout")
    shell.ok("tcp connect c s; sendline c 'quiet words'")
    shell.ok("handle_request s")  # sync: the handler has returned, finish and all
    assert shell.ok("recv c --all").startswith("QUIET WORDS\n")
    who = shell.session.registry.get("c").local
    assert steps(shell, "s") == [
        f"client {who} connected", f"Shout.setup() for {who}",
        f"Shout.handle() for {who}", f"Shout.finish() for {who}", f"client {who} left",
    ]  # fmt: skip
    assert "in 12, out 12" in shell.ok("log s")  # rfile and wfile counted at the socket


def test_the_users_own_setup_and_finish_still_run(shell: Shell, mine: Path) -> None:
    shell.ok(f"serve g tcp 0 --manual --handler python:{mine}:Greet")
    shell.ok("tcp connect c g; sendline c middle; handle_request g")
    assert shell.ok("recv c --all").startswith("hello from setup\nmiddle\nbye from finish\n")
    assert [s.split(".")[1].split("(")[0] for s in steps(shell, "g") if "()" in s] == [
        "setup", "handle", "finish",
    ]  # fmt: skip


def test_a_datagram_handler_replies_with_binary_and_is_counted(shell: Shell, mine: Path) -> None:
    shell.ok(f"serve r udp 0 --manual --handler python:{mine}:Reverse")
    shell.ok("udp open q --connect r; send q 'ab\\x00\\r\\nz'")
    shell.ok("handle_request r")
    assert shell.ok("recv q --hex").startswith("00000000  7a 0a 0d 00 62 61 ")
    info = shell.ok("info r")
    assert "bytes in:       6\n" in info and "bytes out:      6\n" in info
    who = shell.session.registry.get("q").local
    assert steps(shell, "r") == [f"Reverse.{s}() for {who}" for s in ("setup", "handle",
                                                                       "finish")]  # fmt: skip


def test_a_base_handler_on_unix_takes_a_large_payload(
    shell: Shell, mine: Path, tmp_path: Path
) -> None:
    payload = tmp_path / "payload"
    payload.write_bytes(os.urandom(1 << 20) + b"\x00\r\n")
    sock = tmp_path / "h.sock"
    shell.ok(f"serve h unix {sock} --manual --threading --handler python:{mine}:Hash")
    shell.ok(f"unix connect c {sock}; handle_request h")  # handle() runs on in its thread
    shell.ok(f"sendall c --file {payload}; shutdown c wr")
    assert shell.ok("recv c --all").startswith(hashlib.sha256(payload.read_bytes()).hexdigest())
    res = shell.session.registry.get("h")
    assert shell.session.wait_for(lambda: not res.connections, 20)
    assert [s.split("(")[0] for s in steps(shell, "h") if "()" in s] == [
        "Hash.setup", "Hash.handle", "Hash.finish",
    ]  # fmt: skip


def test_finish_runs_even_when_handle_raises(shell: Shell, mine: Path) -> None:
    shell.ok(f"serve b tcp 0 --manual --handler python:{mine}:Broken")
    shell.ok("tcp connect c b; handle_request b")
    log = shell.ok("log b")
    assert "ValueError: handler bug" in log
    assert [s.split("(")[0] for s in steps(shell, "b") if "()" in s] == [
        "Broken.setup", "Broken.handle", "Broken.finish",
    ]  # fmt: skip
    assert "handler errors: 1\n" in shell.ok("info b")


def test_a_threaded_server_shows_each_step_too(shell: Shell, mine: Path) -> None:
    shell.ok(f"serve s tcp 0 --threading --handler python:{mine}:Shout")
    shell.ok("tcp connect c s; sendline c x; recv c --all")
    res = shell.session.registry.get("s")
    assert shell.session.wait_for(
        lambda: any("Shout.finish()" in e.detail for e in list(res.log)), 20
    )


def test_a_handler_served_on_the_wrong_kind_of_server_is_refused(shell: Shell, mine: Path) -> None:
    assert shell.fails(f"serve x udp 0 --handler python:{mine}:Shout") == (
        "error: serve: Shout is a StreamRequestHandler (a connection's rfile and wfile): "
        "serve it on tcp or unix, or derive it from DatagramRequestHandler for udp"
    )
    assert shell.fails(f"serve x tcp 0 --handler python:{mine}:Reverse") == (
        "error: serve: Reverse is a DatagramRequestHandler (one datagram each): serve it "
        "on udp, or derive it from StreamRequestHandler for tcp"
    )
    assert "x" not in shell.session.registry
    shell.ok(f"serve x udp 0 --handler python:{mine}:Hash")  # a BaseRequestHandler: either


def test_each_step_is_shown_live_above_the_prompt(shell: Shell, mine: Path) -> None:
    shell.ok("set events live")
    shell.ok(f"serve s tcp 0 --manual --handler python:{mine}:Shout")
    shell.ok("tcp connect c s; sendline c x")
    who = shell.session.registry.get("c").local
    # c's own notice (its reply waiting) comes from another thread, in any order.
    lines = [x for x in shell.ok("handle_request s").splitlines() if not x.startswith("[c]")]
    assert lines[:5] == [
        f"s: handle_request served the request of {who}",
        f"[s] client {who} connected",
        f"[s] Shout.setup() for {who}",
        f"[s] Shout.handle() for {who}",
        f"[s] Shout.finish() for {who}",
    ]
    assert re.fullmatch(rf"\[s\] client {who} left after [\d.]+s \(in 2, out 2\)", lines[5])
