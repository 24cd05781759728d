"""load: a generator in a process of its own, whose counts match what the server counted,
against echo servers of every model and http servers, and errors when a server drops."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import Shell
from tests.test_servers import said, until

DROPPER = """
import socketserver

class EchoThree(socketserver.BaseRequestHandler):
    # Echoes three round trips of 64 bytes, then hangs up before the fourth answer.
    def handle(self):
        for _ in range(3):
            got = b""
            while len(got) < 64:
                chunk = self.request.recv(64 - len(got))
                if not chunk:
                    return
                got += chunk
            self.request.sendall(got)
        self.request.recv(64)
"""


def field(out: str, name: str) -> str:
    found = re.search(rf"^{name}:\s+(.*)$", out, re.M)
    assert found, out
    return found.group(1)


@pytest.mark.parametrize("mode", ["", "--threading", "--forking", "--selectors"])
def test_echo_counts_match_what_the_server_counted(shell: Shell, mode: str) -> None:
    shell.ok(f"serve e tcp 0 --handler echo {mode}")
    out = shell.ok("load e --conns 4 --requests 400 --size 100")
    assert field(out, "round trips") == "400"
    assert field(out, "errors") == "none"
    assert field(out, "bytes") == "40,000 sent, 40,000 received, each answer checked"
    assert field(out, "connections") == "4 opened"
    assert re.fullmatch(r"p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms", field(out, "latency"))
    server = shell.session.registry.get("e")
    # A --forking child's tally is read once it is reaped: wait for that too.
    until(shell, lambda: server.served == 4 and not server.connections and not server.children
          and (server.bytes_in, server.bytes_out) == (40_000, 40_000))  # fmt: skip
    assert (server.bytes_in, server.bytes_out) == (40_000, 40_000)


def test_a_large_size_spans_many_reads_and_every_byte_is_checked(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --handler echo --selectors")
    out = shell.ok("load e --conns 2 --requests 20 --size 1000000")
    assert field(out, "round trips") == "20" and field(out, "errors") == "none"
    until(shell, lambda: shell.session.registry.get("e").bytes_in == 20_000_000)


def test_wrong_bytes_are_errors(shell: Shell) -> None:
    shell.ok("serve u tcp 0 --handler echo --threading")
    shell.ok("serve up tcp 0 --handler upper --threading")
    # By address (its NAME is refused up front): every byte value, so a..z differ.
    out = shell.ok("load 127.0.0.1:{up.port} --conns 1 --requests 10 --size 300")
    assert field(out, "round trips") == "0"
    assert field(out, "errors") == "10 (wrong bytes 10)"


@pytest.mark.parametrize("mode", ["", "--selectors"])
def test_http_gets_match_the_servers_log(shell: Shell, tmp_path: Path, mode: str) -> None:
    (tmp_path / "page.html").write_bytes(b"<p>\0\r\n</p>" * 100)
    shell.ok(f"serve web tcp 0 --handler http --dir {tmp_path} {mode}")
    port = shell.session.volatile["web.port"]
    out = shell.ok(f"load http://127.0.0.1:{port}/page.html --conns 3 --requests 60")
    assert field(out, "round trips") == "60" and field(out, "errors") == "none"
    assert field(out, "target").endswith("http GET over 3 connections")
    until(shell, said(shell, "web", "left after"))
    web = shell.session.registry.get("web")
    until(shell, lambda: sum('"GET /page.html HTTP/1.1" 200' in e.detail for e in web.log) == 60)
    assert field(out, "connections") == "60 opened"  # http.server's HTTP/1.0 closes each


def test_http_errors_by_status(shell: Shell) -> None:
    shell.ok("serve web tcp 0 --handler http")
    out = shell.ok(f"load http://127.0.0.1:{shell.session.volatile['web.port']}/nope "
                   "--conns 2 --requests 7")  # fmt: skip
    assert field(out, "round trips") == "0"
    assert field(out, "errors") == "7 (HTTP 404 7)"


def test_a_server_that_drops_connections_is_counted_as_errors(shell: Shell, tmp_path: Path) -> None:
    path = tmp_path / "dropper.py"
    path.write_text(DROPPER)
    shell.ok(f"serve d tcp 0 --handler python:{path}:EchoThree --threading")
    out = shell.ok("load d --conns 1 --requests 10")
    # Three answered, the fourth dropped, on a new connection each time: 3 + 1 + 3 + 1 + 2.
    assert field(out, "round trips") == "8"
    assert field(out, "errors") == "2 (closed 2)"
    assert field(out, "connections") == "3 opened"


def test_nothing_listening_is_refused_and_bounded(shell: Shell) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    out = shell.ok(f"load 127.0.0.1:{free} --requests 3")
    assert field(out, "errors") == "3 (refused 3)"


def test_duration_and_rate_bound_the_run(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --handler echo --selectors")
    out = shell.ok("load e --conns 2 --duration 0.5 --rate 20")
    done = int(field(out, "round trips").replace(",", ""))
    assert 1 <= done <= 10  # at most rate x duration: 20/s for 0.5 s
    assert field(out, "errors") == "none"


def test_bad_targets_and_options_are_one_line(shell: Shell, tmp_path: Path) -> None:
    shell.ok("serve c tcp 0 --handler chargen")
    assert "not echo or http" in shell.fails("load c")
    shell.ok("serve w tcp 0 --handler http")
    assert "--size is for echo" in shell.fails("load w --size 10")
    assert "https is not spoken" in shell.fails("load https://127.0.0.1:1/")
    shell.fails("load w --requests 5 --duration 1")  # one or the other
    lab = tmp_path / "lab.toml"
    lab.write_text("")
    assert "is a lab file, which --conns does not apply to" in shell.fails(f"load {lab} --conns 2")
    # Any other file is a lab only if `save` wrote it: a README is a bad TARGET.
    readme = tmp_path / "README.md"
    readme.write_text("# not a lab\n")
    err = shell.fails(f"load {readme} --conns 2")
    assert "bad address" in err and err.endswith("; for a lab file, lab load FILE"), err
    saved = tmp_path / "mylab"
    shell.ok(f"save {saved}")
    assert "is a lab file" in shell.fails(f"load {saved} --conns 2")


def test_progress_is_shown_while_it_runs_when_events_are_live(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --handler echo --selectors")
    quiet = shell.ok("load e --conns 1 --duration 0.7 --rate 10")
    assert "round trips," not in quiet  # a script's output must not depend on timing
    shell.ok("set events live")
    live = shell.ok("load e --conns 1 --duration 1.6 --rate 10")
    assert re.search(r"^load e: \d+ round trips, 0 errors, 0\.\d s\n", live, re.M), live
    # A line at 0.5 s, 1 s, 2 s..., not one every half second (0.5, 1.0, 1.5).
    assert len(re.findall(r"^load e: \d+ round trips", live, re.M)) <= 2, live


def test_the_generator_says_when_it_was_the_bottleneck() -> None:
    from pslrepl.commands.load import summary
    from pslrepl.results import Fields, Text

    config = {"label": "e", "http": False, "size": 64, "conns": 10}
    done = {"elapsed": 2.0, "ok": 1000, "errors": 0, "kinds": {}, "sent": 64000,
            "received": 64000, "connections": 10, "p50": 0.001, "p99": 0.002,
            "max": 0.003}  # fmt: skip

    def notes(**kw: object) -> list[str]:
        return [r.text for r in summary(config, **kw) if isinstance(r, Text)]  # type: ignore[arg-type]

    busy = notes(done={**done, "cpu": 1.9})
    assert len(busy) == 1
    assert busy[0].startswith("note: the load generator used 95% of a CPU: it was the bottleneck")
    assert not notes(done={**done, "cpu": 1.0})
    # Under 90% of a core, but each round trip cost it more than the server: the note.
    costly = notes(done={**done, "cpu": 0.4}, server_cpu=0.1)
    assert costly and "cost the load generator 400 µs of CPU and the server 100 µs" in costly[0]
    assert not notes(done={**done, "cpu": 0.4}, server_cpu=0.5)  # the server's was more
    paced = summary({**config, "rate": 100}, {**done, "cpu": 0.4}, server_cpu=0.1)
    assert not [r for r in paced if isinstance(r, Text)]  # --rate set the pace
    fields = dict(next(r for r in paced if isinstance(r, Fields)).pairs)
    assert "400 µs a round trip: at most ~2,500/s" in str(fields["own CPU"])
    assert "100 µs a round trip" in str(fields["server CPU"])


def test_one_connection_is_singular(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --handler echo --selectors")
    out = shell.ok("load e --requests 3 --conns 1")
    assert field(out, "target") == "e, echo of 64 bytes over 1 connection"


def test_a_host_that_does_not_resolve_is_one_line_with_advice(shell: Shell) -> None:
    for target in ("nosuch.invalid:80", "http://nosuch.invalid:80/", "\u00e9:1"):
        err = shell.fails(f"load {target} --requests 2")
        assert "can't resolve" in err and "give an address like 127.0.0.1:PORT" in err, err
        assert "Traceback" not in err and "--conns" not in err
    shell.ok("serve w tcp 0 --handler http")
    err = shell.fails("load http://w:{w.port}/x --requests 1")
    assert "can't resolve 'w'" in err and "load http://w/PATH" in err, err


def test_an_ipv6_http_server_gets_a_bracketed_host(shell: Shell) -> None:
    import socket

    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        pytest.skip("no ::1 here")
    shell.ok("serve w6 tcp [::1]:0 --handler http")
    for target in ("w6", "http://[::1]:{w6.port}/"):
        out = shell.ok(f"load {target} --requests 6 --conns 2")
        assert field(out, "round trips") == "6" and field(out, "errors") == "none", out
    until(shell, said(shell, "w6", '"GET / HTTP/1.1" 200'))


def test_refused_everywhere_stops_early_with_one_line(shell: Shell) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    err = shell.fails(f"load 127.0.0.1:{free} --conns 20 --requests 20000")
    assert "refused every connection (60 tries); is a server listening there?" in err, err


def test_targets_load_cannot_measure_are_refused_up_front(shell: Shell) -> None:
    shell.ok("serve ud udp 0 --handler echo; serve u tcp 0 --handler upper --selectors")
    shell.ok("tcp listen l 0")
    assert "ud is a udp server; load speaks TCP" in shell.fails("load ud --requests 2")
    assert "serves upper, not echo or http" in shell.fails("load u --requests 2")
    assert "l is a listener, not a server" in shell.fails("load l --requests 2")
    shell.ok("serve e tcp 0 --handler echo")
    assert "--duration must be more than 0 s" in shell.fails("load e --duration 0")
    shell.ok("serve w tcp 0 --handler http")
    err = shell.fails("load 127.0.0.1:{w.port} --requests 2")  # http:// left out
    assert "is w, an http server: write load http://127.0.0.1:" in err, err


def test_running_out_of_descriptors_is_one_line() -> None:
    import json
    import resource
    import subprocess
    import sys

    def few_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (24, 24))

    with socket_server() as port:
        config = {"host": "127.0.0.1", "port": port, "http": False, "size": 64,
                  "conns": 100, "requests": 1000, "label": "x"}  # fmt: skip
        gen = subprocess.run([sys.executable, "-m", "pslrepl.loadgen", json.dumps(config)],
                             input=b"", capture_output=True, timeout=60,
                             preexec_fn=few_files)  # fmt: skip
    assert gen.stderr == b""
    said = json.loads(gen.stdout.splitlines()[-1])
    assert said["fatal"].startswith("the generator ran out of file descriptors after ")
    assert said["fatal"].endswith("(ulimit -n is 24); try fewer --conns")


class socket_server:
    """A listening socket that accepts nothing (its backlog holds the connects)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.create_server(("127.0.0.1", 0), backlog=200)
        return int(self.sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def generators() -> set[int]:
    """This process's children that are load generators."""
    from tests.helpers import child_pids

    found = set()
    for pid in child_pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"pslrepl.loadgen" in f.read():
                    found.add(pid)
        except OSError:
            pass  # gone meanwhile
    return found


def test_ctrl_c_ends_the_generator_and_the_shell_carries_on(shell: Shell) -> None:
    import os
    import signal
    import threading
    import time

    shell.ok("serve e tcp 0 --handler echo --selectors")
    assert not generators()
    seen: set[int] = set()

    server = shell.session.registry.get("e")

    def interrupt_once_it_runs() -> None:
        deadline = time.monotonic() + 20
        # Once it runs and has a client in: the shell is reading its progress by then.
        while not (seen and server.served) and time.monotonic() < deadline:
            seen.update(generators())
            time.sleep(0.01)  # polling for the generator to exist: bounded
        os.kill(os.getpid(), signal.SIGINT)

    helper = threading.Thread(target=interrupt_once_it_runs)
    helper.start()
    try:
        ok, out, err = shell("load e --duration 60")
    finally:
        helper.join()
    assert not ok and err.strip() == "error: cancelled by Ctrl-C; everything else carries on"
    # What it had measured is shown, and said to be so far.
    assert re.search(r"^round trips: +[\d,]+$", out, re.M), out
    assert "note: stopped by Ctrl-C after " in out
    assert seen and not generators()  # it ran, and it was ended and reaped
    assert shell.ok("load e --requests 10 --conns 1").startswith("target:")


def test_the_generator_ends_when_the_shell_does() -> None:
    """kill -9 of the shell closes the generator's stdin: it stops, says what it did."""
    import json
    import subprocess
    import sys

    config = {"host": "127.0.0.1", "port": 9, "http": False, "size": 64, "conns": 1,
              "duration": 600}  # fmt: skip
    gen = subprocess.Popen([sys.executable, "-m", "pslrepl.loadgen", json.dumps(config)],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
    assert gen.stdin is not None and gen.stdout is not None
    gen.stdin.close()
    out = gen.stdout.read()  # to its end: the generator has exited
    assert gen.wait(timeout=20) == 0
    gen.stdout.close()
    assert json.loads(out.splitlines()[-1])["done"] is True


@pytest.mark.parametrize("mode", ["--selectors", "--forking"])
def test_the_servers_clients_during_a_load_are_one_line_after_the_summary(
    shell: Shell, mode: str
) -> None:
    shell.ok(f"set events live; serve x tcp 0 --handler echo {mode}")
    out = shell.ok("load x --conns 30 --requests 300")
    assert "] client " not in out  # no line per connection, connected or left
    assert out.rstrip().splitlines()[-1] == (
        "x: 30 clients connected and left during the run; `log x` has each"
    )
    log = shell.ok("log x")
    assert log.count(" connected") == 30 and log.count(" left after ") == 30
    assert shell.session.registry.get("x").quiet is None  # after the run, shown again


def test_a_target_that_never_answers_stops_after_one_timeout_each() -> None:
    import json
    import os
    import subprocess
    import sys

    with socket_server() as port:  # connects are queued, never accepted nor answered
        config = {"host": "127.0.0.1", "port": port, "http": False, "size": 64,
                  "conns": 3, "requests": 10_000, "label": "silent", "timeout": 0.2}  # fmt: skip
        # Its stdin stays open (a closed one means the shell went: it would stop).
        keep_r, keep_w = os.pipe()
        try:
            gen = subprocess.run([sys.executable, "-m", "pslrepl.loadgen", json.dumps(config)],
                                 stdin=keep_r, capture_output=True, timeout=30)  # fmt: skip
        finally:
            os.close(keep_r)
            os.close(keep_w)
    said = json.loads(gen.stdout.splitlines()[-1])
    assert said["fatal"].startswith("no answer from silent in 0.2 s on any of 3 connections")
