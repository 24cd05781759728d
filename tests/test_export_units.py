"""Each exporter against the shell: the exported script, run alone, prints what the
shell printed (binary data with NUL, CR and LF; a large payload by its sha256)."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pslrepl.export import NOT_EXPORTED, export_records
from tests.helpers import Shell, run_cli


def shell_output(shell: Shell, lines: list[str]) -> list[str]:
    """What the shell shows for each line (output and errors, in order)."""
    shown: list[str] = []
    for line in lines:
        _, out, err = shell(line)
        shown.extend((out + err).splitlines())
    return shown


def script_of(shell: Shell) -> str:
    from pslrepl.export import session_facts

    return export_records(shell.session.history, **session_facts(shell.session)).text()


def run_alone(source: str, where: Path) -> list[str]:
    """The script run by python -I from a directory where pslrepl is not importable."""
    path = where / "exported.py"
    path.write_text(source)
    done = subprocess.run([sys.executable, "-I", str(path)], cwd=where, capture_output=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode() + "\n" + source
    return done.stdout.decode().split("\n")[:-1]


def masked(lines: list[str]) -> list[str]:
    """Run-to-run values as N: clock times, pids and ports (four digits or more), and a
    temporary directory (the session's, or the script's own) as /TMP."""
    lines = [re.sub(r"/tmp/[^/\s]+", "/TMP", line) for line in lines]
    # pids and groups whatever their length (pids wrap: three digits are as likely)
    lines = [re.sub(r"\b(pid|group) \d+", r"\1 N", line) for line in lines]
    return [re.sub(r"\d{4,}", "N", re.sub(r"\d\d:\d\d:\d\d\.\d{3}", "T", line))
            for line in lines]  # fmt: skip


def check_same(shell: Shell, lines: list[str], tmp_path: Path) -> list[str]:
    """Run the lines in the shell, export, run the script: the same output. Returns it."""
    expected = shell_output(shell, lines)
    source = script_of(shell)
    assert NOT_EXPORTED not in source, source
    actual = run_alone(source, tmp_path)
    assert masked(actual) == masked(expected), source
    return actual


def test_binary_through_a_pipe_shown_as_text_repr_and_hex(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "spawn c -- cat",
        r'write c "nul\x00 cr\r lf\n"',
        "read c --line --repr",
        r'write c "\xff\xfe tab\tend\n"',
        "read c --line",
        'write c --hex "00 0d 0a ff 41"',
        "read c --timeout 2 --hex",
        "eof c",
        "read c --all",
        "read c",
        "wait c",
    ], tmp_path)  # fmt: skip
    assert r"b'nul\x00 cr\r lf\n'  (12 bytes)" in out
    assert any(line.startswith("00000000  00 0d 0a ff 41 ") and line.endswith(" |....A|")
               for line in out)  # fmt: skip
    assert "c: exited with status 0" in out


def test_binary_over_tcp_send_recv_line_all_and_half_close(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "tcp listen srv 0",
        "tcp connect c srv",
        "accept srv s",
        r'send c "a\x00\r\nb"',
        "wait s data",
        "recv s 3 --repr",
        "recv s --hex",
        "sendline s two words",
        "recv c --line",
        "shutdown c wr",
        "recv s --all",
        "close c",
        "close s",
        "close srv",
    ], tmp_path)  # fmt: skip
    assert r"b'a\x00\r'  (3 bytes)" in out
    assert "two words" in out
    assert out.count("EOF: the peer closed its side (recv returned b'')") == 1


def test_udp_datagrams_cut_by_a_small_buffer_say_so(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "udp open server --bind 0",
        "udp open client --connect server",
        r'send client "\x00\r\n456789"',
        "recvfrom server 4 --repr",
        r"sendto client server x\x00y",
        "recvfrom server",
    ], tmp_path)  # fmt: skip
    assert "warning: the datagram was longer than 4 bytes: the rest is lost (MSG_TRUNC)" in out
    assert r"b'\x00\r\n4'  (4 bytes)" in out


def test_a_large_payload_reaches_the_child_whole(shell: Shell, tmp_path: Path):
    payload = os.urandom(300_000) + b"\x00\r\n"
    data = tmp_path / "payload.bin"
    data.write_bytes(payload)
    out = check_same(shell, [
        f"spawn h -- {sys.executable} -c \"import hashlib, sys; "
        "print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())\"",
        f"write h --file {data}",
        "eof h",
        "read h --all",
        "wait h",
    ], tmp_path)  # fmt: skip
    assert hashlib.sha256(payload).hexdigest() in out
    assert "h: wrote 300003 bytes" in out


def test_run_with_binary_input_display_repr_and_check(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "set display repr",
        r'run --input "x\x00\r\ny" -- cat',
        "set display text",
        'run -- sh -c "echo out; echo err >&2; exit 4"',
        "run --check -- false",
        "run -- sh -c 'kill -TERM $$'",
    ], tmp_path)  # fmt: skip
    assert r"b'x\x00\r\ny'  (5 bytes)" in out
    assert "error: run: exited with status 1 (CalledProcessError, from --check)" in out
    assert "killed by SIGTERM (signal 15)" in out


@pytest.mark.parametrize("sig", ["HUP", "INT", "USR1", "USR2", "TERM", "KILL", "9"])
def test_signals_sent_and_the_child_ending_of_them(shell: Shell, tmp_path: Path, sig: str):
    out = check_same(shell, [
        "spawn s -- sleep 30",
        "poll s",
        f"signal s {sig}",
        "wait s",
        "poll s",
        "signal s TERM",
    ], tmp_path)  # fmt: skip
    assert out[-1].startswith("error: s has already ended (killed by SIG")


def test_terminate_kill_and_close_of_a_child(shell: Shell, tmp_path: Path):
    check_same(shell, [
        "spawn a -- sleep 30", "terminate a", "wait a",
        "spawn b -- sleep 30", "kill b", "wait b",
        "spawn c -- sleep 30", "close c",
        "spawn d -- true", "wait d", "close d",
    ], tmp_path)  # fmt: skip


def test_spawn_of_a_missing_program_says_so(shell: Shell, tmp_path: Path):
    out = check_same(shell, ["spawn p -- /nonexistent/program", "echo after"], tmp_path)
    assert out[0].startswith("error: no such program '/nonexistent/program' (ENOENT)")


def test_a_trapped_signal_and_the_log_of_it(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "trap USR2",
        "py os.kill(os.getpid(), signal.SIGUSR2)",
        "sleep 0.05",
        "log signal",
        "trap USR2 --off",
    ], tmp_path)  # fmt: skip
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3} -- received SIGUSR2 \(12\)", out[1])


def test_py_on_resources_is_exported_and_pslrepl_internals_are_marked(shell: Shell, tmp_path: Path):
    shell.ok("tcp listen srv 0")
    shell.ok("py srv.getsockname()[0]")
    shell.ok("py x = 6 * 7")
    shell.ok("py print(x, 'é\\x00')")
    shell.ok("py session.tmp")
    source = script_of(shell)
    assert "sys.displayhook(srv.getsockname()[0])" in source
    assert f"{NOT_EXPORTED} py 'session.tmp': it uses session" in source
    out = run_alone(source, tmp_path)
    assert out[1:] == ["'127.0.0.1'", "42 é\x00"]


def test_a_command_with_no_exporter_and_what_depends_on_it_are_marked(
    shell: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import pslrepl.export as export

    # ls has an exporter: taken away here, to stand for a command that has none yet
    table = {k: v for k, v in export.exporters().items() if k != "ls"}
    monkeypatch.setattr(export, "exporters", lambda: table)
    shell.ok("serve r tcp 0 --handler capture")
    shell.ok("tcp connect c r")
    shell.ok("ls")
    shell.ok("echo still here")
    source = script_of(shell)
    assert f"{NOT_EXPORTED} serve with tcp capture is not exported yet" in source
    assert f"{NOT_EXPORTED} it uses r, which this script does not" in source
    assert f"{NOT_EXPORTED} `ls` has no exporter yet" in source
    assert source.index("# psl> ls") < source.index("NOT EXPORTED: `ls`")
    assert run_alone(source, tmp_path) == ["still here"]


def test_cli_export_py_prints_or_writes_the_script(tmp_path: Path):
    transcript = tmp_path / "t.psl"
    transcript.write_text("psl> echo hi\nhi\npsl> py session.tmp\n{tmp}\n")
    done = run_cli("--export-py", str(transcript))
    assert done.returncode == 0, done.stderr
    assert '# psl> echo hi\nprint("hi")\n' in done.stdout
    # (a note on another pslrepl that ended without closing may come first: ours is last)
    assert done.stderr.splitlines()[-1] == (f"pslrepl: {transcript}: 1 command marked "
                                            "# NOT EXPORTED (not written yet: py)")  # fmt: skip
    out = tmp_path / "t.py"
    done = run_cli("--export-py", str(transcript), "-o", str(out))
    assert done.returncode == 0 and done.stdout == ""
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert run_alone(out.read_text(), tmp_path) == ["hi"]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--export-py"], "--export-py needs the transcript FILEs"),
        (["--export-py", "a.psl", "b.psl"], "--export-py takes one FILE"),
        (["-o", "x.py", "a.psl"], "-o goes with --export-py"),
        (["--export-py", "a.psl", "-o"], "-o needs the file to write"),
        (["--export-py", "--check", "a.psl"], "give one of --check, --update"),
        (["--export-py", "/nonexistent.psl"], "no such file"),
    ],
)
def test_cli_export_py_refusals_are_one_line(args: list[str], error: str):
    done = run_cli(*args)
    assert done.returncode == 2
    # one line, besides a note on another pslrepl that ended without closing
    lines = [line for line in done.stderr.splitlines() if "left by a pslrepl" not in line]
    assert len(lines) == 1 and error in lines[0], done.stderr


def test_servers_as_socketserver_classes_echo_upper_and_stop(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "serve e tcp 0",
        "tcp connect c e",
        "wait e connect",
        r'send c "\x00\r\nabc"',
        "recv c --repr",
        "close c",
        "serve u tcp 0 --handler upper --threading",
        "tcp connect a u",
        "wait u connect",
        "tcp connect b u",
        "sendline a quiet",
        "recv a --line",
        "sendline b loud",
        "recv b --line",
        "stop u",
        "recv a",
        "stop e",
    ], tmp_path)  # fmt: skip
    assert r"b'\x00\r\nabc'  (6 bytes)" in out
    assert "u: stopped after serving 2 clients" in out
    assert "e: stopped after serving 1 client" in out
    source = script_of(shell)
    assert "class Upper(socketserver.BaseRequestHandler):" in source
    assert "threading.Thread(target=u.serve_forever, daemon=True).start()" in source


def test_a_relay_is_two_copying_threads(shell: Shell, tmp_path: Path):
    check_same(shell, [
        "serve e tcp 0",
        "relay r tcp-listen:0 tcp:127.0.0.1:{e.port}",
        "tcp connect c r",
        r'send c "\x00\r\n"',
        "recv c --repr",
        "shutdown c wr",
        "recv c",
        "wait r close",
        "relay q tcp-listen:0 exec:cat",
        "tcp connect d q",
        "sendline d hello",
        "shutdown d wr",
        "recv d --all",
        "wait q close",
        "tcp connect again 127.0.0.1:{e.port}",
        "udp open u --bind 0",
        "udp open v --connect u",
        "sendto v 127.0.0.1:{u.port} hi",
        "recvfrom u",
    ], tmp_path)  # fmt: skip
    source = script_of(shell)
    assert "socket.create_connection(('127.0.0.1', e.server_address[1]))" in source
    assert "v.sendto(b'hi', ('127.0.0.1', u.getsockname()[1]))" in source


def test_tls_server_and_client_carry_the_session_ca_as_pem(shell: Shell, tmp_path: Path):
    from pslrepl.export import session_facts

    lines = [
        "serve web tcp 0 --handler upper --tls --threading",
        "tls connect wrong web --server-hostname example.org",
        "tls connect t web --server-hostname localhost",
        r'send t "a\x00\r\n"',
        "recv t --line --repr",
        "tcp connect plain web",
        "sendline plain not-tls",
        "recv plain",
        "close t",
        "stop web",
    ]
    expected = shell_output(shell, lines)
    source = export_records(shell.session.history, **session_facts(shell.session)).text()
    assert NOT_EXPORTED not in source
    assert "trustme" not in source and "-----BEGIN CERTIFICATE-----" in source
    assert "PRIVATE KEY" in source  # the server's (a throwaway test key), never the CA's
    assert source.count("PRIVATE KEY-----") == 2
    assert masked(run_alone(source, tmp_path)) == masked(expected)
    assert r"b'A\x00\r\n'  (4 bytes)" in expected


def test_ps_lists_the_children_as_the_shell_does(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "ps",
        "spawn a -- sleep 30",
        "spawn long-name -- sh -c 'exit 7'",
        "wait long-name",
        "kill a",
        "wait a",
        "spawn b -- sleep 30",
        "ps",
    ], tmp_path)  # fmt: skip
    assert out[0] == "(no child processes: `spawn NAME -- PROGRAM` starts one)"
    assert out[-4].split() == ["NAME", "PID", "PGID", "STATE", "RC", "COMMAND"]
    assert out[-2].split()[3:] == ["exited", "with", "status", "7", "7", "sh", "-c", "'exit", "7'"]


def test_resource_names_that_are_no_python_names_become_variables(shell: Shell, tmp_path: Path):
    check_same(shell, [
        "spawn long-name -- cat",
        "writeline long-name x",
        "read long-name --line",
        "tcp listen data 0",
        "tcp connect sock data",
        "accept data n",
        "send sock hi",
        "recv n",
        "py n.getsockname() == data.getsockname()",
        "close long-name",
    ], tmp_path)  # fmt: skip
    source = script_of(shell)
    assert "long_name = subprocess.Popen(" in source
    assert "data_ = socket.socket(" in source and "sock_ = socket.create_connection(" in source
    assert "sys.displayhook(n_.getsockname() == data_.getsockname())" in source


def test_sockets_one_call_at_a_time(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "socket s tcp",
        "bind s 0",
        "listen s",
        "getsockname s",
        "socket c",
        "gettimeout c",
        "connect c s",
        "getpeername c",
        "settimeout c 2.5",
        "gettimeout c",
        "settimeout c none",
        "setblocking c off",
        "gettimeout c",
        "setblocking c on",
        r'sendall c "abc\x00\r\n"',
        "accept s a",
        "recv a --repr",
        "socketpair x y",
        r'send x "\x00"',
        "recv y --hex",
        "socket u udp",
        "socket e",
        "connect_ex e 127.0.0.1:1",
        "listen s 5",
    ], tmp_path)  # fmt: skip
    assert "c: sent all 6 bytes" in out
    assert "e: connect_ex returned 111 (ECONNREFUSED)" in out


def test_lookups_that_are_one_call(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "htons 80", "ntohs 20480", "htonl 1", "ntohl 16777216", "htons 0", "htons 65535",
        "inet_aton 127.0.0.1", "inet_ntoa 7f000001", "gethostbyname localhost",
        "getservbyname http", "getservbyname domain udp", "getprotobyname tcp",
        "gethostname", "getfqdn", "getfqdn localhost", "getservbyport 80", "getservbyport 53 udp",
        "inet_pton 6 ::1", "inet_pton 4 10.0.0.1", "inet_ntop 4 0a000001",
        "inet_ntop 6 00000000000000000000000000000001", "getdefaulttimeout",
        "setdefaulttimeout 2.5", "getdefaulttimeout", "setdefaulttimeout none",
        "gethostbyname_ex localhost", "gethostbyaddr 127.0.0.1", "getnameinfo 127.0.0.1 80",
        "getnameinfo --numeric 127.0.0.1:22 NI_NUMERICHOST",
    ], tmp_path)  # fmt: skip
    assert out[:2] == ["20480  (0x5000)", "80  (0x50)"]
    assert "7f 00 00 01  (4 bytes, packed)" in out


def test_expect_read_until_and_communicate(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "spawn q -- python3 -u -i -q",
        "expect q --stderr '>>> '",
        "writeline q 6*7",
        "expect q 4.",
        r"read q --until '\n' --repr",
        """writeline q "print('a' + chr(0) + 'b', end='')" """,
        "expect q --hex b",
        "spawn r -- sh -c 'printf abc; sleep 0.1; printf def'",
        "read r --until d",
        "read r --until zzz",
        "spawn p -- sort",
        r'communicate p "b\na\n"',
        "tcp listen l 0",
        "tcp connect c l",
        "accept l s",
        r'send s "hello\x00world\n"',
        "expect c --repr wor",
        "recv c",
    ], tmp_path)  # fmt: skip
    assert out[3] == "42"
    assert r"b'\n'  (1 byte)" in out
    assert "(EOF before the match)" in out
    assert out[-10:-7] == ["a", "b", "p: exited with status 0"]
    assert r"b'hello\x00wor'  (9 bytes)" in out


def test_sudo_asks_the_password_with_getpass_and_never_holds_it(
    shell: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    fake = tmp_path / "sudo"  # a stand-in: the shell refuses a sudo that is not there
    fake.write_text('#!/bin/sh\nread -r password\nwhile [ "$1" != -- ]; do shift; done\n'
                    'shift\nexec "$@"\n')  # fmt: skip
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    shell.session.env.ask_password = lambda prompt: "hunter2"
    shell("sudo -- true")
    source = script_of(shell)
    assert "hunter2" not in source
    assert 'secret = getpass.getpass(f"[sudo] password for {getpass.getuser()}: ")' in source
    assert "['sudo', '-S', '-p', '', '--', 'true']" in source
    assert 'input=secret.encode() + b"\\n",' in source
    compile(source, "exported.py", "exec")


def test_sh_calls_use_the_sh_library_and_exit_ends_the_script(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "sh echo hi there",
        r'sh --in "b\na\x00\n" --no-tty sort',
        "sh -- ls /nonexistent",
        "sh --ok-code 0,1 -- grep nosuchword /etc/hostname",
        "sh --env GREETING=hi --no-tty printenv GREETING",
    ], tmp_path)  # fmt: skip
    assert "error: sh: ls exited with status 2 (ErrorReturnCode_2)" in out
    assert "exited with status 1 (accepted: --ok-code 0,1)" in out
    assert "\nimport sh\n" in script_of(shell)
    shell("exit 3")
    path = tmp_path / "exit.py"
    path.write_text(script_of(shell))
    assert subprocess.run([sys.executable, "-I", str(path)], capture_output=True).returncode == 3


def test_source_is_the_commands_it_ran(shell: Shell, tmp_path: Path):
    script = tmp_path / "s.psl"
    script.write_text("echo one\necho two\n")
    out = check_same(shell, ["echo zero", f"source {script}"], tmp_path)
    assert out == ["zero", "one", "two"]
    source = script_of(shell)
    assert source.index('print("one")') < source.index(f"# psl> source {script}")


def test_a_py_line_that_raises_says_so_on_one_line(shell: Shell, tmp_path: Path):
    out = check_same(shell, ["py 1/0", """py "x = {}; x['k']" """, "echo goes on"], tmp_path)
    assert out == ["error: py: ZeroDivisionError: division by zero (line 1)",
                   "error: py: KeyError: 'k' (line 1)", "goes on"]  # fmt: skip


def test_py_imports_go_to_the_top_and_definitions_are_known(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        """py "import hashlib; print(hashlib.sha256(b'xy').hexdigest()[:8])" """,
        "py 'def twice(n):\n    return n * 2'",
        "py twice(21)",
    ], tmp_path)  # fmt: skip
    assert out == [hashlib.sha256(b"xy").hexdigest()[:8], "42"]
    assert "\nimport hashlib\n" in script_of(shell)


def test_looking_back_is_left_out_and_record_is_said(shell: Shell, tmp_path: Path):
    shell.ok("echo one")
    shell.ok("history")
    shell.ok("explain 1")
    shell.ok(f"record {tmp_path / 't.psl'}")
    shell.ok("echo two")
    source = script_of(shell)
    assert "# psl> history\n# (the shell's own bookkeeping: it looks back" in source
    assert "# psl> explain 1\n# (the shell's own bookkeeping" in source
    assert f"# psl> record {tmp_path / 't.psl'}\n# (the shell wrote a transcript" in source
    assert run_alone(source, tmp_path) == ["one", "two"]


def test_unix_sockets_in_the_script_own_temporary_directory(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "unix listen u {tmp}/sock",
        "unix connect c u",
        "accept u s",
        r'send c "\x00\r\n"',
        "recv s --repr",
        "unix dgram d {tmp}/d",
        "unix dgram e",
        "close c",
        "close u",
    ], tmp_path)  # fmt: skip
    assert out[0].startswith("u: listening on /") and out[0].endswith("/sock")
    source = script_of(shell)
    assert "u.bind(os.path.join(tmp, 'sock'))" in source
    assert shell.session.tmp not in source
    assert source.rstrip().endswith("shutil.rmtree(tmp)")


def test_signal_zero_and_real_time_signals(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "spawn p -- python3 -u -c \"import signal, time; signal.signal(signal.SIGRTMIN + 1, "
        "lambda n, f: print('got', n)); print('ready'); time.sleep(30)\"",
        "read p --line",
        "signal p 0",
        "signal p RTMIN+1",
        "read p --line",
        "signal p SIGRTMAX-2",
        "wait p",
    ], tmp_path)  # fmt: skip
    assert out[2].startswith("p: pid ") and out[2].endswith("it checks the process is there)")
    assert f"p: sent SIGRTMIN+1 ({signal.SIGRTMIN + 1})" in out
    assert f"p: killed by SIGRTMAX-2 (signal {signal.SIGRTMAX - 2})" in out


def test_recv_until_and_the_waits_for_eof_and_output(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "tcp listen l 0",
        "tcp connect c l",
        "accept l s",
        r'send s "a\x00;cd"',
        "recv c --until ';' --repr",
        "recv c",
        "shutdown s wr",
        "wait c eof",
        "recv c --until never",
        "spawn p -- sh -c 'sleep 0.2; echo hi'",
        "wait p data",
        "read p",
        "wait p",
    ], tmp_path)  # fmt: skip
    assert r"b'a\x00;'  (3 bytes)" in out
    assert "c: the peer closed its side: recv will return EOF" in out
    assert "p: output waiting: read p" in out


def test_sockopt_dup_and_getaddrinfo(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "getaddrinfo localhost 80",
        "getaddrinfo 127.0.0.1",
        "tcp listen l 0",
        "sockopt l SO_REUSEADDR",
        "sockopt l SO_RCVBUF 65536",
        "sockopt l TCP_NODELAY on",
        "sockopt l TCP_NODELAY off",
        "dup l l2",
        "close l",
        "tcp connect c l2",
    ], tmp_path)  # fmt: skip
    assert out[0].split() == ["FAMILY", "TYPE", "PROTO", "SOCKADDR"]
    assert "l: IPPROTO_TCP.TCP_NODELAY = 1" in out and "l: IPPROTO_TCP.TCP_NODELAY = 0" in out
