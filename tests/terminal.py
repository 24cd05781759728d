"""A real terminal for tests: pslrepl inside a private tmux server, read through capture-pane."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import pslrepl_exe

EXITED = "pslrepl exited with status"


class Terminal:
    """``send`` types keys, ``screen`` is what a person would see, ``wait_for`` polls it."""

    def __init__(
        self,
        workdir: Path,
        *,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        cols: int = 100,
        rows: int = 30,
        term: str | None = None,
    ) -> None:
        """``term``: TERM inside the pane (tmux sets its own there unless told)."""
        if shutil.which("tmux") is None:
            pytest.skip("tmux is not installed")
        self.socket = str(workdir / f"tmux-{uuid.uuid4().hex[:8]}")
        self.env = {**os.environ, "XDG_DATA_HOME": str(workdir / "data"), "TERM": "xterm"}
        self.env.pop("NO_COLOR", None)
        self.env.update(env or {})
        command = " ".join([pslrepl_exe(), *args])
        if term is not None:
            command = f"env TERM={term} {command}"
        # The status on the screen: tmux's #{pane_dead_status} is empty at times (the
        # pane's terminal closes before tmux reaps the shell, and a zombie was seen left).
        command += f'; echo "{EXITED} $?"'
        self._tmux("new-session", "-d", "-s", "psl", "-x", str(cols), "-y", str(rows), command)
        try:
            self._tmux("set-option", "-t", "psl", "remain-on-exit", "on")
            self.wait_for("psl>")
        except BaseException:
            self.close()  # a shell that never came up must not leave its tmux behind
            raise

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", self.socket, *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=10,
        )
        return done.stdout

    def send(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "psl", *keys)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", "psl", "-l", text)

    def paste(self, text: str) -> None:
        """Paste as a terminal does: bracketed (ESC [200~ ... ESC [201~) when the program
        asked for it, as prompt_toolkit does; each newline arrives as CR."""
        done = subprocess.run(
            ["tmux", "-S", self.socket, "load-buffer", "-b", "paste", "-"],
            input=text, text=True, capture_output=True, env=self.env, timeout=10,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        self._tmux("paste-buffer", "-p", "-d", "-b", "paste", "-t", "psl")

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "psl")

    def coloured(self) -> str:
        """The screen with its colours, as SGR escapes."""
        return self._tmux("capture-pane", "-p", "-e", "-t", "psl")

    def cooked(self) -> bool:
        """The pane's terminal is in canonical (line) mode: prompt_toolkit has handed it
        back, so a command is running and Ctrl-C is a signal, not a key."""
        import termios

        tty = self._tmux("display-message", "-p", "-t", "psl", "#{pane_tty}").strip()
        fd = os.open(tty, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            return bool(termios.tcgetattr(fd)[3] & termios.ICANON)
        finally:
            os.close(fd)

    def wait_running(self, timeout: float = 10) -> None:
        """Wait until the line just entered is running (the prompt gave the terminal back)."""
        self.wait_for(lambda s: self.cooked(), timeout)

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen().splitlines()]

    def wait_for(self, want: str | Callable[[str], bool], timeout: float = 10) -> str:
        check = want if callable(want) else (lambda s: want in s)
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            try:
                if check(screen):
                    return screen
            except (IndexError, ValueError):
                pass  # a screen caught mid-redraw: not yet what is waited for
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {want!r}; the screen:\n{screen}")

    def run(self, line: str, expect: str | None = None) -> str:
        self.type(line)
        self.send("Enter")
        return self.wait_for(expect) if expect else self.screen()

    def dead(self) -> bool:
        return self._tmux("display-message", "-p", "-t", "psl", "#{pane_dead}").strip() == "1"

    def shell_pid(self) -> int:
        """The pslrepl process (the pane runs it under sh, which reports its status)."""
        pane = int(self._tmux("display-message", "-p", "-t", "psl", "#{pane_pid}"))
        with open(f"/proc/{pane}/task/{pane}/children") as fh:
            children = [int(pid) for pid in fh.read().split()]
        for pid in children:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if b"pslrepl" in fh.read():
                    return pid
        raise AssertionError(f"no pslrepl under the pane's sh (pid {pane})")

    def exit_status(self) -> int:
        """How the shell exited, as the pane's sh said after it."""
        screen = self.wait_for(EXITED)
        return int(screen.split(EXITED)[1].split()[0])

    def close(self) -> None:
        self._tmux("kill-server")
