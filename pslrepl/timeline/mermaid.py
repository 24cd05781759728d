"""The diagram as a Mermaid sequenceDiagram, to paste into Markdown that renders it."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.timeline.model import Diagram

# Characters Mermaid reads as syntax in a message, written as its entity codes.
_ENTITIES = {"#": "#35;", ";": "#59;", "<": "#60;", ">": "#62;", "\n": "\\n"}


def _text(text: str) -> str:
    return "".join(_ENTITIES.get(ch, ch if ch.isprintable() else f"\\x{ord(ch):02x}")
                   for ch in text)  # fmt: skip


def mermaid(diagram: Diagram) -> list[str]:
    """The lines of a ``sequenceDiagram``: a participant per lane, ``->>`` per arrow, a
    note per mark; each command's line as a ``%%`` comment above its steps."""
    ids = {lane: f"L{i}" for i, lane in enumerate(diagram.lanes)}
    out = ["sequenceDiagram"]
    out += [f"    participant {ids[lane]} as {_text(lane)}" for lane in diagram.lanes]
    if diagram.gone:
        out.append(f"    %% older steps are gone: the session keeps its last {diagram.gone} events")
    out += [f"    %% {_text(said)}" for said in diagram.said]
    command = -1
    first, last = (ids[diagram.lanes[0]], ids[diagram.lanes[-1]]) if diagram.lanes else ("", "")
    for step in diagram.steps:
        if step.gap:
            span = first if first == last else f"{first},{last}"
            out.append(f"    Note over {span}: ... later")
        if step.command != command:
            command = step.command
            line = diagram.commands.get(command, "")
            if line:
                shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in line)
                out.append(f"    %% psl> {shown}")
        if step.arrow:
            out.append(f"    {ids[step.src]}->>{ids[step.dst]}: {_text(step.label)}")
        else:
            out.append(f"    Note over {ids[step.src]}: {_text(step.label)}")
    return out
