"""What every live resource answers when asked (readable, writable, listening, closable,
bound_addr, kind, wait events), on real sockets, children, servers and relays."""

from __future__ import annotations

import socket
import ssl
import threading

import pytest

from pslrepl.addresses import parse_addr
from pslrepl.resources import catalog
from pslrepl.resources.base import Resource
from pslrepl.resources.sockets import Listener, Sock
from pslrepl.testca import session_ca
from tests.helpers import Shell, port


def caps(res: Resource) -> tuple[bool, bool, bool, bool]:
    return res.readable, res.writable, res.listening, res.closable


def listed(shell: Shell, kind: str) -> set[str]:
    """The names `ls KIND` shows."""
    return {row.split()[0] for row in shell.ok(f"ls {kind}").splitlines()[1:]}


def test_a_listener_listens_at_its_bound_addr_and_is_neither_read_nor_written(
    shell: Shell,
) -> None:
    shell.ok("tcp listen l 0")
    res = shell.session.registry.get("l")
    assert isinstance(res, Listener) and res.kind == "listener"
    assert caps(res) == (False, False, True, True)
    addr = res.bound_addr
    assert addr is not None and (addr.host, addr.port) == ("127.0.0.1", port(shell, "l"))
    assert not addr.dgram
    shell.ok("dup l l2")  # a listener's dup listens too
    assert isinstance(shell.session.registry.get("l2"), Listener)
    shell.ok("close l l2")
    assert caps(res) == (False, False, False, False)
    assert res.bound_addr is None


def test_a_connection_is_read_and_written_and_has_no_address_to_give(shell: Shell) -> None:
    shell.ok("tcp listen l 0; tcp connect c l; accept l s")
    for name in ("c", "s"):
        res = shell.session.registry.get(name)
        assert type(res) is Sock and res.kind == "tcp"
        assert caps(res) == (True, True, False, True)
        assert res.bound_addr is None
    # So an ADDR can't name it: it once gave the connection's own ephemeral port.
    assert shell.fails("tcp connect c2 c") == (
        "error: c is a tcp, not something with an address to use"
    )
    c = shell.session.registry.get("c")
    shell.ok("shutdown c wr")
    assert caps(c) == (True, False, False, True)
    shell.ok("shutdown c rd")
    assert caps(c) == (False, False, False, True)
    shell.ok("close c")
    assert caps(c) == (False, False, False, False)


def test_a_bound_datagram_socket_gives_its_address_and_does_not_listen(shell: Shell) -> None:
    shell.ok("udp open u --bind 0; socketpair a b")
    u = shell.session.registry.get("u")
    assert u.kind == "udp" and caps(u) == (True, True, False, True)
    addr = u.bound_addr
    assert addr is not None and addr.port == port(shell, "u") and addr.dgram
    pair = shell.session.registry.get("a")
    assert pair.kind == "unix" and caps(pair) == (True, True, False, True)
    assert pair.bound_addr is None


def test_a_process_is_read_while_open_and_written_while_its_stdin_is(shell: Shell) -> None:
    shell.ok("spawn p -- cat; spawn q -- true")
    p = shell.session.registry.get("p")
    assert p.kind == "process" and caps(p) == (True, True, False, True)
    assert p.bound_addr is None
    shell.ok("eof p")
    assert caps(p) == (True, False, False, True)
    q = shell.session.registry.get("q")
    shell.ok("wait q")
    assert caps(q) == (True, False, False, True)  # ended: what it printed can still be read
    shell.ok("close p q")
    assert caps(p) == (False, False, False, False)


def test_a_server_listens_at_its_bound_addr_until_stopped(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --handler echo; serve d udp 0 --handler echo")
    e, d = shell.session.registry.get("e"), shell.session.registry.get("d")
    for res, name, dgram in ((e, "e", False), (d, "d", True)):
        assert res.kind == "server" and caps(res) == (False, False, True, True)
        addr = res.bound_addr
        assert addr is not None and addr.port == port(shell, name) and addr.dgram is dgram
        assert parse_addr(name, shell.session).dgram is dgram  # what an ADDR NAME gives
    shell.ok("stop e")
    assert caps(e) == (False, False, False, False) and e.bound_addr is None


def test_a_relay_listens_only_through_a_tcp_listen_side(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --handler echo; relay r tcp-listen:0 e")
    r = shell.session.registry.get("r")
    assert r.kind == "relay" and caps(r) == (False, False, True, True)
    addr = r.bound_addr
    assert addr is not None and addr.port == port(shell, "r")
    shell.ok("tcp connect c r; sendline c hi")
    assert shell.ok("recv c --line") == "hi\n(3 bytes)\n"
    shell.ok("socketpair a b; socketpair x y; relay r2 b x")
    r2 = shell.session.registry.get("r2")
    assert caps(r2) == (False, False, False, True) and r2.bound_addr is None
    shell.ok("close r")
    assert caps(r) == (False, False, False, False) and r.bound_addr is None


def test_tls_is_a_fact_of_the_socket_wrap_changes_it_in_place(shell: Shell) -> None:
    """tls wrap swaps in an SSLSocket: the same resource is then tls in ls, not tcp."""
    shell.ok("tcp listen srv 0")
    client = ssl.create_default_context()
    session_ca(shell.session).trust(client)
    done = threading.Event()

    def peer() -> None:
        raw = socket.create_connection(("127.0.0.1", port(shell, "srv")), timeout=10)
        with client.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"hi\n")
            done.wait(10)

    thread = threading.Thread(target=peer, daemon=True)
    thread.start()
    try:
        shell.ok("accept srv s")
        s = shell.session.registry.get("s")
        assert s.kind == "tcp" and listed(shell, "tcp") == {"s"}
        shell.ok("tls wrap s --server")
        assert shell.session.registry.get("s") is s
        assert isinstance(s, Sock) and s.tls and s.kind == "tls"
        assert listed(shell, "tls") == {"s"} and listed(shell, "tcp") == set()
        assert caps(s) == (True, True, False, True) and s.bound_addr is None
        assert shell.ok("recv s --line") == "hi\n(3 bytes)\n"
    finally:
        done.set()
        thread.join(timeout=10)


def test_a_socket_made_as_the_wrong_kind_is_refused(shell: Shell) -> None:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with pytest.raises(ValueError, match="a udp socket made as a tcp"):
            Sock(shell.session, "bad", udp, kind="tcp", origin="test")
        assert "bad" not in shell.session.registry
    finally:
        udp.close()


def _one_of_each(shell: Shell) -> dict[str, Resource]:
    """A live resource of every kind, by kind."""
    shell.ok("spawn p -- cat; tcp listen l 0; tcp connect c l; udp open u --bind 0")
    shell.ok(f"unix listen ul {shell.session.tmp}/ul.sock; unix connect uc ul")
    shell.ok(f"unix dgram ud {shell.session.tmp}/ud.sock")
    shell.ok("serve e tcp 0 --handler echo --tls --threading; tls connect t e")
    shell.ok("serve pe tcp 0 --handler echo --threading; relay r tcp-listen:0 pe")
    shell.ok("socketpair fa fb; makefile mf fb rb; tls bio tb; sh --bg sj sleep 30")
    names = {"process": "p", "listener": "l", "tcp": "c", "udp": "u", "unix": "uc",
             "unix-dgram": "ud", "server": "e", "tls": "t", "relay": "r", "file": "mf",
             "tls-bio": "tb", "sh": "sj"}  # fmt: skip
    return {kind: shell.session.registry.get(name) for kind, name in names.items()}


def test_every_kind_ls_knows_is_declared_by_the_class_that_is_it(shell: Shell) -> None:
    live = _one_of_each(shell)
    assert set(live) == set(catalog.kinds())  # none left out, none declared and never made
    for kind, res in live.items():
        assert res.kind == kind and kind in type(res).KINDS
        assert res.name in listed(shell, kind)


def test_wait_takes_exactly_the_events_each_class_declares(shell: Shell) -> None:
    """Each declared event is one ready() answers; any other is refused at once (a tcp
    socket once took `accept`, and a listener `data`, and waited out the timeout)."""
    for res in _one_of_each(shell).values():
        for event in type(res).EVENTS:
            assert res.ready(event) in (True, False)
        for event in set(catalog.wait_events()) - set(type(res).EVENTS):
            assert shell.fails(f"wait {res.name} {event} --timeout 5") == (
                f"error: wait: a {res.kind} has no event {event!r}; it has "
                f"{', '.join(type(res).EVENTS)}"
            )


def test_wait_on_a_listener_waits_for_a_connection_by_default(shell: Shell) -> None:
    shell.ok("tcp listen l 0")
    assert "waiting for accept" in shell.fails("wait l --timeout 0.2")
    shell.ok("tcp connect c l")
    assert shell.ok("wait l") == "l: a connection is waiting: accept l\n"


def test_the_events_each_class_declares_do_come(shell: Shell) -> None:
    live = _one_of_each(shell)
    shell.ok("sendline t hi")  # the tls server echoes
    assert shell.ok("wait t data") == "t: data waiting: recv t\n"
    assert shell.ok("wait l accept") == "l: a connection is waiting: accept l\n"
    shell.ok("accept l s; close s")
    assert shell.ok("wait c eof") == "c: the peer closed its side: recv will return EOF\n"
    assert shell.ok("wait e connect").startswith("e: a client has connected")
    shell.ok("writeline p x")
    assert shell.ok("wait p data") == "p: output waiting: read p\n"
    shell.ok("eof p")
    assert shell.ok("wait p eof") == "p: its stdout and stderr are closed: nothing more will come\n"
    assert shell.ok("wait p exit") == "p: exited with status 0\n"
    shell.ok("tcp connect rc r; close rc")  # the relay's one client leaves: both ways end
    assert shell.ok("wait r close").startswith("r: both directions closed")
    assert all(ev in catalog.wait_events() for res in live.values() for ev in type(res).EVENTS)
