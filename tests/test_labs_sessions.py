"""A lab saved in one pslrepl comes up in another: its {tmp} files, the ports its children
name, paths taken from the lab file's folder; and save, load, save is byte-identical."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from tests.helpers import PY, run_cli

HANDLER = """import socketserver
class Hello(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"hello from h.py\\n")
"""
# A child that connects to the port it is given and says so.
CONNECTS = ("import socket, sys; "
            "socket.create_connection(('127.0.0.1', int(sys.argv[1]))).close(); "
            "print('connected', flush=True)")  # fmt: skip


def _ok(*args: str, cwd: Path) -> str:
    done = run_cli(*args, cwd=str(cwd))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "error:" not in done.stderr, done.stderr
    return done.stdout


def test_a_lab_saved_in_one_session_comes_up_in_another(tmp_path: Path) -> None:
    (tmp_path / "h.py").write_text(HANDLER)
    labs = tmp_path / "course" / "labs"
    (labs / "site").mkdir(parents=True)
    (labs / "site" / "index.html").write_text("the class page\n")
    first = "; ".join([
        "sh cp h.py {tmp}/h.py",
        "serve hi tcp 0 --handler python:{tmp}/h.py:Hello",
        "ca issue sc {tmp}/certs",
        "serve w tcp 0 --handler echo --tls --cert {tmp}/certs/sc.pem --key {tmp}/certs/sc.key",
        "serve web tcp 0 --handler http --dir course/labs/site",
        "tcp listen L 0",
        f"spawn cl -- {shlex.quote(PY)} -c {shlex.quote(CONNECTS)} {{L.port}}",
        "accept L a",
        "read cl --line",
        "close a",
        "save course/labs/lab.toml",
    ])  # fmt: skip
    out = _ok("-c", first, cwd=tmp_path)
    assert "(and 3 files of {tmp} in lab.files/)" in out
    text = (labs / "lab.toml").read_text()
    assert 'handler = "python:{tmp}/h.py:Hello"' in text
    assert '"{L.port}"]' in text  # the placeholder as typed, not the old port
    assert 'dir = "site"' in text  # relative to the lab's own folder
    assert 'files = ["certs/sc.key", "certs/sc.pem", "h.py"]' in text
    assert (labs / "lab.files" / "h.py").read_text() == HANDLER
    assert os.stat(labs / "lab.files" / "certs" / "sc.key").st_mode & 0o777 == 0o600
    # A new pslrepl, started somewhere else, after the first one's {tmp} is gone.
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    second = "; ".join([
        "lab load ../course/labs/lab.toml",
        "accept L a",
        "read cl --line",
        "tcp connect c hi",
        "recv c --line",
        "tls connect t w --insecure",
        "sendline t hi",
        "recv t --line",
        "tcp connect h web",
        r"send h 'GET /index.html HTTP/1.0\r\n\r\n'",
        "recv h",  # the headers and the page, in one or two reads, then EOF
        "recv h",
        "recv h",
        "save ../course/labs/again.toml",
    ])  # fmt: skip
    out = _ok("-c", second, cwd=elsewhere)
    assert "lab.toml: 5 resources up (L, cl, hi, w, web)" in out
    assert "connected\n" in out  # cl reached L on the port L has now
    assert "hello from h.py\n" in out
    assert "hi\n(3 bytes)" in out
    assert "the class page" in out


def test_save_load_save_is_byte_identical_with_a_passed_socket(tmp_path: Path) -> None:
    # p names L (--pass), so a load brings it up after L and after q: the file keeps
    # its order all the same.
    keep = f"{shlex.quote(PY)} -c 'import sys; sys.stdin.read()'"
    _ok("-c", f"tcp listen L 0; spawn p --pass L -- {keep}; spawn q -- {keep}; save lab.toml",
        cwd=tmp_path)  # fmt: skip
    text = (tmp_path / "lab.toml").read_text()
    assert text.index('name = "p"') < text.index('name = "q"')
    _ok("-c", "lab load lab.toml; save again.toml", cwd=tmp_path)
    assert (tmp_path / "again.toml").read_bytes() == (tmp_path / "lab.toml").read_bytes()


def test_a_relative_path_of_a_lab_is_taken_from_its_folder(tmp_path: Path) -> None:
    labs = tmp_path / "labs"
    (labs / "site").mkdir(parents=True)
    argv = f'argv = ["{PY}", "-c", "import os; print(os.getcwd())"]\n'
    (labs / "lab.toml").write_text('[[process]]\nname = "p"\ncwd = "site"\n' + argv)
    out = _ok("-c", "lab load labs/lab.toml; read p --line", cwd=tmp_path)
    assert f"{labs / 'site'}\n" in out


def test_save_to_a_folder_and_a_nul_in_a_lab_are_one_clear_line(tmp_path: Path) -> None:
    from tests.helpers import make_shell

    sh = make_shell()
    try:
        assert sh.fails(f"save {tmp_path}") == (f"error: save: {tmp_path} is a directory; give "
                                                "a file's name in it, like lab.toml")  # fmt: skip
        (tmp_path / "nul.toml").write_text('[[process]]\nname = "p"\nenv = ["A=\\u0000b"]\n'
                                           'argv = ["true"]\n')  # fmt: skip
        assert sh.fails(f"lab load {tmp_path}/nul.toml") == (
            f"error: lab load: {tmp_path}/nul.toml: [[process]] number 1: env holds a NUL "
            "character (\\u0000), which no argument, path or environment value can hold; "
            "take it out"
        )
        assert "p" not in sh.session.registry
    finally:
        sh.close()


def test_the_tmp_folder_itself_is_not_copied(tmp_path: Path) -> None:
    # A child run in {tmp}: the new session has a {tmp} of its own; what the old one
    # held there (40 MiB here, more than a lab copies) is not the lab's.
    out = _ok("-c", "sh truncate -s 40M {tmp}/big; "
              "spawn p --cwd {tmp} -- sleep 30; save lab.toml", cwd=tmp_path)  # fmt: skip
    assert "files of {tmp}" not in out
    text = (tmp_path / "lab.toml").read_text()
    assert 'cwd = "{tmp}"' in text and "[tmp]" not in text
    assert not (tmp_path / "lab.files").exists()


def test_an_abstract_unix_socket_stays_abstract(tmp_path: Path) -> None:
    name = f"@pslrepl-lab-{os.getpid()}"
    _ok("-c", f"unix listen u {name}; save lab.toml", cwd=tmp_path)
    assert f'path = "{name}"' in (tmp_path / "lab.toml").read_text()
    out = _ok("-c", "lab load lab.toml; unix connect c u; ls", cwd=tmp_path)
    assert f"u: listening on {name}\n" in out
    assert not list(tmp_path.glob("@*"))  # not a file named @... in the lab's folder


def test_a_unix_servers_path_is_the_labs_as_other_paths_are(tmp_path: Path) -> None:
    labs, other = tmp_path / "labs", tmp_path / "other"
    labs.mkdir()
    other.mkdir()
    # Saved where the shell runs: relative to the lab; saved elsewhere: absolute.
    _ok("-c", "serve u unix u.sock --handler echo; save lab.toml; save ../other/lab.toml",
        cwd=labs)  # fmt: skip
    assert 'addr = "u.sock"' in (labs / "lab.toml").read_text()
    assert f'addr = "{labs / "u.sock"}"' in (other / "lab.toml").read_text()
    # Loaded from another folder: the socket is made beside the lab, and serves there.
    out = _ok("-c", "lab load labs/lab.toml; unix connect c u; send c ping; recv c",
              cwd=tmp_path)  # fmt: skip
    assert f"u: UnixStreamServer serving echo on {labs / 'u.sock'}\n" in out
    assert "ping\n" in out
    assert not (tmp_path / "u.sock").exists()
    _ok("-c", "lab load lab.toml; save again.toml", cwd=other)
    assert (other / "again.toml").read_bytes() == (other / "lab.toml").read_bytes()
