"""socketserver servers with every built-in handler, against the shell's own clients and
real ones nobody here wrote (curl, http.client); stop leaves nothing behind."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import Shell, child_pids, complete, port, python_http_server


def until(shell: Shell, ready: Callable[[], object], limit: float = 20.0) -> None:
    """Wait for what the server does next (re-checked on each of its events), bounded."""
    assert shell.session.wait_for(lambda: bool(ready()), limit), "it never happened"


def said(shell: Shell, name: str, text: str) -> Callable[[], bool]:
    """Whether NAME's log holds text yet (for until)."""
    res = shell.session.registry.get(name)
    return lambda: any(text in event.detail for event in list(res.log))


def test_toolbar_counts_clients_in_words(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --handler echo --threading; tcp connect c e; wait e connect")
    server = shell.session.registry.get("e")
    assert server.toolbar() == f"echo on 127.0.0.1:{port(shell, 'e')}, 1 client"
    shell.ok("tcp connect d e; sendline d x; recv d --line")
    assert server.toolbar().endswith(", 2 clients")


def test_echo_upper_discard(shell: Shell) -> None:
    assert re.fullmatch(r"e: TCPServer serving echo on 127\.0\.0\.1:\d+\n",
                        shell.ok("serve e tcp 0 --handler echo"))  # fmt: skip
    shell.ok("tcp connect c e; sendline c hello")
    assert shell.ok("recv c --line") == "hello\n(6 bytes)\n"
    shell.ok("serve up tcp 0 --handler upper; tcp connect u up; sendline u shout")
    assert shell.ok("recv u --line") == "SHOUT\n(6 bytes)\n"
    shell.ok("serve d tcp 0 --handler discard; tcp connect x d; sendline x into-the-void")
    assert "timeout" in shell.fails("recv x --timeout 0.2")


def test_daytime_and_chargen(shell: Shell) -> None:
    shell.ok("serve day tcp 0 --handler daytime; tcp connect t day")
    out = shell.ok("recv t --all")
    assert re.match(r"\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}\\r\n", out)
    shell.ok("serve gen tcp 0 --handler chargen --threading; tcp connect g gen")
    first = shell.ok("recv g --line").splitlines()[0]
    assert (
        first == r""" !"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r"""
    )
    second = shell.ok("recv g --line").splitlines()[0]
    assert second.startswith('!"#$%')  # the pattern rotates by one each line
    shell.ok("close g")  # chargen stops when the client closes
    gen = shell.session.registry.get("gen")
    until(shell, lambda: not gen.connections)
    assert "serving 0 clients" in shell.ok("info gen")


def test_udp_handlers(shell: Shell) -> None:
    shell.ok("serve ue udp 0 --handler echo; udp open c --connect ue; send c ping")
    assert shell.ok("recv c") == "ping\n(4 bytes)\n"
    shell.ok("serve uu udp 0 --handler upper; udp open d --connect uu; send d quiet")
    assert shell.ok("recv d") == "QUIET\n(5 bytes)\n"
    assert "127.0.0.1:" in shell.ok("clients uu")
    assert "state:          serving, 1 datagram so far\n" in shell.ok("info uu")
    assert shell.ok("stop uu") == "uu: stopped after serving 1 datagram\n"
    assert "needs a stream" in shell.fails("serve x udp 0 --handler chargen")


def test_a_forking_udp_server_forks_per_datagram_and_counts(shell: Shell) -> None:
    shell.ok("serve uf udp 0 --handler upper --forking; udp open q")
    for word in ("one", "three"):
        shell.ok(f"sendto q uf {word}")
        assert shell.ok("recvfrom q").splitlines()[1] == word.upper()
    shell.ok("stop uf")  # reaps the children, and reads what they counted
    log = shell.ok("log uf")
    assert len(re.findall(r"a datagram from 127\.0\.0\.1:\d+, handled in child pid ", log)) == 2
    assert re.search(r"the datagram from 127\.0\.0\.1:\d+ took [\d.]+s \(in 5, out 5; "
                     r"child pid \d+ exited 0\)", log), log  # fmt: skip
    assert "(in 3, out 3; child pid" in log


def test_unix_server_and_its_file(shell: Shell, tmp_path: Path) -> None:
    path = tmp_path / "echo.sock"
    shell.ok(f"serve ux unix {path} --handler echo --threading")
    shell.ok(f"unix connect c {path}; sendline c local")
    assert shell.ok("recv c --line") == "local\n(6 bytes)\n"
    shell.ok(f"unix connect d {path}")
    ux = shell.session.registry.get("ux")
    until(shell, lambda: len(ux.connections) == 2)  # the server's thread has accepted d
    rows = shell.ok("clients ux").splitlines()[1:]  # a UNIX client has no address
    assert [r.split()[:4] for r in rows] == [["unix#1", rows[0].split()[1], "6", "6"],
                                             ["unix#2", rows[1].split()[1], "0", "0"]]  # fmt: skip
    assert "client unix#1 connected" in shell.ok("log ux")
    assert f"removed {path}" in shell.ok("stop ux")
    assert not path.exists()


def test_http_against_curl_and_http_client(shell: Shell, tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    (tmp_path / "page.txt").write_text("served by socketserver\n")
    (tmp_path / "sub").mkdir()
    shell.ok(f"serve web tcp 0 --handler http --threading --dir {tmp_path}")
    assert f"directory:      {tmp_path}\n" in shell.ok("info web")
    assert "--dir is the directory --handler http serves" in shell.fails(
        f"serve e tcp 0 --handler echo --dir {tmp_path}"
    )
    base = f"http://127.0.0.1:{port(shell, 'web')}"
    got = subprocess.run(["curl", "-sS", f"{base}/page.txt"], capture_output=True, text=True,
                         timeout=20)  # fmt: skip
    assert got.stdout == "served by socketserver\n"
    head = subprocess.run(["curl", "-sSI", f"{base}/page.txt"], capture_output=True,
                          text=True, timeout=20)  # fmt: skip
    assert "Content-Length: 23" in head.stdout and head.stdout.startswith("HTTP/1.0 200")
    missing = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"{base}/nope"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert missing.stdout == "404"
    listing = subprocess.run(["curl", "-sS", f"{base}/"], capture_output=True, text=True,
                             timeout=20)  # fmt: skip
    assert "page.txt" in listing.stdout and "sub/" in listing.stdout
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port(shell, "web"), timeout=10)
    conn.request("GET", "/page.txt")
    assert conn.getresponse().read() == b"served by socketserver\n"
    conn.close()
    log = shell.ok("log web")
    assert '"GET /page.txt HTTP/1.1" 200' in log and '"GET /nope HTTP/1.1" 404' in log


def test_every_handler_counts_its_clients_bytes(shell: Shell, tmp_path: Path) -> None:
    """http.server's handler and a user's StreamRequestHandler write through makefile(),
    not the built-ins' recv/sendall: the server counts at the socket, so `info`, `clients`
    and the log's "left after" line show their bytes too."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    (tmp_path / "page.txt").write_text("counted\n")
    shell.ok(f"serve web tcp 0 --handler http --dir {tmp_path}")
    got = subprocess.run(["curl", "-sSi", f"http://127.0.0.1:{port(shell, 'web')}/page.txt"],
                         capture_output=True, timeout=20)  # fmt: skip
    assert got.stdout.endswith(b"\r\n\r\ncounted\n")
    until(shell, said(shell, "web", "left after"))  # its thread says so just after
    log = shell.ok("log web")
    left = re.search(r"left after [\d.]+s \(in (\d+), out (\d+)\)", log)
    assert left, log
    assert int(left.group(2)) == len(got.stdout)  # every byte curl got, headers and all
    assert int(left.group(1)) > len("GET /page.txt HTTP/1.1\r\n\r\n")
    assert "<- client " + left.group(1) + " bytes: GET /page.txt HTTP/1.1\\r\\n" in log
    assert f"bytes out:      {len(got.stdout)}\n" in shell.ok("info web")

    path = tmp_path / "mine.py"
    path.write_text(USER_HANDLERS)
    shell.ok(f"serve rev tcp 0 --handler python:{path}:Reverse --threading")
    shell.ok("tcp connect c rev; sendline c stressed; recv c --line")
    row = shell.ok("clients rev").splitlines()[1].split()
    assert row[2:4] == ["9", "9"], row  # IN and OUT of the live client


def test_chat_room(shell: Shell) -> None:
    out = shell.ok("serve room tcp 0 --handler chat")
    assert "chat serves each client in its own thread" in out
    shell.ok("tcp connect a room; wait room connect; tcp connect b room")
    a_addr = shell.session.volatile["a.laddr"]
    assert shell.ok("recv a --line").startswith("* 127.0.0.1:")  # b joined
    shell.ok("sendline a hello room")
    assert shell.ok("recv b --line") == f"{a_addr}: hello room\n({len(a_addr) + 13} bytes)\n"
    shell.ok("close a")
    assert shell.ok("recv b --line").endswith(" left\n(" + str(len(a_addr) + 8) + " bytes)\n")


def test_chat_passes_on_a_line_that_never_ends_in_parts(shell: Shell) -> None:
    from pslrepl.handlers import LINE_LIMIT

    shell.ok("serve room tcp 0 --handler chat; tcp connect a room; wait room connect")
    shell.ok("tcp connect b room; recv a --line")  # "* b joined"
    a_addr = shell.session.volatile["a.laddr"]
    with socket.create_connection(("127.0.0.1", port(shell, "room")), timeout=10) as flood:
        flood.sendall(b"x" * (LINE_LIMIT + 10000))  # no newline, ever
        got = shell.ok("recv a --line --timeout 10; recv a --line --timeout 10")
        assert got.count("x" * 1000) >= LINE_LIMIT // 1000  # held back no more than that
    assert a_addr not in got  # it came from the flooding client, not from a


def test_capture_keeps_what_clients_send(shell: Shell) -> None:
    shell.ok("serve cap tcp 0 --handler capture; tcp connect c cap")
    shell.ok("sendline c secret-plan; close c")
    until(shell, said(shell, "cap", "left after"))
    log = shell.ok("log cap")
    assert "<- client 12 bytes: secret-plan\\n" in log and "left after" in log


def test_forward_to_another_server(shell: Shell, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("through the proxy\n")
    shell.ok(f"serve web tcp 0 --handler http --dir {tmp_path}")
    shell.ok("serve proxy tcp 0 --handler forward:web --threading")
    shell.ok("tcp connect c proxy")
    shell.ok('sendall c "GET /f.txt HTTP/1.0\\r\\n\\r\\n"')
    out = shell.ok("recv c --all")
    assert out.startswith("HTTP/1.0 200 OK") and "through the proxy" in out


USER_HANDLERS = """
import socketserver

class Reverse(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line.rstrip(b"\\n")[::-1] + b"\\n")

class Broken(socketserver.BaseRequestHandler):
    def handle(self):
        data = self.request.recv(100)
        raise ValueError("the user's bug: " + data.decode().strip())

class NotAHandler:
    pass
"""


def test_user_handlers_from_a_file(shell: Shell, tmp_path: Path) -> None:
    path = tmp_path / "mine.py"
    path.write_text(USER_HANDLERS)
    shell.ok(f"serve rev tcp 0 --handler python:{path}:Reverse --threading")
    shell.ok("tcp connect c rev; sendline c stressed")
    assert shell.ok("recv c --line") == "desserts\n(9 bytes)\n"
    shell.ok(f"serve bad tcp 0 --handler python:{path}:Broken --threading")
    shell.ok("tcp connect b bad; sendline b boom; recv b --all")
    log = shell.ok("log bad")
    assert "the handler raised while serving 127.0.0.1:" in log
    assert "ValueError: the user's bug: boom" in log  # the user's own traceback,
    raised = log.split("the server goes on:\n")[1]
    assert raised.startswith(f'Traceback (most recent call last):\n  File "{path}", line ')
    assert "socketserver.py" not in raised and "pslrepl" not in raised  # and only theirs
    shell.ok("tcp connect b2 bad; sendline b2 again; recv b2 --all")  # still serving
    assert "handler errors: 2" in shell.ok("info bad")
    assert "has no Nope" in shell.fails(f"serve x tcp 0 --handler python:{path}:Nope")
    assert "not a socketserver.BaseRequestHandler" in shell.fails(
        f"serve x tcp 0 --handler python:{path}:NotAHandler"
    )
    assert "no such file" in shell.fails("serve x tcp 0 --handler python:/nope.py:X")


def hammer(port_number: int, clients: int = 50) -> list[bytes]:
    """Many clients at once, each checking its own answer."""
    answers: list[bytes] = [b""] * clients

    def one(i: int) -> None:
        with socket.create_connection(("127.0.0.1", port_number), timeout=20) as s:
            s.sendall(f"client-{i}\n".encode())
            got = b""
            while not got.endswith(b"\n"):
                chunk = s.recv(100)
                if not chunk:
                    break
                got += chunk
            answers[i] = got

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return answers


@pytest.mark.parametrize("mode", ["--threading", "--forking"])
def test_fifty_concurrent_clients_each_get_their_own_answer(shell: Shell, mode: str) -> None:
    shell.ok(f"serve up tcp 0 --handler upper {mode}")
    answers = hammer(port(shell, "up"))
    assert answers == [f"CLIENT-{i}\n".encode() for i in range(50)]


@pytest.mark.parametrize("mode", ["", "--threading", "--forking"])
def test_stop_leaves_nothing_behind(shell: Shell, mode: str) -> None:
    shell.session.watchdog.start()  # a baseline with the session's watchdog in it
    children_before = child_pids()
    threads_before = set(threading.enumerate())
    shell.ok(f"serve e tcp 0 --handler echo {mode}")
    p = port(shell, "e")
    shell.ok("tcp connect held e; sendline held x; recv held --line")  # a client stays
    assert shell.ok("stop e").startswith("e: stopped after serving 1 client")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", p), timeout=2)
    assert child_pids() == children_before
    shell.ok("close held")
    left = [t.name for t in set(threading.enumerate()) - threads_before
            if t.name.startswith("pslrepl:e") or "process_request" in t.name]  # fmt: skip
    assert not left


STUBBORN = """
import os, signal, socketserver, time

class Stubborn(socketserver.BaseRequestHandler):
    def handle(self):
        try:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a --forking child ignores TERM
        except ValueError:
            pass  # a thread can't set handlers: under --threading or sync, no need
        self.request.sendall(b"hi\\n")
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:  # and deaf to its client going away
            time.sleep(0.1)
        open(os.path.join(os.path.dirname(__file__), "finished"), "w").close()
"""


@pytest.mark.parametrize("mode", ["", "--threading", "--forking"])
def test_stop_never_hangs_on_a_handler_that_wont_return(
    shell: Shell, tmp_path: Path, mode: str
) -> None:
    """A sync server's serve_forever runs inside its handler, so shutdown() alone would
    wait the handler out; a forked child that ignores TERM would block server_close."""
    (tmp_path / "stubborn.py").write_text(STUBBORN)
    shell.ok(f"serve s tcp 0 --handler python:{tmp_path}/stubborn.py:Stubborn {mode}")
    p = port(shell, "s")
    shell.session.watchdog.start()  # a baseline with the session's watchdog in it
    children_before = child_pids()
    shell.ok("tcp connect c s; recv c --line")
    out = shell.ok("stop s")
    assert not (tmp_path / "finished").exists()  # stop came back before the handler did
    if mode == "--forking":
        assert out == "s: stopped after serving 1 client\n"  # TERM ignored, so KILL
        assert len(child_pids()) <= len(children_before)
    else:  # a thread can't be killed: said, not waited for
        assert "a handler still runs in " in out and "the port is closed" in out
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", p), timeout=2)
    assert shell.ok("echo still-here") == "still-here\n"


def test_every_interface_is_a_warning_and_errors(shell: Shell) -> None:
    out = shell.ok("serve open tcp 0.0.0.0:0 --handler echo")
    assert "warning: serving on every interface" in out
    assert "no handler 'nope'" in shell.fails("serve x tcp 0 --handler nope")
    shell.ok("serve a tcp 0")
    assert shell.fails(f"serve b tcp {port(shell, 'a')}") == (
        f"error: b: Address already in use (EADDRINUSE): 127.0.0.1:{port(shell, 'a')} is "
        "taken; pick another port, or 0 for a free one"
    )
    assert "/no/such/dir/s: no socket there, or no directory to make it in" in shell.fails(
        "serve u unix /no/such/dir/s"
    )
    # Linux binds an empty path to an abstract name nobody can type: a path is asked for.
    for line in ('serve u unix ""', 'unix listen l ""', 'unix connect c ""'):
        assert shell.fails(line) == "error: give the UNIX socket a path, like /tmp/demo.sock"
    assert "handlers" in shell.ok("help serve")
    assert "forward:ADDR" in shell.ok("handlers")


def test_forking_with_the_shells_own_clients(shell: Shell) -> None:
    shell.ok("serve f tcp 0 --handler upper --forking; tcp connect a f; tcp connect b f")
    shell.ok("sendline a one; recv a --line; sendline b two; recv b --line")
    server = shell.session.registry.get("f")
    until(shell, lambda: len(server.children) == 2)  # the parent notes each after its fork
    rows = shell.ok("clients f").splitlines()[1:]
    assert [r.split()[0] for r in rows] == [shell.session.volatile[f"{c}.laddr"] for c in "ab"]
    assert all(re.search(r"child pid \d+$", r) for r in rows), rows
    shell.ok("close a")
    # a's child saw EOF and ended, though b's child was forked while a was open.
    until(shell, lambda: len(shell.session.registry.get("f").obj.active_children) == 1)
    log = shell.ok("log f")
    assert "in child pid" in log
    # what the child counted comes back when it is reaped: 4 bytes each way ("one\n")
    assert re.search(r"client 127\.0\.0\.1:\d+ left after [\d.]+s \(in 4, out 4; child pid "
                     r"\d+ exited 0\)", log)  # fmt: skip
    assert "bytes in:       4\nbytes out:      4\n" in shell.ok("info f")


def test_a_forked_handler_that_raises_is_reported_by_the_parent(
    shell: Shell, tmp_path: Path
) -> None:
    path = tmp_path / "mine.py"
    path.write_text(USER_HANDLERS)
    shell.ok(f"serve bad tcp 0 --handler python:{path}:Broken --forking")
    shell.ok("tcp connect b bad; sendline b forked-boom; recv b --all")
    until(shell, said(shell, "bad", "forked-boom"))  # once the child is reaped
    log = shell.ok("log bad")
    assert re.search(r"the handler raised while serving 127\.0\.0\.1:\d+ in child pid \d+", log)
    assert "ValueError: the user's bug: forked-boom" in log  # the child's own traceback
    assert "exited with status 1" in log and "handler errors: 1" in shell.ok("info bad")
    shell.ok("tcp connect b2 bad; sendline b2 again; recv b2 --all")  # still serving
    shell.ok("stop bad")  # reaps the last child, and reads what it left
    assert "ValueError: the user's bug: again" in shell.ok("log bad")
    assert not list(Path(shell.session.tmp).glob("forked-*"))  # read, then removed


def test_a_busy_forking_server_leaves_the_shells_other_children_alone(shell: Shell) -> None:
    """socketserver's own collect_children, once max_children (40) clients are busy,
    reaps any child with waitpid(-1): a spawned process's exit status would be lost."""
    shell.ok("serve f tcp 0 --handler echo --forking")
    shell.ok("spawn p -- sh -c 'sleep 1; exit 3'")
    for i in range(42):  # 40 children busy: the server waits for one to end
        shell.ok(f"tcp connect c{i} f")
    assert shell.ok("wait p --timeout 20") == "p: exited with status 3\n"
    # Forking 40 children takes a while on a loaded machine: wait for the server to say
    # it is full, rather than assume it already has.
    server = shell.session.registry.get("f")
    busy = "all 40 children busy (ForkingMixIn.max_children): new clients wait"
    assert shell.session.wait_for(lambda: any(busy in e.detail for e in list(server.log)), 30)
    assert busy in shell.ok("log f")
    shell.ok("close c0; close c1")  # two children end: the last two clients get theirs
    shell.ok("sendline c41 last; recv c41 --line --timeout 20")


def test_a_client_that_vanishes_is_one_line_not_a_traceback(shell: Shell) -> None:
    import struct

    shell.ok("serve e tcp 0 --handler echo --threading; tcp connect c e; sendline c hi")
    shell.ok("wait c data")
    # Linger 0: close sends a reset, as a client that crashes or vanishes does.
    client = shell.session.registry.get("c").obj
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    shell.ok("close c")
    until(shell, lambda: not shell.session.registry.get("e").connections)
    log = shell.ok("log e")
    assert "Traceback" not in log
    assert re.search(r"client 127\.0\.0\.1:\d+ (reset the connection|left after)", log)
    assert "handler errors: 0" in shell.ok("info e")
    shell.ok("tcp connect d e; sendline d still-serving")
    assert shell.ok("recv d --line") == "still-serving\n(14 bytes)\n"


def test_forward_to_nothing_is_one_line_not_a_traceback(shell: Shell) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    shell.ok(f"serve f tcp 0 --handler forward:127.0.0.1:{free} --threading")
    shell.ok("tcp connect c f; recv c --all")  # the proxy closes the client
    log = shell.ok("log f")
    assert f"forward: can't reach 127.0.0.1:{free} for client 127.0.0.1:" in log
    assert "Connection refused (ECONNREFUSED); closed that client" in log
    assert "Traceback" not in log and "handler errors: 0" in shell.ok("info f")


def test_forward_to_pythons_own_http_server(shell: Shell, tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("python's http.server, proxied\n")
    with python_http_server(tmp_path) as target:
        shell.ok(f"serve proxy tcp 0 --handler forward:127.0.0.1:{target} --threading")
        got = subprocess.run(["curl", "-sS", f"http://127.0.0.1:{port(shell, 'proxy')}/p.txt"],
                             capture_output=True, text=True, timeout=20)  # fmt: skip
        assert got.stdout == "python's http.server, proxied\n", got.stderr
        assert "-> client" in shell.ok("log proxy")


def test_wait_for_a_client_and_for_a_pending_connection(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --handler echo --threading")
    assert "waiting for connect" in shell.fails("wait e --timeout 0.2")
    shell.ok("tcp connect c e")
    assert shell.ok("wait e connect") == "e: a client has connected (1 so far)\n"
    shell.ok("tcp listen l 0")
    assert "waiting for accept" in shell.fails("wait l accept --timeout 0.2")
    shell.ok("tcp connect d l")
    assert shell.ok("wait l accept") == "l: a connection is waiting: accept l\n"


def test_tab_completes_handlers_and_endpoints(shell: Shell, tmp_path: Path) -> None:
    assert complete(shell, "serve w tcp 0 --handler ") == [
        "echo", "discard", "upper", "daytime", "chargen", "http", "chat", "capture",
        "forward:", "python:",
    ]  # fmt: skip
    shell.ok("serve web tcp 0; tcp listen l 0; spawn p -- cat")
    assert complete(shell, "serve f tcp 0 --handler forward:") == [
        "forward:web", "forward:l", "forward:127.0.0.1:",
    ]  # fmt: skip
    (tmp_path / "mine.py").write_text(USER_HANDLERS)
    assert complete(shell, f"serve u tcp 0 --handler python:{tmp_path}/mi") == [
        f"python:{tmp_path}/mine.py"
    ]
    assert complete(shell, "relay r tcp-") == ["tcp-listen:"]
    assert complete(shell, "relay r tcp-listen:0 ") == [
        "p", "web", "l", "tcp:", "tcp-listen:", "udp:", "udp-listen:", "unix:", "exec:",
    ]  # fmt: skip
    assert complete(shell, "tcp connect c w") == ["web"]  # a server is an address too


def test_every_error_says_what_to_do_next(shell: Shell, tmp_path: Path) -> None:
    path = tmp_path / "mine.py"
    path.write_text(USER_HANDLERS)
    (tmp_path / "bad.py").write_text("import nosuchmodule_xyz\n")
    errors = {
        "serve x udp 0 --handler chargen":
            "serve: chargen needs a stream: serve it on tcp or unix, not udp",
        "serve x udp 0 --tls": "serve: --tls needs a stream (DTLS is not in ssl): serve on tcp "
            "or unix",
        f"serve x tcp 0 --dir {tmp_path}": "serve: --dir is the directory --handler http "
            "serves; add --handler http, or leave --dir out",
        "serve x udp 0 --handler http": "serve: the http handler speaks over tcp: serve NAME "
            "tcp PORT",
        f"serve x tcp unix:{tmp_path}/s": "serve tcp: give HOST:PORT or a PORT; for a UNIX "
            "path, serve NAME unix PATH",
        "serve x udp 0 --handler forward:1": "serve: forward: relays a stream: serve it on "
            "tcp or unix",
        "serve x tcp 0 --handler chat --forking": "serve: chat's clients share one room: use "
            "--threading, not --forking",
        f"serve x unix {tmp_path}/u --forking": "serve: --forking is for tcp and udp here; "
            "use --threading",
        f"serve x tcp 0 --handler python:{path}:Nope": f"{path} has no Nope; its handlers: "
            "Broken, Reverse",
        f"serve x tcp 0 --handler python:{path}:NotAHandler": f"{path}: NotAHandler is not a "
            "socketserver.BaseRequestHandler subclass; derive it from one "
            "(StreamRequestHandler reads lines)",
        "serve x tcp 0 --handler python:/nope.py:X": "no such file '/nope.py'; give the path "
            "of your .py file",
        f"serve x tcp 0 --handler python:{tmp_path}/bad.py:X": f"{tmp_path}/bad.py: "
            "ModuleNotFoundError: No module named 'nosuchmodule_xyz'; fix it and serve again",
        f"relay r tcp-listen:0 exec:{tmp_path}/none": "relay: no such program in "
            f"'exec:{tmp_path}/none' (ENOENT); check the name, or give its path",
    }  # fmt: skip
    for line, want in errors.items():
        assert shell.fails(line) == f"error: {want}", line


def test_a_relay_that_gets_no_answer_names_timeout(shell: Shell) -> None:
    """A listener whose queue is full drops the SYN: connect waits, then times out."""
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        p = full.getsockname()[1]
        queued = []
        try:
            for _ in range(4):  # the queue takes one or two; the rest wait for a SYN-ACK
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", p))
                queued.append(s)
            shell.ok(f"relay r tcp-listen:0 tcp:127.0.0.1:{p} --timeout 0.3")
            shell.ok("tcp connect c r")  # the relay reaches its other side now
            assert "EOF" in shell.ok("recv c --all")
            said = f"relay: no answer from 127.0.0.1:{p} in 0.3 s (is it up, is its listen "
            assert shell.session.wait_for(lambda: said in shell.ok("log r"), 10)
            assert "queue full?); --timeout S waits longer" in shell.ok("log r")
        finally:
            for s in queued:
                s.close()


def test_stop_names_a_few_stuck_handlers_and_counts_the_rest(shell: Shell, tmp_path: Path) -> None:
    """A flood's thousand threads once made stop's answer a page: it stays one line."""
    (tmp_path / "stubborn.py").write_text(STUBBORN)
    shell.ok(f"serve s tcp 0 --handler python:{tmp_path}/stubborn.py:Stubborn --threading")
    for i in range(5):
        shell.ok(f"tcp connect c{i} s; recv c{i} --line")  # each handler has answered
    out = shell.ok("stop s")
    assert out.count("\n") == 1
    want = (r"s: stopped after serving 5 clients; handlers still run in pslrepl:s#\d, "
            r"pslrepl:s#\d, pslrepl:s#\d and 2 more: the port is closed, and each thread "
            r"ends when its handler returns\n")  # fmt: skip
    assert re.fullmatch(want, out), out


def test_serves_notes_keep_to_set_notes_off(shell: Shell) -> None:
    """serve's informational notes are notes like the pitfall ones: `set notes off`
    silences them; what serve does stays the same."""
    said = shell.ok("serve c1 tcp 0 --handler chat; serve w1 tcp 0 --handler http")
    assert "note: chat serves each client in its own thread" in said
    assert "note: w1 serves " in said
    shell.ok("set notes off")
    said = shell.ok("serve c2 tcp 0 --handler chat; serve w2 tcp 0 --handler http")
    assert "note:" not in said, said
    for name in ("c2", "w2"):
        assert "class:          ThreadingTCPServer" in shell.ok(f"info {name}"), name


def test_a_server_binds_laddr_as_a_socket_does(shell: Shell) -> None:
    """{NAME.laddr} names a server's address as it names a socket's: record, replay and
    py's placeholders read it from the same table."""
    shell.ok("serve s tcp 0 --handler echo")
    volatile = shell.session.volatile
    assert volatile["s.laddr"] == volatile["s.addr"] == f"127.0.0.1:{volatile['s.port']}"
