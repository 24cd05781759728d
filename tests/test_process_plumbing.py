"""spawn's Popen options against real children: --stdin, --stdout, --stderr, pipelines,
--text and --bufsize, and sockets passed with --pass."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.helpers import PY, Shell, child, open_fds, port


def test_a_pipeline_of_three_gives_the_shells_bytes(shell: Shell, tmp_path: Path) -> None:
    data = "".join(f"line {i * 7919 % 1000:03d}\r\x00tab\there\n" for i in range(3000))
    src = tmp_path / "in.txt"
    src.write_text(data)
    # --stdout pipe: the shell leaves a's stdout alone until b takes it (a pipe it
    # drained might be read before b comes).
    shell.ok(f"spawn a --stdin {src} --stdout pipe -- cat")
    assert "kept for another child (--stdout pipe)" in shell.fails("read a")
    shell.ok("spawn b --stdin a --stdout pipe -- tr a-z A-Z")
    shell.ok("spawn c --stdin b --stdout " + str(tmp_path / "out.txt") + " -- sort")
    assert shell.ok("wait c") == "c: exited with status 0\n"
    want = subprocess.run(f"cat {src} | tr a-z A-Z | sort", shell=True, capture_output=True,
                          check=True).stdout  # fmt: skip
    got = (tmp_path / "out.txt").read_bytes()
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(want).hexdigest()


def test_ps_and_info_show_who_feeds_whom(shell: Shell) -> None:
    shell.ok("spawn a -- cat")
    shell.ok("spawn b --stdin a -- sort")
    rows = {line.split()[0]: line for line in shell.ok("ps").splitlines()[1:]}
    assert rows["a"].endswith("cat (stdout: b's stdin)")
    assert rows["b"].endswith("sort (stdin: a's stdout)")
    info = shell.ok("info b")
    assert "stdin:       a's stdout (a pipeline)" in info
    shell.ok("writeline a pear; writeline a apple; eof a")
    assert shell.ok("read b --all") == "apple\npear\n"
    # a's stdout is b's now: the shell reads none of it, and says so at once.
    assert shell.ok("read a --all") == "EOF: a closed its stdout and nothing is left\n"


def test_the_writer_gets_sigpipe_once_the_reader_is_gone(shell: Shell) -> None:
    shell.ok("spawn y -- yes")
    shell.ok("spawn h --stdin y -- head -c 10")
    assert shell.ok("wait h").startswith("h: exited with status 0\n")
    # The shell closed its copy of the pipe: yes is killed by SIGPIPE, not left blocked.
    assert shell.ok("wait y").startswith("y: killed by SIGPIPE (signal 13)\n")


def test_stdin_choices_and_their_errors(shell: Shell, tmp_path: Path) -> None:
    code = "import sys; d = sys.stdin.buffer.read(); print(len(d), d[:3])"
    shell.ok(f"spawn n --stdin devnull -- {child(code)}")
    assert shell.ok("read n --all") == "0 b''\n"
    assert "its stdin is /dev/null, not a pipe" in shell.fails("write n x")
    assert "its stdin is /dev/null" in shell.fails("eof n")
    src = tmp_path / "src"
    src.write_bytes(b"from a file\n")
    shell.ok(f"spawn f --stdin {src} -- cat")
    assert shell.ok("communicate f") == "from a file\nf: exited with status 0\n"
    assert "is a directory" in shell.fails(f"spawn d --stdin {tmp_path} -- cat")
    assert "No such file" in shell.fails(f"spawn m --stdin {tmp_path}/missing -- cat")
    shell.ok("udp open u --bind 127.0.0.1:0")
    assert "that is a udp, not a child" in shell.fails("spawn x --stdin u -- cat")
    assert "x" not in shell.session.registry and "d" not in shell.session.registry


def test_a_feeder_that_cannot_feed_is_refused(shell: Shell, tmp_path: Path) -> None:
    shell.ok(f"spawn f --stdout {tmp_path / 'o'} -- true")
    assert "its stdout goes to file" in shell.fails("spawn g --stdin f -- cat")
    shell.ok("spawn t --pty -- cat")
    assert "a terminal (--pty)" in shell.fails("spawn g --stdin t -- cat")


def test_stdout_and_stderr_to_devnull_and_files(shell: Shell, tmp_path: Path) -> None:
    both = "sh -c 'echo out; echo err >&2'"
    shell.ok(f"spawn q --stdout devnull -- {both}")
    assert shell.ok("read q --stderr --all") == "err\n"
    assert "its stdout goes to /dev/null, not to a pipe" in shell.fails("read q")
    shell.ok(f"spawn m --stderr stdout -- {both}")
    assert shell.ok("read m --all") == "out\nerr\n"
    out, err = tmp_path / "out", tmp_path / "err"
    shell.ok(f"spawn f --stdout {out} --stderr {err} -- {both}")
    assert shell.ok("wait f") == "f: exited with status 0\n"
    assert out.read_text() == "out\n" and err.read_text() == "err\n"
    assert (out.stat().st_mode & 0o777) == 0o600
    assert "file " + str(out) in shell.ok("info f")
    assert "--merge-stderr is --stderr stdout" in shell.fails(
        f"spawn z --merge-stderr --stderr devnull -- {both}"
    )


def test_an_output_file_is_never_written_through_a_symlink(shell: Shell, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    (tmp_path / "out").symlink_to(victim)
    before = open_fds()
    line = shell.fails(f"spawn s --stdout {tmp_path / 'out'} -- echo overwritten")
    assert "symbolic link" in line
    assert victim.read_text() == "keep me\n"
    assert open_fds() == before  # the directory opened to look is closed again


def test_text_and_bufsize_reach_popen(shell: Shell) -> None:
    shell.ok("spawn t --text --bufsize 1 -- cat")
    assert shell.ok("py type(t.stdout).__name__").strip() == "'TextIOWrapper'"
    assert shell.ok("py t.stdin.line_buffering").strip() == "True"
    assert "text (text=True: TextIOWrapper), bufsize 1" in shell.ok("info t")
    shell.ok("spawn b --bufsize 4096 -- cat")
    assert shell.ok("py type(b.stdin).__name__").strip() == "'BufferedWriter'"
    shell.ok("spawn u -- cat")
    assert shell.ok("py type(u.stdin).__name__").strip() == "'FileIO'"
    assert "only text mode has" in shell.fails("spawn x --bufsize 1 -- cat")
    # What a script's text-mode read would return: a str, with universal newlines.
    shell.ok("set explain on; spawn s --text -- printf 'a\\r\\nb'")
    out = shell.ok("read s --all")
    assert "s.stdout.read()  # -> 'a\\nb'" in out


def test_a_socket_passed_to_a_child_is_served_there(shell: Shell) -> None:
    shell.ok("tcp listen srv 0")
    code = """
        import os, socket
        srv = socket.socket(fileno=int(os.environ["PSL_FD"]))
        conn, _ = srv.accept()
        conn.sendall(b"served by the child " + conn.recv(100))
        conn.close()
    """
    out = shell.ok(f"spawn w --pass srv -- {child(code)}")
    fd = shell.session.registry.get("srv").sock.fileno()  # type: ignore[attr-defined]
    assert f"w: passed fd PSL_FD={fd} (pass_fds)" in out
    with socket.create_connection(("127.0.0.1", port(shell, "srv")), timeout=5) as c:
        c.sendall(b"ping\x00\r\n")
        got = b""
        while chunk := c.recv(100):
            got += chunk
    assert got == b"served by the child ping\x00\r\n"
    assert shell.ok("wait w") == "w: exited with status 0\n"


def test_several_sockets_are_named_in_the_env(shell: Shell) -> None:
    shell.ok("tcp listen one 0; udp open two-b --bind 127.0.0.1:0")
    code = "import os; print(sorted(k for k in os.environ if k.startswith('PSL_FD')))"
    shell.ok(f"spawn e --pass one --pass two-b -- {child(code)}")
    assert shell.ok("read e --all") == "['PSL_FD_ONE', 'PSL_FD_TWO_B']\n"


def test_what_cannot_be_passed_says_why(shell: Shell) -> None:
    shell.ok("tcp listen srv 0; tcp connect c srv; makefile f c")
    assert "a file object's buffer lives in this process" in shell.fails("spawn x --pass f -- true")
    shell.ok("spawn p -- cat")
    assert "not an open socket" in shell.fails("spawn x --pass p -- true")
    assert "x" not in shell.session.registry


def test_tls_sockets_are_refused(shell: Shell) -> None:
    shell.ok("serve --tls web tcp 127.0.0.1:0")
    shell.ok("tls connect t web --server-hostname localhost")
    assert "a TLS socket's keys and sequence numbers" in shell.fails("spawn x --pass t -- true")


@pytest.mark.parametrize("opt", ["--stdin devnull", "--stdout devnull", "--text", "--bufsize 8",
                                 "--merge-stderr"])  # fmt: skip
def test_pty_refuses_other_plumbing(shell: Shell, opt: str) -> None:
    assert "--pty makes the terminal" in shell.fails(f"spawn x --pty {opt} -- true")
    assert os.path.exists(PY)


def test_export_writes_the_plumbing(shell: Shell, tmp_path: Path) -> None:
    from pslrepl.export import export_records, session_facts

    out = tmp_path / "sorted"
    lines = ["tcp listen srv 0", "spawn a --stdout pipe -- printf 'b\\na\\n'",
             f"spawn b --stdin a --stdout {out} -- sort", "wait b",
             "spawn n --stdin devnull --stderr stdout -- sh -c 'cat; echo e >&2'",
             "read n --all",
             "spawn w --pass srv -- " + child("import os; os.environ['PSL_FD']"),
             "wait w", "ps"]  # fmt: skip
    shown = "".join(shell.ok(line) for line in lines)
    script = export_records(shell.session.history, **session_facts(shell.session)).text()
    assert "stdin=a.stdout," in script and "pass_fds=(srv.fileno(),)" in script
    out.unlink()
    path = tmp_path / "s.py"
    path.write_text(script)
    done = subprocess.run([PY, str(path)], capture_output=True, text=True, timeout=30)
    assert out.read_text() == "a\nb\n"
    assert _plain(done.stdout) == _plain(shown)


def _plain(text: str) -> str:
    """Output with what differs from run to run (pids, ports, fd numbers) taken out, and
    ps's columns, which their widths move."""
    import re

    return re.sub(r" +", " ", re.sub(r"\d+", "#", text))


def test_pipelines_files_and_passed_sockets_leak_nothing(shell: Shell, tmp_path: Path) -> None:
    import threading

    shell.ok("spawn warmup -- true; close warmup")  # the watchdog starts with the first child
    shell.ok("tcp listen srv 0")
    before, threads = open_fds(), threading.active_count()
    src = tmp_path / "in"
    src.write_text("x\n")
    shell.ok(f"spawn a --stdin {src} --stdout pipe -- cat")
    shell.ok("spawn b --stdin a --stdout pipe -- cat")  # held, never taken: closed with b
    shell.ok(f"spawn c --stdout {tmp_path / 'out'} --stderr devnull --pass srv -- true")
    shell.ok("spawn d -- yes; spawn e --stdin d -- head -c 1")
    shell.ok("wait c; wait e; close a b c d e")
    assert open_fds() == before
    assert threading.active_count() == threads


def test_a_feeder_stays_the_shells_when_the_reader_cannot_start(shell: Shell) -> None:
    shell.ok("spawn a -- cat")
    assert "no such program" in shell.fails("spawn b --stdin a -- /nonexistent/prog")
    shell.ok("writeline a still mine")
    assert shell.ok("read a --line") == "still mine\n"
    assert "a's" not in shell.ok("ps")


def test_a_feeder_that_has_ended_is_said_to_exit_once(shell: Shell) -> None:
    shell.ok("spawn a --stdout pipe -- printf x; wait a")
    shell.ok("spawn b --stdin a -- cat")
    assert shell.ok("read b --all") == "x\n"
    log = shell.ok("log a")
    assert log.count("exited with status 0") == 1, log
