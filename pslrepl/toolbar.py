"""The bottom toolbar: live resources and their state, as (style, text) fragments."""

from __future__ import annotations

from pslrepl.session import Session

MAX_SHOWN = 12


def toolbar_fragments(session: Session, *, width: int = 100) -> list[tuple[str, str]]:
    """``p1 running pid 4242 | p2 exited 0``, cut with ``+N more`` to fit the width."""
    resources = list(session.registry)
    if not resources:
        return [("class:bottom-toolbar.dim", " nothing live: try `spawn p -- cat` or `help`")]
    fragments: list[tuple[str, str]] = [("class:bottom-toolbar", " ")]
    used = 1
    for i, res in enumerate(resources):
        piece = f"{res.name} {res.toolbar()}"
        sep = " | " if i else ""
        more = len(resources) - i
        if i >= MAX_SHOWN or used + len(sep) + len(piece) > width - 12:
            fragments.append(("class:bottom-toolbar.dim", f" | +{more} more (ls)"))
            break
        if sep:
            fragments.append(("class:bottom-toolbar.dim", sep))
        fragments.append(("class:bottom-toolbar.name", res.name))
        fragments.append(("class:bottom-toolbar", f" {res.toolbar()}"))
        used += len(sep) + len(piece)
    return fragments
