"""Socket commands' failures made for real: every one a usage error or an errno with what
it means and what to do, numbers out of range named with their range, and explain shows
the stdlib calls as the user would write them."""

from __future__ import annotations

import re
import socket

import pytest

from tests.helpers import Shell


def pair(shell: Shell) -> None:
    shell.ok("tcp listen srv 0; tcp connect c srv; accept srv s")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("settimeout c 1e300", "settimeout: S must be from 0 to 1,000,000,000 seconds"),
        ("settimeout c -1", "settimeout: S must be from 0 to 1,000,000,000 seconds"),
        ("settimeout c nan", "settimeout: S must be from 0 to 1,000,000,000 seconds"),
        ("recv c 99999999999999999999", "recv: BUFSIZE must be from 1 to 67108864"),
        ("recv c 0", "recv: BUFSIZE must be from 1 to 67108864"),
        ("recvfrom u 99999999999999999999", "recvfrom: BUFSIZE must be from 1 to 67108864"),
        ("recvfrom u -1", "recvfrom: BUFSIZE must be from 1 to 67108864"),
        ("tcp listen l 0 --backlog 99999999999", "--backlog must be from 0 to 2147483647"),
        ("tcp listen l 0 --backlog -1", "--backlog must be from 0 to 2147483647"),
        (
            "sockopt c SO_RCVBUF 99999999999999999999",
            "VALUE must be from -2147483648 to 2147483647",
        ),
        ("sockopt c SO_RCVBUF 2147483648", "VALUE must be from -2147483648 to 2147483647"),
        ("sockopt c SO_RCVBUF lots", "VALUE must be a number, on or off"),
        ("tcp connect x 65536", "port 65536 is out of range: give 0 to 65535"),
        ("accept srv --timeout 1e300", "must be from 0 to 1,000,000,000 seconds"),
    ],
)
def test_numbers_out_of_range_name_the_range(shell: Shell, line: str, message: str) -> None:
    pair(shell)
    shell.ok("udp open u --bind 0")
    error = shell.fails(line)
    assert message in error and "internal error" not in error


def test_boundaries_that_are_in_range(shell: Shell) -> None:
    pair(shell)
    assert shell.ok("settimeout c 1e9").startswith("c: timeout 1e+09 s")
    shell.ok("settimeout c none; tcp listen l 0 --backlog 0; tcp listen l2 0 --backlog 2147483647")
    assert "SO_RCVBUF = " in shell.ok("sockopt c SO_RCVBUF 2147483647")
    shell.ok("send c abc")
    assert shell.ok("recv s 1") == "a\n(1 byte)\n"
    assert shell.ok("recv s 67108864").startswith("bc\n(2 bytes)\n")


def test_sendto_port_zero_says_it_is_no_destination(shell: Shell) -> None:
    shell.ok("udp open u")
    assert shell.fails("sendto u 0 e") == (
        "error: sendto: port 0 is not a destination (0 means 'any free port' only when "
        "binding): give the port a receiver is bound to, as udp open NAME --bind 0 shows it"
    )
    assert "--connect to port 0 names no peer" in shell.fails("udp open v --connect 0")
    shell.ok("udp open r --bind 0; sendto u r ok")  # a real port: fine
    assert shell.ok("recv r") == "ok\n(2 bytes)\n"


def test_errnos_say_what_they_mean_here(shell: Shell, tmp_path: object) -> None:
    pair(shell)
    shell.ok("udp open u")
    line = shell.fails("send u x")
    assert "(EDESTADDRREQ): the socket has no peer to send to: sendto NAME ADDR DATA" in line
    line = shell.fails("shutdown u wr")
    assert "(ENOTCONN): the socket is not connected: only a connected socket can be shut" in line
    line = shell.fails("sockopt u TCP_NODELAY")
    assert "that option does not apply to a udp socket (TCP_ options need tcp" in line
    line = shell.fails("sendto u 255.255.255.255:9 x")
    assert "(EACCES): sending to a broadcast address needs SO_BROADCAST: sockopt NAME " in line
    shell.ok("sockopt u SO_BROADCAST on")
    with open(f"{shell.session.tmp}/big", "wb") as fh:
        fh.write(b"\x00" * 70000)
    line = shell.fails(f"sendto u 127.0.0.1:9 --file {shell.session.tmp}/big")
    assert "(EMSGSIZE): a datagram that big can't be sent: a UDP datagram holds at most" in line
    shell.ok("shutdown c wr")
    line = shell.fails("send c more")
    assert "(EPIPE): this socket was shut down for writing (shutdown wr)" in line
    shell.ok("unix dgram d")
    line = shell.fails(f"sendto d {tmp_path}/nobody.sock x")
    assert f"(ENOENT): {tmp_path}/nobody.sock: no socket there" in line
    line = shell.fails("sockopt c SO_LINGER 5")
    assert "(EINVAL): the kernel refuses that value for the option" in line
    assert "the socket is not connected" not in shell.fails("dup c c")  # a name, no errno


def test_dup_of_a_tls_socket_is_refused_in_words(shell: Shell) -> None:
    shell.ok("serve web tcp 0 --handler echo --tls --threading; tls connect t web")
    line = shell.fails("dup t t2")
    assert line.startswith("error: dup: t is TLS, and an SSLSocket can't be duplicated")


def test_every_timeout_names_the_option_that_waits_longer(shell: Shell) -> None:
    pair(shell)
    for line in ("recv s --timeout 0.1", "recv s --line --timeout 0.1",
                 "accept srv --timeout 0.1", "recvfrom s --timeout 0.1"):  # fmt: skip
        assert shell.fails(line).endswith("; --timeout S waits longer"), line
    shell.ok("tcp listen full 0 --backlog 0; tcp connect a full")
    assert shell.fails("tcp connect b full --timeout 0.3").endswith("--timeout S waits longer")
    shell.ok("settimeout s 0.1")  # the socket's own timeout: settimeout says how to wait
    assert "the socket's own timeout (0.1 s) ran out; settimeout s none" in shell.fails("recv s")


def explained(shell: Shell, line: str) -> list[str]:
    out = shell.ok(line)
    return [x.strip() for x in out.splitlines() if x.startswith("  ")]


def test_explain_shows_the_real_calls_and_arguments(shell: Shell) -> None:
    pair(shell)
    shell.ok("set explain on")
    shell.ok("send c hello")
    assert explained(shell, "recv s") == ["s.recv(65536)  # -> b'hello'"]
    shell.ok('send c "one\\ntwo"')
    assert explained(shell, "recv s --line") == [
        "s.recv(65536, socket.MSG_PEEK)  # -> b'one\\ntwo'",
        "s.recv(4)  # -> b'one\\n'",
    ]
    assert explained(shell, "recv s 2") == ["s.recv(2)  # -> b'tw'"]
    assert explained(shell, "sendall c abc") == ["c.send(b'abc')  # -> 3"]
    assert (
        explained(shell, "tcp listen l 0")
        == [
            "l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
            "l.bind(('127.0.0.1', 0))",
            "l.listen(4096)",
        ]
        or socket.SOMAXCONN != 4096
    )
    assert explained(shell, "shutdown c wr") == ["c.shutdown(socket.SHUT_WR)"]


def test_no_call_shows_an_internal_object(shell: Shell, tmp_path: object) -> None:
    shell.ok("set explain on")
    lines = [
        "tcp listen srv 0 --reuseaddr", "tcp connect c srv --family 4", "accept srv s",
        "send c hello", "recv s", "sendline c x", "recv s --line", "sendall c abc",
        "recv s 3", "send c 'a;b;c'", "recv s --until ';'", "recvfrom s", "udp open u --bind 0",
        "udp open v --connect u", "send v dgram", "recvfrom u", "sendto v u again",
        "recv u", "sockopt c TCP_NODELAY on", "settimeout c 2", "setblocking c on",
        "dup c c2", "shutdown c wr", "recv s --all", f"unix listen ul {tmp_path}/u.sock",
        f"unix connect uc {tmp_path}/u.sock", "accept ul", f"unix dgram ud {tmp_path}/d.sock",
        "socketpair p q", "send p x", "recv q", "close c2",
    ]  # fmt: skip
    for line in lines:
        for call in explained(shell, line):
            assert not re.search(r"pslrepl\.| at 0x|<\w+\.\w+: \d+>", call), (line, call)
    for record in shell.session.history:
        for call in record.calls:
            text = f"{call.func}({call.args}) -> {call.result}"
            assert not re.search(r"pslrepl\.| at 0x", text), text


def test_a_long_read_lists_its_first_calls_and_counts_the_rest(shell: Shell) -> None:
    shell.ok("socketpair a b; set explain on")
    shell.ok(f"send a {'x' * 200}; shutdown a wr")
    calls = explained(shell, "recv b 1 --all")
    assert len(calls) == 65  # 64 listed, then one line for the other 137
    assert calls[:2] == ["b.recv(1)  # -> b'x'"] * 2
    assert calls[-1] == "# ... 137 more calls, not listed"


def test_connecting_to_port_zero_or_a_full_backlog(shell: Shell, tmp_path: object) -> None:
    assert shell.fails("tcp connect c 0") == (
        "error: tcp connect: port 0 is no one's port (0 means 'any free port' only when "
        "binding): give the port a listener is bound to, or its NAME"
    )
    assert shell.fails("tls connect t 127.0.0.1:0").startswith("error: tls connect: port 0 is")
    shell.ok(f"unix listen ul {tmp_path}/u.sock --backlog 0; unix connect a {tmp_path}/u.sock")
    line = shell.fails(f"unix connect b {tmp_path}/u.sock --timeout 0.3")
    assert line == (
        f"error: b: Resource temporarily unavailable (EAGAIN): the listener on {tmp_path}/u.sock "
        "has a full backlog: the connections waiting are not accepted yet (accept them, or "
        "listen with a bigger --backlog)"
    )
    shell.ok("accept ul")
    shell.ok(f"unix connect b {tmp_path}/u.sock")
    shell.ok("tcp listen full 0 --backlog 0; tcp connect c1 full")
    line = shell.fails("tls connect t full --timeout 0.3")
    assert line.startswith("error: t: no answer from 127.0.0.1:") and line.endswith(
        "(connect timed out: the host is silent, or a listener's backlog is full); --timeout "
        "S waits longer"
    )
