"""The shell's history of typed lines: a private file, one whole entry per write."""

from __future__ import annotations

import os

from prompt_toolkit.history import History

from pslrepl.environment import data_dir, open_private, private_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path


class ShellHistory(History):
    """The lines typed, one entry each, in prompt_toolkit's FileHistory format; ``path``
    None keeps them in memory only.

    The file holds every `send` and `py` line, so it is made 0600 in a 0700 directory
    and never opened through a symbolic link (environment.open_private). Each entry is
    one write to a file opened O_APPEND: two shells at once interleave whole entries,
    never parts of them. A line that starts with a space is not kept (as in bash with
    HISTCONTROL=ignorespace), for the line a user would rather not have on disk."""

    def __init__(self, path: Path | None) -> None:
        super().__init__()
        self.path = path
        self.failure: str | None = None  # why saving stopped, for the shell to say once

    def load_history_strings(self) -> Iterable[str]:
        if self.path is None:
            return []
        try:
            data = self._read()
        except OSError as exc:
            self.failure = f"history is not loaded: can't read {self.path}: {_why(exc)}"
            return []
        entries: list[str] = []
        lines: list[str] = []
        for raw in data.decode("utf-8", errors="replace").splitlines(keepends=True):
            if raw.startswith("+"):
                lines.append(raw[1:])
            elif lines:
                entries.append("".join(lines)[:-1])
                lines = []
        if lines:
            entries.append("".join(lines)[:-1])
        return reversed(entries)

    def _read(self) -> bytes:
        assert self.path is not None
        dir_fd = private_dir(self.path.parent)
        try:
            fd = open_private(dir_fd, self.path.name, os.O_RDONLY | os.O_CREAT)
        finally:
            os.close(dir_fd)
        chunks = []
        try:
            while chunk := os.read(fd, 1 << 16):
                chunks.append(chunk)
        finally:
            os.close(fd)
        return b"".join(chunks)

    def append_string(self, string: str) -> None:
        """A pasted block comes as one string: each line is an entry of its own."""
        for line in string.split("\n"):
            if line.strip() and not line.startswith(" "):
                super().append_string(line)

    def store_string(self, string: str) -> None:
        if self.path is None or self.failure is not None:
            return
        import datetime

        entry = f"\n# {datetime.datetime.now()}\n" + "".join(
            f"+{line}\n" for line in string.split("\n")
        )
        try:
            dir_fd = private_dir(self.path.parent)
            try:
                fd = open_private(dir_fd, self.path.name, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            finally:
                os.close(dir_fd)
            try:
                os.write(fd, entry.encode("utf-8", errors="replace"))  # one write: whole
            finally:
                os.close(fd)
        except OSError as exc:
            self.failure = f"history is no longer saved: can't write {self.path}: {_why(exc)}"


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def open_history() -> ShellHistory:
    """The history file in the user's data directory (XDG_DATA_HOME honoured); in memory,
    with ``failure`` saying why, if it can't be used."""
    path = data_dir() / "history"
    try:
        dir_fd = private_dir(path.parent)
        try:
            os.close(open_private(dir_fd, path.name, os.O_WRONLY | os.O_APPEND | os.O_CREAT))
        finally:
            os.close(dir_fd)
    except OSError as exc:
        history = ShellHistory(None)
        history.failure = f"history is not saved: can't write {path}: {_why(exc)}"
        return history
    return ShellHistory(path)
