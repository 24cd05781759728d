"""Where a session reads and writes: streams, terminal flags, the password prompt, data dir."""

from __future__ import annotations

import os
import sys

from pslrepl.errors import PslError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import TextIO


def _no_password(prompt: str) -> str:
    raise PslError("a password is needed but there is no terminal to ask it on; run interactively")


def terminal_password(prompt: str) -> str:
    """Ask without echo on the controlling terminal (getpass), for -c and scripts run by hand."""
    import getpass

    try:
        return getpass.getpass(prompt)
    except EOFError:
        raise PslError("no password given (end of input)") from None


def wants_color(stream: TextIO) -> bool:
    """Colour for a terminal, unless NO_COLOR (https://no-color.org) or TERM=dumb says not."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def data_dir() -> Path:
    """The user's data directory for pslrepl (XDG_DATA_HOME, else ~/.local/share)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    from pathlib import Path

    return Path(base) / "pslrepl"


class Environment:
    """The streams and terminal facts a Session is given; tests pass their own."""

    def __init__(
        self,
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        interactive: bool = False,
        color: bool = False,
        ask_password: Callable[[str], str] = _no_password,
    ) -> None:
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.interactive = interactive
        self.color = color
        self.ask_password = ask_password

    @classmethod
    def from_system(cls, *, interactive: bool) -> Environment:
        has_tty = False
        try:
            has_tty = sys.stdin.isatty()
        except (AttributeError, ValueError):
            pass
        return cls(
            interactive=interactive,
            color=wants_color(sys.stdout),
            ask_password=terminal_password if has_tty else _no_password,
        )
