"""--update and -i keep a transcript's captures: their values written back as {NAME}."""

from __future__ import annotations

import re

from pslrepl.transcript.matching import captures
from pslrepl.transcript.syntax import placeholders_in

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.transcript.syntax import Bindings, Step, Transcript
    from pslrepl.transcript.writing import Segment


def captured(transcript: Transcript) -> dict[str, int]:
    """Each capture's name, by the line of the command under which it is first made."""
    found: dict[str, int] = {}
    for step in transcript.steps:
        for line in step.expected:
            for _, _, name, _ in captures(line):
                found.setdefault(name, step.line)
    return found


def used_captures(step: Step, names: dict[str, int], bindings: Bindings) -> Bindings:
    """The captures ``step`` uses, in its command or its written lines, with their values:
    a new line of its output names them wherever they stand as a whole word, however
    short (a Namer names only values of 3 characters or more, lest `1` become one)."""
    used = placeholders_in(step.command)
    for line in step.expected:
        used += placeholders_in(line)
    return {name: bindings[name] for name in used if name in names and bindings.get(name)}


def name_captures(segments: list[Segment], values: Bindings) -> list[Segment]:
    """``segments`` with each captured value in their text written as its {NAME}."""
    for name, value in values.items():
        word = re.compile(rf"(?<!\w){re.escape(value)}(?!\w)")
        out: list[Segment] = []
        for text, placeholder in segments:
            if placeholder is not None:
                out.append((text, placeholder))
                continue
            pos = 0
            for m in word.finditer(text):
                if m.start() > pos:
                    out.append((text[pos : m.start()], None))
                out.append((m.group(), name))
                pos = m.end()
            if pos < len(text):
                out.append((text[pos:], None))
        segments = out
    return segments


def lost_captures(before: Transcript, after: Transcript, path: str) -> list[str]:
    """What an update wrote away: a capture whose line no longer matched became plain
    text, while a later command or line still uses its {NAME} (now unbound)."""
    gone = captured(before).keys() - captured(after).keys()
    warnings = []
    for name in sorted(gone):
        for step in after.steps:
            if name in placeholders_in(step.command) or any(
                name in placeholders_in(line) for line in step.expected
            ):
                warnings.append(
                    f"{path}:{step.line}: {{{name}}} is used here, but the update wrote "
                    f"away its capture (made under line {captured(before)[name]}): that "
                    "line no longer matched; write the capture back into the new line"
                )
                break
    return warnings
