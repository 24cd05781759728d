"""A chat flood in small: hundreds of clients at once against a capped --threading server.
No client is lost, the cap is said once, and stop leaves no thread and answers in one line
(bench/flood.py runs the full 1,000 connections a second)."""

from __future__ import annotations

import selectors
import socket
import threading

from tests.helpers import Shell, open_fds, port

CLIENTS = 300
CAP = 16
LIMIT = 60.0  # seconds: only a hung server comes near it; nothing here is timed


def read_lines_until(sock: socket.socket, done: set[bytes], want: int) -> None:
    """Read chat lines from the witness until it has seen ``want`` flood lines."""
    sock.settimeout(LIMIT)
    pending = b""
    while len(done) < want:
        data = sock.recv(65536)
        assert data, "the server closed the witness"
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            _, sep, said = line.partition(b": ")
            if sep and said.startswith((b"flood-", b"probe")):
                done.add(said)


def test_a_flood_of_chat_clients_loses_none_and_leaves_no_thread(shell: Shell) -> None:
    threads_before = set(threading.enumerate())
    fds_before = open_fds()
    shell.ok(f"serve room tcp 0 --handler chat --max-clients {CAP}")
    server = shell.session.registry.get("room")
    addr = ("127.0.0.1", port(shell, "room"))
    witness = socket.create_connection(addr, timeout=LIMIT)
    probe = socket.create_connection(addr, timeout=LIMIT)
    clients: list[socket.socket] = []
    try:
        probe.sendall(b"probe\n")  # once the witness sees it, the witness is in the room
        seen: set[bytes] = set()
        read_lines_until(witness, seen, 1)
        for i in range(CLIENTS):  # the listen queue holds those not yet accepted
            c = socket.create_connection(addr, timeout=LIMIT)
            c.sendall(f"flood-{i}\n".encode())
            clients.append(c)
        # CAP handlers are busy with clients that have not finished: the serve loop
        # has accepted one more and waits for a thread to end.
        assert shell.session.wait_for(lambda: server.cap_reached > 0, LIMIT)
        for c in clients:
            c.shutdown(socket.SHUT_WR)  # each client is done talking: it leaves
        eof = read_to_eof(clients)
        assert eof == set(range(CLIENTS)), f"{CLIENTS - len(eof)} clients had no clean end"
        read_lines_until(witness, seen, CLIENTS + 1)
        assert seen == {b"probe"} | {f"flood-{i}".encode() for i in range(CLIENTS)}
    finally:
        for s in (witness, probe, *clients):
            s.close()
    log = shell.ok("log room")
    assert log.count(f"all {CAP} handler threads busy (--max-clients N)") == 1
    assert "Traceback" not in log
    info = shell.ok("info room")
    assert f"max clients:    {CAP} (--max-clients); all were busy " in info
    assert shell.ok("stop room") == f"room: stopped after serving {CLIENTS + 2} clients\n"
    left = set(threading.enumerate()) - threads_before
    assert not left, [t.name for t in left]
    assert open_fds() == fds_before  # the room's writer, its sockets, every client's


def read_to_eof(clients: list[socket.socket]) -> set[int]:
    """Read every client until the server closes it; the indexes that ended cleanly."""
    clean: set[int] = set()
    with selectors.DefaultSelector() as sel:
        for i, c in enumerate(clients):
            c.setblocking(False)
            sel.register(c, selectors.EVENT_READ, i)
        while sel.get_map():
            ready = sel.select(LIMIT)
            assert ready, f"{len(sel.get_map())} clients never saw the server close"
            for key, _ in ready:
                try:
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                except ConnectionResetError:
                    data = None
                if not data:
                    sel.unregister(key.fileobj)
                    if data is not None:
                        clean.add(key.data)
    return clean


def test_a_full_server_waits_and_serves_the_client_once_a_thread_ends(shell: Shell) -> None:
    """--max-clients 1 under --threading: the second client waits in the listen queue and
    is served when the first leaves; stop while it waits answers it with a close."""
    shell.ok("serve e tcp 0 --handler echo --threading --max-clients 1")
    shell.ok("tcp connect a e; sendline a first; recv a --line")
    shell.ok("tcp connect b e; sendline b second")
    assert "timeout" in shell.fails("recv b --timeout 0.3")  # nobody serves b yet
    shell.ok("close a")
    assert shell.ok("recv b --line --timeout 10") == "second\n(7 bytes)\n"
    shell.ok("tcp connect c e; sendline c third")  # accepted, and waits behind b
    server = shell.session.registry.get("e")
    assert shell.session.wait_for(lambda: server.cap_reached == 2, LIMIT)
    assert shell.ok("stop e") == "e: stopped after serving 2 clients\n"
    assert "EOF" in shell.ok("recv c --all")  # never served: closed by stop
    errors = (
        ("serve s tcp 0 --max-clients 4", "--max-clients is for --threading or --forking"),
        ("serve s tcp 0 --threading --max-clients 0", "--max-clients"),
    )
    for line, want in errors:
        assert want in shell.fails(line)
