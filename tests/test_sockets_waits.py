"""A socket command waits with the session's one wait (woken by the socket watcher, live
events shown as they come), and every socket command works on a file descriptor past
1023, where select() can't go."""

from __future__ import annotations

import hashlib
import os
import resource
import socket
import threading
from collections.abc import Iterator

import pytest

from pslrepl.events import Event
from tests.helpers import Shell, make_shell
from tests.test_sockets_reading import TIMEOUT_HINT, pending_from, sock_of, wait_until

FD_SETSIZE = 1024  # select() takes no file descriptor from here on


def waiting_on(shell: Shell, name: str) -> bool:
    """A command reads ``name`` and the socket watcher watches its socket for it (the
    socket is armed while the command reads: its next notice wakes the command)."""
    res = sock_of(shell, name)
    watcher = shell.session.socket_watcher
    fd = res.sock.fileno()
    with watcher.lock:
        keys = list(watcher.sel.get_map().values())
    return res.busy and any(key.fd == fd and key.data is res for key in keys)


def logged(shell: Shell, kind: str) -> bool:
    with shell.session.cond:  # the deque grows from other threads
        return any(e.kind == kind for e in shell.session.log)


def pending(shell: Shell) -> bool:
    with shell.session.cond:
        return bool(shell.session.pending)


def test_a_waiting_read_shows_live_events_and_wakes_when_data_comes() -> None:
    sh = make_shell()
    peer: socket.socket | None = None
    try:
        sh.ok("set events live; serve web tcp 0 --handler echo; socketpair a b")
        port = int(sh.session.volatile["web.port"])
        peer = sock_of(sh, "a").sock.dup()
        payload = b"\x00zero\r\nline\n"
        client: list[socket.socket] = []

        def meanwhile() -> None:
            try:
                wait_until(lambda: waiting_on(sh, "b"))
                # A server's client connects while the read waits: shown, not held back.
                client.append(socket.create_connection(("127.0.0.1", port)))
                wait_until(lambda: logged(sh, "client"))
                wait_until(lambda: not pending(sh))  # shown by the waiting read
            finally:
                assert peer is not None
                peer.sendall(payload)  # whatever happened: the read ends either way

        helper = threading.Thread(target=meanwhile)
        helper.start()
        try:
            out = sh.ok("recv b --repr --timeout 60")
        finally:
            helper.join()
            for c in client:
                c.close()
        event, data = out.splitlines()
        assert event.startswith("[web] client 127.0.0.1:") and event.endswith(" connected")
        assert data == f"{payload!r}  (12 bytes)"
        # The read is over: the watcher watches the socket for its own notices again.
        assert not sock_of(sh, "b").busy
        peer.sendall(b"more")
        wait_until(lambda: pending_from(sh, "b"))
        assert "[b] 4 bytes waiting" in sh.ok("echo")
    finally:
        if peer is not None:
            peer.close()
        sh.close()


def test_an_event_during_an_accept_wait_is_shown_before_the_connection() -> None:
    sh = make_shell()
    try:
        sh.ok("set events live; tcp listen srv 0")
        addr = sock_of(sh, "srv").sock.getsockname()
        client: list[socket.socket] = []

        def meanwhile() -> None:
            try:
                wait_until(lambda: waiting_on(sh, "srv"))
                sh.session.post(Event("srv", "note", "from another thread"))
                wait_until(lambda: not pending(sh))
            finally:
                client.append(socket.create_connection(addr))

        helper = threading.Thread(target=meanwhile)
        helper.start()
        try:
            out = sh.ok("accept srv s --timeout 60")
        finally:
            helper.join()
        note, accepted = out.splitlines()
        assert note == "[srv] from another thread"
        assert accepted.startswith("s: accepted from 127.0.0.1:")
    finally:
        for c in client:
            c.close()
        sh.close()


# -- past file descriptor 1023 ----------------------------------------------------------


@pytest.fixture
def high_fds() -> Iterator[Shell]:
    """A shell whose new sockets get file descriptors past FD_SETSIZE, as a shell with a
    thousand connections open gives them: every lower one is taken."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = FD_SETSIZE + 256
    if hard != resource.RLIM_INFINITY and hard < want:
        pytest.skip(f"the hard limit on open files is {hard}: no fd past {FD_SETSIZE - 1}")
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    fillers: list[int] = []
    sh = None
    try:
        while not fillers or fillers[-1] < FD_SETSIZE - 1:  # bounded: by FD_SETSIZE
            fillers.append(os.open(os.devnull, os.O_RDONLY))
        sh = make_shell()
        sh.session.settings.timeout = 5.0
        yield sh
    finally:
        if sh is not None:
            sh.close()
        for fd in fillers:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_streams_past_fd_1023_send_recv_and_time_out(high_fds: Shell) -> None:
    sh = high_fds
    sh.ok("socketpair a b")
    assert sock_of(sh, "b").sock.fileno() >= FD_SETSIZE
    assert sh.ok("send a 'one\\x00\\r\\ntwo\\n'") == "a: sent 10 bytes\n"
    assert sh.ok("recv b --line --repr") == "b'one\\x00\\r\\n'  (6 bytes)\n"
    assert sh.ok("recv b --repr") == "b'two\\n'  (4 bytes)\n"
    assert sh.fails("recv b --timeout 0.2") == (
        f"error: b: timeout after 0.2 s waiting for data; 0 bytes waiting; {TIMEOUT_HINT}"
    )
    sh.ok("sendline a 'code 42 done'")
    assert sh.ok("expect b 'code (\\d+)'").endswith("group 1: 42\n")
    sh.ok("shutdown a wr")
    assert sh.ok("recv b --all").endswith("EOF: the peer closed its side (recv returned b'')\n")


def test_a_large_sendall_past_fd_1023_comes_whole(high_fds: Shell) -> None:
    sh = high_fds
    payload = os.urandom(3 << 20)  # more than the kernel's buffers: sendall must wait
    path = os.path.join(sh.session.tmp, "payload")
    with open(path, "wb") as fh:
        fh.write(payload)
    got = bytearray()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(60)

        def peer() -> None:  # reads it all as it comes, to the sender's EOF
            conn, _ = listener.accept()
            with conn:
                while chunk := conn.recv(1 << 16):
                    got.extend(chunk)

        helper = threading.Thread(target=peer)
        helper.start()
        try:
            sh.ok(f"tcp connect c {listener.getsockname()[1]}")
            assert sock_of(sh, "c").sock.fileno() >= FD_SETSIZE
            out = sh.ok(f"sendall c --file {path} --timeout 60")
            assert out == "c: sent all 3145728 bytes\n"
        finally:
            sh.ok("close c")  # the peer's EOF, whatever happened
            helper.join(timeout=60)
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(payload).hexdigest()


def test_accept_and_datagrams_past_fd_1023(high_fds: Shell) -> None:
    sh = high_fds
    sh.ok("tcp listen srv 0")
    assert sock_of(sh, "srv").sock.fileno() >= FD_SETSIZE
    assert sh.fails("accept srv s --timeout 0.2") == (
        f"error: srv: timeout after 0.2 s waiting for a connection; 0 bytes waiting; {TIMEOUT_HINT}"
    )
    sh.ok("tcp connect c srv")
    assert sh.ok("accept srv s").startswith("s: accepted from 127.0.0.1:")
    sh.ok("udp open u --bind 0; udp open v")
    sh.ok("sendto v u 'ping\\x00'")
    out = sh.ok("recvfrom u --repr")
    assert out.startswith("from 127.0.0.1:") and out.endswith("b'ping\\x00'  (5 bytes)\n")
