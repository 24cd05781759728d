"""Placeholders ({l.port}, {p.pid}, {tmp}) work in commands from -c, a script and
standard input, as in transcripts: each command's words are expanded as it runs."""

from __future__ import annotations

import re
import socket
import sys
from pathlib import Path

from tests.helpers import Shell, run_cli

# A listener, then a client of it by the port the listener chose, on one line.
ONE_LINE = "tcp listen l 0; tcp connect c 127.0.0.1:{l.port}; accept l s; echo {l.port}"


def check_connected(out: str) -> None:
    port = re.search(r"l: listening on 127\.0\.0\.1:(\d+)", out)
    assert port, out
    assert "c: connected 127.0.0.1:" in out and f"-> 127.0.0.1:{port[1]}" in out
    assert out.rstrip().endswith(port[1])


def test_placeholders_in_c(tmp_path: Path) -> None:
    done = run_cli("-c", ONE_LINE)
    assert done.returncode == 0, done.stderr
    check_connected(done.stdout)


def test_placeholders_in_a_script_and_on_standard_input(tmp_path: Path) -> None:
    script = tmp_path / "demo.psl"
    script.write_text(ONE_LINE.replace("; ", "\n") + "\n")
    done = run_cli(str(script))
    assert done.returncode == 0, done.stderr
    check_connected(done.stdout)
    done = run_cli(input=ONE_LINE.replace("; ", "\n") + "\n")
    assert done.returncode == 0, done.stderr
    check_connected(done.stdout)


def test_a_child_gets_the_expanded_argument(shell: Shell) -> None:
    """The lesson the issue names: a peer program told a port the shell chose."""
    shell.ok("tcp listen l 0")
    port = shell.session.registry.get("l").obj.getsockname()[1]
    shell.ok(
        f"spawn p -- {sys.executable} -c 'import sys; print(sys.argv[1])' 127.0.0.1:{{l.port}}"
    )
    assert shell.ok("read p --all") == f"127.0.0.1:{port}\n"
    shell.ok("wait p")
    pid = shell.session.registry.get("p").pid
    assert shell.ok("echo {p.pid}") == f"{pid}\n"


def test_what_names_nothing_known_stays_as_typed(shell: Shell) -> None:
    assert shell.ok('echo {nope} {l.port} {"a": 1} {x.y.z}') == "{nope} {l.port} {a: 1} {x.y.z}\n"
    shell.ok("tcp listen l 0")
    shell.ok("close l")
    # A closed resource's value stays known, as in a transcript's replay.
    assert re.fullmatch(r"\d+\n", shell.ok("echo {l.port}"))


def test_tmp_is_the_sessions_own_directory(shell: Shell) -> None:
    out = shell.ok("echo {tmp}").strip()
    assert out == shell.session.tmp and Path(out).is_dir()
    shell.ok("unix listen u {tmp}/u.sock")
    with socket.socket(socket.AF_UNIX) as peer:
        peer.connect(f"{out}/u.sock")


def test_a_recording_keeps_the_placeholder_as_typed(shell: Shell, tmp_path: Path) -> None:
    shell.ok(f"record {tmp_path}/t.psl")
    shell.ok("tcp listen l 0")
    shell.ok("tcp connect c 127.0.0.1:{l.port}")
    shell.ok("record stop")
    text = (tmp_path / "t.psl").read_text()
    assert "psl> tcp connect c 127.0.0.1:{l.port}\n" in text
    done = run_cli("--check", str(tmp_path / "t.psl"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_doubled_braces_are_a_placeholders_own_text(tmp_path: Path) -> None:
    """{{NAME}} is the text {NAME}: in echo, and in py code where {tmp} is a variable."""
    done = run_cli("-c", 'echo {{tmp}} {tmp} {{nope}} {{{tmp}}}; py "tmp = 5; print(f\'{{tmp}}\')"',
                   env={"TMPDIR": str(tmp_path)})  # fmt: skip
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    words = first.split(" ")
    assert words[0] == "{tmp}" and words[2] == "{nope}" and words[3] == "{{tmp}}"
    assert words[1].startswith(str(tmp_path) + "/pslrepl-")
    assert second == "5"


SERVER = "serve s tcp 0; tcp connect c {s.laddr}; echo {s.port} {s.laddr}"


def test_a_servers_laddr_and_port_in_c_a_script_and_standard_input(tmp_path: Path) -> None:
    script = tmp_path / "server.txt"
    script.write_text(SERVER.replace("; ", "\n") + "\n")
    for done in (run_cli("-c", SERVER), run_cli(str(script)),
                 run_cli(input=SERVER.replace("; ", "\n") + "\n")):  # fmt: skip
        assert done.returncode == 0, done.stderr
        port = re.search(r"s: TCPServer serving echo on 127\.0\.0\.1:(\d+)", done.stdout)
        assert port, done.stdout
        assert f"-> 127.0.0.1:{port[1]}" in done.stdout
        assert done.stdout.splitlines()[-1] == f"{port[1]} 127.0.0.1:{port[1]}"
