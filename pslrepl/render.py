"""Results and events to styled lines (pure: no I/O, no terminal)."""

from __future__ import annotations

import time

# The words live in events.py; every module has found these two here.
from pslrepl.events import plural as plural
from pslrepl.events import preview as preview
from pslrepl.results import Fields, Fragment, Output, Styled, Table, Text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from pslrepl.events import Event
    from pslrepl.results import Cell, Line, Result

# Control characters but tab and newline, shown as \xNN so a child's escape codes
# can't drive the user's terminal.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F)}
_CONTROL[0x0D] = "\\r"  # CR LF ends every line of HTTP, SMTP...: show it by name


# What data is shown as: the controls above, a byte that doesn't decode as \xNN (decoded
# with surrogateescape: the bytes 0x80-0xFF come as U+DC80-U+DCFF), and a backslash of
# the data doubled, as repr does: so `\r` on screen is always the CR byte, never the two
# characters a program wrote (those show as `\\r`), and a transcript can tell them apart.
_SHOWN = {**_CONTROL, 0x5C: "\\\\", **{0xDC00 + b: f"\\x{b:02x}" for b in range(0x80, 0x100)}}


def safe_text(data: bytes, encoding: str) -> str:
    """Decode for display: control characters (a child's escape codes) and bytes that
    don't decode shown escaped, a backslash doubled."""
    return data.decode(encoding, errors="surrogateescape").translate(_SHOWN)


def render(result: Result, *, display: str = "text", encoding: str = "utf-8") -> list[Line]:
    if isinstance(result, Text):
        return [[(result.style, line)] for line in result.text.split("\n")]
    if isinstance(result, Styled):
        return [list(result.fragments)]
    if isinstance(result, Output):
        return render_output(result, display=result.mode or display, encoding=encoding)
    if isinstance(result, Table):
        return render_table(result)
    if isinstance(result, Fields):
        width = max((len(k) for k, _ in result.pairs), default=0)
        return [[("key", f"{k + ':':<{width + 1}} "), _cell(v, "value")] for k, v in result.pairs]
    raise TypeError(f"unknown result {result!r}")


def render_output(out: Output, *, display: str, encoding: str) -> list[Line]:
    style = "stderr" if out.stream == "stderr" else "stdout"
    if display == "hex":
        return [[(style, line)] for line in hexdump(out.data)]
    if display == "repr":
        return [
            [(style, repr(bytes(out.data))), ("notice", f"  ({plural(len(out.data), 'byte')})")]
        ]
    if out.highlight:
        a, b = out.highlight
        pieces = [(style, out.data[:a]), ("match", out.data[a:b]), (style, out.data[b:])]
        return _text_lines([(cls, safe_text(d, encoding)) for cls, d in pieces if d])
    return _text_lines([(style, safe_text(out.data, encoding))])


def _text_lines(fragments: list[Fragment]) -> list[Line]:
    lines: list[Line] = [[]]
    for cls, text in fragments:
        parts = text.split("\n")
        for i, part in enumerate(parts):
            if i:
                lines.append([])
            if part:
                lines[-1].append((cls, part))
    if len(lines) > 1 and not lines[-1]:
        lines.pop()
    return lines


def hexdump(data: bytes, *, width: int = 16) -> list[str]:
    """``hexdump -C`` layout: offset, hex bytes, printable column; repeats collapse to ``*``."""
    lines: list[str] = []
    previous: bytes | None = None
    starred = False
    for offset in range(0, len(data), width):
        chunk = data[offset : offset + width]
        if chunk == previous and len(chunk) == width:
            if not starred:
                lines.append("*")
                starred = True
            continue
        starred = False
        previous = chunk
        hexes = " ".join(f"{b:02x}" for b in chunk)
        if width == 16:
            hexes = hexes[:23] + " " + hexes[23:]
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes:<{width * 3}} |{text}|")
    lines.append(f"{len(data):08x}")
    return lines


class TableLine(list[Fragment]):
    """A line of a rendered table, as scripts print it, that keeps its cells and the
    table's column widths: the interactive shell refits it to a narrow terminal."""

    __slots__ = ("cells", "widths", "header")

    def __init__(self, cells: list[Fragment], widths: list[int], *, header: bool) -> None:
        super().__init__(_table_fragments(cells, widths, header=header, measure=len))
        self.cells = cells
        self.widths = widths  # shared by every line of one table
        self.header = header


def render_table(table: Table) -> list[Line]:
    if not table.rows:
        return [[("notice", table.empty)]]
    cells = [[_cell(c) for c in row] for row in table.rows]
    widths = [max(len(h), table.min_widths.get(i, 0)) for i, h in enumerate(table.headers)]
    for row in cells:
        for i, (_, text) in enumerate(row):
            widths[i] = max(widths[i], len(text))
    lines: list[Line] = [TableLine([("header", h) for h in table.headers], widths, header=True)]
    lines.extend(TableLine(row, widths, header=False) for row in cells)
    return lines


def _table_fragments(
    cells: list[Fragment], widths: list[int], *, header: bool, measure: Callable[[str], int]
) -> Line:
    """One table line: cells padded to their column, two spaces apart. A header is one
    fragment (its underline runs across the gaps); a row's last cell is not padded.
    Scripts measure with len, as they always have; the terminal with text_width."""
    if header:
        pairs = zip(cells, widths, strict=True)
        padded = (text + " " * (w - measure(text)) for (_, text), w in pairs)
        return [("header", "  ".join(padded).rstrip())]
    line: Line = []
    for i, (cls, text) in enumerate(cells):
        line.append((cls, text))
        if i < len(cells) - 1:
            line.append(("", " " * (widths[i] - measure(text) + 2)))
    return line


def _cell(cell: Cell, style: str = "") -> Fragment:
    return (style, cell) if isinstance(cell, str) else cell


# -- fitting the interactive terminal ---------------------------------------------------
# Only the interactive shell calls these (output.Screen): scripts and transcripts print
# the lines as rendered above, whatever the terminal.

# Bytes a child or peer sent: their spaces are data, so the terminal wraps them as they
# are rather than this code moving words around.
# Lines left whole for the terminal to wrap: bytes as they came, and explain's lines of
# Python (a break inside a string literal would not paste).
DATA_STYLES = frozenset({"stdout", "stderr", "match", "explain"})
ELLIPSIS = "\u2026"
MIN_COLUMN = 3  # a cut cell keeps two characters and the ellipsis
NARROWEST = 8  # below this the layout rules give up and cut


def text_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: wide (East Asian) characters take two,
    combining marks none."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def line_width(line: Line) -> int:
    return sum(text_width(text) for _, text in line)


def fit_lines(lines: list[Line], width: int) -> list[Line]:
    """``lines`` as they fit ``width`` columns: a table's widest cells cut with an
    ellipsis (a row never wraps), other text wrapped at spaces under a hanging indent
    that keeps a label's column (help's, info's); bytes from a child or peer as they are."""
    width = max(width, NARROWEST)
    out: list[Line] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if isinstance(line, TableLine):
            table = [line]
            while i + len(table) < len(lines):
                nxt = lines[i + len(table)]
                if not (isinstance(nxt, TableLine) and nxt.widths is line.widths):
                    break
                table.append(nxt)
            out.extend(fit_table(table, width))
            i += len(table)
            continue
        if line_width(line) <= width or any(cls in DATA_STYLES for cls, _ in line):
            out.append(line)
        else:
            out.extend(wrap_line(line, width))
        i += 1
    return out


def fit_table(lines: list[TableLine], width: int) -> list[Line]:
    """A table's lines in ``width`` columns: the widest columns are narrowed first, to the
    same width, and their cells cut with an ellipsis."""
    count = len(lines[0].cells)
    natural = [
        max(lines[0].widths[k], *(text_width(line.cells[k][1]) for line in lines))
        for k in range(count)
    ]
    if sum(natural) + 2 * (count - 1) <= width:
        return list(lines)
    widths = _narrow(natural, width - 2 * (count - 1))
    fitted: list[Line] = []
    for line in lines:
        cells = [(cls, cut_text(text, widths[k])) for k, (cls, text) in enumerate(line.cells)]
        fitted.append(_table_fragments(cells, widths, header=line.header, measure=text_width))
    # Too many columns for even the narrowest cells: cut the lines, never wrap them.
    return [cut_line(line, width) for line in fitted]


def _narrow(natural: list[int], room: int) -> list[int]:
    """Column widths that sum to at most ``room``: every column wider than some cap is
    cut to it (the widest go first), and what the cap leaves over goes back left to right."""
    floor = [min(w, MIN_COLUMN) for w in natural]
    if sum(floor) >= room:
        return floor
    low, high = MIN_COLUMN, max(natural)  # the cap: sum(min(w, low)) fits, high does not
    while high - low > 1:
        mid = (low + high) // 2
        if sum(min(w, mid) for w in natural) <= room:
            low = mid
        else:
            high = mid
    widths = [min(w, low) for w in natural]
    spare = room - sum(widths)
    for k, w in enumerate(natural):
        if spare and w > low:
            widths[k] += 1
            spare -= 1
    return widths


def cut_text(text: str, width: int) -> str:
    """``text`` in at most ``width`` columns, ending with an ellipsis if it was cut."""
    if text_width(text) <= width:
        return text
    return _prefix(text, width - 1) + ELLIPSIS if width >= 1 else ""


def _prefix(text: str, room: int) -> str:
    """The longest start of ``text`` that takes at most ``room`` columns."""
    used = 0
    for i, ch in enumerate(text):
        used += text_width(ch)
        if used > room:
            return text[:i]
    return text


def cut_line(line: Line, width: int) -> Line:
    """A styled line in at most ``width`` columns, ending with an ellipsis if it was cut."""
    if line_width(line) <= width:
        return line
    out: Line = []
    used = 0
    for cls, text in line:
        w = text_width(text)
        if used + w > width - 1:
            out.append((cls, cut_text(text + ELLIPSIS, width - used)))
            break
        out.append((cls, text))
        used += w
    return out


def wrap_line(line: Line, width: int) -> list[Line]:
    """A styled line wrapped at spaces to ``width`` columns; continuation lines start at
    the hanging indent. A word longer than a whole line is split where the line ends."""
    import re

    indent = _hanging_indent(line, width)
    out: list[Line] = []
    current: Line = []
    used = 0
    has_word = False  # the current line holds more than its indent
    gap: Line = []  # spaces seen since the last word: dropped where the line breaks
    for cls, text in line:
        for piece in re.split(r"( +)", text):
            if not piece:
                continue
            if piece[0] == " ":
                gap.append((cls, piece))
                continue
            gap_width = sum(len(t) for _, t in gap)
            if has_word and used + gap_width + text_width(piece) > width:
                out.append(current)
                current, used, gap, gap_width = [("", " " * indent)], indent, [], 0
                has_word = False
            current.extend(gap)
            used += gap_width
            gap = []
            while used + text_width(piece) > width:  # longer than a line: split it
                head = _prefix(piece, width - used)
                if not head:  # not even one character fits after the indent
                    head = piece[:1]
                current.append((cls, head))
                out.append(current)
                current, used = [("", " " * indent)], indent
                piece = piece[len(head) :]
            if piece:
                current.append((cls, piece))
                used += text_width(piece)
                has_word = True
    if has_word or not out:
        out.append(current)
    return [[f for f in ln if f[1]] for ln in out]


def _hanging_indent(line: Line, width: int) -> int:
    """Where continuation lines start: under the text after a label (help's command or
    option column, info's key, ``error: ``), else where the line's text starts."""
    first = line[0][1] if line else ""
    lead = len(first) - len(first.lstrip(" "))
    indent = lead
    if len(line) > 1 and first.strip() and first.endswith(" "):
        indent = text_width(first)
    if indent > width // 2:  # a label too wide for the terminal: a plain indent
        indent = min(lead + 2, width // 2)
    return indent


def clock(t: float) -> str:
    """Wall-clock time with milliseconds, for logs."""
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t % 1 * 1000):03d}"


def event_line(event: Event, *, encoding: str = "utf-8") -> Line:
    """One event as a live notice: ``[p] stdout 6 bytes waiting: b'hello\\n'``."""
    line: Line = [("event", "["), ("event.name", event.source), ("event", "] ")]
    if event.kind in ("data", "waiting") and event.direction == "in":
        stream = f"{event.stream} " if event.stream else ""
        text = f"{stream}{plural(event.size, 'byte')} waiting: {preview(event.data)}"
        line.append(("event", text))
    elif event.kind == "relay":  # traffic a relay passed on, as its --hex or --text asks
        hex_ = event.fields.get("show") == "hex"
        room = 16 if hex_ else 100  # bytes: about one terminal line either way
        body = traffic_body(event.data[:room], "hex" if hex_ else "text", encoding)
        cut = " ..." if event.size > room else ""
        line += [("event", f"{event.stream} {plural(event.size, 'byte')}: "),
                 ("value", body + cut)]  # fmt: skip
    else:
        line.append(("event", event.detail))
    return line


def traffic_body(data: bytes, display: str, encoding: str) -> str:
    """Bytes on one line: hex pairs, a repr, or text with newlines and controls escaped."""
    if display == "hex":
        return data.hex(" ")
    if display == "repr":
        return repr(data)
    return safe_text(data, encoding).replace("\n", "\\n")


def log_line(event: Event, *, display: str, encoding: str, start: float | None = None) -> Line:
    """One log entry: time, direction, what; data shown per display mode."""
    stamp = clock(event.t)
    arrow = {"in": "<-", "out": "->"}.get(event.direction, "--")
    line: Line = [("notice", f"{stamp} "), ("event", f"{arrow} ")]
    if event.kind in ("data", "write", "send", "recv", "relay"):
        what = f"{event.stream} {plural(event.size, 'byte')}"
        body = traffic_body(event.data, display, encoding)
        cut = " ..." if event.truncated else ""
        style = "stderr" if event.stream == "stderr" else "value"
        line += [("key", f"{what}: "), (style, body + cut)]
    else:
        line.append(("value", event.detail))
    return line
