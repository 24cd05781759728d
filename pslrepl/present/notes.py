"""A transcript's comments as a presenter's notes: which step each one comes before."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.results import Line
    from pslrepl.transcript import Transcript


def notes_before(transcript: Transcript) -> list[list[str]]:
    """For each step, the comment lines shown above it: the preamble before the first;
    a comment after a step's output (or within it) before the next step."""
    notes: list[list[str]] = [[] for _ in transcript.steps]
    if notes:
        notes[0].extend(line for line in transcript.preamble if line.startswith("#"))
    for index, step in enumerate(transcript.steps[:-1]):
        notes[index + 1].extend(text for _, text in step.comments)
    return notes


def note_lines(comments: list[str]) -> list[Line]:
    """``## Title`` as a heading; other comments dimmed, without their ``#``. Blank
    comment lines are kept (they part paragraphs) but not at the start or end."""
    lines: list[Line] = []
    for comment in comments:
        if comment.startswith("#!"):  # a directive for replays (#! timeout S), no note
            continue
        if comment.startswith("##"):
            lines.append([("header", comment.lstrip("#").strip())])
        else:
            text = comment[1:]
            lines.append([("notice", text[1:] if text.startswith(" ") else text)])
    while lines and not "".join(t for _, t in lines[0]).strip():
        lines.pop(0)
    while lines and not "".join(t for _, t in lines[-1]).strip():
        lines.pop()
    return lines
