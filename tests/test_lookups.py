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
        ("htons 99999999", "N must be from 0 to 65,535 (16 bits), not 99999999"),
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


LOOPBACK6 = "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01  (16 bytes, packed)\n"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # The stdlib's argument order, family first, spelled as the docs do or for short.
        ("inet_pton AF_INET6 ::1", LOOPBACK6),
        ("inet_pton socket.AF_INET6 ::1", LOOPBACK6),
        ("inet_pton 6 ::1", LOOPBACK6),
        (f"inet_pton {int(socket.AF_INET6)} ::1", LOOPBACK6),
        ("inet_pton AF_INET 1.2.3.4", "01 02 03 04  (4 bytes, packed)\n"),
        ("inet_pton 4 255.255.255.255", "ff ff ff ff  (4 bytes, packed)\n"),
        ("inet_pton 0.0.0.0", "00 00 00 00  (4 bytes, packed)\n"),
        ("inet_ntop AF_INET 'c0 a8 00 01'", "192.168.0.1\n"),
        ("inet_ntop 6 '00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01'", "::1\n"),
        ("inet_ntop AF_INET6 00000000000000000000ffff7f000001", "::ffff:127.0.0.1\n"),
        ("inet_ntop 7f 00 00 01", "127.0.0.1\n"),  # unquoted words of hex
        ("inet_ntoa 7f 00 00 01", "127.0.0.1\n"),
        ("htons 0", "0  (0x0)\n"),
        ("htons 65535", "65535  (0xffff)\n"),
        ("htonl 4294967295", "4294967295  (0xffffffff)\n"),
        ("ntohl 0x01000000", "1  (0x1)\n"),
        ("getservbyport 53 udp", "domain\n"),
        ("getservbyport 0x50", "http\n"),
    ],
)
def test_forms_from_the_docs(shell: Shell, line: str, expected: str) -> None:
    assert shell.ok(line) == expected


def test_getaddrinfo_takes_the_stdlib_arguments_in_order(shell: Shell) -> None:
    out = shell.ok("getaddrinfo 127.0.0.1 80 AF_INET SOCK_DGRAM")
    assert out.splitlines()[1:] == ["AF_INET  SOCK_DGRAM  17     ('127.0.0.1', 80)"]
    out = shell.ok("getaddrinfo localhost None socket.AF_INET SOCK_STREAM IPPROTO_TCP "
                   "AI_CANONNAME|AI_NUMERICSERV")  # fmt: skip
    assert out.splitlines()[0].split() == ["FAMILY", "TYPE", "PROTO", "SOCKADDR", "CANONNAME"]
    assert "('127.0.0.1', 0)" in out
    shell.ok("set explain on")
    out = shell.ok("getaddrinfo 127.0.0.1 http 4 SOCK_STREAM")
    assert (
        "  socket.getaddrinfo('127.0.0.1', 'http', socket.AF_INET, socket.SOCK_STREAM)  # -> [("
        in out
    )
    assert "<AddressFamily" not in out


def test_getnameinfo_forms(shell: Shell) -> None:
    expected = "host:    127.0.0.1\nservice: 22\n"
    assert shell.ok("getnameinfo 127.0.0.1:22 NI_NUMERICHOST|NI_NUMERICSERV") == expected
    assert shell.ok("getnameinfo 127.0.0.1 22 NI_NUMERICHOST|NI_NUMERICSERV") == expected
    flags = int(socket.NI_NUMERICHOST | socket.NI_NUMERICSERV)
    assert shell.ok(f"getnameinfo 127.0.0.1:22 {flags}") == expected


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("htons 70000", "htons: N must be from 0 to 65,535 (16 bits), not 70000"),
        ("ntohs -1", "ntohs: N must be from 0 to 65,535 (16 bits), not -1"),
        ("htonl -1", "htonl: N must be from 0 to 4,294,967,295 (32 bits), not -1"),
        ("ntohl 4294967296", "ntohl: N must be from 0 to 4,294,967,295 (32 bits), not 42949"),
        ("htonl 99999999999999999999999", "must be from 0 to 4,294,967,295"),
        ("getservbyport 70000", "getservbyport: PORT must be from 0 to 65535, not 70000"),
        ("getservbyport -1", "getservbyport: PORT must be from 0 to 65535, not -1"),
        ("getaddrinfo localhost 99999999", "getaddrinfo: PORT must be from 0 to 65535"),
        ("getaddrinfo localhost 65536", "getaddrinfo: PORT must be from 0 to 65535"),
        ("getaddrinfo localhost 80 AF_NOPE", "FAMILY 'AF_NOPE' is not one of AF_"),
        ("getaddrinfo localhost 80 4 SOCK_NOPE", "TYPE 'SOCK_NOPE' is not one of SOCK_"),
        ("getaddrinfo localhost 80 0 0 0 99999999999", "FLAGS must be from -2147483648"),
        ("getnameinfo 127.0.0.1 70000", "PORT must be from 0 to 65535"),
        ("getnameinfo 127.0.0.1:22 99999999999", "FLAGS must be from -2147483648"),
        ("inet_pton AF_INET ::1", "'::1' is not an AF_INET address (an IPv6 one has colons"),
        ("inet_pton AF_INET6 1.2.3.4", "'1.2.3.4' is not an AF_INET6 address (an IPv4 one is"),
        ("inet_pton AF_UNIX /tmp/x", "AF_UNIX is not an IP family: give AF_INET or AF_INET6"),
        ("inet_pton 5 1.2.3.4", "5 is not an IP family"),
        ("inet_pton nope 1.2.3.4", "'nope' is not an address family"),
        ("inet_pton 1 2 3", "unexpected '3'; usage: inet_pton [FAMILY] IP"),
        ("inet_ntop AF_INET6 '7f 00 00 01'", "an AF_INET6 address packs into 16 bytes, not 4"),
        ("inet_ntop 'de ad'", "2 bytes are no packed address: IPv4 is 4 bytes, IPv6 16"),
        ("inet_ntoa '00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01'", "give 4 packed bytes"),
        ("gethostbyname " + "a" * 64 + ".example", "can't encode that name for DNS"),
        ("gethostbyname a b", "unexpected 'b'; usage: gethostbyname HOST"),
        ("setdefaulttimeout 1e300", "setdefaulttimeout: S must be from 0 to 1,000,000,000"),
    ],
)
def test_bad_arguments_are_usage_errors(shell: Shell, line: str, message: str) -> None:
    error = shell.fails(line)
    assert message in error and "internal error" not in error, error


def test_inet_ntop_with_a_family_and_the_wrong_length_says_so(shell: Shell) -> None:
    assert shell.fails("inet_ntop AF_INET 0102030405") == (
        "error: inet_ntop: an AF_INET address packs into 4 bytes, not 5"
    )
    assert shell.ok("inet_ntop AF_INET 01020304") == "1.2.3.4\n"
