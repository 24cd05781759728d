"""Session commands and the dispatcher's rules: errors, names, object-first, help."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import Shell, run_cli


def test_echo_and_semicolons(shell: Shell) -> None:
    assert shell.ok("echo hello world; echo 'a;b'") == "hello world\na;b\n"


def test_unknown_command_suggests(shell: Shell) -> None:
    assert shell.fails("spwan p -- cat") == ("error: unknown command 'spwan'; did you mean spawn?")
    assert "`help` lists commands" in shell.fails("zzzz")


def test_a_failure_does_not_stop_the_rest_of_the_line(shell: Shell) -> None:
    ok, out, err = shell("nosuch; echo still here")
    assert not ok and out == "still here\n" and err.startswith("error: unknown command")


def test_unterminated_quote(shell: Shell) -> None:
    assert "unterminated" in shell.fails('echo "abc')


def test_object_first(shell: Shell) -> None:
    shell.ok("spawn p -- cat")
    shell.ok("p writeline hello")
    assert shell.ok("p read --line") == "hello\n"
    assert "say what to do with it" in shell.fails("p")
    assert "p: unknown command 'frobnicate'" in shell.fails("p frobnicate")
    assert "did you mean read" in shell.fails("p raed")


def test_wrong_kind_and_unknown_name(shell: Shell) -> None:
    assert "nothing is live yet" in shell.fails("read ghost")
    shell.ok("spawn p -- cat")
    assert "no resource named 'ghost'; `ls` lists" in shell.fails("read ghost")


def test_ls_empty_and_info(shell: Shell) -> None:
    assert "nothing live" in shell.ok("ls")
    shell.ok("spawn p -- cat")
    info = dict(line.split(":", 1) for line in shell.ok("info p").splitlines())
    assert info["kind"].strip() == "process"
    assert info["argv"].strip() == "['cat']"
    assert info["status"].strip() == "running"
    assert info["thread"].strip() == "pslrepl:p"


def test_close_names_all_and_errors(shell: Shell) -> None:
    shell.ok("spawn a -- cat; spawn b -- cat; spawn c -- cat")
    assert shell.ok("close a").startswith("a: terminated")
    assert "no resource named 'zz'" in shell.fails("close b zz")
    assert "b" in shell.session.registry  # nothing closed when one name is wrong
    out = shell.ok("close --all")
    assert out.splitlines()[0].startswith("c: ") and out.splitlines()[1].startswith("b: ")
    assert len(shell.session.registry) == 0
    assert "nothing to close" in shell.ok("close --all")
    assert "give the NAMEs" in shell.fails("close")


def test_log_shows_traffic_and_events(shell: Shell) -> None:
    shell.ok("spawn p -- cat; writeline p hello; read p --line; eof p; wait p")
    lines = shell.ok("log p").splitlines()
    text = "\n".join(lines)
    assert "-- started pid" in lines[0]
    assert "-> stdin 6 bytes: hello\\n" in text
    assert "<- stdout 6 bytes: hello\\n" in text
    assert lines[-1].endswith("exited with status 0")
    assert "68 65 6c 6c 6f 0a" in shell.ok("log p --hex")
    assert "b'hello\\n'" in shell.ok("log p --repr")
    assert len(shell.ok("log p --last 2").splitlines()) == 2
    shell.ok("close p")
    assert "exited with status 0" in shell.ok("log p")  # history outlives the resource
    assert " p -- started pid" in shell.ok("log")
    assert "can't be used together" in shell.fails("log p --hex --repr")


def test_wait_events(shell: Shell) -> None:
    shell.ok("spawn p -- cat")
    line = shell.fails("wait p --timeout 0.2")
    assert (
        line
        == "error: p: timeout after 0.2 s waiting for exit; it is running; --timeout S waits longer"
    )
    shell.ok("writeline p x")
    assert shell.ok("wait p data") == "p: output waiting: read p\n"
    shell.ok("spawn q -- true")
    assert shell.ok("wait q eof") == (
        "q: its stdout and stderr are closed: nothing more will come\n"
    )
    assert (
        shell.fails("wait p accept")
        == "error: wait: a process has no event 'accept'; it has exit, data, eof"
    )


def test_set(shell: Shell) -> None:
    out = shell.ok("set")
    assert "display:    text" in out and "timeout:    5" in out
    assert shell.ok("set timeout 2") == "timeout: 2\n"
    assert shell.session.settings.timeout == 2.0
    assert shell.ok("set encoding LATIN1") == "encoding: iso8859-1\n"
    assert "must be one of" in shell.fails("set display fancy")
    assert "no setting 'nope'" in shell.fails("set nope")
    assert "must be from 0 to 1,000,000,000 seconds" in shell.fails("set timeout -1")
    assert "must be from 0 to 1,000,000,000 seconds" in shell.fails("set timeout 1e300")
    assert "unknown encoding" in shell.fails("set encoding klingon")


def test_explain_lists_calls(shell: Shell) -> None:
    shell.ok("set explain on")
    out = shell.ok("spawn p -- cat")
    assert "  p = subprocess.Popen(['cat'], stdin=subprocess.PIPE" in out
    assert "  p.poll()" in shell.ok("poll p").splitlines()


def test_history_keeps_calls_as_data(shell: Shell) -> None:
    shell.ok("spawn p -- cat; poll p")
    shell.fails("read p --timeout 0.1")
    records = list(shell.session.history)
    assert [r.command for r in records] == ["spawn", "poll", "read"]
    assert [r.ok for r in records] == [True, True, False]
    assert records[1].calls[0].func == "Popen.poll"


def test_sleep_and_py(shell: Shell) -> None:
    shell.ok("sleep 0.05")
    assert shell.ok("py 6*7") == "42\n"
    assert shell.ok("py x = 5") == ""
    assert shell.ok("py print(x + 1)") == "6\n"
    assert shell.fails("py 1/0") == "error: py: ZeroDivisionError: division by zero (line 1)"
    assert "syntax error" in shell.fails("py (")


def test_source(shell: Shell, tmp_path: Path) -> None:
    script = tmp_path / "demo.psl"
    script.write_text("echo one\n# a comment\nspawn p -- cat\nwriteline p two\nread p --line\n")
    out = shell.ok(f"source {script}")
    assert out.startswith("one\np: started pid ") and out.endswith("p: wrote 4 bytes\ntwo\n")
    bad = tmp_path / "bad.psl"
    bad.write_text("echo a\nnosuch\necho never\n")
    ok, out, err = shell(f"source {bad}")
    assert not ok and out == "a\n" and "never" not in out
    assert f"{bad}:2: unknown command 'nosuch'" in err
    assert f"source: {bad} stopped at line 2" in err
    assert "can't read" in shell.fails("source /nonexistent.psl")
    loop = tmp_path / "loop.psl"
    loop.write_text(f"source {loop}\n")
    ok, out, err = shell(f"source {loop}")
    assert not ok and "nested 10 deep" in err and "Traceback" not in err


def test_source_of_a_transcript_runs_only_its_commands(shell: Shell, tmp_path: Path) -> None:
    transcript = tmp_path / "demo.psl"
    transcript.write_text(
        "# A demo\n"
        "psl> echo one\n"
        "one\n"
        "psl> spawn p -- cat\n"
        "p: started pid {p.pid}: cat\n"
        "psl>\n"
        "psl> writeline p two   # a comment\n"
        "echo this is output, not a command\n"
        "psl> read p --line\n"
        "two\n"
        "psl> nosuch\n"
    )
    ok, out, err = shell(f"source {transcript}")
    assert out.startswith("one\np: started pid ") and out.endswith("p: wrote 4 bytes\ntwo\n")
    assert "this is output" not in out
    assert not ok and f"{transcript}:11: unknown command 'nosuch'" in err
    indented = tmp_path / "indented.psl"
    indented.write_text("    psl> echo in\n    in\n\tpsl> echo tab\n\ttab\n")
    assert shell.ok(f"source {indented}") == "in\ntab\n"  # as a paste of it would run


def test_exit(shell: Shell) -> None:
    shell.ok("exit 3; echo not run")
    assert shell.session.exit_requested == 3


def test_help(shell: Shell) -> None:
    out = shell.ok("help")
    assert "Processes: subprocess, signal, sh" in out and "  spawn " in out
    spawn = shell.ok("help spawn")
    assert spawn.startswith("usage: spawn [--shell]")
    assert "stdlib: subprocess.Popen" in spawn and "examples:" in spawn
    assert "display" in shell.ok("help set")
    assert "aliases: quit" in shell.ok("help exit")
    assert "unknown command 'nope'" in shell.fails("help nope")
    assert shell.ok("help ca") == (  # a command with subcommands lists them, aligned
        "ca export  write the test CA to DIR/ca.pem, for curl and openssl\n"
        "ca issue   a certificate and key from the test CA: DIR/NAME.pem and DIR/NAME.key "
        "(0600)\n"
        "ca show    the session's local test CA (trustme)\n"
        "`help ca SUBCOMMAND` shows its usage.\n"
    )


@pytest.mark.parametrize("line", ["help help", "help quit"])
def test_help_by_alias_and_self(shell: Shell, line: str) -> None:
    assert shell.ok(line).startswith("usage: ")


def test_events_are_quiet_in_scripts_unless_asked(shell: Shell) -> None:
    shell.ok("spawn p -- sh -c 'echo hi; exit 3'; wait p")
    assert "[p]" not in shell.out.getvalue()
    shell.ok("set events live")
    out = shell.ok("spawn q -- sh -c 'echo hi; exit 3'; wait q; sleep 0.05")
    assert "[q] exited with status 3" in out
    assert "[q] stdout 3 bytes waiting: b'hi\\n'" in out


def test_py_keeps_pythons_quotes(shell: Shell) -> None:
    assert shell.ok("""py print('hi', "there")""") == "hi there\n"
    assert shell.ok("py len('a b  c')") == "6\n"  # spaces inside the string kept
    assert shell.ok("py 'x = 1; print(x + 1)'") == "2\n"  # one quoted word: the code
    assert shell.ok("""py "print('q')" """) == "q\n"


@pytest.mark.parametrize(
    ("code", "status"),
    [("exit()", 0), ("quit()", 0), ("exit(3)", 3), ("raise SystemExit", 0),
     ("import sys; sys.exit(4)", 4), ("raise SystemExit('bye')", 1)],
)  # fmt: skip
def test_py_exit_leaves_the_shell_cleanly(shell: Shell, code: str, status: int) -> None:
    import sys

    stdin = sys.stdin
    out = shell.ok(f"py '{code}'" if ";" in code else f"py {code}")
    assert "leaving the shell, as `exit` does" in out
    assert shell.session.exit_requested == status
    assert sys.stdin is stdin and not sys.stdin.closed  # site's exit() would close it


def test_py_exit_in_a_script_ends_it_with_its_status() -> None:
    done = run_cli("-c", "spawn p -- sleep 60; py exit(5); echo never")
    assert done.returncode == 5, done.stderr
    assert "never" not in done.stdout
    assert "Traceback" not in done.stderr


def test_py_warns_when_code_rebinds_a_resources_name(shell: Shell) -> None:
    shell.ok("spawn x -- cat")
    out = shell.ok("py x = 5")
    assert "warning: x is a resource's name" in out
    assert shell.ok("py x.args") == "['cat']\n"  # still the Popen
    assert "warning" not in shell.ok("py y = 5")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("exit 256", "exit: STATUS must be from 0 to 255, not 256"),
        ("exit -1", "exit: STATUS must be from 0 to 255, not -1"),
        ("exit 99999999999999999999", "exit: STATUS must be from 0 to 255"),
        ("log --last -1", "log: --last must be 0 or more, not -1"),
        ("log --last 99999999999999999999", "log: --last must be 0 or more and fit 64 bits"),
        ("sleep 1e300", "sleep: SECONDS must be from 0 to 1,000,000,000 seconds"),
        ("set grace 1e10", "grace must be from 0 to 1,000,000,000 seconds"),
    ],
)
def test_out_of_range_numbers_name_the_range(shell: Shell, line: str, message: str) -> None:
    assert message in shell.fails(line)
    assert shell.session.exit_requested is None


def test_exit_status_boundaries() -> None:
    assert run_cli("-c", "exit 255").returncode == 255
    assert run_cli("-c", "exit 0").returncode == 0


def test_info_of_a_running_child_has_no_empty_line(shell: Shell) -> None:
    shell.ok("spawn p -- cat")
    lines = shell.ok("info p").splitlines()
    assert not [line for line in lines if line.rstrip().endswith(":")], lines
    assert any(line.startswith("ended:") and "not yet" in line for line in lines)


def test_explain_shows_no_shell_internals(shell: Shell, tmp_path: Path) -> None:
    """Every call explain lists reads as the stdlib call, never as the shell's own objects
    (`<pslrepl.session.Session object at 0x...>`) or words that are no call."""
    shell.ok("set explain on")
    lines = [
        "spawn p -- cat", "writeline p hi", "read p --line", "eof p", "wait p", "poll p",
        "run -- echo x", "sh echo y", "trap USR1", "alarm 0", "sleep 0.01",
        "tcp listen srv 0", "tcp connect c srv", "accept srv s", "send c hello", "recv s",
        "sendline c x", "recv s --line", "udp open u --bind 0", "sendto u u ping",
        "recvfrom u", "serve e tcp 0 --handler echo", "stop e", "relay r tcp-listen:0 srv",
        "close r", "getaddrinfo 127.0.0.1 80", "sockopt c TCP_NODELAY", "shutdown c wr",
        f"record {tmp_path}/t.psl", "record stop",
    ]  # fmt: skip
    shown = []
    for line in lines:
        shown += [x for x in shell.ok(line).splitlines() if x.startswith("  ")]
    assert len(shown) >= 30
    for call in shown:
        assert "object at 0x" not in call and "<pslrepl." not in call, call
        # A call, or a one-line definition of what a call is given (trap's handler).
        assert re.match(r"  ([\w, ]+ = )?[\w.]+\(.*\)(  # .*)?$", call) or re.match(
            r"  (def \w+\(.*\)|class \w+\([\w.]+\)): \.\.\.(  # .*)?$", call
        ), call


def test_every_age_is_written_one_way() -> None:
    from pslrepl.resources.base import age
    from pslrepl.transcript import match_line

    assert [age(s) for s in (0, 0.04, 0.36, 9.9, 9.96, 42, 65, 3725)] == [
        "0.0s", "0.0s", "0.4s", "9.9s", "10s", "42s", "1m05s", "1h02m",
    ]  # fmt: skip
    for shown in ("0.4s", "10s", "1m05s", "1h02m"):
        assert match_line("age {age}", f"age {shown}", {}) is not None


def test_a_servers_client_left_after_an_age(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --handler echo; tcp connect c e; sendline c hi; recv c --line")
    shell.ok("close c")
    assert shell.session.wait_for(lambda: "left after" in shell.ok("log e"), 10)
    assert re.search(r"client \S+ left after \d+\.\ds \(in 3, out 3\)", shell.ok("log e"))


@pytest.mark.parametrize("code", ["sys.stdin.close()", "sys.stdout.close()",
                                  "sys.stderr.close()"])  # fmt: skip
def test_py_cant_close_the_shells_streams(shell: Shell, code: str) -> None:
    import sys

    stdin = sys.stdin
    out = shell.ok(f'py "print(1); {code}; print(2)"')
    assert out == "1\n2\n"
    assert sys.stdin is stdin and not stdin.closed
    assert shell.ok("echo still here") == "still here\n"


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("tcp connect c a..b:80", "tcp connect: that host name can't be looked up"),
        ("tls connect t a..b:443", "tls connect: that host name can't be looked up"),
        (f"unix listen y {'x' * 120}", "y: the path is 120 bytes; a UNIX socket's path holds "
                                       "at most 107"),
        ("getservbyname nosuch", "the names are in /etc/services (try http, ssh, smtp)"),
    ],
)  # fmt: skip
def test_errors_that_used_to_hide_what_to_do(shell: Shell, line: str, said: str) -> None:
    message = shell.fails(line)
    assert said in message and "internal error" not in message


def test_ca_export_to_a_file_says_it_wants_a_directory(shell: Shell, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("mine")
    assert "is a file, not a directory" in shell.fails(f"ca export {tmp_path}/afile")
    assert (tmp_path / "afile").read_text() == "mine"


def _declared() -> tuple[set[str], set[str]]:
    """Every kind and every wait event the resource classes declare, found by walking
    every class of pslrepl.resources, not through the catalog the commands ask."""
    import importlib
    import pkgutil

    import pslrepl.resources
    from pslrepl.resources.base import Resource

    for module in pkgutil.iter_modules(pslrepl.resources.__path__):
        importlib.import_module(f"pslrepl.resources.{module.name}")
    classes, todo = [], [Resource]
    while todo:
        cls = todo.pop()
        classes.append(cls)
        todo.extend(cls.__subclasses__())
    kinds = {k for cls in classes for k in cls.KINDS} - set(Resource.KINDS)
    return kinds, {e for cls in classes for e in cls.EVENTS}


def test_ls_and_wait_take_what_the_resource_classes_declare(shell: Shell) -> None:
    kinds, events = _declared()
    assert {"process", "tcp", "unix-dgram", "listener", "server", "relay"} <= kinds
    assert {"exit", "data", "eof", "accept", "connect", "close"} <= events
    for kind in sorted(kinds):
        assert shell.ok(f"ls {kind}").startswith("(nothing live")
    listed = shell.fails("ls widget").split("must be one of ")[1].split(", not ")[0]
    assert set(listed.split(", ")) == kinds
    shell.ok("spawn p -- cat")
    for event in sorted(events - {"exit", "data", "eof"}):  # past the parser, to p's own list
        assert shell.fails(f"wait p {event}") == (
            f"error: wait: a process has no event {event!r}; it has exit, data, eof"
        )
    listed = shell.fails("wait p ping").split("must be one of ")[1].split(", not ")[0]
    assert set(listed.split(", ")) == events


def test_ls_and_wait_ask_the_resource_classes_only_when_needed() -> None:
    """Start-up stays cheap: the kinds and events are collected the first time a KIND or
    EVENT is checked, not when the command table is built (the catalog imports every
    resource module, and ssl with the servers)."""
    import subprocess
    import sys

    heavy = "('pslrepl.resources.servers', 'pslrepl.resources.relays', 'ssl')"
    code = (
        "import sys; from pslrepl.cli import main; main(['-c', {line!r}]); "
        f"print([m in sys.modules for m in {heavy}])"
    )
    for line, loaded in (("echo hi", "[False, False, False]"), ("ls tcp", "[True, True, True]")):
        done = subprocess.run([sys.executable, "-c", code.format(line=line)], capture_output=True,
                              text=True, timeout=30)  # fmt: skip
        assert done.stdout.splitlines()[-1] == loaded, (line, done.stderr)


def test_help_on_a_word_after_a_command(shell: Shell) -> None:
    """`help set tls-keylog` shows the setting; a word no argument lists is said plainly,
    not "unknown command 'set'; did you mean set"."""
    assert shell.ok("help set timeout") == (
        "set timeout: seconds a blocking command waits unless given --timeout\n"
    )
    assert shell.ok("help set display").startswith("set display: how received bytes")
    assert shell.fails("help spawn foo") == (
        "error: help: spawn has no subcommand 'foo'; `help spawn` shows its usage"
    )
