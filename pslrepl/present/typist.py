"""Typing a show's command out at a readable pace, as if the presenter typed it."""

from __future__ import annotations

from pslrepl.present.keys import INTERRUPT, NEXT, QUIT

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.output import Printer
    from pslrepl.present.keys import KeyReader

# Typing pace: readable, and never more than a second or so for a long command.
TYPING_DELAY = 0.03  # seconds a character
TYPING_MOST = 1.2  # seconds a command


class Untyped(Exception):
    """Ctrl-C while a command was being typed out: it is not run."""


class QuitTyping(Untyped):
    """q while a command was being typed out: it is not run, and the show ends."""


def type_out(printer: Printer, keys: KeyReader, pieces: list[tuple[str, str]], length: int,
             *, instant: bool) -> None:  # fmt: skip
    """Write ``pieces`` (styled text, ``length`` characters in all) a character at a
    time (all at once if ``instant``; a key press shows the rest at once), then end the
    line, as when Enter is pressed. Untyped at Ctrl-C, QuitTyping at q."""
    out = printer.out
    if instant:
        out.write(printer.format(pieces))
    else:
        delay = min(TYPING_DELAY, TYPING_MOST / max(1, length))
        hurry = False
        with keys.raw():
            for cls, text in pieces:
                for char in text:
                    out.write(printer.format([(cls, char)]))
                    if hurry:
                        continue
                    out.flush()
                    key = keys.read(delay)
                    if key == INTERRUPT or key in QUIT:
                        out.write("\n")
                        out.flush()
                        printer.mid_line = False
                        raise Untyped if key == INTERRUPT else QuitTyping
                    if key in NEXT:
                        hurry = True
    out.write("\n")
    out.flush()
    printer.mid_line = False
