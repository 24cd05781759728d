"""The diagram as data: lanes (the shell, each resource, outside peers) and the steps between them.

Built from the session's event log (what each resource did) and its command records
(the calls, for what no event says: a recv that read EOF, one a reset refused, a
datagram cut short). Each renderer (terminal, SVG, HTML, Mermaid) draws this alone.
"""

from __future__ import annotations

import bisect

from pslrepl.timeline.ends import Ends, address, find_ends
from pslrepl.timeline.steps import PREVIEW, SHELL, Step

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection, Sequence
    from typing import Any

    from pslrepl.events import Event
    from pslrepl.invocation import CommandRecord
    from pslrepl.session import Session

GAP = 5.0  # seconds between one command's last step and the next one: marked, not drawn

# How each traffic kind is drawn: the verb on the arrow.
_VERBS = {"send": "send", "recv": "recv", "write": "write", "data": "", "relay": "relay"}


class Diagram:
    """Lanes in order of first appearance (the shell first) and the steps, oldest first;
    ``commands`` maps a command's number to its line."""

    def __init__(self, lanes: list[str], steps: list[Step], commands: dict[int, str],
                 external: set[str], *, pause: float = 0.0) -> None:  # fmt: skip
        self.lanes = lanes
        self.steps = steps
        self.commands = commands
        self.external = external  # lanes that are outside peers, named by address
        # Steady (a transcript): a pause is said as "more than PAUSE s", not its length.
        self.pause = pause
        self.gone = 0  # the log's length, when older steps have left it: said above them
        self.said: list[str] = []  # what the records don't know, said above the steps

    def index(self, lane: str) -> int:
        return self.lanes.index(lane)


def build(session: Session, *, names: Sequence[str] = (), last: int | None = None,
          since: float | None = None, gap: float = GAP, steady: bool = False,
          first: int = 0, skip: Collection[int] = ()) -> Diagram:  # fmt: skip
    """The diagram of the session's log (the named resources' steps only, if any named):
    the last ``last`` steps, none before ``since``. ``steady``: the same every run (a
    transcript): without what threads posted, which falls under whichever command was
    running, and pauses said without their length. ``first``: the number of the command
    before the first drawn one (a recording's `record`), so they count from 1 after it.
    ``skip``: commands left out, and not counted (those typed live during --present)."""
    events = list(session.log)
    records = list(session.history)
    ends = find_ends(session, events)
    wanted = set(names)
    steps: list[Step] = []
    # Newest first, so --last stops early: a long session draws its end at once. Twice
    # as many as asked: the calls' steps and a MSG_TRUNC fold in among them.
    enough = None if last is None else 2 * last + 10
    for event in reversed(events):
        if since is not None and event.t < since:
            break
        for made in _steps(event, ends):
            if not wanted or made.src in wanted or made.dst in wanted:
                steps.append(made)
        if enough is not None and len(steps) >= enough:
            break
    oldest = min((s.t for s in steps), default=0.0) if enough is not None else None
    from pslrepl.timeline.calls import call_steps, child_steps

    since_records = _since(records, oldest)
    steps += call_steps(since_records, ends) + child_steps(since_records, ends)
    steps.sort(key=lambda s: s.t)
    steps = _fold_truncation(steps)
    if wanted:
        steps = [s for s in steps if s.src in wanted or s.dst in wanted]
    quieted = steady and any(s.background for s in steps)
    if steady:
        steps = [s for s in steps if not s.background]
    if since is not None:
        steps = [s for s in steps if s.t >= since]
    commands = _attribute(steps, records, gap)
    left = 0
    if skip:
        left = sum(s.command in skip for s in steps)
        steps = [s for s in steps if s.command not in skip]
        for each in steps:
            each.command -= sum(n < each.command for n in skip)
        commands = {n - sum(k < n for k in skip): line for n, line in commands.items()
                    if n not in skip}  # fmt: skip
    if first:
        for each in steps:
            each.command = max(each.command - first, 0)
        commands = {n - first: line for n, line in commands.items() if n > first}
    steps = _reads_last(_causes_first(steps))
    if last is not None:  # the last rows as drawn: a command's own steps come first
        steps = steps[-last:] if last else []
    lanes = [SHELL] if any(SHELL in (s.src, s.dst) for s in steps) else []
    for step in steps:
        for lane in (step.src, step.dst):
            if lane not in lanes:
                lanes.append(lane)
    external = {lane for lane in lanes if lane not in ends.names and lane != SHELL}
    diagram = Diagram(lanes, steps, commands, external, pause=gap if steady else 0.0)
    if quieted:  # said, not counted: how many a thread posted depends on timing
        diagram.said.append("(steady: what ran in the background is left out; a terminal "
                            "shows it)")  # fmt: skip
    if left:
        diagram.said.append(f"({left} step{'s' if left > 1 else ''} of commands typed live "
                            "left out)")  # fmt: skip
    guessed = sorted({r for r in ends.guessed.values() if r in lanes})
    if guessed:
        diagram.said.append(f"({', '.join(guessed)}: onward connection matched by order: "
                            "no address logged for it)")  # fmt: skip
    kept = session.log.maxlen
    if kept and len(events) >= kept and last is None and (since is None or since <= events[0].t):
        diagram.gone = kept  # the drawing would reach further back than the log does
    return diagram


def _since(records: list[CommandRecord], oldest: float | None) -> list[CommandRecord]:
    """The records whose calls may fall at ``oldest`` or later (all, for None)."""
    if oldest is None:
        return records
    starts = [r.started for r in records]
    return records[max(bisect.bisect_right(starts, oldest) - 1, 0) :]


def _preview(data: bytes) -> str:
    from pslrepl.render import preview

    return preview(data, 24)


def _steps(event: Event, ends: Ends) -> list[Step]:
    """The steps one event draws (most draw one; a live notice none: it is not logged)."""
    name, kind, f = event.source, event.kind, event.fields
    t = event.t
    traffic_kind = kind in ("send", "recv", "write", "data", "relay")
    # Traffic is said by its label; other kinds by their words (worded only for these:
    # a long session's thousands of sends cost no sentence each).
    words = "" if traffic_kind else event.detail
    data = bytes(event.data[:PREVIEW])

    def step(src: str, dst: str, label: str, **kw: object) -> list[Step]:
        made = Step(t, src, dst, label, kind=kind, words=words, **kw)  # type: ignore[arg-type]
        made.background |= event.stream == "client"  # a server's thread moved these
        return [made]

    if traffic_kind:
        what = f"{_VERBS[kind] or event.stream} {event.size}".strip()
        label = f"{what} {_preview(event.data)}" if event.size else what
        if (
            not event.size
            and kind in ("send", "recv")
            and (f.get("peer") or ends.is_dgram(name, t))
        ):
            label += " (an empty datagram)"
        traffic = {"data": data, "size": event.size}
        if kind == "write":
            return step(SHELL, name, label, **traffic)
        if kind == "data":
            return step(name, SHELL, label, **traffic)
        if kind == "relay":
            return _relay_copy(event, ends, label, step, traffic)
        peer = f.get("peer") or ""
        # A connected socket: its peer then (a name used again is another socket).
        other = ends.owner(peer) if peer else ends.peer_at(name, t)
        if kind == "send":
            return step(name, other or name, label, **traffic)
        if other and other not in ends.names:  # an outside peer: it never says it sent
            return step(other, name, label, **traffic)
        return step(name, name, label, **traffic)  # the read: its sends are arrows already
    if kind == "start":
        origin = f.get("origin", "")
        remote, local = f.get("remote", ""), f.get("local", "")
        if "pid" in f or event.detail.startswith("started pid"):
            return step(SHELL, name, "spawn " + event.detail.partition(": ")[2])
        if origin.endswith("connected") and remote:
            # To what listened there: what it accepts comes after.
            return step(name, ends.owner(remote), origin.replace("ed", ""))
        if origin == "accepted" and local:
            listener = ends.local.get(local, name)
            return step(listener, name, "accept")
        if origin == "socketpair" and (name, t) in ends.partner:
            # One arrow for the pair, from its first end; the second draws none.
            if (name, t) in ends.first_of_pair:
                return step(name, ends.partner[(name, t)], "socketpair")
            return []
        return step(name, name, words)
    if kind == "connect" and name in ends.relaying:
        # A relay's thread connects onward once its client has come: an arrow to what
        # it reached, posted as it happened (where it falls is timing's).
        made = step(name, ends.owner(f.get("remote", "")), "connect")
        made[0].background = True
        return made
    if kind == "shutdown":
        how = f.get("how") or ("wr" if "WR" in words and "RDWR" not in words else "")
        other = ends.peer_at(name, t)
        if other and how == "wr":
            return step(name, other, "FIN " + words)
        return step(name, name, words)
    if kind == "eof" and event.direction == "out":
        return step(SHELL, name, f"EOF ({event.stream or 'stdin'} closed)")
    if kind == "sent":
        return step(SHELL, name, words)
    if kind == "signal":
        return step(SHELL, SHELL, words)
    if kind == "client":
        peer = f.get("peer", "")
        if f.get("phase") == "connected" or words.endswith("connected"):
            return step(ends.owner(peer) if peer else name, name, "client connected")
        return step(name, name, words)
    if kind == "accept":
        return step(ends.owner(f.get("peer", "")) or name, name, "accept")
    if kind in ("waiting", "pending", "elided"):
        return []
    if kind == "error" and "errno" in f and event.direction == "in":  # a read met it
        import errno

        code = errno.errorcode.get(f["errno"], str(f["errno"]))
        label = "RST: ECONNRESET" if code == "ECONNRESET" else f"error: {code}"
        return [Step(t, name, name, label, kind="rst", words=words)]
    return step(name, name, words)


def _relay_copy(
    event: Event, ends: Ends, label: str, step: Any, traffic: dict[str, Any]
) -> list[Step]:
    """A relay's copy (relay --text): an arrow from the relay to the side it wrote to,
    the side it connects to or the client that came to it."""
    name, t = event.source, event.t
    _, _, to = event.stream.partition(" -> ")
    what = label
    target = address(to)
    if to.startswith(("tcp-listen:", "udp-listen:")):
        client = ends.relay_clients.get(name, [])
        peer = next((p for when, p in reversed(client) if when <= t), "")
        if peer:
            return step(name, ends.owner(peer), what, **traffic)
    elif target:
        return step(name, ends.owner(target), what, **traffic)
    return step(name, name, f"{event.stream}: {label.partition(' ')[2]}", **traffic)


def _causes_first(steps: list[Step]) -> list[Step]:
    """In each command: its own steps, then what threads posted meanwhile, then its own
    reads. A server reads what a send wrote before the send's event is posted (stamped
    as the call returns), and a recv's event comes once the peer's reply has: by time
    alone the reply would come before the request, and the read before the reply."""

    def rank(step: Step) -> int:
        if step.background:
            return 1
        return 2 if step.kind in ("recv", "eof", "rst") and not step.arrow else 0

    ordered = sorted(steps, key=lambda s: (s.command, rank(s)))  # stable: by time within
    pause = {}
    for step in steps:
        if step.gap:
            pause[step.command] = step.gap
            step.gap = 0.0
    seen: set[int] = set()
    for step in ordered:
        if step.command not in seen:
            seen.add(step.command)
            step.gap = pause.get(step.command, 0.0)
    return ordered


def _reads_last(steps: list[Step]) -> list[Step]:
    """A read of EOF after the bytes the same command read before it: recv --all posts
    what it read once it has met EOF, so the EOF call comes first in time."""
    out = list(steps)
    for i in range(len(out) - 1, -1, -1):
        step = out[i]
        if step.kind != "eof" or step.arrow:
            continue
        later = [k for k in range(i + 1, len(out)) if out[k].command == step.command
                 and out[k].kind == "recv" and step.src in (out[k].src, out[k].dst)]  # fmt: skip
        if later:
            out.insert(later[-1], out.pop(i))
    return out


def _fold_truncation(steps: list[Step]) -> list[Step]:
    """A MSG_TRUNC the call showed, said on the read it cut (its event comes just after)."""
    out: list[Step] = []
    cut: dict[str, Step] = {}
    empty: dict[str, Step] = {}  # a datagram read of b'' whose event may follow
    for step in steps:
        if step.kind == "trunc":
            cut[step.src] = step
            continue
        if step.kind == "dgram0":
            step.kind = "recv"
            empty[step.src] = step
            out.append(step)
            continue
        if step.kind == "recv" and not step.size and step.dst in empty:
            out.remove(empty.pop(step.dst))  # the event says it: one step, not two
        elif step.kind == "recv" and step.dst in empty:
            del empty[step.dst]
        if step.kind == "recv" and step.dst in cut:
            del cut[step.dst]
            step.label += " (MSG_TRUNC: the rest is lost)"
            step.words += " (MSG_TRUNC: the datagram was longer; the rest is lost)"
        out.append(step)
    return out


def _attribute(steps: list[Step], records: Sequence[CommandRecord], gap: float) -> dict[int, str]:
    """Each step's command (the last one started before it) and the gaps: a command
    that began more than ``gap`` seconds after the step before it."""
    starts = [r.started for r in records]
    commands: dict[int, str] = {}
    previous: Step | None = None
    for step in steps:
        i = bisect.bisect_right(starts, step.t) - 1
        if i >= 0:
            record = records[i]
            step.command = record.number
            commands[record.number] = record.line
            if previous is not None and previous.command != step.command and gap > 0:
                idle = record.started - previous.t
                if idle > gap:
                    step.gap = step.t - previous.t
        previous = step
    return commands
