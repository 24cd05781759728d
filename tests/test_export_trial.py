"""What the second trial of export py found: scripts that hung, crashed or said what
the shell did not (a py line importing pslrepl, a dup of an unbound UNIX socket...)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pslrepl.export import NOT_EXPORTED
from tests.helpers import Shell
from tests.test_export_units import check_same, run_alone, script_of


@pytest.mark.parametrize("line", [
    "py import pslrepl",
    "py from pslrepl.session import Session",
    "py import pslrepl.session as ss",
    "py __import__('pslrepl')",
    """py 'import importlib; importlib.import_module("pslrepl.errors")'""",
    "py import trustme",
])  # fmt: skip
def test_py_importing_what_is_not_stdlib_is_marked_and_the_script_runs(
    shell: Shell, line: str, tmp_path: Path
):
    shell("echo before")
    shell(line)
    shell("echo after")
    source = script_of(shell)
    assert NOT_EXPORTED in source
    marked = source.split(NOT_EXPORTED, 1)[1].split("\n\n")[0]
    assert ("pslrepl" in marked) if "pslrepl" in line else ("trustme" in marked)
    assert "import trustme" not in source.split("# psl>")[0]
    assert "import pslrepl" not in source.split("# psl>")[0]
    assert run_alone(source, tmp_path) == ["before", "after"]


def test_py_importing_stdlib_is_still_exported(shell: Shell, tmp_path: Path):
    check_same(shell, ["py import json", "py print(json.dumps([1]))"], tmp_path)
    source = script_of(shell)
    assert "\nimport json\n" in source and "\npass" not in source  # (ruff's PIE790)


def test_dup_of_unbound_and_unix_sockets_says_what_the_shell_says(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "socketpair a b", "dup a a2",
        "unix listen ul {tmp}/s", "unix connect uc ul", "dup uc uc2", "dup ul ul2",
        "unix dgram d", "dup d d2",
        "tcp listen l 0", "tcp connect c l", "dup c c2",
    ], tmp_path)  # fmt: skip
    assert "a2: dup of a (unbound)" in out
    assert any(line.startswith("uc2: dup of uc (unbound) -> /") for line in out)
    assert any(line.startswith("ul2: dup of ul /") for line in out)
    assert "d2: dup of d (unbound)" in out
    assert any(line.startswith("c2: dup of c 127.0.0.1:") and " -> 127.0.0.1:" in line
               for line in out)  # fmt: skip


def test_sendall_that_timed_out_part_way_sends_as_far_and_says_so(shell: Shell, tmp_path: Path):
    """The session's recv read what the cut sendall sent: the script sends it too (it
    hung forever in a bare recv when the sendall was only marked)."""
    payload = bytes(range(256)) * 8192  # 2 MiB: more than a socketpair's buffers hold
    (tmp_path / "big.bin").write_bytes(payload)
    out = check_same(shell, [
        "socketpair a b",
        f"sendall a --file {tmp_path / 'big.bin'} --timeout 0.3",
        "recv b 16 --hex",
    ], tmp_path)  # fmt: skip
    assert any(line.startswith("error: a: timeout after 0.3 s: sent ") and
               line.endswith(" of 2097152 bytes; the send buffer is full and the peer is "
                             "not reading; --timeout S waits longer") for line in out)  # fmt: skip
    assert "00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f |................|" in out


def test_sudo_the_shell_refused_asks_no_password_in_the_script(
    shell: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # no sudo on it
    out = check_same(shell, ["echo a", "sudo -- true", "echo b"], tmp_path)
    assert out == ["a", "error: sudo: sudo is not installed here (not found on PATH); try: "
                   "run -- ARGV", "b"]  # fmt: skip
    assert "getpass" not in script_of(shell)


FAKE_SUDO = """#!/bin/sh
read -r password
echo "fake sudo got password: $password"
while [ "$1" != -- ]; do shift; done
shift
exec "$@"
"""


def test_sudo_script_stars_the_password_in_the_output_and_explain_names_the_child(
    shell: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import os
    import subprocess
    import sys

    fake = tmp_path / "bin" / "sudo"
    fake.parent.mkdir()
    fake.write_text(FAKE_SUDO)
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    shell.session.env.ask_password = lambda prompt: "Hunter2secret"
    shell("set explain on")
    _, out, _ = shell("sudo -- echo hi")
    assert "fake sudo got password: ********" in out
    explained = [line.strip() for line in out.splitlines() if line.startswith("  ")]
    assert explained[0].startswith("popen = subprocess.Popen(['sudo', '-S', '-p', '', '--', ")
    assert explained[1].startswith("popen.communicate(input=...)  # equivalent: timeout=")
    assert explained[1].endswith("the password in and the output out: <redacted>")
    assert explained[2] == "popen.wait()  # -> 0"
    for line in explained:
        compile(line, "explain", "exec")
    source = script_of(shell)
    assert "Hunter2secret" not in source
    path = tmp_path / "sudo.py"
    path.write_text(source.replace("getpass.getpass(", "(lambda prompt: 'Hunter2secret')("))
    done = subprocess.run([sys.executable, "-I", str(path)], capture_output=True, timeout=30,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert b"fake sudo got password: ********\n" in done.stdout
    assert b"Hunter2secret" not in done.stdout


def test_script_removes_its_unix_socket_files_at_its_end_and_runs_twice(
    shell: Shell, tmp_path: Path
):
    """The shell removes a socket file at close and at exit; the script left them behind
    and its second run failed at bind (EADDRINUSE)."""
    where = tmp_path / "socks"
    where.mkdir()
    lines = [
        f"unix listen ul {where}/s1", f"unix dgram ud {where}/s3", "dup ul ul2", "dup ud ud2",
        f"unix listen gone {where}/s4", f"unix dgram gone2 {where}/s5",
        "close ul2", "close ud2", "close gone", "close gone2",
    ]  # fmt: skip
    expected = []
    for line in lines:
        _, out, err = shell(line)
        expected.extend((out + err).splitlines())
    assert expected[-2:] == [f"gone: closed; removed {where}/s4",
                             f"gone2: closed; removed {where}/s5"]  # fmt: skip
    source = script_of(shell)  # ul and ud still open: the script's end closes them
    for name in ("ul", "ud"):
        shell(f"close {name}")
    assert not list(where.iterdir())
    for _ in range(2):
        assert run_alone(source, tmp_path) == expected
        assert not list(where.iterdir())


def test_a_client_that_resets_makes_no_traceback_in_the_script(shell: Shell, tmp_path: Path):
    """A client closing with unread bytes sends a RST: the shell's echo takes it quietly;
    the script's printed socketserver's ConnectionResetError traceback on stderr."""
    import subprocess
    import sys

    check_same(shell, [
        "serve e tcp 0 --handler echo --threading",
        "tcp connect c e",
        "sendall c hi",
        "recv c 1",  # the 'i' stays unread: the close below resets the connection
        "close c",
        "stop e",
    ], tmp_path)  # fmt: skip
    path = tmp_path / "exported.py"
    done = subprocess.run([sys.executable, "-I", str(path)], capture_output=True, timeout=30,
                          check=False)  # fmt: skip
    assert done.returncode == 0 and done.stderr == b"", done.stderr.decode()


def test_ls_leaves_out_rows_of_what_the_script_does_not_make(shell: Shell, tmp_path: Path):
    from tests.test_export_units import masked, shell_output

    expected = shell_output(shell, ["socket s unix", "tcp listen l 0", "ls"])
    source = script_of(shell)
    assert "# (left out: the rows of s, which this script does not make" in source
    out = run_alone(source, tmp_path)
    assert not any(line.startswith("s ") for line in out)
    assert masked(out) == masked([x for x in expected if not x.startswith(("s ", "s:"))])


def test_ls_after_stop_gives_the_clients_remote_as_the_script_own_server(
    shell: Shell, tmp_path: Path
):
    out = check_same(shell, [
        "serve room tcp 0 --handler echo --threading",
        "tcp connect alice room",
        "sendline alice hi",
        "recv alice --line",  # the server has served alice
        "stop room",
        "ls",
    ], tmp_path)  # fmt: skip
    port = out[0].rpartition(":")[2]
    row = next(line for line in out if line.startswith("alice "))
    assert row.split()[-4] == f"127.0.0.1:{port}", out


def test_ps_of_a_long_command_line_is_clean_under_ruff(shell: Shell, tmp_path: Path):
    from tests.test_export import ruff_findings

    long = "import time; " + "; ".join(f"x{i} = {i}" for i in range(40)) + "; time.sleep(30)"
    check_same(shell, [f'spawn p -- python3 -c "{long}"', "ps", "close p"], tmp_path)
    assert ruff_findings(tmp_path / "exported.py") == ""


def test_script_is_clean_under_ruff_own_defaults(shell: Shell, tmp_path: Path):
    """A user's `ruff check FILE` (ruff's defaults, no config of ours) finds nothing in
    the script's own code: no #! on a 0600 file (EXE001), check= on run (PLW1510), the
    show helper's range and removesuffix, chat's room a ClassVar (RUF012), a pty child's
    preexec_fn (PLW1509). Only a py line's own `# noqa` may be unused (RUF100)."""
    import subprocess

    from tests.test_export import RUFF

    for line in ["run -- echo hi", "run --input abc -- cat", "serve room tcp 0 --handler chat",
                 "tcp connect alice room", "spawn t --pty -- cat", "write t hey", "close t",
                 "py x = 1"]:  # fmt: skip
        shell(line)
    path = tmp_path / "s.py"
    path.write_text(script_of(shell))
    path.chmod(0o600)
    done = subprocess.run([str(RUFF), "check", "--isolated", "--no-cache", "--output-format",
                           "concise", str(path)], capture_output=True, text=True,
                          check=False)  # fmt: skip
    findings = [line for line in done.stdout.splitlines() if ".py:" in line]
    assert len(findings) == 1 and "RUF100" in findings[0], done.stdout
    assert path.read_text().splitlines()[int(findings[0].split(":")[1]) - 1] == "x = 1  # noqa"


def test_a_failing_check_call_exports_its_called_process_error(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "call false",
        "check_call false",
        "check_call -- sh -c 'exit 3'",
        "check_call true",
    ], tmp_path)  # fmt: skip
    assert (
        "error: check_call: CalledProcessError: Command '['false']' returned non-zero "
        "exit status 1. (returncode 1)"
    ) in out
    assert out[-1] == "check_call returned 0 (exited with status 0)"


def test_a_recvfrom_that_timed_out_waits_in_the_script_too(shell: Shell, tmp_path: Path):
    """It waited for a datagram in the session: the script waits as long, then says so
    (it printed the error at once, as 'refused before making any call')."""
    import time

    out = check_same(shell, [
        "udp open u --bind 0", "udp open v",
        "recvfrom u --timeout 0.4",
        "sendto v u ping",
        "recvfrom u",
    ], tmp_path)  # fmt: skip
    assert (
        "error: u: timeout after 0.4 s waiting for a datagram; 0 bytes waiting; "
        "--timeout S waits longer"
    ) in out
    source = script_of(shell)
    assert "refused" not in source
    started = time.monotonic()
    run_alone(source, tmp_path)
    assert time.monotonic() - started >= 0.4


def test_export_py_says_it_replaced_a_file_and_history_last_0(shell: Shell, tmp_path: Path):
    target = tmp_path / "keep.py"
    _, out, _ = shell(f"export py {target}")
    assert "replaces" not in out
    _, out, _ = shell(f"export py {target}")
    assert out.startswith(f"exported the session to {target} (it replaces the file that was "
                          "there)")  # fmt: skip
    shell("echo a")
    _, out, _ = shell("history --last 0")
    assert out.strip() == "(0 of 3 commands shown: --last 0)"


def test_looking_back_leaves_its_comment_and_a_refusal_its_error(shell: Shell, tmp_path: Path):
    lines = ["echo a", "history", "explain 99", "export py no-such-dir-fx/x.py", "echo b"]
    for line in lines:
        shell(line)
    source = script_of(shell)
    for line in lines:
        assert f"# psl> {line}\n" in source
    out = run_alone(source, tmp_path)
    assert out[0] == "a" and out[-1] == "b"
    assert out[1] == "error: explain: there is no command 99 yet; `history` lists them"
    assert out[2].startswith("error: export py:"), out


def test_tls_connect_options_set_a_context_of_its_own(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "serve t tcp 0 --tls --handler echo --threading",
        "tls connect a t --max-version TLSv1.2 --ciphers ECDHE+AESGCM",
        "tls connect b t --alpn h2 --alpn http/1.1 --min-version TLSv1.3",
        "tls connect c t --insecure --ciphers ECDHE+AESGCM",
        "tls connect d t",
        "sendline a one", "recv a --line",
    ], tmp_path)  # fmt: skip
    assert out[2].startswith("TLSv1.2, ECDHE-")
    assert out[4].startswith("TLSv1.3, ")
    assert out[6].endswith("; INSECURE: the certificate was not verified (--insecure)")
    assert out[7].startswith("note: --ciphers chooses among TLS 1.2's ciphers")
    assert out[9].endswith("verified against the system CAs and the session's test CA")


def test_wait_alone_on_a_relay_and_a_server_is_exported(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "relay r2 tcp-listen:0 exec:'tr a-z A-Z'",
        "tcp connect c2 r2", "sendline c2 hello", "shutdown c2 wr", "recv c2 --line",
        "wait r2",
        "serve e tcp 0", "tcp connect c e", "wait e",
    ], tmp_path)  # fmt: skip
    assert any(line.startswith("r2: both directions closed (") for line in out)
    assert out[-1] == "e: a client has connected (1 so far)"


def test_recv_line_that_timed_out_waits_and_keeps_what_came(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "socketpair a b",
        "recv b --line --timeout 0.2",
        "send a abc",
        "recv b --line --timeout 0.2",
        "sendline a def",
        "recv b --line",
    ], tmp_path)  # fmt: skip
    assert out[2] == ("error: b: timeout after 0.2 s waiting for a line; 0 bytes waiting; "
                      "--timeout S waits longer")  # fmt: skip
    assert out[4] == ("error: b: timeout after 0.2 s waiting for a line; 3 bytes came, kept "
                      "for the next recv: b'abc'; --timeout S waits longer")  # fmt: skip
    assert out[-2:] == ["abcdef", "(7 bytes)"]


def test_expect_on_a_socket_that_timed_out_waits_and_keeps_what_came(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "socketpair a b",
        "expect b zzz --timeout 0.2",
        r'send a "hello\n"',
        "expect b z+ --timeout 0.2",
        "recv b",
    ], tmp_path)  # fmt: skip
    assert out[2] == ("error: b: timeout after 0.2 s waiting for a match for b'zzz'; 0 bytes "
                      "waiting; --timeout S waits longer")  # fmt: skip
    assert out[4] == ("error: b: timeout after 0.2 s waiting for a match for b'z+'; 6 bytes "
                      "came, kept for the next recv: b'hello\\n'; --timeout S waits "
                      "longer")  # fmt: skip
    assert out[-2:] == ["hello", "(6 bytes)"]


def test_recv_into_that_timed_out_waits_as_long_and_says_so(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "socketpair a b",
        "recv_into b 10 --timeout 0.2",
        "send a abc",
        "recv_into b 10",
    ], tmp_path)  # fmt: skip
    assert out[2] == ("error: b: timeout after 0.2 s waiting for data; 0 bytes waiting; "
                      "--timeout S waits longer")  # fmt: skip
    assert "b: recv_into returned 3: buf[:3] filled, 7 of its 10 bytes untouched" in out


def test_a_called_child_output_comes_in_order_with_the_script_prints(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "echo before",
        "check_call -- sh -c 'echo out; exit 3'",
        "call -- echo again",
    ], tmp_path)  # fmt: skip
    assert out[:2] == ["before", "out"]
    assert out[-2:] == ["again", "call returned 0 (exited with status 0)"]
