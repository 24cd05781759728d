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


def is_dumb(term: str | None) -> bool:
    """A terminal that can't move its cursor (TERM=dumb: Emacs' shell, some IDE consoles),
    where prompt_toolkit can't draw: the shell reads plain lines there."""
    return term in ("dumb", "unknown")


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


def private_dir(path: Path) -> int:
    """A file descriptor for the directory ``path``, which holds secrets (the history has
    every `send` and `py` line). Missing directories are made 0700; an existing one must
    be the user's own, and loses any group and other permissions (this one is ours, by
    its name). Raises OSError saying why it can't be used."""
    import errno
    import stat

    missing = []
    here = path
    while not os.path.lexists(here) and here.parent != here:
        missing.append(here)
        here = here.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)  # not makedirs: it makes the parents 0777 - umask
        except FileExistsError:
            pass
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if info.st_uid != os.getuid():
            raise OSError(errno.EPERM, "it belongs to another user", str(path))
        if stat.S_IMODE(info.st_mode) & 0o077:
            os.fchmod(fd, stat.S_IMODE(info.st_mode) & 0o700)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_private(dir_fd: int, name: str, flags: int) -> int:
    """Open ``name`` in a private directory, never through a symbolic link planted at its
    path, and only if it is a regular file of ours; created 0600, and an existing one
    loses any group and other permissions. Raises OSError saying what is wrong."""
    import errno
    import stat

    try:  # say what is there, rather than what open() would make of it (ENXIO...)
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        pass
    else:
        if stat.S_ISLNK(info.st_mode):
            raise OSError(errno.ELOOP, "it is a symbolic link; remove it", name)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "it is not a regular file", name)
    try:
        # O_NONBLOCK: a FIFO planted there since must not hang the shell on open.
        fd = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, 0o600,
                     dir_fd=dir_fd)  # fmt: skip
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # what O_NOFOLLOW says about a symbolic link
            raise OSError(errno.ELOOP, "it is a symbolic link; remove it", name) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "it is not a regular file", name)
        if info.st_uid != os.getuid():
            raise OSError(errno.EPERM, "it belongs to another user", name)
        if stat.S_IMODE(info.st_mode) & 0o077:
            os.fchmod(fd, stat.S_IMODE(info.st_mode) & 0o600)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd
