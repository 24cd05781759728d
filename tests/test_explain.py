"""The session as data: every command numbered in history, its calls as lines of Python."""

from __future__ import annotations

import gc
import re
import weakref
from pathlib import Path

import pytest

from pslrepl.commandlog import CommandLog
from tests.helpers import Shell, make_shell


def calls_of(out: str) -> list[str]:
    """The calls `explain` shows (after its header), or `set explain on` (indented)."""
    return [line[2:] for line in out.splitlines() if line.startswith("  ")]


def test_explain_writes_each_call_on_the_object_the_user_named(shell: Shell) -> None:
    shell.ok("tcp listen srv 0")
    assert calls_of(shell.ok("explain")) == [
        "srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
        "srv.bind(('127.0.0.1', 0))",
        "srv.listen(4096)",
    ]
    shell.ok("tcp connect c srv")
    assert calls_of(shell.ok("explain"))[0] == (
        "c = socket.create_connection(srv.getsockname(), timeout=5.0, source_address=None)"
    )
    shell.ok("accept srv s")
    (accept,) = calls_of(shell.ok("explain"))
    assert re.fullmatch(r"s, _ = srv\.accept\(\)  # -> \(sock, \('127\.0\.0\.1', \d+\)\)", accept)
    shell.ok("send c 'a\\x00\\r\\n'")
    assert calls_of(shell.ok("explain")) == ["c.send(b'a\\x00\\r\\n')  # -> 4"]
    shell.ok("recv s 4")
    assert calls_of(shell.ok("explain")) == ["s.recv(4)  # -> b'a\\x00\\r\\n'"]


def test_set_explain_on_shows_the_same_lines_as_it_goes(shell: Shell) -> None:
    shell.ok("set explain on")
    out = shell.ok("socketpair a b")
    assert "  a, b = socket.socketpair()  # -> (sock, sock)" in out.splitlines()


def test_history_numbers_every_command_and_marks_failures(shell: Shell) -> None:
    shell.ok("echo one; echo two")
    shell.fails("recv nosuch")  # refused by the parser: kept as what the user typed
    shell.fails("sleep -1")
    shell.ok("tcp listen srv 0")
    out = shell.ok("history")
    assert out.splitlines() == [
        "   1  echo one",
        "   2  echo two",
        "   3  recv nosuch  (failed)",
        "   4  sleep -1  (failed)",
        "   5  tcp listen srv 0",
    ]
    assert shell.ok("explain 3").splitlines() == ["# 3: recv nosuch  (failed)",
                                                  "# no stdlib calls"]  # fmt: skip
    # explain alone passes over history and explain themselves.
    assert shell.ok("explain").splitlines()[0] == "# 5: tcp listen srv 0"
    assert shell.ok("explain 1").splitlines() == ["# 1: echo one", "# no stdlib calls"]
    assert shell.ok("history --last 1").splitlines() == ["   9  explain 1"]


def test_a_failed_command_keeps_the_calls_it_made(shell: Shell) -> None:
    shell.ok("tcp listen srv 0")
    shell.ok("close srv")
    port = shell.ok("py __import__('socket').socket().getsockname()")  # any unused port
    assert port
    shell.fails("tcp connect c 127.0.0.1:1 --timeout 1")
    out = shell.ok("explain")
    assert out.splitlines()[0].endswith("tcp connect c 127.0.0.1:1 --timeout 1  (failed)")
    assert "raised ConnectionRefusedError" in out


def test_explain_says_what_it_cannot_show(shell: Shell) -> None:
    assert (
        shell.fails("explain") == "error: explain: no command has run yet; run one, then explain it"
    )
    shell.ok("echo hi")
    assert (
        shell.fails("explain 7")
        == "error: explain: there is no command 7 yet; `history` lists them"
    )
    assert shell.fails("explain 0") == "error: explain: N must be 1 or more, not 0"


def test_the_history_lets_go_of_the_objects_a_command_touched(shell: Shell) -> None:
    """A record holds names and text: a closed socket is freed though its calls are kept."""
    shell.ok("tcp listen srv 0")
    shell.ok("tcp connect c srv")
    ref = weakref.ref(shell.session.registry.get("c").obj)
    shell.ok("close c")
    gc.collect()
    assert ref() is None
    assert "c = socket.create_connection(" in shell.ok("explain 2")


def test_the_history_is_bounded_in_bytes_not_in_commands(shell: Shell) -> None:
    log = CommandLog(calls_budget=2000, lines_budget=3000)
    shell.session.history = log
    for i in range(60):
        shell.ok(f"htons {i}")
    # Every command's line is still there until the lines' own budget runs out...
    numbers = [r.number for r in log]
    assert numbers == list(range(numbers[0], 61)) and log.forgotten == numbers[0] - 1
    assert log.forgotten > 0  # 60 lines of ~70 bytes each are past 3000
    # ... and the oldest kept ones lost their calls first, saying how many they had.
    oldest = next(iter(log))
    assert oldest.calls == () and oldest.dropped_calls == 1
    assert "its 1 calls were let go" in shell.ok(f"explain {oldest.number}")
    assert "socket.htons(59)" in shell.ok("explain 60")
    assert "was forgotten" in shell.fails("explain 1")


EXPLAINED = [
    "spawn p -- cat", "writeline p hi", "read p --line", "eof p", "wait p", "poll p",
    "run -- echo x", "sh echo y", "trap USR1", "alarm 0", "sleep 0.01",
    "tcp listen srv 0", "tcp connect c srv", "accept srv s", "send c hello", "recv s",
    "sendline c x", "recv s --line", "udp open u --bind 0", "sendto u u ping",
    "recvfrom u", "serve e tcp 0 --handler echo", "stop e", "relay r tcp-listen:0 srv",
    "close r", "getaddrinfo 127.0.0.1 80", "sockopt c TCP_NODELAY",
    "sendall c " + "x" * 200, "shutdown c wr",
    "socketpair a b", "send a '\\x00\\r\\n'", "recv b", "settimeout a 1", "dup a a2",
    "setblocking a off", "gethostbyname localhost", "htons 80", "inet_aton 127.0.0.1",
    "spawn q --shell -- 'sleep 30'", "signal q TERM", "wait q",
    "socket b1", "bind b1 0", "listen b1 2", "socket b2", "connect b2 b1", "socket b3",
    "connect_ex b3 b1", "getsockname b2", "getpeername b2", "gettimeout b2", "fileno b2",
    "fromfd b4 b2", "send b3 'abc\\x00\\r\\n'", "accept b1 b5", "accept b1 b6",
    "recv_into b6 2 --size 8", "recvfrom_into b6", "sendto u u hi", "recvfrom_into u 1",
    "serve m tcp 0 --manual --timeout 0.05 --handler daytime --queue-size 1",
    "handle_request m", "tcp connect mc m", "handle_request m --timeout 5", "stop m",
    "raise USR1", "signal shell USR1", "trap USR2 --ignore", "raise USR2", "trap USR2 --default",
    "trap USR2 --off", "trap RTMIN+1", "itimer REAL 30", "itimer", "itimer REAL 0",
    "spawn ig --ignore HUP,RTMIN+2 -- sleep 30", "signal ig TERM --group",
    "sigwait USR2 --timeout 0.01",
    "sh ls -1 / | wc -l", "sh --in x --ok-code 0,1 --env A=B --cwd / --no-tty cat",
    "sh /bin/echo path", "sh --bg bg1 sleep 30", "signal bg1 USR1", "sh --bg bg2 sleep 30",
    "kill bg2", "signal bg1 TERM --group",
    "serve sel tcp 0 --handler upper --selectors", "stop sel",
]  # fmt: skip


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_every_explain_line_compiles(shell: Shell, tmp_path: Path, tls: bool) -> None:
    lines = list(EXPLAINED)
    lines += [f"unix listen ul {tmp_path}/sock", f"unix connect uc {tmp_path}/sock"]
    if tls:
        lines = ["serve w tcp 0 --handler echo --tls --threading", "tls connect t w",
                 "sendline t hi", "recv t --line", "tls info t"]  # fmt: skip
    seen = 0
    for line in lines:
        shell(line)
        record = shell.session.history.last()
        assert record is not None
        for call in record.calls:
            seen += 1
            text = call.python()
            try:
                compile(text, "<explain>", "exec")
            except SyntaxError:
                pytest.fail(f"{line!r} explains as {text!r}, which is not Python")
    assert seen >= (8 if tls else 50)


def test_a_large_payload_is_kept_as_a_bounded_prefix(shell: Shell, tmp_path: Path) -> None:
    payload = tmp_path / "payload"
    payload.write_bytes(b"\x00\r\n" * 350_000)  # about 1 MiB, with NUL, CR and LF
    shell.ok("serve d tcp 0 --handler discard")
    shell.ok("tcp connect a d")
    shell.ok(f"sendall a --file {payload}")
    record = shell.session.history.last()
    assert record is not None
    kept = sum(len(c.args) + len(c.result) for c in record.calls)
    assert kept < 64 * 1024  # a few hundred calls' worth of prefixes at most, not the MiB
    first = record.calls[0].python()
    assert first.startswith("a.send(b'\\x00\\r\\n\\x00")
    assert "...')  # payload cut to its first 256 bytes; -> " in first
    compile(first, "<explain>", "exec")


def test_a_record_keeps_the_parsed_arguments_plain(shell: Shell) -> None:
    """What export reads: the values as parsed, a resource by its name, no live object."""
    shell.ok("tcp listen srv 0")
    shell.ok("tcp connect c srv --timeout 2")
    shell.ok("send c 'hi\\n'")
    shell.ok("spawn p -- cat -n")
    records = list(shell.session.history)
    assert records[1].values["name"] == "c" and records[1].values["addr"] == "srv"
    assert records[1].values["timeout"] == 2.0
    assert records[2].values["name"] == "c" and records[2].values["data"] == ["hi\\n"]
    assert records[3].argv == ("cat", "-n")
    shell.ok("close c srv")
    assert list(shell.session.history)[-1].values["name"] == ["c", "srv"]


def test_an_address_something_live_is_bound_to_is_written_as_its_expression(
    shell: Shell,
) -> None:
    """A pasted line reaches the listener where it is, not at this session's port."""
    shell.ok("tcp listen srv 0")
    shell.ok("tcp connect c srv")
    assert calls_of(shell.ok("explain"))[0].startswith(
        "c = socket.create_connection(srv.getsockname(), "
    )
    shell.ok("serve w tcp 0 --handler echo")
    shell.ok("tcp connect d w")
    assert calls_of(shell.ok("explain"))[0].startswith(
        "d = socket.create_connection(w.server_address, "
    )
    shell.ok("udp open u --bind 0; sendto u u ping")
    assert calls_of(shell.ok("explain")) == ["u.sendto(b'ping', u.getsockname())  # -> 4"]


def test_tls_connect_explains_the_context_and_the_socket_it_wraps(shell: Shell) -> None:
    shell.ok("serve w tcp 0 --handler echo --tls")
    shell.ok("tls connect t w")
    calls = calls_of(shell.ok("explain"))
    assert calls[0] == "context = ssl.create_default_context(cafile=None)"
    assert "sock = socket.create_connection(w.server_address, timeout=5.0)" in calls
    assert calls[-1] == "t = context.wrap_socket(sock, server_hostname='127.0.0.1')"


def test_close_explains_what_it_did(shell: Shell) -> None:
    shell.ok("spawn p -- sleep 30; tcp listen l 0; serve m tcp 0")
    shell.ok("close p l m")
    calls = calls_of(shell.ok("explain"))
    assert calls[0].startswith("p.terminate()  # equivalent: SIGTERM to its whole process group")
    assert calls[1].startswith("p.wait(timeout=1)  # equivalent:")
    assert calls[2:] == ["l.close()", "m.shutdown()", "m.server_close()"]


def test_tls_explain_shows_how_verification_was_set_up(shell: Shell, tmp_path: Path) -> None:
    """Trust, the certificate served, verify_mode, version pins and the key log: calls
    made, so they are shown (an attribute set as an assignment)."""
    shell.ok(f"set tls-keylog {tmp_path}/k.log")
    shell.ok("serve m tcp 0 --handler echo --tls --verify-client optional --min-version TLSv1.2")
    server = calls_of(shell.ok("explain"))
    assert "context.verify_mode = ssl.CERT_OPTIONAL" in server
    assert "context.minimum_version = ssl.TLSVersion.TLSv1_2" in server
    assert f"context.keylog_filename = '{tmp_path}/k.log'" in server
    assert "server_cert.configure_cert(context)" in server  # trustme's, as the shell calls
    assert server.index(
        "ca = trustme.CA(organization_name='pslrepl session test CA')"
    ) < server.index("server_cert = ca.issue_cert('localhost', '127.0.0.1', '::1')")
    shell.ok("tls connect t m --max-version TLSv1.3")
    client = calls_of(shell.ok("explain"))
    assert "ca.configure_trust(context)" in client  # the CA the server's command made
    assert "context.maximum_version = ssl.TLSVersion.TLSv1_3" in client
    for line in server + client:
        compile(line, "<explain>", "exec")


# Names explain lines use that no earlier line binds (each is the shell's own object or
# code, named by a handler that records it): this list must only shrink. The fix for
# each is in the handler that records the call (see /work/notes/X-needs.md).
UNBOUND_YET: dict[str, str] = {}  # every name an explain line uses is bound before it
# What a pasted session has without a line binding it: the stdlib modules it uses.
MODULES = {"socket", "ssl", "subprocess", "os", "signal", "select", "socketserver",
           "threading", "time", "sys", "errno", "selectors", "sh", "trustme"}  # fmt: skip


def test_every_name_an_explain_line_uses_is_bound_by_a_line_before_it(tmp_path: Path) -> None:
    import ast
    import builtins

    unbound: set[str] = set()
    sessions = [
        [*EXPLAINED, f"unix listen ul {tmp_path}/sock", f"unix connect uc {tmp_path}/sock"],
        ["serve w tcp 0 --handler echo --tls --threading", "tls connect t w", "sendline t hi",
         "recv t --line", "tls info t"],
    ]  # fmt: skip
    for lines in sessions:
        shell = make_shell()
        bound: set[str] = set()
        try:
            for line in lines:
                shell(line)
                record = shell.session.history.last()
                assert record is not None
                for call in record.calls:
                    tree = ast.parse(call.python())
                    for node in ast.walk(tree):
                        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                            name = node.id
                            if not (name in bound or name in MODULES or hasattr(builtins, name)):
                                unbound.add(name)
                    for node in ast.walk(tree):
                        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                            bound.add(node.id)
                        elif isinstance(node, (ast.ClassDef, ast.FunctionDef)):
                            bound.add(node.name)
        finally:
            shell.close()
    assert unbound == set(UNBOUND_YET), (
        "UNBOUND_YET must list exactly what is unbound (it may only shrink)"
    )


def test_a_shown_value_binds_the_object_it_stands_for_and_a_definition_is_one_line() -> None:
    from pslrepl.callrecord import Call
    from pslrepl.invocation import Shown

    server = object()
    call = Call("socketserver.TCPServer", "('127.0.0.1', 0), Echo", "<TCPServer>",
                value=Shown("<TCPServer>", server))  # fmt: skip
    call.settle({id(server): "e"})
    assert call.python() == "e = socketserver.TCPServer(('127.0.0.1', 0), Echo)"
    cls = Call("class Echo(socketserver.StreamRequestHandler)", "", "None", exact=False,
               note="the shell's echo handler")  # fmt: skip
    assert cls.python() == ("class Echo(socketserver.StreamRequestHandler): ...  # equivalent: "
                            "the shell's echo handler")  # fmt: skip
    compile(cls.python() + "\n" + call.python(), "<explain>", "exec")


def test_a_selectors_server_is_said_to_be_the_shells_own_class(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --handler echo --selectors")
    lines = calls_of(shell.ok("explain"))
    assert not any("socketserver.SelectorsTCPServer" in line for line in lines)
    defined = next(
        i
        for i, line in enumerate(lines)
        if line.startswith("class SelectorsTCPServer(socketserver.TCPServer): ...")
    )
    made = next(
        i
        for i, line in enumerate(lines)
        if line.startswith("e = SelectorsTCPServer(('127.0.0.1', 0), Echo)")
    )
    assert defined < made and "not socketserver's" in lines[defined]
    for line in lines:
        compile(line, "<explain>", "exec")


def test_a_name_that_cannot_be_a_variable_is_explained_as_one(shell: Shell) -> None:
    """A resource named by-ip (or accept's srv-1) is the variable by_ip in explain, as in
    an exported script: the line compiles."""
    shell.ok("tcp listen my-srv 0")
    assert shell.ok("explain").splitlines()[1] == (
        "  my_srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)"
    )
    shell.ok("tcp connect c my-srv; accept my-srv")
    line = shell.ok("explain").splitlines()[1]
    assert line.startswith("  my_srv_1, _ = my_srv.accept()"), line
    compile(line.strip(), "<explain>", "exec")


def test_spawn_explains_with_shell_cwd_and_env_as_given(shell: Shell, tmp_path: Path) -> None:
    """A copied explain line of `spawn --shell` runs the pipeline (shell=True), in the
    folder and with the variable given."""
    shell.ok(f"spawn pl --shell --cwd {tmp_path} --env GREETING=hi -- 'echo $GREETING; pwd'")
    line = shell.ok("explain").splitlines()[1].strip()
    assert ", shell=True, " in line and f"cwd={str(tmp_path)!r}" in line, line
    assert "env={**os.environ, 'GREETING': 'hi'}" in line, line
    import os
    import subprocess

    namespace = {"subprocess": subprocess, "os": os}
    exec(line.split("  # ")[0], namespace)  # the line as a student would copy it
    out, _ = namespace["pl"].communicate(timeout=10)
    assert out == f"hi\n{tmp_path}\n".encode()


def test_sockopt_explains_its_constants_by_name(shell: Shell) -> None:
    shell.ok("tcp listen s 0; sockopt s SO_REUSEADDR 1")
    assert shell.ok("explain").splitlines()[1:] == [
        "  s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
        "  s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)  # -> 1",
    ]


def test_explain_of_a_py_line_says_the_line_is_its_own() -> None:
    shell = make_shell()
    try:
        shell.ok("socketpair a b")
        shell.ok('py a.send(b"q")')
        assert shell.ok("explain 2").splitlines() == [
            '# 2: py a.send(b"q")',
            "# py runs your own Python: the line is its own explain",
        ]
    finally:
        shell.close()
