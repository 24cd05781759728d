"""serve --manual and handle_request: one request at a time, with the class variables the
notes name (timeout, request_queue_size, allow_reuse_address) checked on real sockets."""

from __future__ import annotations

import errno
import os
import re
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Shell, port

DAYTIME = re.compile(r"\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}\\r\n")


def served(out: str) -> str:
    """The client address handle_request says it served."""
    found = re.search(r"served the request of (\S+)", out)
    assert found, out
    return found.group(1)


def local(shell: Shell, name: str) -> str:
    return shell.session.registry.get(name).local


def connecting(addr: tuple[str, int]) -> socket.socket:
    """A client whose connect is under way (non-blocking): done once it is writable."""
    sock = socket.socket()
    sock.setblocking(False)
    assert sock.connect_ex(addr) in (0, errno.EINPROGRESS)
    return sock


def connected_within(sock: socket.socket, seconds: float) -> bool:
    _, writable, _ = select.select([], [sock], [], seconds)
    if not writable:
        return False
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    return True


@pytest.fixture
def clients() -> Iterator[list[socket.socket]]:
    made: list[socket.socket] = []
    try:
        yield made
    finally:
        for sock in made:
            sock.close()


def test_manual_binds_and_listens_but_serves_nobody_until_handle_request(shell: Shell) -> None:
    out = shell.ok("serve one tcp 0 --manual --handler daytime")
    assert re.fullmatch(r"one: TCPServer listening on 127\.0\.0\.1:\d+ for daytime, not "
                        r"serving: handle_request one serves one request\n", out)  # fmt: skip
    info = shell.ok("info one")
    assert "state:          listening, 0 requests handled (handle_request)\n" in info
    assert "thread:         none: --manual (handle_request NAME)\n" in info
    # The kernel completes the handshake from the listen queue: connect works, and
    # nothing comes until a request is handled.
    shell.ok("tcp connect c one")
    assert "timeout" in shell.fails("recv c --timeout 0.3")
    assert shell.session.registry.get("one").served == 0
    assert not any(t.name == "pslrepl:one" for t in threading.enumerate())
    shell.ok("handle_request one")
    assert DAYTIME.match(shell.ok("recv c --all"))
    assert shell.ok("stop one") == "one: stopped after serving 1 client\n"


def test_handle_request_serves_one_of_two_waiting_clients(shell: Shell) -> None:
    shell.ok("serve one tcp 0 --manual --handler daytime")
    shell.ok("tcp connect c1 one; tcp connect c2 one")
    first = shell.ok("handle_request one")
    assert first == f"one: handle_request served the request of {local(shell, 'c1')}\n"
    assert DAYTIME.match(shell.ok("recv c1 --all"))
    log = shell.ok("log one")
    assert f"client {local(shell, 'c1')} connected" in log
    assert local(shell, "c2") not in log  # still waiting in the listen queue
    assert "timeout" in shell.fails("recv c2 --timeout 0.3")
    assert "listening, 1 request handled" in shell.ok("info one")
    assert served(shell.ok("handle_request one")) == local(shell, "c2")
    assert DAYTIME.match(shell.ok("recv c2 --all"))
    assert "listening, 2 requests handled" in shell.ok("info one")


def test_a_sync_handler_holds_the_prompt_until_it_returns(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --manual --handler echo")
    shell.ok("tcp connect c e; send c 'a\\x00\\r\\nb'; shutdown c wr")
    # echo reads until c's EOF, and handle_request returns once it has.
    assert served(shell.ok("handle_request e")) == local(shell, "c")
    assert shell.ok("recv c --all --hex").startswith("00000000  61 00 0d 0a 62 ")
    assert "left after" in shell.ok("log e")


def test_a_threading_server_hands_the_request_to_a_thread(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --manual --threading --handler echo")
    shell.ok("tcp connect c e")
    out = shell.ok("handle_request e")  # returns while echo still serves c
    assert out.endswith("; its handler runs on in a thread\n")
    shell.ok("sendline c still-here")
    assert shell.ok("recv c --line") == "still-here\n(11 bytes)\n"


def test_a_udp_manual_server_takes_one_datagram(shell: Shell) -> None:
    out = shell.ok("serve u udp 0 --manual --handler upper")
    assert re.fullmatch(r"u: UDPServer bound to 127\.0\.0\.1:\d+ for upper, not serving: "
                        r"handle_request u serves one request\n", out)  # fmt: skip
    shell.ok("udp open q --connect u")
    shell.ok("send q one; send q two")
    out = shell.ok("handle_request u")
    assert out == f"u: handle_request served a datagram from {local(shell, 'q')}\n"
    assert shell.ok("recv q") == "ONE\n(3 bytes)\n"
    assert "timeout" in shell.fails("recv q --timeout 0.3")  # two waits its turn
    shell.ok("handle_request u")
    assert shell.ok("recv q") == "TWO\n(3 bytes)\n"
    assert "state:          bound, 2 requests handled (handle_request)\n" in shell.ok("info u")


def test_timeout_returns_through_handle_timeout_when_nobody_comes(shell: Shell) -> None:
    shell.ok("serve t tcp 0 --manual --timeout 0.2 --handler daytime")
    assert "timeout:        0.2 s (handle_request)\n" in shell.ok("info t")
    start = time.monotonic()
    out = shell.ok("handle_request t")  # serve's --timeout: the class's timeout
    assert time.monotonic() - start >= 0.2
    assert out == "t: no request came in 0.2 s: handle_request returned through handle_timeout()\n"
    assert "handle_timeout(): no request came in 0.2 s" in shell.ok("log t")
    # handle_request's own --timeout is for that call only.
    out = shell.ok("handle_request t --timeout 0.05")
    assert "no request came in 0.05 s" in out
    assert "timeout:        0.2 s (handle_request)\n" in shell.ok("info t")
    assert "listening, 0 requests handled" in shell.ok("info t")
    # A request that is waiting is served at once, whatever the timeout.
    shell.ok("tcp connect c t")
    assert served(shell.ok("handle_request t --timeout 0")) == local(shell, "c")


def test_timeout_zero_polls(shell: Shell) -> None:
    shell.ok("serve t tcp 0 --manual")
    assert "none: handle_request waits" in shell.ok("info t")
    assert "no request came in 0 s" in shell.ok("handle_request t --timeout 0")


def test_ctrl_c_cancels_a_handle_request_waiting_for_nobody(shell: Shell) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("SIGINT reaches only the main thread")
    shell.ok("serve w tcp 0 --manual --handler daytime")
    main = threading.main_thread().ident
    assert main is not None
    done = threading.Event()

    def interrupt() -> None:
        # Ctrl-C once the prompt is waiting inside handle_request (resent, bounded: a
        # signal that came just before the poll began would be handled only after it).
        for _ in range(200):
            if done.is_set():
                return
            frame = sys._current_frames().get(main)
            names = []
            while frame is not None:
                names.append(frame.f_code.co_name)
                frame = frame.f_back
            if "handle_request" in names and "select" in names:
                os.kill(os.getpid(), signal.SIGINT)
            done.wait(0.05)

    helper = threading.Thread(target=interrupt)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    helper.start()
    try:
        ok, out, err = shell("handle_request w --timeout 60")
    finally:
        done.set()
        helper.join()
        signal.signal(signal.SIGINT, previous)
    assert not ok and "cancelled by Ctrl-C" in err, (out, err)
    # The server carries on: the next client is served.
    shell.ok("tcp connect c w")
    assert served(shell.ok("handle_request w")) == local(shell, "c")
    assert DAYTIME.match(shell.ok("recv c --all"))


def test_queue_size_one_holds_two_clients_and_makes_the_third_wait(
    shell: Shell, clients: list[socket.socket]
) -> None:
    shell.ok("serve q tcp 0 --manual --queue-size 1 --handler daytime")
    assert "queue size:     1 (request_queue_size)\n" in shell.ok("info q")
    addr = ("127.0.0.1", port(shell, "q"))
    # listen(1): Linux keeps backlog + 1 finished handshakes; the next SYN is dropped.
    for _ in range(2):
        clients.append(connecting(addr))
        assert connected_within(clients[-1], 10)
    clients.append(connecting(addr))
    assert not connected_within(clients[-1], 1.0)
    shell.ok("handle_request q")  # takes the first: a place in the queue frees up
    assert connected_within(clients[-1], 20)  # the third's SYN, sent again, is taken


def test_the_default_queue_takes_every_waiting_client(
    shell: Shell, clients: list[socket.socket]
) -> None:
    shell.ok("serve q tcp 0 --manual")
    assert f"queue size:     {socket.SOMAXCONN} (request_queue_size)\n" in shell.ok("info q")
    addr = ("127.0.0.1", port(shell, "q"))
    for _ in range(3):
        clients.append(connecting(addr))
    assert all(connected_within(c, 10) for c in clients)


def _time_wait(port_: int) -> bool:
    """Whether a socket on this local port is in TIME_WAIT (/proc/net/tcp state 06)."""
    with open("/proc/net/tcp") as fh:
        rows = [line.split() for line in fh.readlines()[1:]]
    return any(r[1].endswith(f":{port_:04X}") and r[3] == "06" for r in rows)


def test_reuse_address_binds_a_port_held_in_time_wait(shell: Shell) -> None:
    if not os.path.exists("/proc/net/tcp"):
        pytest.skip("no /proc/net/tcp to see TIME_WAIT in")
    # Linux lets a port in TIME_WAIT be bound again only when both the connection
    # there and the new socket set SO_REUSEADDR: the same server, restarted.
    shell.ok("serve d tcp 0 --handler daytime --reuse-address")
    number = port(shell, "d")
    # daytime closes first: the server's side of the connection ends in TIME_WAIT.
    shell.ok("tcp connect c d; recv c --all; close c; stop d")
    deadline = time.monotonic() + 10
    while not _time_wait(number):
        assert time.monotonic() < deadline, "the port never went into TIME_WAIT"
        time.sleep(0.01)
    err = shell.fails(f"serve again tcp 127.0.0.1:{number}")
    assert err == (
        f"error: again: Address already in use (EADDRINUSE): 127.0.0.1:{number} is taken; "
        "pick another port, or 0 for a free one; only old connections hold it (TIME_WAIT, "
        "after a server stopped): --reuse-address binds it (SO_REUSEADDR)"
    )
    out = shell.ok(f"serve again tcp 127.0.0.1:{number} --reuse-address --handler daytime")
    assert f"on 127.0.0.1:{number}" in out
    assert "reuse address:  True (allow_reuse_address)\n" in shell.ok("info again")
    shell.ok("tcp connect c2 again")
    assert DAYTIME.match(shell.ok("recv c2 --all"))


def test_options_refused_where_socketserver_would_ignore_them(shell: Shell) -> None:
    assert shell.fails("serve x tcp 0 --timeout 1") == (
        "error: serve: --timeout is what handle_request waits (serve_forever does not use "
        "it): add --manual"
    )
    assert "a udp server does not listen" in shell.fails("serve x udp 0 --queue-size 3")
    assert "--queue-size" in shell.fails("serve x tcp 0 --manual --queue-size 70000")
    shell.ok("serve e tcp 0")
    assert shell.fails("handle_request e") == (
        "error: handle_request: e runs serve_forever in a thread already; serve a server "
        "with --manual to serve it one request at a time"
    )
    shell.ok("tcp connect c e; sendline c ok")
    assert shell.ok("recv c --line") == "ok\n(3 bytes)\n"  # e serves on, untouched
    shell.fails("handle_request nobody")


def test_queue_size_zero_is_listen_zero(shell: Shell) -> None:
    shell.ok("serve z tcp 0 --manual --queue-size 0")
    assert shell.session.registry.get("z").server.request_queue_size == 0
    assert "queue size:     0 (request_queue_size)\n" in shell.ok("info z")


def test_stop_a_manual_server_is_quick_and_leaves_nothing(shell: Shell) -> None:
    from tests.helpers import open_fds

    shell.ok("serve w tcp 0 --manual; tcp connect x w; close x; stop w")  # the watcher's own
    before = open_fds()
    shell.ok("serve m tcp 0 --manual --handler echo; tcp connect c m")
    assert shell.ok("stop m") == "m: stopped after serving 0 clients\n"
    # shutdown() waits for a serve_forever that never ran: a stop thread calling it
    # would be left blocked for good.
    assert not [t for t in threading.enumerate() if t.name == "pslrepl:m:stop"]
    shell.ok("close c")
    assert open_fds() <= before


def test_ctrl_c_in_a_real_terminal_cancels_the_wait_and_the_handler(tmp_path: Path) -> None:
    from tests.terminal import Terminal

    term = Terminal(tmp_path, rows=40)
    try:
        term.run("serve w tcp 0 --manual --handler echo", "not serving")
        term.run("handle_request w --timeout 60")  # nobody comes
        term.wait_running()
        term.send("C-c")
        term.wait_for("error: cancelled by Ctrl-C; everything else carries on")
        # Now inside the handler: echo holds the prompt until its client closes.
        term.run("tcp connect c w", "c: connected")
        term.run("handle_request w")
        term.wait_running()
        term.send("C-c")
        term.wait_for(lambda s: s.count("cancelled by Ctrl-C") == 2)
        # socketserver shut the request down on the way out: the client sees EOF.
        term.run("recv c --all", "EOF: the peer closed its side")
        term.run("tcp connect d w; sendline d again; shutdown d wr; handle_request w",
                 "handle_request served the request of")  # fmt: skip
        term.run("recv d --all", "again")
    finally:
        term.close()


def test_explain_shows_the_class_variables_and_the_one_call(shell: Shell) -> None:
    shell.ok("serve m tcp 0 --manual --timeout 0.05 --queue-size 1 --reuse-address")
    out = shell.ok("explain")
    for line in (
        "socketserver.TCPServer.timeout = 0.05",
        "socketserver.TCPServer.request_queue_size = 1",
        "socketserver.TCPServer.allow_reuse_address = True",
    ):
        assert f"  {line}  # equivalent: a class variable of serve's own subclass\n" in out
    assert "serve_forever" not in out  # no thread runs it
    shell.ok("handle_request m --timeout 0.2")
    calls = [x.strip() for x in shell.ok("explain").splitlines()[1:]]
    assert calls == ["m.timeout = 0.2", "m.handle_request()", "m.timeout = 0.05"]
    for call in calls:
        compile(call, "<explain>", "exec")
