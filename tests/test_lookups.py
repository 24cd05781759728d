"""The socket module's functions as commands, and socket completion."""

from __future__ import annotations

import socket

import pytest

from tests.helpers import Shell, complete


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("htons 8080", "36895  (0x901f)\n"),
        ("ntohs 36895", "8080  (0x1f90)\n"),
        ("htonl 1", "16777216  (0x1000000)\n"),
        ("ntohl 16777216", "1  (0x1)\n"),
        ("inet_aton 127.0.0.1", "7f 00 00 01  (4 bytes, packed)\n"),
        ("inet_ntoa '7f 00 00 01'", "127.0.0.1\n"),
        ("inet_pton ::1", "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01  (16 bytes, packed)\n"),
        ("inet_ntop 'c0 a8 00 01'", "192.168.0.1\n"),
        ("gethostbyname localhost", "127.0.0.1\n"),
        ("getservbyport 443", "https\n"),
        ("getprotobyname tcp", "6  (0x6)\n"),
        ("gethostname", socket.gethostname() + "\n"),
    ],
)
def test_functions(shell: Shell, line: str, expected: str) -> None:
    assert shell.ok(line) == expected


def test_getaddrinfo_table(shell: Shell) -> None:
    out = shell.ok("getaddrinfo 127.0.0.1 80 --type tcp --family 4")
    assert out.splitlines() == [
        "FAMILY   TYPE         PROTO  SOCKADDR",
        "AF_INET  SOCK_STREAM  6      ('127.0.0.1', 80)",
    ]


def test_getnameinfo_and_default_timeout(shell: Shell) -> None:
    assert shell.ok("getnameinfo 127.0.0.1:80 --numeric").endswith("service: 80\n")
    shell.ok("setdefaulttimeout 3")
    assert shell.ok("getdefaulttimeout") == "3.0\n"
    shell.close()
    assert socket.getdefaulttimeout() is None  # put back when the session ended


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("gethostbyname nosuch.invalid", "(EAI_NONAME)"),
        ("htons 99999999", "too large"),
        ("htons x", "not a whole number"),
        ("inet_aton 999.1.1.1", "illegal IP address"),
        ("getservbyname nosuchservice", "not found"),
        ("inet_ntoa 'zz'", "bad hex"),
    ],
)
def test_function_errors(shell: Shell, line: str, message: str) -> None:
    assert message in shell.fails(line)


def test_socket_completion(shell: Shell) -> None:
    shell.ok("tcp listen srv 0; tcp connect c srv; accept srv s; spawn p -- cat")
    assert complete(shell, "tcp ") == ["connect", "listen"]
    assert complete(shell, "recv ") == ["c", "s"]  # sockets only: not srv, not p
    assert complete(shell, "accept ") == ["srv"]
    assert complete(shell, "tcp connect x s") == ["srv"]
    assert "TCP_NODELAY" in complete(shell, "sockopt c TCP_N")
    assert complete(shell, "shutdown c ") == ["rd", "wr", "rdwr"]


def test_connect_timeout_made_for_real(shell: Shell) -> None:
    # A listener with backlog 0 queues one connection; the next SYN goes unanswered.
    shell.ok("tcp listen full 0 --backlog 0; tcp connect a full")
    line = shell.fails("tcp connect b full --timeout 0.3")
    assert "no answer from 127.0.0.1:" in line and "within 0.3 s" in line
