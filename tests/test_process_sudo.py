"""sudo: the password is passed on and then found nowhere; a missing sudo is said before asking.

A fake `sudo`, first on PATH, echoes the password it reads to stdout and stderr (the
worst a sudo, or a command run with NOPASSWD that reads stdin, could do) and then runs
the command. Every place the shell keeps things is searched for the password.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import PY, Shell, child

PASSWORD = "Zq9-hunter2-pw"

FAKE_SUDO = """\
import os, sys
args = sys.argv[1:]
assert args[:3] == ["-S", "-p", ""], args
mode = os.environ.get("FAKE_SUDO_MODE", "")
rest = args[args.index("--") + 1 :]
if mode == "nopasswd":  # sudo asks nothing: the command reads the password instead
    os.execvp(rest[0], rest)
password = sys.stdin.buffer.readline()
if mode == "cut":
    # The password straddles the start of the newest 1 MiB: its first 3 bytes are
    # dropped with the old output, the rest is the first thing kept.
    tail = b"t" * ((1 << 20) - (len(password) - 3))
    sys.stdout.buffer.write(b"p" * (2 << 20) + password + tail)
    sys.exit(0)
sys.stdout.buffer.write(b"sudo read: " + password)
sys.stderr.buffer.write(b"sudo read: " + password)
sys.stdout.flush()
sys.stderr.flush()
if mode == "fail":
    sys.exit(1)
if mode == "hang":
    import time
    time.sleep(60)
os.execvp(rest[0], rest)
"""


@pytest.fixture
def fake_sudo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "bin" / "sudo"
    path.parent.mkdir()
    path.write_text(f"#!{PY}\n{FAKE_SUDO}")
    path.chmod(0o755)
    monkeypatch.setenv("PATH", f"{path.parent}{os.pathsep}{os.environ['PATH']}")
    yield path


def kept_everywhere(shell: Shell, transcript: Path) -> str:
    """Everything the session keeps that could hold a secret, as one text."""
    session = shell.session
    parts = [shell.out.getvalue(), shell.err.getvalue(), transcript.read_text()]
    for record in session.history:
        parts.append(repr(record.line))
        parts += [f"{c.func} {c.args} {c.result}" for c in record.calls]
    events = list(session.log)
    for res in session.registry:
        events += list(res.log)
    for event in events:
        parts += [event.detail, repr(event.data), repr(event.fields)]
    return "\n".join(parts)


def sudo_shell(shell: Shell, tmp_path: Path) -> Path:
    """The shell recording a transcript, explaining its calls, with a child of its own."""
    transcript = tmp_path / "session.psl"
    shell.session.env.ask_password = lambda prompt: PASSWORD
    shell.ok(f"record {transcript}")
    shell.ok("set explain on")
    shell.ok("spawn other -- cat")
    return transcript


def assert_nowhere(shell: Shell, transcript: Path) -> None:
    shell.ok("record stop")
    kept = kept_everywhere(shell, transcript)
    assert PASSWORD not in kept
    assert PASSWORD.encode().hex() not in kept
    assert repr(PASSWORD.encode())[2:-1] not in kept


def test_the_password_is_found_nowhere(fake_sudo: Path, shell: Shell, tmp_path: Path) -> None:
    transcript = sudo_shell(shell, tmp_path)
    out = shell.ok("sudo -- echo ran-as-root")
    assert out.splitlines()[:3] == [
        "sudo read: ********",
        "ran-as-root",
        "sudo read: ********",
    ]
    assert "exited with status 0" in out
    assert "<redacted>" in out  # explain shows the call, not what went through it
    assert_nowhere(shell, transcript)


def test_a_command_that_reads_it_never_shows_it(
    fake_sudo: Path, shell: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    transcript = sudo_shell(shell, tmp_path)
    # With NOPASSWD (or a cached ticket) sudo asks nothing and the command gets it.
    monkeypatch.setenv("FAKE_SUDO_MODE", "nopasswd")
    code = "import sys; print(repr(sys.stdin.read()), 2)"
    out = shell.ok(f"sudo -- {child(code)}")
    assert out.startswith("'********\\\\n' 2\n")  # the repr's backslash, shown doubled
    assert_nowhere(shell, transcript)


def test_a_failing_sudo_keeps_it_out_of_the_error(
    fake_sudo: Path, shell: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    transcript = sudo_shell(shell, tmp_path)
    monkeypatch.setenv("FAKE_SUDO_MODE", "fail")
    ok, out, err = shell("sudo -- id")
    assert not ok
    assert err == "error: sudo: id exited with status 1\n"
    assert "sudo read: ********" in out
    assert_nowhere(shell, transcript)


def test_a_sudo_that_hangs_times_out_without_it(
    fake_sudo: Path, shell: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    transcript = sudo_shell(shell, tmp_path)
    monkeypatch.setenv("FAKE_SUDO_MODE", "hang")
    line = shell.fails("sudo --timeout 0.5 -- id")
    assert line == (
        "error: sudo: timeout after 0.5 s; the command was killed; --timeout S waits longer"
    )
    assert_nowhere(shell, transcript)


def test_a_password_cut_by_the_output_bound_is_starred_too(
    fake_sudo: Path, shell: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    transcript = sudo_shell(shell, tmp_path)
    monkeypatch.setenv("FAKE_SUDO_MODE", "cut")
    out = shell.ok("sudo -- id")
    assert out.startswith("********\nttt")
    assert "bytes dropped: the oldest output; sudo keeps 1 MiB per stream" in out
    shown_tail = (PASSWORD + "\n")[3:]
    assert shown_tail not in out
    assert_nowhere(shell, transcript)


def test_no_sudo_is_said_before_the_password_is_asked(
    shell: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing there: no sudo
    asked: list[str] = []
    shell.session.env.ask_password = lambda prompt: asked.append(prompt) or PASSWORD
    line = shell.fails("sudo -- id")
    assert line == "error: sudo: sudo is not installed here (not found on PATH); try: run -- ARGV"
    assert asked == []
