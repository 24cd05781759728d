"""The diagram as a standalone SVG picture, and as an HTML page with it and a table of steps.

The SVG holds no time and writes run-to-run values (ports, pids, the session's temporary
directory) as the transcript placeholders, so a replayed transcript draws the same file.
"""

from __future__ import annotations

from html import escape as _html_escape

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.timeline.model import Diagram, Step
    from pslrepl.transcript.writing import Namer

LANE = 150  # px between lanes
ROW = 24  # px per row
TOP = 44  # px above the first row: the lane names
MARGIN = 12
MARK_ROOM = 260  # px right of the last lane for a mark's label
CHAR = 6.6  # px a character of the 11px monospace font takes, about
TITLE_BYTES = 512  # bytes a step's title (its tooltip) shows

_COLOUR = {
    "send": "#1f5fa8", "recv": "#1f5fa8", "write": "#1f5fa8", "data": "#2d7d2d",
    "relay": "#6b4fa0", "eof": "#b36b00", "shutdown": "#b36b00", "rst": "#c0262d",
    "error": "#c0262d", "trunc": "#b36b00", "exit": "#7a5c00", "sent": "#a0407a",
    "signal": "#a0407a", "close": "#777777",
}  # fmt: skip


# XML 1.0 allows no control character but tab, LF and CR: a typed or pasted line, or a
# peer's words, may hold one (an escape sequence), which would make the file unreadable.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)}


def escape(text: str) -> str:
    """``text`` for XML and HTML: markup escaped, control characters as \\xNN."""
    return _html_escape(text.translate(_CONTROL))


def placeholders(namer: Namer | None, text: str) -> str:
    """``text`` with its run-to-run values written as ``{name.port}`` placeholders."""
    if namer is None:
        return text
    return "".join(f"{{{name}}}" if name else part for part, name in namer.split(text))


def _cut(text: str, room: float) -> str:
    most = max(int(room / CHAR), 3)
    return text if len(text) <= most else text[: most - 1] + "\u2026"


def _title(step: Step, namer: Namer | None) -> str:
    words = step.words or step.label
    if step.size:
        shown = repr(step.data[:TITLE_BYTES]) + (" ..." if step.size > TITLE_BYTES else "")
        words = f"{words}\n{step.size} bytes: {shown}"
    return escape(placeholders(namer, words))


def svg(diagram: Diagram, namer: Namer | None = None, *, standalone: bool = True) -> str:
    """The picture: the lanes' names on top, a dashed line down each, then a row per
    command line, pause and step (an arrow with its label, or a dot with it beside)."""
    lanes = diagram.lanes
    x = {lane: MARGIN + LANE // 2 + i * LANE for i, lane in enumerate(lanes)}
    rows: list[str] = []
    y = TOP
    command = -1
    for n, step in enumerate(diagram.steps):
        if step.gap:
            y += ROW
            right = MARGIN + LANE * len(lanes)
            rows.append(f'<line class="gap" x1="{MARGIN}" y1="{y - 8}" x2="{right}" '
                        f'y2="{y - 8}"/><text class="cmd" x="{MARGIN}" y="{y - 12}">'
                        "\u2026 later</text>")  # fmt: skip
        if step.command != command:
            command = step.command
            line = diagram.commands.get(command, "")
            if line:
                y += ROW
                text = escape(_cut(placeholders(namer, f"psl> {line}"), LANE * len(lanes)))
                rows.append(f'<text class="cmd" x="{MARGIN}" y="{y - 8}">{text}</text>')
        y += ROW
        colour = _COLOUR.get(step.kind, "#333333")
        label = placeholders(namer, step.label.replace("\n", "\\n"))
        a, b = x[step.src], x[step.dst]
        body = [f'<g class="step" data-step="{n + 1}"><title>{_title(step, namer)}</title>']
        if step.arrow:
            end = b - 4 if b > a else b + 4
            text = escape(_cut(label, abs(b - a) - 8))
            body.append(f'<line x1="{a}" y1="{y - 6}" x2="{end}" y2="{y - 6}" stroke="{colour}" '
                        'marker-end="url(#head)"/>')  # fmt: skip
            body.append(f'<text x="{(a + b) // 2}" y="{y - 10}" text-anchor="middle" '
                        f'fill="{colour}">{text}</text>')  # fmt: skip
        else:
            text = escape(_cut(label, LANE * (len(lanes) - lanes.index(step.src)) + MARK_ROOM))
            body.append(f'<circle cx="{a}" cy="{y - 6}" r="4" fill="{colour}"/>')
            body.append(f'<text x="{a + 9}" y="{y - 2}" fill="{colour}">{text}</text>')
        body.append("</g>")
        rows.append("".join(body))
    height = y + ROW
    width = MARGIN * 2 + LANE * max(len(lanes), 1) + MARK_ROOM
    heads = []
    for lane in lanes:
        shown = placeholders(namer, lane)
        if lane in diagram.external and len(shown) > max(int((LANE - 16) / CHAR), 3):
            shown = "\u2026" + shown[-max(int((LANE - 16) / CHAR), 3) + 1 :]  # keep the port
        name = escape(_cut(shown, LANE - 16))
        kind = "outside" if lane in diagram.external else "lane"
        heads.append(
            f'<rect class="{kind}" x="{x[lane] - LANE // 2 + 6}" y="6" width="{LANE - 12}" '
            f'height="22" rx="4"/><text class="name" x="{x[lane]}" y="21" '
            f'text-anchor="middle">{name}</text><line class="life" x1="{x[lane]}" y1="28" '
            f'x2="{x[lane]}" y2="{height - 6}"/>'
        )
    head = '<?xml version="1.0" encoding="UTF-8"?>\n' if standalone else ""
    return (
        f'{head}<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="11">\n'
        "<style>.lane{fill:#eef3fa;stroke:#5a7fb0}.outside{fill:#f6f0e6;stroke:#b08a5a;"
        "stroke-dasharray:4 2}.name{font-weight:bold;fill:#222}.life{stroke:#b8c2cc;"
        "stroke-dasharray:3 3}.cmd{fill:#6a7380;font-style:italic}.gap{stroke:#999;"
        "stroke-dasharray:1 4}</style>\n"
        '<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
        'fill="context-stroke"/></marker></defs>\n'
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>\n'
        + "\n".join(heads + rows)
        + "\n</svg>\n"
    )


def html(diagram: Diagram, namer: Namer | None = None) -> str:
    """One self-contained page: the picture, then a table of the steps; a row's title
    (hover) shows its bytes, and a click opens them as a hex dump."""
    from pslrepl.render import hexdump

    start = diagram.steps[0].t if diagram.steps else 0.0
    rows = []
    for n, step in enumerate(diagram.steps):
        to = "" if not step.arrow else f" \u2192 {escape(placeholders(namer, step.dst))}"
        line = escape(placeholders(namer, diagram.commands.get(step.command, "")))
        what = escape(placeholders(namer, step.words or step.label))
        data = ""
        if step.size:
            dump = escape("\n".join(hexdump(step.data)))
            cut = f" (the first {len(step.data)} kept)" if step.size > len(step.data) else ""
            data = (f"<details><summary>{step.size} bytes{cut}</summary><pre>{dump}</pre>"
                    "</details>")  # fmt: skip
        rows.append(
            f'<tr id="step-{n + 1}" title="{_title(step, namer)}"><td>{n + 1}</td>'
            f"<td>+{step.t - start:.3f}s</td><td><code>{line}</code></td>"
            f"<td>{escape(placeholders(namer, step.src))}{to}</td><td>{what}</td>"
            f"<td>{data}</td></tr>"
        )
    picture = svg(diagram, namer, standalone=False)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>pslrepl timeline</title><style>body{font-family:sans-serif;margin:1.5em}"
        "table{border-collapse:collapse;margin-top:1em}td,th{border:1px solid #ccc;"
        "padding:2px 6px;vertical-align:top;font-size:13px}tr:hover{background:#f3f6fb}"
        "summary{cursor:pointer}pre{margin:0}</style></head><body>\n"
        f"<h1>pslrepl timeline</h1>\n{picture}\n"
        "<table><thead><tr><th>#</th><th>time</th><th>command</th><th>lanes</th>"
        "<th>what</th><th>bytes</th></tr></thead><tbody>\n"
        + "\n".join(rows)
        + "\n</tbody></table>\n</body></html>\n"
    )
