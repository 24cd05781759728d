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
    ) -> None:
        if shutil.which("tmux") is None:
            pytest.skip("tmux is not installed")
        self.socket = str(workdir / f"tmux-{uuid.uuid4().hex[:8]}")
        self.env = {**os.environ, "XDG_DATA_HOME": str(workdir / "data"), "TERM": "xterm"}
        self.env.pop("NO_COLOR", None)
        self.env.update(env or {})
        command = " ".join([pslrepl_exe(), *args])
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

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "psl")

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen().splitlines()]

    def wait_for(self, want: str | Callable[[str], bool], timeout: float = 10) -> str:
        check = want if callable(want) else (lambda s: want in s)
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if check(screen):
                return screen
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {want!r}; the screen:\n{screen}")

    def run(self, line: str, expect: str | None = None) -> str:
        self.type(line)
        self.send("Enter")
        return self.wait_for(expect) if expect else self.screen()

    def dead(self) -> bool:
        return self._tmux("display-message", "-p", "-t", "psl", "#{pane_dead}").strip() == "1"

    def close(self) -> None:
        self._tmux("kill-server")
