"""timeline: the session as a sequence diagram, in the terminal, as SVG, HTML or Mermaid."""

from __future__ import annotations

from pslrepl.commands.groups import SESSION
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.kinds import PATH, SECONDS, Int, Kind

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from pslrepl.invocation import CommandRecord, Invocation
    from pslrepl.kinds import Completing, Where
    from pslrepl.session import Session
    from pslrepl.timeline.model import Diagram
    from pslrepl.transcript.writing import Namer

COMMANDS = Commands(SESSION)


class Lane(Kind):
    """A lane's name: a resource, live or closed (its steps stay in the log), or psl."""

    name = "lane"

    def convert(self, raw: str, where: Where) -> Any:
        if where.session is not None:
            _check_name(where.session, raw)
        return raw

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        return ask.resources((), prefix)


# Scripts and transcripts have no terminal to fit: they draw this wide, every run alike.
PLAIN_WIDTH = 80


@COMMANDS.command(
    "timeline",
    "draw the session (or the named resources) as a sequence diagram",
    args=(Arg("NAME", Lane(), optional=True, many=True),),
    opts=(
        Opt("--last", "only the last N steps", "N", kind=Int(0, 2**63 - 1)),
        Opt(
            "--since",
            "only steps from TIME on: HH:MM[:SS] today, or a duration ago (30s, 2m)",
            "TIME",
        ),  # fmt: skip
        Opt(
            "--svg", "write a standalone SVG picture to FILE", "FILE", kind=PATH, exclusive="format"
        ),  # fmt: skip
        Opt(
            "--html",
            "write a self-contained page: the picture and a table of the events "
            "(hover or click a row for its bytes)",
            "FILE",
            kind=PATH,
            exclusive="format",
        ),
        Opt("--mermaid", "print a Mermaid sequenceDiagram", exclusive="format"),
        Opt(
            "--gap",
            "mark pauses longer than S between commands (default 5 s; 0: never)",
            "S",
            kind=SECONDS,
        ),  # fmt: skip
    ),
    examples=("timeline", "timeline c s --last 20", "timeline --mermaid"),
    setup=(
        "tcp listen srv 0",
        "tcp connect c srv",
        "accept srv s",
        'send c "one "',
        'send c "two"',
        "recv s",
    ),  # fmt: skip
    details="One lane for the shell (psl), each resource and each outside peer (by its "
    "address); time goes down. Arrows: connect and accept, each send (with its byte count "
    "and the first bytes), a child's writes and output, signals sent, shutdown's FIN. A "
    "recv is a mark on the socket that read: two sends that one recv read show as two "
    "arrows and one mark. EOF (recv returned b''), a reset (ECONNRESET), a datagram cut "
    "short (MSG_TRUNC), exits and closes are marks too. A child of run, call, "
    "check_output or sh is a lane of its own, (PROGRAM), drawn from what its call "
    "returned (sh's output is not kept). Each command's line heads its "
    "steps; a pause is marked, not drawn to scale. In the terminal the lanes fit its width "
    "(the least busy merge into '...'); plain ASCII when output is not a terminal, under "
    "NO_COLOR or TERM=dumb. While `record` writes, in a replay or script (quiet events, "
    "no terminal) and in the steps --present shows, the drawing is steady: 80 columns, "
    "the recording's commands numbered from 1, pauses as 'more than 5s', and without "
    "what threads posted (a child's output, a server's side), whose place depends on "
    "timing. The SVG and HTML files are written readable by you alone, "
    "never through a symbolic link; the SVG writes ports, pids and the like as the "
    "transcript placeholders ({srv.port}), so a replayed transcript draws the same file.",
)
def _timeline(ctx: Invocation) -> None:
    from pslrepl.timeline.model import GAP, build

    session = ctx.session
    names: list[str] = list(ctx["name"] or [])
    since = _since(ctx["since"]) if ctx["since"] is not None else None
    gap = GAP if ctx["gap"] is None else float(ctx["gap"])
    printer = session.printer
    screen = printer.screen
    # Steady: what a transcript holds, being recorded or replayed (quiet events, no
    # terminal), must be what every replay draws. So: the steps since `record` began,
    # numbered from it, and without what threads posted meanwhile (their place is the
    # machine's timing).
    recording = session.recorder is not None
    # --present runs a transcript's steps as a replay does: the drawing it recorded.
    # --present's step: presenting holds the numbers of the commands typed live (a set,
    # maybe empty), which are no part of the transcript; False otherwise.
    live: object = session.presenting
    presenting = isinstance(live, frozenset)
    plain = recording or presenting
    steady = plain or (screen is None and session.settings.events != "live")
    first = 0
    if recording:
        begun = _recording_began(session)
        if begun is not None:
            first = begun.number
            since = begun.started if since is None else max(since, begun.started)
    diagram = build(session, names=names, last=ctx["last"], since=since, gap=gap,
                    steady=steady, first=first,
                    skip=live if isinstance(live, frozenset) else ())  # fmt: skip
    if ctx["mermaid"]:
        from pslrepl.timeline.mermaid import mermaid

        for line in mermaid(diagram):
            ctx.say(line)
        return
    for option, what in (("svg", "SVG picture"), ("html", "page")):
        target = ctx[option]
        if target is not None:
            steps, lanes = _count(len(diagram.steps), "step"), _count(len(diagram.lanes), "lane")
            path = _write(session, str(target), option, diagram)
            ctx.say(f"wrote {path}: the {what} of {steps} in {lanes}")
            return
    from pslrepl.results import Styled
    from pslrepl.timeline.text import draw

    # Recording or presenting: the plain drawing a replay makes, whatever this terminal is.
    width = screen.size()[0] if screen is not None and not plain else PLAIN_WIDTH
    for drawn in draw(diagram, width=width, fancy=printer.color and not plain):
        ctx.emit(Styled(tuple(drawn)))


def _recording_began(session: Session) -> CommandRecord | None:
    """The `record FILE` command the recording began with (the newest `record`: a
    `record stop` ended the one before)."""
    for record in reversed(list(session.history)):
        if record.command == "record":
            return record
    return None


def _count(n: int, what: str) -> str:
    from pslrepl.render import plural

    return plural(n, what)


def _check_name(session: Session, name: str) -> None:
    """A name the session has: live, or closed and still in the log."""
    if session.registry.find(name) is not None or name == "psl":
        return
    if any(e.source == name for e in list(session.log)):
        return
    session.registry.get(name, command="timeline")  # the usual 'no resource' error


def _since(raw: str) -> float:
    """--since: a clock time today (HH:MM or HH:MM:SS), or a duration ago (30s, 2m)."""
    import time

    from pslrepl.errors import UsageError

    parts = raw.split(":")
    if len(parts) in (2, 3) and all(p.isdigit() for p in parts):
        h, m, s = (int(p) for p in [*parts, "0"][:3])
        if h < 24 and m < 60 and s < 60:
            now = time.localtime()
            when = time.mktime((now.tm_year, now.tm_mon, now.tm_mday, h, m, s, 0, 0, -1))
            if when > time.time():
                raise UsageError(f"timeline: --since {raw} is later than now "
                                 f"({time.strftime('%H:%M:%S', now)}): give a time of today "
                                 "before now, or a duration ago (30s, 2m)")  # fmt: skip
            return when
    units = {"s": 1, "m": 60, "h": 3600}
    number, unit = (raw[:-1], units[raw[-1]]) if raw[-1:] in units else (raw, 1)
    try:
        ago = float(number) * unit
    except ValueError:
        ago = -1.0
    if not 0 <= ago < 1e9:  # nan fails this too
        raise UsageError(f"timeline: --since wants a clock time (14:05 or 14:05:30) or a "
                         f"duration ago (30s, 2m, 1h), not {raw!r}")  # fmt: skip
    return time.time() - ago


def _namer(session: Session, diagram: Diagram) -> Namer:
    """Placeholders for the session's values and for each outside peer's address (a
    client's port is new each run): {peer1.addr}, numbered as the lanes come."""
    from pslrepl.transcript.writing import Namer

    values = dict(session.volatile)
    known = set(values.values())
    outside = [lane for lane in diagram.lanes if lane in diagram.external and lane not in known]
    for n, lane in enumerate(outside, 1):
        values[f"peer{n}.addr"] = lane
    return Namer(values)


def _write(session: Session, target: str, option: str, diagram: Diagram) -> str:
    import os

    from pslrepl.tls_files import write_private

    if option == "svg":
        from pslrepl.timeline.svg import svg

        data = svg(diagram, _namer(session, diagram))
    else:
        from pslrepl.timeline.svg import html

        data = html(diagram, _namer(session, diagram))
    folder, name = os.path.split(os.path.expanduser(target))
    if not name or os.path.isdir(os.path.join(folder, name)):
        from pslrepl.errors import PslError

        raise PslError(f"timeline --{option}: {target} is a directory; give a file's name "
                       f"in it, like {os.path.join(target, 'timeline.' + option)}")  # fmt: skip
    return write_private(folder or ".", name, data.encode("utf-8"), what=f"timeline --{option}")
