"""The bottom toolbar: live resources and their state, as (style, text) fragments."""

from __future__ import annotations

from pslrepl.render import cut_line, line_width
from pslrepl.session import Session

MAX_SHOWN = 12
EMPTY = " nothing live: try `spawn p -- cat` or `help`"


def toolbar_fragments(session: Session, *, width: int = 100) -> list[tuple[str, str]]:
    """``p1 running pid 4242 | p2 exited 0``, with ``+N more (ls)`` for those left out,
    in one line of fewer than ``width`` columns: the toolbar never wraps. Where not even
    the first resource fits, its state is cut with an ellipsis."""
    room = max(width - 1, 0)  # the last column: some terminals wrap on writing there
    resources = list(session.registry)
    if not resources:
        return cut_line([("class:bottom-toolbar.dim", EMPTY)], room)
    pieces = [(res.name, res.toolbar()) for res in resources]
    for shown in range(min(len(pieces), MAX_SHOWN), 0, -1):
        fragments = _fragments(pieces[:shown], len(pieces) - shown)
        if line_width(fragments) <= room:
            return fragments
    # Not even one fits whole: the first one cut, so that the count of the rest shows.
    first = _fragments(pieces[:1], 0)
    rest = _fragments([], len(pieces) - 1)[1:]
    if room - line_width(rest) >= len(pieces[0][0]) + 4:
        return cut_line(first, room - line_width(rest)) + rest
    return cut_line(first + rest, room)


def _fragments(shown: list[tuple[str, str]], more: int) -> list[tuple[str, str]]:
    fragments: list[tuple[str, str]] = [("class:bottom-toolbar", " ")]
    for i, (name, state) in enumerate(shown):
        if i:
            fragments.append(("class:bottom-toolbar.dim", " | "))
        fragments.append(("class:bottom-toolbar.name", name))
        fragments.append(("class:bottom-toolbar", f" {state}"))
    if more:
        fragments.append(("class:bottom-toolbar.dim", f" | +{more} more (ls)"))
    return fragments
