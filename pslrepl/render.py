"""Results and events to styled lines (pure: no I/O, no terminal)."""

from __future__ import annotations

import time

from pslrepl.results import Fields, Output, Styled, Table, Text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.events import Event
    from pslrepl.results import Cell, Fragment, Line, Result

# Control characters but tab and newline, shown as \xNN so a child's escape codes
# can't drive the user's terminal.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F)}
_CONTROL[0x0D] = "\\r"  # CR LF ends every line of HTTP, SMTP...: show it by name


def safe_text(data: bytes, encoding: str) -> str:
    """Decode for display; control characters (a child's escape codes) shown escaped."""
    text = data.decode(encoding, errors="backslashreplace")
    return text.translate(_CONTROL)


def preview(data: bytes, limit: int = 40) -> str:
    """A short repr of bytes for one-line messages: b'hello wor'..."""
    if len(data) <= limit:
        return repr(bytes(data))
    return repr(bytes(data[:limit])) + "..."


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


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


def render_table(table: Table) -> list[Line]:
    if not table.rows:
        return [[("notice", table.empty)]]
    cells = [[_cell(c) for c in row] for row in table.rows]
    widths = [max(len(h), table.min_widths.get(i, 0)) for i, h in enumerate(table.headers)]
    for row in cells:
        for i, (_, text) in enumerate(row):
            widths[i] = max(widths[i], len(text))
    lines: list[Line] = []
    header = "  ".join(f"{h:<{w}}" for h, w in zip(table.headers, widths, strict=True)).rstrip()
    lines.append([("header", header)])
    for row in cells:
        line: Line = []
        for i, (cls, text) in enumerate(row):
            line.append((cls, text))
            if i < len(row) - 1:
                line.append(("", " " * (widths[i] - len(text) + 2)))
        lines.append(line)
    return lines


def _cell(cell: Cell, style: str = "") -> Fragment:
    return (style, cell) if isinstance(cell, str) else cell


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
        line.append(("event", event.detail or event.kind))
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
        line.append(("value", event.detail or event.kind))
    return line
