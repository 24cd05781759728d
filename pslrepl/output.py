"""The only module that writes to the terminal: styled lines to ANSI or plain text."""

from __future__ import annotations

import threading

from pslrepl.style import STYLES, sgr

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO

    from pslrepl.results import Line


class Printer:
    """Writes styled lines to the output streams; colour only when asked for."""

    def __init__(self, out: TextIO, err: TextIO, *, color: bool) -> None:
        self.out = out
        self.err = err
        self.color = color
        self._lock = threading.Lock()
        self._codes: dict[str, str] = {}
        self.listeners: list[Callable[[list[Line]], None]] = []

    def format(self, line: Line) -> str:
        if not self.color:
            return "".join(text for _, text in line)
        parts: list[str] = []
        for cls, text in line:
            code = self._code(cls)
            parts.append(f"\x1b[{code}m{text}\x1b[0m" if code else text)
        return "".join(parts)

    def _code(self, cls: str) -> str:
        code = self._codes.get(cls)
        if code is None:
            # "style@placeholder" marks a value that changes from run to run (see
            # results.volatile); the colour is the style's.
            code = self._codes[cls] = sgr(STYLES.get(cls.partition("@")[0], ""))
        return code

    def write(self, lines: list[Line], *, err: bool = False, event: bool = False) -> None:
        """Print lines; listeners (a transcript recorder) see all but live events."""
        if not lines:
            return
        if not event:
            for listener in self.listeners:
                listener(lines)
        stream = self.err if err else self.out
        text = "".join(self.format(line) + "\n" for line in lines)
        with self._lock:
            if err:
                self.out.flush()
            stream.write(text)
            stream.flush()

    def error(self, message: str, *, where: str = "") -> None:
        """``where``: a script's "FILE:LINE: ", which a recorded transcript leaves out."""
        line = [("error", "error: "), ("location", where), ("", message)] if where else [
            ("error", "error: "), ("", message)]  # fmt: skip
        self.write([line], err=True)

    def warning(self, message: str) -> None:
        self.write([[("warning", "warning: "), ("", message)]], err=True)
