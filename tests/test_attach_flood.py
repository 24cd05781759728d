"""attach to a far side that sends faster than the terminal draws (a `yes`, a server
streaming): it reads no faster than it draws, memory stays bounded and Ctrl-] comes back
at once (trial 13 G5: the shell grew by 100 MB/s and Ctrl-] did nothing)."""

from __future__ import annotations

import re
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.terminal import Terminal

FLOOD = 400 << 20  # far more than socket buffers and the screen can hold between them


@pytest.fixture
def term(tmp_path: Path) -> Iterator[Terminal]:
    t = Terminal(tmp_path, cols=120)
    try:
        yield t
    finally:
        t.close()


def rss_mib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    raise AssertionError("no VmRSS")


LINE = 100  # bytes in each numbered line the server sends
SEEN = 200_000  # lines drawn before the test looks at how far the sender has got
# The kernel's socket buffers (tcp_rmem and tcp_wmem at most 6 MiB and 4 MiB by default)
# and a read or two: all that may lie between what was sent and what was drawn.
AHEAD = 32 << 20


def drawn(screen: str) -> int:
    """The highest line number on the screen."""
    numbers = [int(m) for m in re.findall(r"^(\d{9}) x", screen, re.M)]
    return max(numbers, default=0)


def test_a_socket_that_floods_is_read_as_fast_as_drawn_and_ctrl_right_bracket_leaves(
    term: Terminal,
) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    sent = [0]

    def flood() -> None:
        conn, _ = server.accept()
        with conn:
            n = 0
            try:
                while sent[0] < FLOOD:
                    block = b"".join(b"%09d " % i + b"x" * (LINE - 11) + b"\n"
                                     for i in range(n, n + 1000))  # fmt: skip
                    n += 1000
                    conn.sendall(block)
                    sent[0] += len(block)
            except OSError:
                pass  # the shell closed it: the test is over

    thread = threading.Thread(target=flood, daemon=True)
    thread.start()
    try:
        term.run(f"tcp connect fl 127.0.0.1:{port}", "fl: connected")
        term.run("attach fl")  # its banner scrolls away at once
        screen = term.wait_for(lambda s: drawn(s) >= SEEN, timeout=30)
        # What was read and not yet drawn would be held in the shell: only the socket
        # buffers may hold the sender back from the screen (it grew by 100 MB/s).
        ahead = sent[0] - drawn(screen) * LINE
        assert ahead < AHEAD, f"{ahead:,} bytes sent beyond the screen"
        term.send("C-]")
        screen = term.wait_for("fl: detached", timeout=10)
        assert sent[0] < FLOOD, "the whole flood was read"
        assert rss_mib(term.shell_pid()) < 300
        term.run("close fl", "fl: closed")
        term.run("echo still here", "still here")
    finally:
        server.close()
        thread.join(10)


def test_ctrl_right_bracket_leaves_a_child_that_prints_fast(term: Terminal, tmp_path: Path) -> None:
    prog = tmp_path / "yes.py"
    prog.write_text(
        "import sys\nfor i in range(10**8):\n    sys.stdout.write(f'line {i} of yes\\n')\n"
    )
    term.run(f"spawn y -- {sys.executable} {prog}", "y: started")
    term.run("attach y")  # its banner scrolls away at once
    term.wait_for(lambda s: s.count("of yes") > 10)
    term.send("C-]")
    term.wait_for("y: detached", timeout=10)
    assert rss_mib(term.shell_pid()) < 300
    term.run("close y", "y: ")
