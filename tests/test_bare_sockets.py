"""Sockets one call at a time: socket, bind, listen, connect, connect_ex, fromfd and what a
socket says of itself, on real loopback sockets."""

from __future__ import annotations

import errno
import os
import re
import socket
from pathlib import Path

import pytest

from pslrepl.resources.sockets import Listener, Sock
from tests.helpers import Shell, open_fds, port, run_cli
from tests.test_sockets_reading import sock_of, watched


def test_a_client_connects_to_a_listener_with_backlog_1_before_any_accept(shell: Shell) -> None:
    assert shell.ok("socket s").startswith("s: new tcp socket (AF_INET, SOCK_STREAM), not bound")
    out = shell.ok("bind s 0")
    assert out == f"s: bound to 127.0.0.1:{port(shell, 's')}\n"
    assert shell.ok("listen s 1") == f"s: listening on 127.0.0.1:{port(shell, 's')} (backlog 1)\n"
    # The kernel completes connections and queues them before anyone accepts: Linux
    # queues backlog + 1 of them.
    locals_ = []
    for name in ("c1", "c2"):
        shell.ok(f"socket {name}")
        assert shell.ok(f"connect {name} s").startswith(f"{name}: connected 127.0.0.1:")
        locals_.append(sock_of(shell, name).sock.getsockname())
    assert sock_of(shell, "s").accepted == 0
    # The queue is full: the third SYN is dropped, and the connect waits (here, its
    # --timeout: it can't complete however long the machine takes).
    shell.ok("socket c3")
    assert "within 0.5 s (connect timed out" in shell.fails("connect c3 s --timeout 0.5")
    for name, peer in (("a1", locals_[0]), ("a2", locals_[1])):
        shell.ok(f"accept s {name}")
        assert sock_of(shell, name).sock.getpeername() == peer
    shell.ok("send c2 'x\\x00\\r\\n'")
    assert shell.ok("recv a2 --repr") == "b'x\\x00\\r\\n'  (4 bytes)\n"


def test_listen_makes_the_same_resource_a_listener_everywhere(shell: Shell) -> None:
    shell.ok("socket s; bind s 0")
    before = sock_of(shell, "s")
    assert type(before) is Sock and before.kind == "tcp" and before.state == "bound"
    assert shell.fails("accept s") == "error: s is a tcp socket; accept takes a listener"
    assert (
        shell.fails("wait s accept") == "error: wait: a tcp has no event 'accept'; it has data, eof"
    )
    shell.ok("listen s")
    assert shell.ok("explain").splitlines()[1:] == ["  s.listen()"]
    res = shell.session.registry.get("s")
    assert res is before and isinstance(res, Listener) and res.kind == "listener"
    assert res.listening and res.bound_addr is not None
    assert [row.split()[0] for row in shell.ok("ls listener").splitlines()[1:]] == ["s"]
    assert shell.session.volatile["s.addr"] == f"127.0.0.1:{port(shell, 's')}"
    assert res.toolbar() == f"listening 127.0.0.1:{port(shell, 's')}"
    shell.ok("tcp connect c s")  # the quick form reaches it by NAME too
    assert shell.ok("wait s accept") == "s: a connection is waiting: accept s\n"
    assert shell.ok("accept s a").startswith("a: accepted from 127.0.0.1:")
    # listen again only changes the backlog, as the call does
    assert shell.ok("listen s 3").endswith("(backlog 3)\n")


def test_bind_without_listen_refuses_a_connect(shell: Shell) -> None:
    shell.ok("socket s; bind s 0; socket c")
    where = f"127.0.0.1:{port(shell, 's')}"
    assert shell.fails("connect c s") == (
        f"error: c: Connection refused (ECONNREFUSED): nothing listens on {where}"
    )
    shell.ok("listen s; socket c2")
    assert shell.ok("connect c2 s").endswith(f" -> {where}\n")


def test_connect_ex_to_a_closed_port_returns_econnrefused_with_status_0(tmp_path: Path) -> None:
    # A port bound and not listening: refused, and nobody else can take it meanwhile.
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        closed = held.getsockname()[1]
        done = run_cli("-c", f"socket c; connect_ex c 127.0.0.1:{closed}; echo next; explain 2")
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        lines = done.stdout.splitlines()
        assert lines[1] == f"c: connect_ex returned {errno.ECONNREFUSED} (ECONNREFUSED)"
        assert lines[2] == "next"
        assert lines[4:7] == [
            "  c.settimeout(5.0)",  # the shell bounds it: recorded, so a paste behaves alike
            f"  c.connect_ex(('127.0.0.1', {closed}))  # -> {errno.ECONNREFUSED}",
            "  c.settimeout(None)",
        ]


def test_connect_ex_returns_0_and_connects(shell: Shell) -> None:
    shell.ok("tcp listen s 0; socket c")
    out = shell.ok("connect_ex c s")
    assert re.fullmatch(r"c: connect_ex returned 0: connected 127\.0\.0\.1:\d+ -> "
                        rf"127\.0\.0\.1:{port(shell, 's')}\n", out)  # fmt: skip
    assert sock_of(shell, "c").state == "connected" and watched(shell, "c")
    shell.ok("accept s a; send c hi")
    assert shell.ok("recv a") == "hi\n(2 bytes)\n"
    # On a non-blocking socket connect_ex says the connect is under way, and returns.
    shell.ok("socket d; setblocking d off")
    assert (
        shell.ok("connect_ex d s") == f"d: connect_ex returned {errno.EINPROGRESS} (EINPROGRESS)\n"
    )


def test_a_bare_stream_socket_is_not_watched_until_it_is_connected(shell: Shell) -> None:
    """poll calls an unconnected stream socket ready (POLLHUP): armed, the watcher would
    wake for nothing and post a note that the socket is not connected."""
    shell.ok("tcp listen s 0; socket c")
    assert not watched(shell, "c")
    shell.ok("connect c s")
    assert watched(shell, "c")
    assert not [e for e in shell.session.log if e.source == "c" and e.kind == "note"]


def test_listen_refuses_an_unbound_socket_instead_of_every_interface(shell: Shell) -> None:
    shell.ok("socket s")
    assert shell.fails("listen s") == (
        "error: listen: s is not bound: bind s 0 first (listen alone would pick a port on "
        "every interface)"
    )
    assert sock_of(shell, "s").sock.getsockname() == ("0.0.0.0", 0)
    shell.ok("socket u udp")
    assert "a udp socket can't listen" in shell.fails("bind u 0; listen u")


@pytest.mark.parametrize("port_text", ["0", "65535"])
def test_connect_refuses_port_zero_and_binds_any_port(shell: Shell, port_text: str) -> None:
    shell.ok("socket c")
    if port_text == "0":
        assert "port 0 is no one's port" in shell.fails("connect c 0")
        assert "port 0 is no one's port" in shell.fails("connect_ex c 127.0.0.1:0")
    else:
        assert "out of range" in shell.fails("bind c 65536")
        ok, out, err = shell("bind c 65535")  # may be taken on this machine: either way, one line
        assert (ok and out == "c: bound to 127.0.0.1:65535\n") or (
            not ok and "EADDRINUSE" in err and len(err.splitlines()) == 1
        )


def test_an_ip_socket_refuses_the_other_family_and_a_path(shell: Shell) -> None:
    shell.ok("socket u udp --family 6; socket c")
    assert shell.fails("connect u 127.0.0.1:5") == (
        "error: connect: u is an IPv6 socket and 127.0.0.1:5 an IPv4 address; give one of "
        "its family, like [::1]:PORT"
    )
    assert "give HOST:PORT, not a UNIX path" in shell.fails("bind c unix:/tmp/x.sock")
    assert shell.fails("socket x unix --family 6") == (
        "error: socket: --family is for tcp and udp; a unix socket is AF_UNIX"
    )
    assert "must be one of tcp, udp, unix, unix-dgram" in shell.fails("socket y raw")


def test_a_unix_socket_one_call_at_a_time_and_its_file_goes_on_close(
    shell: Shell, tmp_path: Path
) -> None:
    path = tmp_path / "one.sock"
    shell.ok(f"socket s unix; bind s {path}; listen s 1; socket c unix")
    assert shell.ok(f"connect c {path}").startswith("c: connected ")
    shell.ok("accept s a; send a 'hi\\n'")
    assert shell.ok("recv c --line") == "hi\n(3 bytes)\n"
    assert path.exists()
    assert shell.ok("close s") == f"s: closed; removed {path}\n"
    assert not path.exists()


def test_getsockname_getpeername_gettimeout_fileno_print_what_the_calls_return(
    shell: Shell,
) -> None:
    shell.ok("tcp listen s 0; socket c")
    assert shell.ok("getsockname c") == "c: getsockname() returned ('0.0.0.0', 0)\n"
    assert shell.fails("getpeername c") == (
        "error: c: Transport endpoint is not connected (ENOTCONN): the socket is not connected"
    )
    shell.ok("connect c s")
    sock = sock_of(shell, "c").sock
    assert shell.ok("getsockname c") == f"c: getsockname() returned {sock.getsockname()!r}\n"
    assert shell.ok("getpeername c") == (
        f"c: getpeername() returned ('127.0.0.1', {port(shell, 's')})\n"
    )
    assert shell.ok("gettimeout c") == (
        "c: gettimeout() returned None (blocking: each command waits its own --timeout S)\n"
    )
    shell.ok("settimeout c 2.5")
    assert shell.ok("gettimeout c") == (
        "c: gettimeout() returned 2.5 (blocking calls raise TimeoutError after 2.5 s)\n"
    )
    shell.ok("setblocking c off")
    assert shell.ok("gettimeout c").startswith("c: gettimeout() returned 0.0 (non-blocking")
    assert shell.ok("fileno c") == f"c: fileno() returned {sock.fileno()}\n"
    assert shell.ok("explain").splitlines()[1:] == ["  c.fileno()  # -> " + str(sock.fileno())]


def test_fromfd_shares_the_connection_and_each_socket_closes_its_own_fd(shell: Shell) -> None:
    shell.ok("socketpair x y; close x y")  # the socket watcher's own fds, made once
    before = open_fds()
    shell.ok("tcp listen s 0; tcp connect c s; accept s a")
    fd = sock_of(shell, "c").sock.fileno()
    out = shell.ok(f"fromfd c2 {fd}")
    new_fd = sock_of(shell, "c2").sock.fileno()
    assert out.startswith(f"c2: a socket on fd {new_fd}, a dup of fd {fd} (c's): 127.0.0.1:")
    assert new_fd != fd and sock_of(shell, "c2").kind == "tcp"
    assert (
        shell.ok("explain")
        .splitlines()[1]
        .startswith(f"  c2 = socket.fromfd({fd}, socket.AF_INET, socket.SOCK_STREAM)")
    )
    shell.ok("close c")  # the dup keeps the connection
    payload = bytes(range(256))
    shell.ok(f"send c2 --hex '{payload.hex()}'")
    assert shell.ok("recv a 256 --hex").count("\n") >= 2
    shell.ok("fromfd l2 s")  # a listener's fd makes a listener
    assert isinstance(shell.session.registry.get("l2"), Listener)
    shell.ok("close --all")
    assert open_fds() <= before


def test_fromfd_says_what_is_wrong_with_the_fd(shell: Shell) -> None:
    r, w = os.pipe()
    try:
        assert shell.fails(f"fromfd x {r}") == (
            f"error: fromfd: fd {r} is not a socket (ENOTSOCK): `fileno NAME` says a socket's fd"
        )
    finally:
        os.close(r)
        os.close(w)
    assert shell.fails(f"fromfd x {r}") == (
        f"error: fromfd: fd {r} is not open (EBADF): `fileno NAME` says a socket's fd"
    )
    shell.ok("udp open u --bind 0")
    assert shell.fails("fromfd x u --type stream") == (
        f"error: fromfd: fd {sock_of(shell, 'u').sock.fileno()} is AF_INET, SOCK_DGRAM: "
        "--type stream does not fit it; leave it out to take the fd's own"
    )
    assert "x" not in shell.session.registry
    assert shell.ok("fromfd x u --family 4 --type dgram").startswith("x: a socket on fd ")


def test_explain_writes_each_step_as_the_python_it_is(shell: Shell) -> None:
    shell.ok("socket s; bind s 0; listen s 2; socket c; connect c s")
    lines = [shell.ok(f"explain {n}").splitlines()[1:] for n in range(1, 6)]
    assert lines == [
        ["  s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)"],
        ["  s.bind(('127.0.0.1', 0))"],
        ["  s.listen(2)"],
        ["  c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)"],
        ["  c.settimeout(5.0)", "  c.connect(s.getsockname())", "  c.settimeout(None)"],
    ]


def test_help_by_the_notes_names_shows_the_commands(shell: Shell) -> None:
    for name in ("bind", "listen", "connect", "connect_ex", "getsockname", "getpeername",
                 "gettimeout", "fileno", "recv_into", "recvfrom_into", "makefile", "fromfd",
                 "socket"):  # fmt: skip
        out = shell.ok(f"help {name}")
        assert out.splitlines()[0].startswith(f"usage: {name} "), out
        assert f"socket.{name}" in out or name == "socket"


def test_connect_on_a_connected_socket_says_what_the_kernel_did(shell: Shell) -> None:
    """The shell bounds connect with a timeout (non-blocking underneath, and explain says
    so): Linux then completes the connect on the next connect() call, which returns once
    without an error; every one after raises EISCONN."""
    shell.ok("socket a; bind a 0; listen a; socket c; connect c a")
    out = shell.ok("connect c a")
    assert out.startswith("c was connected already: connect() returned without an error once")
    assert "c: connected" not in out
    line = shell.fails("connect c a")
    assert line.startswith("error: c: Transport endpoint is already connected (EISCONN)")
    assert shell.ok("connect_ex c a").startswith("c: connect_ex returned 106 (EISCONN)")
    calls = shell.ok("explain").splitlines()[1:]
    assert calls[0].strip() == "c.settimeout(5.0)" and calls[-1].strip() == "c.settimeout(None)"


def test_fromfd_refuses_a_tls_connections_fd(shell: Shell) -> None:
    """A plain socket on a TLS connection's fd would read its records as bytes."""
    shell.ok("serve w tcp 0 --handler echo --tls --threading; tls connect t w")
    number = shell.session.registry.get("t").sock.fileno()
    for fd in ("t", str(number)):
        line = shell.fails(f"fromfd x {fd}")
        assert line.startswith(f"error: fromfd: fd {number} is t's, a TLS connection")
    shell.ok("sendline t hi")
    assert shell.ok("recv t --line") == "hi\n(3 bytes)\n"


def test_fromfd_says_what_an_fd_is(shell: Shell) -> None:
    for raw in ("-5", "3.5", "+1"):
        assert shell.fails(f"fromfd x {raw}") == (
            f"error: fromfd: FD is a file descriptor (a number from 0) or a socket's NAME, "
            f"not {raw!r}: `fileno NAME` says a socket's"
        )
