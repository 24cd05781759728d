"""The diagram in the terminal: a column per lane, a line per step, fitted to the width."""

from __future__ import annotations

from pslrepl.render import cut_line, cut_text, text_width
from pslrepl.results import volatile
from pslrepl.timeline.model import SHELL

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.results import Line
    from pslrepl.timeline.model import Diagram, Step

MIN_LANE = 8  # narrower than this a lane can't show its name: lanes past it are merged
MAX_LANE = 26
OTHERS = "..."  # the lane the lanes that did not fit are merged into

# (vertical, shaft, head right, head left, mark, gap) for a terminal, and in ASCII for
# plain output (a file, a transcript, NO_COLOR, TERM=dumb).
FANCY = ("\u2502", "\u2500", "\u25b6", "\u25c0", "\u25cf", "\u2507")
PLAIN = ("|", "-", ">", "<", "*", ":")

_STYLE = {
    "send": "value", "recv": "value", "write": "value", "data": "stdout", "relay": "value",
    "eof": "warning", "shutdown": "warning", "rst": "error", "error": "error",
    "trunc": "warning", "exit": "state.exited", "sent": "option", "signal": "option",
    "close": "state.closed", "start": "name", "client": "name", "accept": "name",
}  # fmt: skip


def fit_lanes(diagram: Diagram, width: int) -> tuple[list[str], dict[str, int], int]:
    """The lanes shown in ``width`` columns, each lane's column, and the lane width:
    past what fits, the least busy lanes are merged into one ``...`` lane at the end."""
    lanes = list(diagram.lanes)
    most = max(1, width // MIN_LANE)
    column: dict[str, int] = {}
    if len(lanes) > most:
        busy: dict[str, int] = dict.fromkeys(lanes, 0)
        for step in diagram.steps:
            busy[step.src] += 1
            busy[step.dst] += 1
        # The shell's lane stays; then the busiest.
        keep = sorted(lanes, key=lambda n: (n != SHELL, -busy[n], lanes.index(n)))[: most - 1]
        shown = [n for n in lanes if n in keep] + [OTHERS]
        column = {n: (shown.index(n) if n in keep else len(shown) - 1) for n in lanes}
        lanes = shown
    else:
        column = {n: i for i, n in enumerate(lanes)}
    lane_width = max(MIN_LANE, min(MAX_LANE, width // max(len(lanes), 1)))
    return lanes, column, lane_width


def lane_name(name: str, room: int, outside: bool) -> str:
    """A lane's name in ``room`` columns. An outside peer's is cut at its front: peers on
    one host differ only in their ports (``…:54088``, not ``127.0.0.1:5…``)."""
    if not outside or text_width(name) <= room or room < 2:
        return cut_text(name, room)
    tail = ""
    for ch in reversed(name):
        if text_width(ch + tail) > room - 1:
            break
        tail = ch + tail
    return "\u2026" + tail


def draw(diagram: Diagram, *, width: int, fancy: bool) -> list[Line]:
    """The lines to print: lane names, then each command's steps under its line."""
    if not diagram.steps:
        return [[("notice", "(no events to draw)")]]
    width = max(width, MIN_LANE)  # narrower, nothing can be drawn: as render's NARROWEST
    vbar, shaft, right, left, mark, gapc = FANCY if fancy else PLAIN
    lanes, column, lw = fit_lanes(diagram, width)
    centre = [i * lw + lw // 2 for i in range(len(lanes))]
    total = len(lanes) * lw  # fit_lanes keeps it within the width (8 columns at least)

    def grid() -> list[str]:
        row = [" "] * total
        for x in centre:
            row[x] = vbar
        return row

    out: list[Line] = []
    head = [" "] * total
    for x, name in zip(centre, lanes, strict=True):
        text = lane_name(name, lw - 1, name in diagram.external)
        start = max(0, min(x - text_width(text) // 2, total - text_width(text)))
        for k, ch in enumerate(text):
            if start + k < total:
                head[start + k] = ch
    out.append([("header", "".join(head).rstrip())])
    if diagram.gone:
        said = f"(older steps are gone: the session keeps its last {diagram.gone} events)"
        out.append([("notice", cut_text(said, width))])
    out += [[("notice", cut_text(said, width))] for said in diagram.said]
    command = -1
    for step in diagram.steps:
        if step.gap:
            # A dotted row: every lane's line broken, how long it was said after the first.
            row = grid()
            for x in centre:
                row[x] = gapc
            # Steady (a transcript): how long, the machine decides; that it was over
            # the gap, the commands do.
            age = f"more than {diagram.pause:g}s" if diagram.pause else _age(step.gap)
            said = f" {age} later "
            first = centre[0] + 1
            rest = "".join(row[first + len(said) :]).rstrip()
            pause = ("notice", age) if diagram.pause else volatile(age, "age", "notice")
            out.append(
                cut_line(
                    [
                        ("notice", "".join(row[:first]) + " "),
                        pause,
                        ("notice", " later" + (" " + rest if rest else "")),
                    ],
                    width,
                )
            )
        if step.command != command:
            command = step.command
            line = diagram.commands.get(command, "")
            if line:
                # Its number as history shows it (explain N says its calls); not "psl> ",
                # which a transcript would read as a prompt.
                out.append([("command", _cut(f"{command}> {line}", width))])
        a, b = centre[column[step.src]], centre[column[step.dst]]
        style = _STYLE.get(step.kind, "event")
        out.append(_row(grid(), a, b, step, style, total, width, shaft, right, left, mark))
    return out


def _row(row: list[str], a: int, b: int, step: Step, style: str, total: int, width: int,
         shaft: str, right: str, left: str, mark: str) -> Line:  # fmt: skip
    """One step's line: its arrow (or mark) on the grid, its label in the shaft where it
    fits, else after the arrow."""
    label = step.label.replace("\n", "\\n")
    if a == b:
        row[a] = mark
        lead = "".join(row[: a + 2]).rstrip()
        room = width - text_width(lead) - 1
        if room < min(text_width(label), 16) and a > room:  # the last lanes: say it left
            text = _cut(label, a - 1)
            start = a - 1 - text_width(text)
            return [("event", "".join(row[:start])), (style, text),
                    ("event", " " + "".join(row[a:]).rstrip())]  # fmt: skip
        return [("event", lead + " "), (style, _cut(label, max(room, 1)))]
    low, high = min(a, b), max(a, b)
    for x in range(low + 1, high):
        row[x] = shaft
    if b > a:
        row[b - 1] = right
    else:
        row[b + 1] = left
    room = high - low - 4
    if room >= min(10, text_width(label)):  # in the shaft: ---send 4 b'..'-->
        text = _cut(label, room)
        start = low + 2
        before, after = "".join(row[:start]), "".join(row[start + text_width(text) :])
        return [("event", before), (style, text), ("event", after.rstrip())]
    lead = "".join(row[: high + 1])
    room = width - text_width(lead) - 1
    if room < min(text_width(label), 16) and low - 1 > room:  # no room after: before it
        text = _cut(label, low - 1)
        start = low - 1 - text_width(text)
        return [
            ("event", "".join(row[:start])),
            (style, text),
            ("event", " " + "".join(row[low:]).rstrip()),
        ]
    return [("event", lead + " "), (style, _cut(label, max(room, 1)))]


def _cut(label: str, room: int) -> str:
    """``label`` cut to ``room`` columns, never inside a number: a port, pid or count cut
    short reads as another (127.0.0.1:4…), and differs from run to run in a transcript."""
    text = cut_text(label, room)
    n = len(text) - 1  # the label's characters kept before the ellipsis
    if text == label or n <= 0 or not (label[n - 1].isdigit() and label[n].isdigit()):
        return text
    while n and label[n - 1].isdigit():
        n -= 1
    return label[:n] + "\u2026"


def _age(seconds: float) -> str:
    from pslrepl.events import age

    return age(seconds)
