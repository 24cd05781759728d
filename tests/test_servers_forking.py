"""--forking servers and signals: a child dies of SIGTERM as a server's child should (not
of the shell's own handlers, run in the child), Ctrl-C leaves it alone, and stop lets
a child that is finishing finish before it sends TERM."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

from tests.helpers import Shell, run_cli

HANDLERS = """
import socketserver, time

class Deaf(socketserver.BaseRequestHandler):
    # answers one line, then neither reads nor returns: only a signal ends it
    def handle(self):
        self.request.sendall(self.request.recv(100))
        time.sleep(30)

class Lingering(socketserver.BaseRequestHandler):
    # a datagram's answer, then a little more work before it returns
    def handle(self):
        data, sock = self.request
        sock.sendto(data.upper(), self.client_address)
        self.server.psl.datagram(self, data, out=True)  # the datagram in counts itself
        time.sleep(0.2)

class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(100):
            self.request.sendall(data)
"""

# What the interactive shell has and a script has not: an event loop's wakeup fd
# (asyncio's, under prompt_toolkit). A forked child closes it with its other descriptors.
WAKEUP_FD = (
    "py 'import signal, socket; wake = socket.socketpair(); wake[0].setblocking(False); "
    "signal.set_wakeup_fd(wake[0].fileno())'"
)


def test_a_forked_child_termed_by_stop_dies_of_sigterm_quietly(tmp_path: Path) -> None:
    (tmp_path / "h.py").write_text(HANDLERS)
    script = "; ".join((
        WAKEUP_FD,
        f"serve f tcp 0 --handler python:{tmp_path}/h.py:Deaf --forking",
        "tcp connect c f", "sendline c hi", "recv c --line", "stop f", "log f",
    ))  # fmt: skip
    done = run_cli("-c", script, timeout=60)
    assert done.returncode == 0, done.stderr
    assert re.search(r"client 127\.0\.0\.1:\d+ left after [\d.]+s \(child pid \d+ killed by "
                     r"SIGTERM\)", done.stdout), done.stdout  # fmt: skip
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr
    assert done.stderr == ""
    assert "the handler raised" not in done.stdout


def test_a_forked_child_ignores_ctrl_c_meant_for_the_shell(shell: Shell, tmp_path: Path) -> None:
    """Ctrl-C sends SIGINT to the terminal's whole process group: the shell's forked
    children are in it, and Ctrl-C cancels only the shell's running command."""
    (tmp_path / "h.py").write_text(HANDLERS)
    shell.ok(f"serve f tcp 0 --handler python:{tmp_path}/h.py:Echo --forking")
    shell.ok("tcp connect c f; sendline c one; recv c --line")
    server = shell.session.registry.get("f")
    assert shell.session.wait_for(lambda: server.children, 20)  # the parent has noted it
    (pid,) = server.children
    os.kill(pid, signal.SIGINT)
    shell.ok("sendline c two")
    assert shell.ok("recv c --line") == "two\n(4 bytes)\n"
    assert pid in server.children  # the same child, not reaped


def test_stop_lets_a_finishing_child_finish(shell: Shell, tmp_path: Path) -> None:
    """A --forking UDP child has answered and is about to return: stop waits for it,
    so its tally is read, rather than TERMing it (it said 'killed by signal 15')."""
    (tmp_path / "h.py").write_text(HANDLERS)
    shell.ok(f"serve uf udp 0 --handler python:{tmp_path}/h.py:Lingering --forking")
    shell.ok("udp open q; sendto q uf three")
    assert shell.ok("recvfrom q").splitlines()[1] == "THREE"
    shell.ok("stop uf")  # the child is still in its handler, finishing
    log = shell.ok("log uf")
    assert re.search(r"the datagram from 127\.0\.0\.1:\d+ took [\d.]+s \(in 5, out 5; "
                     r"child pid \d+ exited 0\)", log), log  # fmt: skip
    assert "killed" not in log


def test_stop_cuts_a_forked_childs_client_off_and_keeps_its_tally(
    shell: Shell, tmp_path: Path
) -> None:
    """The parent keeps each child's stream: stop shuts it down, the child's handler
    sees its client gone and returns, and what it counted is read."""
    (tmp_path / "h.py").write_text(HANDLERS)
    shell.ok(f"serve f tcp 0 --handler python:{tmp_path}/h.py:Echo --forking")
    shell.ok("tcp connect c f; sendline c held; recv c --line")
    assert shell.ok("stop f") == "f: stopped after serving 1 client\n"
    log = shell.ok("log f")
    assert re.search(r"client 127\.0\.0\.1:\d+ left after [\d.]+s \(in 5, out 5; child pid "
                     r"\d+ exited 0\)", log), log  # fmt: skip
    assert "EOF" in shell.ok("recv c --all")


def test_stop_in_a_terminal_with_an_outside_client_connected(tmp_path: Path) -> None:
    """The case as it was seen: the interactive shell (its event loop has a wakeup fd),
    a client from outside, `stop`. The child's stderr is the terminal."""
    import socket

    from tests.terminal import Terminal

    (tmp_path / "h.py").write_text(HANDLERS)
    term = Terminal(tmp_path, cols=220, rows=40)
    try:
        screen = term.run(f"serve f tcp 0 --handler python:{tmp_path}/h.py:Deaf --forking",
                          "f: ForkingTCPServer serving")  # fmt: skip
        found = re.search(r"f: ForkingTCPServer serving .* on 127\.0\.0\.1:(\d+)", screen)
        assert found, screen
        with socket.create_connection(("127.0.0.1", int(found.group(1))), timeout=30) as c:
            c.sendall(b"hi\n")
            assert c.recv(100) == b"hi\n"
            term.run("stop f", "f: stopped after serving 1 client")
            screen = term.run("log f", "killed by SIGTERM")
        assert "Exception ignored" not in screen and "Bad file descriptor" not in screen
        assert "exited with status 1" not in screen
    finally:
        term.close()


def test_stop_closes_the_copies_of_forked_clients_streams(shell: Shell, tmp_path: Path) -> None:
    import socket

    from tests.helpers import open_fds, port

    (tmp_path / "h.py").write_text(HANDLERS)
    shell.session.watchdog.start()  # a baseline with the session's watchdog in it
    before = open_fds()
    shell.ok(f"serve f tcp 0 --handler python:{tmp_path}/h.py:Echo --forking")
    clients = [socket.create_connection(("127.0.0.1", port(shell, "f")), timeout=30)
               for _ in range(3)]  # fmt: skip
    try:
        for c in clients:
            c.sendall(b"x")
            assert c.recv(10) == b"x"  # its child is serving it
        server = shell.session.registry.get("f")
        # the parent's copies, for stop (noted just after each fork)
        assert shell.session.wait_for(lambda: len(server.child_socks) == 3, 20)
        shell.ok("stop f")
        assert open_fds() == before | {c.fileno() for c in clients}
    finally:
        for c in clients:
            c.close()
