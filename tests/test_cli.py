"""The installed `pslrepl` as a subprocess: -c, FILE, standard input, exit codes, cleanup."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

from tests.helpers import PY, pslrepl_exe, run_cli

JUNK = [
    "nosuchcommand", "tcp", "tcp connect", "send nobody hi", "recv", "spawn",
    "spawn x", "spawn 1x -- cat", '"unterminated', "close nobody", "read", "read --line",
    "write", "signal", "signal x", "set timeout abc", "log --last x",
    "py", "py )(", "wait", "run --timeout", "source", "help nosuch", ";;;", "--all",
    "trap", "trap NOPE", "alarm x", "sudo", "exit notanumber", "\x00", "é",
]  # fmt: skip


def test_dash_c_runs_and_exits_zero() -> None:
    done = run_cli(
        "-c", "echo hi; spawn p -- sort; writeline p b; writeline p a; eof p; read p --all"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "hi"
    assert done.stdout.endswith("a\nb\n")
    assert done.stderr == ""


def test_module_entry_point() -> None:
    done = subprocess.run(
        [PY, "-m", "pslrepl", "-c", "echo from -m"], capture_output=True, text=True, timeout=30
    )
    assert done.stdout == "from -m\n" and done.returncode == 0


def test_first_failure_stops_a_script() -> None:
    done = run_cli("-c", "echo one\nnosuch\necho never")
    assert done.returncode == 1
    assert done.stdout == "one\n"
    assert done.stderr == "error: unknown command 'nosuch'; `help` lists commands\n"


def test_first_failure_stops_a_script_mid_line_too() -> None:
    """`-c 'a; b'` is the README's own form: b must not run once a has failed."""
    done = run_cli("-c", "echo one; tcp connect c 127.0.0.1:1; echo never")
    assert done.returncode == 1 and done.stdout == "one\n"
    assert "(ECONNREFUSED)" in done.stderr
    done = run_cli(input="echo one; nosuch; echo never\necho nor-this\n")
    assert done.returncode == 1 and done.stdout == "one\n"


def test_keep_going() -> None:
    done = run_cli("--keep-going", "-c", "echo one\nnosuch\necho two")
    assert done.returncode == 1 and done.stdout == "one\ntwo\n"
    done = run_cli("--keep-going", "-c", "echo one; nosuch; echo two")
    assert done.returncode == 1 and done.stdout == "one\ntwo\n"


def test_script_file_names_the_failing_line(tmp_path: Path) -> None:
    script = tmp_path / "demo.psl"
    script.write_text(
        "# demo\nspawn p -- cat\nwriteline p hi\nread p --line\nread p --timeout 0.2\n"
    )
    done = run_cli(str(script))
    assert done.returncode == 1
    assert done.stdout.endswith("p: wrote 3 bytes\nhi\n")
    assert done.stderr == (
        f"error: {script}:5: p: timeout after 0.2 s waiting for data; 0 bytes buffered; "
        "--timeout S waits longer\n"
    )


def test_standard_input_script() -> None:
    done = run_cli(input="spawn c -- cat\nwriteline c piped\nread c --line\n")
    assert done.returncode == 0 and done.stdout.endswith("piped\n")


def test_exit_status() -> None:
    assert run_cli("-c", "exit 3; echo not reached").returncode == 3
    assert run_cli("-c", "quit").returncode == 0


def test_cli_usage_errors() -> None:
    done = run_cli("/nonexistent/script.psl")
    assert done.returncode == 2 and "can't read" in done.stderr
    done = run_cli("-c", "echo", "file.psl")
    assert done.returncode == 2


def test_no_escape_codes_when_not_a_terminal() -> None:
    done = run_cli("-c", "help spawn; nosuch", env={"TERM": "xterm-256color"})
    assert "\x1b" not in done.stdout + done.stderr


def test_no_color_honoured_on_a_terminal() -> None:
    child = pexpect.spawn(
        pslrepl_exe(),
        ["-c", "nosuch"],
        env={**os.environ, "NO_COLOR": "1"},
        encoding="utf-8",
        timeout=20,
        dimensions=(24, 100),
    )
    child.expect(pexpect.EOF)
    assert "error: unknown command" in child.before and "\x1b[" not in child.before
    colored = pexpect.spawn(
        pslrepl_exe(),
        ["-c", "nosuch"],
        env={k: v for k, v in os.environ.items() if k != "NO_COLOR"},
        encoding="utf-8",
        timeout=20,
        dimensions=(24, 100),
    )
    colored.expect(pexpect.EOF)
    assert "\x1b[31;1merror: " in colored.before


def test_bad_input_is_one_line_each_never_a_traceback() -> None:
    done = run_cli("--keep-going", input="\n".join(JUNK) + "\necho survived\n")
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stdout.endswith("survived\n")
    errors = done.stderr.splitlines()
    assert all(line.startswith("error: ") for line in errors), errors
    assert len(errors) == len([j for j in JUNK if j.strip(";")])


def test_children_are_closed_when_the_script_ends() -> None:
    done = run_cli("-c", "spawn a -- sleep 60; spawn b -- sleep 60; py print(a.pid, b.pid)")
    pids = [int(p) for p in done.stdout.split()[-2:]]
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_sigterm_to_the_shell_closes_its_children(tmp_path: Path) -> None:
    script = tmp_path / "s.psl"
    script.write_text("spawn a -- sleep 60\npy print(a.pid, flush=True)\nsleep 30\n")
    proc = subprocess.Popen([pslrepl_exe(), str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.readline()
    pid = int(proc.stdout.readline())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 128 + signal.SIGTERM
    proc.stdout.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail("the child outlived the shell")


def test_sigint_in_a_script_says_the_script_stops_and_it_does(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT) while a script's command waits cancels it, and the script ends
    there: the error line says so, not that everything carries on."""
    script = tmp_path / "s.psl"
    script.write_text("spawn a -- sleep 60\nwait a --timeout 30\necho not reached\n")
    proc = subprocess.Popen([pslrepl_exe(), str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("a: started pid ")
    # Before the wait or during it, the cancel ends the script with the same line.
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    # (Between two lines, the run itself takes it: "interrupted; closing everything".)
    assert ("cancelled by Ctrl-C; the script stops here, closing everything" in err
            or "error: interrupted; closing everything" in err), err  # fmt: skip
    assert "carries on" not in err and "not reached" not in out
    assert proc.returncode != 0


FAKE_SUDO = """\
import os, sys
args = sys.argv[1:]
assert args[0] == "-S", args
if not os.environ.get("FAKE_SUDO_NOPASSWD"):
    password = sys.stdin.readline().rstrip("\\n")
    if password != "s3cret":
        print("Sorry, try again.", file=sys.stderr)
        sys.exit(1)
rest = args[args.index("--") + 1:]
os.execvp(rest[0], rest)
"""


@pytest.fixture
def fake_sudo(tmp_path: Path) -> dict[str, str]:
    """A stand-in for sudo (we run as root here, where real sudo asks nothing)."""
    path = tmp_path / "sudo"
    path.write_text(f"#!{PY}\n{FAKE_SUDO}")
    path.chmod(0o755)
    return {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}


def sudo_session(env: dict[str, str], command: str, password: str) -> str:
    child = pexpect.spawn(
        pslrepl_exe(),
        ["-c", command],
        env={**env, "NO_COLOR": "1"},
        encoding="utf-8",
        timeout=20,
        dimensions=(24, 100),
    )
    child.expect(r"\[sudo\] password for \w+: ")
    child.sendline(password)
    child.expect(pexpect.EOF)
    child.close()
    return child.before


def test_sudo_asks_without_echo(fake_sudo: dict[str, str]) -> None:
    out = sudo_session(fake_sudo, "sudo -- echo ran-with-sudo", "s3cret")
    assert "ran-with-sudo" in out and "exited with status 0" in out
    assert "s3cret" not in out


def test_sudo_wrong_password(fake_sudo: dict[str, str]) -> None:
    out = sudo_session(fake_sudo, "sudo -- echo x", "wrong-pass")
    assert "Sorry, try again." in out and "error: sudo: echo x exited with status 1" in out
    assert "wrong-pass" not in out


def test_sudo_never_shows_the_password_even_if_the_command_reads_it(
    fake_sudo: dict[str, str],
) -> None:
    env = {**fake_sudo, "FAKE_SUDO_NOPASSWD": "1"}
    out = sudo_session(env, "sudo -- cat", "s3cret")
    assert "********" in out and "s3cret" not in out


def test_sudo_without_a_terminal_is_an_error(fake_sudo: dict[str, str]) -> None:
    done = subprocess.run(
        [pslrepl_exe(), "-c", "sudo -- id"],
        env=fake_sudo,
        text=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=20,
    )
    assert done.returncode == 1
    assert done.stderr == (
        "error: a password is needed but there is no terminal to ask it on; run interactively\n"
    )


def test_help_runs_without_prompt_toolkit() -> None:
    code = (
        "import sys; from pslrepl.cli import main; main(['-c', 'help']); "
        "print('prompt_toolkit' in sys.modules, 'pygments' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.stdout.splitlines()[-1] == "False False"


def test_help_and_version() -> None:
    done = run_cli("--help")
    assert done.returncode == 0 and done.stdout.startswith("usage: pslrepl")
    done = run_cli("--version")
    assert done.returncode == 0 and done.stdout.startswith("pslrepl ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--nope"], "unknown option --nope"),
        (["-c"], "-c needs the commands to run"),
        (["a.psl", "b.psl"], "one FILE at a time"),
        (["-c", "echo", "a.psl"], "give FILE or -c, not both"),
    ],
)
def test_bad_command_lines(args: list[str], message: str) -> None:
    done = run_cli(*args)
    assert done.returncode == 2
    assert done.stderr.startswith(f"pslrepl: {message}")
    assert done.stderr.endswith("; see pslrepl --help\n") and done.stderr.count("\n") == 1
