"""Waiting on file descriptors with poll(2): select(2) takes none past 1023 (FD_SETSIZE),
and a shell with a thousand connections open hands out higher ones."""

from __future__ import annotations

import select

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any


def poll_ready(read: Iterable[Any] = (), write: Iterable[Any] = (),
               timeout: float | None = 0.0) -> bool:  # fmt: skip
    """Whether a descriptor (or what has a fileno()) of ``read`` is readable, or one of
    ``write`` writable, or has an error or hang-up to report, now or within ``timeout``
    seconds (None: however long it takes)."""
    masks: dict[int, int] = {}
    for objs, mask in ((read, select.POLLIN), (write, select.POLLOUT)):
        for obj in objs:
            fd = obj if isinstance(obj, int) else obj.fileno()
            masks[fd] = masks.get(fd, 0) | mask
    poller = select.poll()
    for fd, mask in masks.items():
        poller.register(fd, mask)
    return bool(poller.poll(None if timeout is None else timeout * 1000))
