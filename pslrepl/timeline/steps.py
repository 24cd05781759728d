"""A diagram's rows: the step between two lanes (or a mark on one), and the shell's lane."""

from __future__ import annotations

SHELL = "psl"  # the shell's own lane
PREVIEW = 4096  # the most bytes of one step kept for the SVG's titles and HTML's table

# What a thread of the shell's posts as it happens (a child's output, its exit, a server's
# clients and their bytes, a relay's copies, a signal): drawn where it happened, which a
# replay of the same commands can't repeat exactly. The rest the commands themselves make.
BACKGROUND = frozenset({"data", "exit", "client", "relay", "accept", "http", "raised",
                        "signal", "error", "dropped", "timeout", "note", "toxic",
                        "relay-end"})  # fmt: skip


class Step:
    """One row: an arrow from lane ``src`` to lane ``dst``, or a mark on ``src``
    when they are equal; ``label`` says what, ``data`` the bytes it carried."""

    __slots__ = ("t", "src", "dst", "label", "data", "size", "kind", "command", "gap", "words",
                 "background")  # fmt: skip

    def __init__(self, t: float, src: str, dst: str, label: str, *, kind: str,
                 data: bytes = b"", size: int = 0, words: str = "") -> None:  # fmt: skip
        self.t = t
        self.src = src  # lane names here; Diagram turns them into indexes
        self.dst = dst
        self.label = label
        self.data = data
        self.size = size
        self.kind = kind  # the event kind it came from (or eof, rst for a call's)
        self.command = 0  # the number of the command that was running, 0 if none
        self.gap = 0.0  # seconds since the step before, when over GAP (a new command)
        self.words = words  # the event in render's words, for the HTML table
        self.background = kind in BACKGROUND  # see BACKGROUND

    @property
    def arrow(self) -> bool:
        return self.src != self.dst

    def __repr__(self) -> str:
        return f"Step({self.src!r}->{self.dst!r}: {self.label!r})"
