"""Labs: save, load and reset on real children, sockets and servers; a lab's TOML."""

from __future__ import annotations

import os
import shlex
import signal
import sys
import time
from pathlib import Path

import pytest

from pslrepl.transcript import expand, parse
from tests.helpers import PY, Shell, make_shell, run_cli

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.psl"))


def fresh() -> Shell:
    sh = make_shell()
    sh.session.settings.timeout = 5.0
    return sh


def test_save_writes_each_kind_as_its_command_asked(shell: Shell, tmp_path: Path) -> None:
    shell.ok(f"spawn p --cwd {tmp_path} --env GREETING=a\\ b --merge-stderr -- sort -r")
    shell.ok("tcp listen l 0 --reuseaddr")
    shell.ok(f"serve web tcp 0 --handler http --dir {tmp_path} --tls")
    shell.ok("relay r tcp-listen:0 web")
    shell.ok("udp open u --bind 0")
    shell.ok("unix listen ul {tmp}/s.sock")
    shell.ok("set display hex")
    shell.ok("trap USR1")
    shell.ok("trap PIPE --ignore")
    shell.ok("tcp connect c l")
    shell.ok("accept l a")
    (tmp_path / "labs").mkdir()  # paths outside the lab's folder are written absolute
    lab_path = tmp_path / "labs" / "lab.toml"
    out = shell.ok(f"save {lab_path}")
    assert out == f"wrote {lab_path}: 8 resources; `lab load {lab_path}` brings it up\n"
    lab = lab_path.read_text()
    body = lab.split("\n\n", 1)[1]
    assert (
        body
        == f"""[settings]
display = "hex"

[traps]
report = ["USR1"]
ignore = ["PIPE"]

[[process]]
name = "p"
cwd = "{tmp_path}"
env = ["GREETING=a b"]
merge_stderr = true
argv = ["sort", "-r"]

[[listener]]
name = "l"
addr = "0"
reuseaddr = true

[[unix_listener]]
name = "ul"
path = "{{tmp}}/s.sock"

[[server]]
name = "web"
proto = "tcp"
addr = "0"
handler = "http"
dir = "{tmp_path}"
tls = true

[[udp]]
name = "u"
bind = "0"

[[relay]]
name = "r"
a = "tcp-listen:0"
b = "web"

[[connection]]
name = "c"
addr = "l"

[[accepted]]
listener = "l"
name = "a"
"""
    )
    assert os.stat(lab_path).st_mode & 0o777 == 0o600  # env may hold a secret


def test_a_connection_from_outside_is_a_comment_saying_so(shell: Shell, tmp_path: Path) -> None:
    import socket

    shell.ok("tcp listen l 0")
    port = int(shell.session.volatile["l.port"])
    with socket.create_connection(("127.0.0.1", port)):
        shell.ok("accept l a")
        shell.ok(f"save {tmp_path}/lab.toml")
    text = (tmp_path / "lab.toml").read_text()
    assert text.endswith("\n# not made again: a (tcp): accepted from a peer that is not in "
                         "the lab\n")  # fmt: skip
    assert "[[accepted]]" not in text
    # Loaded and saved again, the lab still says so.
    other = fresh()
    try:
        other.ok(f"lab load {tmp_path}/lab.toml")
        other.ok(f"save {tmp_path}/again.toml")
    finally:
        other.close()
    assert (tmp_path / "again.toml").read_bytes() == (tmp_path / "lab.toml").read_bytes()


def _lab_of_example(example: Path, tmp_path: Path) -> bytes:
    """The lab saved at the point of the example where most resources are live."""
    sh = fresh()
    best, best_text = -1, b""
    try:
        bindings = {"tmp": sh.session.tmp}
        for step in parse(example.read_text()).steps:
            if "--timeout" in step.command or step.command.startswith("sleep "):
                continue  # a wait that is meant to time out makes nothing a lab holds
            bindings.update(sh.session.volatile.items())
            sh(expand(step.command, bindings))
            live = len(list(sh.session.registry))
            if live > best:
                sh.ok(f"save {tmp_path}/step.toml")
                best, best_text = live, (tmp_path / "step.toml").read_bytes()
    finally:
        sh.close()
    return best_text


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_save_load_save_is_byte_identical_for_each_example(example: Path, tmp_path: Path) -> None:
    first = _lab_of_example(example, tmp_path)
    assert b"[[" in first  # each example makes something
    (tmp_path / "first.toml").write_bytes(first)
    sh = fresh()
    try:
        sh.ok(f"lab load {tmp_path}/first.toml")
        sh.ok(f"save {tmp_path}/second.toml")
    finally:
        sh.close()
    assert (tmp_path / "second.toml").read_bytes() == first


def test_load_brings_up_what_an_entry_names_first(shell: Shell, tmp_path: Path) -> None:
    # Written in the wrong order: the connection names the relay, the relay the server.
    (tmp_path / "lab.toml").write_text(
        '[[connection]]\nname = "c"\naddr = "r"\n\n'
        '[[relay]]\nname = "r"\na = "tcp-listen:0"\nb = "srv"\n\n'
        '[[server]]\nname = "srv"\nproto = "tcp"\naddr = "0"\nhandler = "echo"\n'
    )
    out = shell.ok(f"lab load {tmp_path}/lab.toml")
    assert out.splitlines()[-1] == f"{tmp_path}/lab.toml: 3 resources up (srv, r, c)"
    shell.ok("sendline c ping")
    assert shell.ok("recv c --line") == "ping\n(5 bytes)\n"  # through the relay to the echo server


def test_reset_returns_to_the_lab_in_under_a_second(shell: Shell, tmp_path: Path) -> None:
    (tmp_path / "lab.toml").write_text(
        '[settings]\ntimeout = "2"\n\n[traps]\nreport = ["USR2"]\n\n'
        f'[[process]]\nname = "p"\nargv = ["{PY}", "-c", "import time; time.sleep(60)"]\n\n'
        '[[listener]]\nname = "l"\naddr = "0"\n'
    )
    shell.ok(f"lab load {tmp_path}/lab.toml")
    first_pid = shell.session.registry.get("p").pid
    shell.ok("spawn extra -- sleep 60")
    shell.ok("set display hex")
    shell.ok("set timeout 9")
    shell.ok("trap USR1")
    started = time.monotonic()
    out = shell.ok("reset")
    took = time.monotonic() - started
    assert took < 1.0, took
    assert out.splitlines()[-1] == (f"reset: closed 3 resources (extra, l, p); back to "
                                    f"{tmp_path}/lab.toml: 2 resources up")  # fmt: skip
    assert sorted(r.name for r in shell.session.registry) == ["l", "p"]
    assert shell.session.registry.get("p").pid != first_pid
    assert not os.path.exists(f"/proc/{first_pid}")  # closed and reaped
    assert shell.session.settings.display == "text" and shell.session.settings.timeout == 2.0
    assert signal.getsignal(signal.SIGUSR1) in (signal.SIG_DFL, signal.default_int_handler)
    assert type(signal.getsignal(signal.SIGUSR2)).__name__ == "Trap"


def test_reset_without_a_lab_is_an_empty_session(shell: Shell) -> None:
    shell.ok("tcp listen l 0")
    shell.ok("set display repr")
    assert shell.ok("reset") == "reset: closed 1 resource (l); an empty session\n"
    assert list(shell.session.registry) == []
    assert shell.session.settings.display == "text"
    assert shell.ok("reset") == "reset: closed 0 resources; an empty session\n"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[[process]\nname = 1\n", "is not valid TOML: "),  # the parser's words differ
        ("[[process]\nname = 1\n", "(at line 1, column 10)"),
        (
            '[[proces]]\nname = "p"\n',
            "no table 'proces' in a lab (it has: settings, traps, tmp, process, listener",
        ),
        (
            '[[listener]]\nname = "l"\naddr = "0"\nport = 1\n',
            "[[listener]] number 1: tcp listen takes no 'port' (it takes: addr, backlog",
        ),
        ('[[listener]]\naddr = "0"\n', "[[listener]] number 1: name is missing (tcp listen"),
        ('[[listener]]\nname = "l"\naddr = "0"\n[[udp]]\nname = "l"\n', "l named twice"),
        ('[settings]\nloud = "on"\n', "[settings] has no 'loud' (a lab sets: display"),
        ('[traps]\ncatch = ["INT"]\n', "[traps] has no 'catch' (it has: report, ignore, default)"),
        (
            '[[relay]]\nname = "a"\na = "b"\nb = "tcp-listen:0"\n'
            '[[relay]]\nname = "b"\na = "a"\nb = "tcp-listen:0"\n',
            "a, b name each other in a circle",
        ),
        ('[[listener]]\nname = "l"\naddr = "1.2.3.4.5:0"\n', "[[listener]] l did not come up: "),
        (
            '[[process]]\nname = "p"\nargv = ["/nonexistent/prog"]\n',
            "[[process]] p did not come up: ",
        ),
    ],
)
def test_a_bad_lab_is_one_error_line(shell: Shell, tmp_path: Path, text: str, error: str) -> None:
    (tmp_path / "lab.toml").write_text(text)
    line = shell.fails(f"lab load {tmp_path}/lab.toml")
    assert line.startswith(f"error: lab load: {tmp_path}/lab.toml") and error in line, line
    shell.ok("echo still here")


def test_load_refuses_names_already_live_and_a_missing_file(shell: Shell, tmp_path: Path) -> None:
    shell.ok("tcp listen l 0")
    shell.ok(f"save {tmp_path}/lab.toml")
    assert shell.fails(f"lab load {tmp_path}/lab.toml") == (
        f"error: lab load: {tmp_path}/lab.toml: l already live; `close` them or `reset` first"
    )
    line = shell.fails(f"lab load {tmp_path}/missing.toml")
    assert line.startswith(f"error: lab load: can't read {tmp_path}/missing.toml: ")


def test_save_refuses_a_symbolic_link(shell: Shell, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("keep\n")
    (tmp_path / "lab.toml").symlink_to(target)
    line = shell.fails(f"save {tmp_path}/lab.toml")
    assert "symbolic link" in line
    assert target.read_text() == "keep\n"


def test_strings_round_trip_with_quotes_backslashes_and_control_characters(
    shell: Shell, tmp_path: Path
) -> None:
    tricky = 'a "quoted" \\ back\tslash\x01 ünï'
    shell.ok(f"spawn p --env {shlex.quote('X=' + tricky)} -- cat")
    shell.ok(f"save {tmp_path}/lab.toml")
    other = fresh()
    try:
        other.ok(f"lab load {tmp_path}/lab.toml")
        assert other.ok("py p.args") == "['cat']\n"
        assert other.session.history.last() is not None
        other.ok(f"save {tmp_path}/again.toml")
    finally:
        other.close()
    assert (tmp_path / "again.toml").read_bytes() == (tmp_path / "lab.toml").read_bytes()
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    doc = tomllib.loads((tmp_path / "lab.toml").read_text())
    assert doc["process"][0]["env"] == [f"X={tricky}"]


def test_pslrepl_lab_starts_a_script_with_the_lab_up(tmp_path: Path) -> None:
    (tmp_path / "lab.toml").write_text('[[listener]]\nname = "l"\naddr = "0"\n')
    done = run_cli("--lab", str(tmp_path / "lab.toml"), "-c", "ls; reset")
    assert done.returncode == 0, done.stderr
    assert "l: listening on 127.0.0.1:" in done.stdout
    assert "l      listener" in done.stdout or "\nl " in done.stdout
    assert f"back to {tmp_path}/lab.toml: 1 resource up" in done.stdout
    done = run_cli("--lab", str(tmp_path / "missing.toml"), "-c", "echo never")
    assert done.returncode == 1 and "never" not in done.stdout
    assert "error: lab load: can't read" in done.stderr
    done = run_cli("--lab", "x.toml", "--check", "a.psl")
    assert done.returncode == 2
    assert "--lab starts the shell or a script, not --check" in done.stderr


def test_a_relay_is_saved_with_its_toxics_as_they_are_now(shell: Shell, tmp_path: Path) -> None:
    shell.ok("serve e tcp 0 --handler echo")
    shell.ok("relay r tcp-listen:0 e --link 'latency delay=2s' --seed 3")
    shell.ok("link r slicer size=4 delay=0.1 --dir both")
    shell.ok("link r bandwidth rate=1000")
    shell.ok("unlink r latency")  # linked at the start, gone now: not in the lab
    shell.ok(f"save {tmp_path}/lab.toml")
    text = (tmp_path / "lab.toml").read_text()
    assert text.endswith('[[relay]]\nname = "r"\na = "tcp-listen:0"\nb = "e"\n'
                         'link = ["slicer size=4 delay=100ms dir=both", "bandwidth rate=1000B/s"]\n'
                         "seed = 3\n")  # fmt: skip
    other = fresh()
    try:
        other.ok(f"lab load {tmp_path}/lab.toml")
        listed = other.ok("link r")
        assert "slicer" in listed and "bandwidth" in listed and "latency" not in listed
        other.ok(f"save {tmp_path}/again.toml")
    finally:
        other.close()
    assert (tmp_path / "again.toml").read_text() == text


def test_an_address_of_the_lab_is_written_as_its_resource(shell: Shell, tmp_path: Path) -> None:
    shell.ok("serve e tcp 0 --handler echo")
    shell.ok("tcp connect c 127.0.0.1:{e.port}")
    shell.ok("relay r tcp-listen:0 tcp:127.0.0.1:{e.port}")
    port = shell.session.volatile["e.port"]
    # The port typed as a number, and a longer number typed that starts the same.
    shell.ok(f"spawn p -- {PY} -c 'import sys; print(sys.argv[1:])' 127.0.0.1:{port} "
             f"127.0.0.1:{port}9")  # fmt: skip
    shell.ok(f"save {tmp_path}/lab.toml")
    text = (tmp_path / "lab.toml").read_text()
    assert '[[connection]]\nname = "c"\naddr = "e"\n' in text
    assert '[[relay]]\nname = "r"\na = "tcp-listen:0"\nb = "e"\n' in text
    # In a child's argv, the port: a longer number that starts the same is left alone.
    assert f'"127.0.0.1:{{e.port}}", "127.0.0.1:{port}9"]' in text
    other = fresh()
    try:
        out = other.ok(f"lab load {tmp_path}/lab.toml")
        new_port = other.session.volatile["e.port"]
        # The child comes up after the server it names, with the server's new port.
        assert out.splitlines()[-1].endswith("4 resources up (e, p, r, c)")
        assert other.ok("read p --line") == f"['127.0.0.1:{new_port}', '127.0.0.1:{port}9']\n"
        other.ok("sendline c hi")
        assert other.ok("recv c --line") == "hi\n(3 bytes)\n"
        other.ok(f"save {tmp_path}/again.toml")
    finally:
        other.close()
    assert (tmp_path / "again.toml").read_text() == text


def test_what_the_shell_named_is_a_comment_saying_why(shell: Shell, tmp_path: Path) -> None:
    shell.ok("tcp listen l 0")
    shell.ok("tcp connect c l")
    assert shell.ok("accept l").startswith("l-1: accepted from")
    shell.ok(f"save {tmp_path}/lab.toml")
    assert (tmp_path / "lab.toml").read_text().endswith(
        "\n# not made again: l-1 (tcp): named by the shell (no NAME given): a lab makes "
        "again only what was given a NAME\n")  # fmt: skip
