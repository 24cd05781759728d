"""What resources wait on past file descriptor 1023, where select() can't go: wait on a
listener and a TLS socket, a relay's TLS side, and stop's wait for --forking children."""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Shell, make_shell

FD_SETSIZE = 1024  # select() takes no file descriptor from here on


@pytest.fixture
def high() -> Iterator[Shell]:
    """A shell whose new descriptors all come past FD_SETSIZE: every lower one is taken."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = FD_SETSIZE + 256
    if hard != resource.RLIM_INFINITY and hard < want:
        pytest.skip(f"the hard limit on open files is {hard}: no fd past {FD_SETSIZE - 1}")
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    taken: list[int] = []
    sh = None
    try:
        while not taken or taken[-1] < FD_SETSIZE - 1:  # bounded by FD_SETSIZE
            taken.append(os.open(os.devnull, os.O_RDONLY))
        sh = make_shell()
        sh.session.settings.timeout = 10.0
        yield sh
    finally:
        if sh is not None:
            sh.close()
        for fd in taken:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def fd_of(sh: Shell, name: str) -> int:
    fd: int = sh.session.registry.get(name).obj.fileno()
    return fd


def test_wait_for_a_connection_and_for_tls_data_past_fd_1023(high: Shell) -> None:
    high.ok("tcp listen l 0")
    assert fd_of(high, "l") >= FD_SETSIZE
    assert "waiting for accept" in high.fails("wait l accept --timeout 0.2")
    high.ok("tcp connect c l")
    assert high.ok("wait l accept") == "l: a connection is waiting: accept l\n"
    high.ok("serve e tcp 0 --handler echo --tls --threading; tls connect t e")
    assert fd_of(high, "t") >= FD_SETSIZE
    high.ok("sendline t 'one\\x00two'")
    assert high.ok("wait t data") == "t: data waiting: recv t\n"
    assert high.ok("recv t --line --repr").startswith("b'one\\x00two\\n'")


def test_a_relay_with_a_tls_side_past_fd_1023_carries_both_ways(high: Shell) -> None:
    """The relay waits on the TLS socket whenever OpenSSL wants to read or write."""
    high.ok("serve e tcp 0 --handler echo --tls --threading; tls connect t e")
    high.ok("socketpair a b; relay r t b")
    assert fd_of(high, "t") >= FD_SETSIZE
    payload = "x" * 3000
    high.ok(f"sendline a {payload}")
    assert high.ok("recv a --line") == f"{payload}\n(3001 bytes)\n"
    assert high.ok("info r").count("read/write") == 1  # not spliced: TLS goes through Python


HANGS = """
import socketserver, time

class Hang(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(b"here\\n")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # gone only when TERMed
            time.sleep(0.05)
"""


def test_stop_waits_for_forked_children_past_fd_1023(high: Shell, tmp_path: Path) -> None:
    """stop waits on each child's pidfd, past 1023 too, then TERMs the one that stays."""
    (tmp_path / "h.py").write_text(HANGS)
    high.ok(f"serve f tcp 0 --handler python:{tmp_path}/h.py:Hang --forking")
    high.ok("tcp connect c f; recv c --line")
    out = high.ok("stop f")
    assert out.startswith("f: stopped after serving 1 client")
    assert "killed by SIGTERM" in high.ok("log f")
