"""Test helpers: a session on string streams, the installed CLI, tiny child programs."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pslrepl.cli import build, shutdown
from pslrepl.dispatch import Dispatcher
from pslrepl.environment import Environment
from pslrepl.session import Session

BIN = Path(sys.executable).parent
PY = sys.executable


def pslrepl_exe() -> str:
    """The installed console script, next to the interpreter running the tests."""
    exe = BIN / "pslrepl"
    if not exe.exists():
        raise RuntimeError(f"pslrepl is not installed next to {sys.executable}; pip install -e .")
    return str(exe)


def child(code: str) -> str:
    """A tiny Python child program, as a shell-quoted argv for spawn/run."""
    import shlex

    return shlex.join([PY, "-u", "-c", textwrap.dedent(code)])


@dataclass
class Shell:
    """A session whose output goes to strings: ``shell("cmd") -> (ok, out, err)``."""

    session: Session
    dispatcher: Dispatcher
    out: io.StringIO
    err: io.StringIO

    def __call__(self, line: str) -> tuple[bool, str, str]:
        start_out, start_err = self.out.tell(), self.err.tell()
        ok = self.dispatcher.run_line(line)
        self.out.seek(start_out)
        self.err.seek(start_err)
        out, err = self.out.read(), self.err.read()
        return ok, out, err

    def ok(self, line: str) -> str:
        """Run a line that must succeed; its standard output."""
        ok, out, err = self(line)
        assert ok, f"{line!r} failed: {err.strip()}"
        assert not err, f"{line!r} wrote to stderr: {err}"
        return out

    def fails(self, line: str) -> str:
        """Run a line that must fail with exactly one error line; that line."""
        ok, out, err = self(line)
        assert not ok, f"{line!r} should have failed; out={out!r}"
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert "Traceback" not in err + out
        return lines[0]

    def spawn(self, name: str, code: str, *, opts: str = "") -> str:
        """Spawn a tiny Python program under ``name``."""
        return self.ok(f"spawn {name} {opts} -- {child(code)}")

    def close(self) -> None:
        shutdown(self.session)


def make_shell(*, interactive: bool = False) -> Shell:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdin=io.StringIO(), stdout=out, stderr=err, interactive=interactive)
    session, dispatcher = build(env)
    assert isinstance(dispatcher, Dispatcher)
    return Shell(session, dispatcher, out, err)


def run_cli(
    *args: str,
    input: str | None = None,
    timeout: float = 30,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``pslrepl`` with no terminal."""
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    if env:
        full_env.update(env)
    return subprocess.run(
        [pslrepl_exe(), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=cwd,
        stdin=None if input is not None else subprocess.DEVNULL,
    )


def port(shell: Shell, name: str) -> int:
    """The port a resource bound, as the session noted it for transcripts."""
    return int(shell.session.volatile[f"{name}.port"])


@contextlib.contextmanager
def python_http_server(directory: Path) -> Iterator[int]:
    """`python -m http.server` on a free loopback port, serving ``directory``: a real
    peer nobody here wrote. Yields its port."""
    server = subprocess.Popen(
        [PY, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"],
        cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        yield int(server.stdout.readline().split("port ")[1].split()[0])
    finally:
        server.terminate()
        server.wait()
        if server.stdout is not None:
            server.stdout.close()


def open_fds() -> set[int]:
    return {int(fd) for fd in os.listdir("/proc/self/fd")}


def child_pids() -> set[int]:
    """Direct children of this process (zombies included), from /proc."""
    pids: set[int] = set()
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        try:
            with open(f"/proc/{os.getpid()}/task/{task}/children") as fh:
                pids.update(int(p) for p in fh.read().split())
        except OSError:
            pass
    return pids


def complete(shell: Shell, text: str) -> list[str]:
    """What Tab offers after ``text`` (the shell's own completer, not a terminal)."""
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    from pslrepl.completer import PslCompleter

    completer = PslCompleter(shell.session, shell.dispatcher.table)
    return [c.text for c in completer.get_completions(Document(text), CompleteEvent())]
