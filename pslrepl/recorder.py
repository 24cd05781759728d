"""``record FILE``: the session written as a transcript as it goes, with placeholders."""

from __future__ import annotations

from pslrepl import __version__
from pslrepl.transcript import PROMPT, literal, name_values, needs_escape

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from pslrepl.results import Line
    from pslrepl.session import Session


class Recorder:
    """Collects what each command printed (never live events) and writes it as a step."""

    def __init__(self, session: Session, path: str, fh: TextIO) -> None:
        self.session = session
        self.path = path
        self.fh = fh
        self.steps = 0
        self.current: str | None = None
        self.lines: list[Line] = []
        fh.write(f"# Recorded with pslrepl {__version__}; replay: pslrepl --check FILE\n")
        fh.flush()
        session.printer.listeners.append(self.capture)

    def begin(self, line: str) -> None:
        self.current, self.lines = line, []

    def capture(self, lines: list[Line]) -> None:
        if self.current is not None:
            self.lines.extend(lines)

    def end(self) -> None:
        if self.current is None:
            return
        out = [PROMPT + self.placeholders(self.current, times=False)]
        out += [self.format_line(line) for line in self.lines]
        self.fh.write("\n".join(out) + "\n")
        self.fh.flush()
        self.steps += 1
        self.current = None

    def comment(self, line: str) -> None:
        self.fh.write(line.strip() + "\n")
        self.fh.flush()

    def format_line(self, line: Line) -> str:
        # A script's "FILE:LINE: " before an error is where it ran, not what it showed.
        line = [(style, text) for style, text in line if style != "location"]
        raw = "".join(text for _, text in line)
        if needs_escape(raw):
            return literal(raw)
        parts = []
        for style, text in line:
            _, marked, placeholder = style.partition("@")
            parts.append("{" + placeholder + "}" if marked else self.placeholders(text))
        return "".join(parts)

    def placeholders(self, text: str, *, times: bool = True) -> str:
        return name_values(text, self.session.volatile, times=times)

    def close(self) -> int:
        if self.capture in self.session.printer.listeners:
            self.session.printer.listeners.remove(self.capture)
        self.fh.close()
        return self.steps
