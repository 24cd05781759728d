"""Stdlib calls made and recorded for ``explain``, written as the user would write them."""

from __future__ import annotations

import socket

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pslrepl.invocation import Invocation

MAX_RECORDED = 64  # calls one command lists; a long read loop sums up the rest


def py_repr(value: Any, limit: int = 80) -> str:
    """An argument or result as Python source, short: socket constants by name
    (socket.MSG_PEEK, not <MsgFlag.MSG_PEEK: 2>), a socket as ``sock``, bytes cut."""
    import enum

    if isinstance(value, enum.Enum) and type(value).__module__ == "socket":
        names = value.name or ""
        if names:
            return "|".join(f"socket.{n}" for n in names.split("|"))
        return str(value.value)
    if isinstance(value, socket.socket):
        return "sock"
    if isinstance(value, memoryview):
        value = bytes(value[:limit])
    if isinstance(value, (bytes, bytearray)):
        text = repr(bytes(value[:limit]))
        return text + ("..." if len(value) > limit else "")
    if isinstance(value, (tuple, list)):
        inner = ", ".join(py_repr(v, 40) for v in value[:8]) + (", ..." if len(value) > 8 else "")
        if isinstance(value, list):
            text = f"[{inner}]"
        else:
            text = f"({inner}{',' if len(value) == 1 else ''})"
        return text if len(text) <= limit * 2 else text[: limit * 2 - 3] + "..."
    text = repr(value)
    if " at 0x" in text:  # an object's default repr: its address says nothing
        text = f"<{type(value).__module__}.{type(value).__qualname__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def traced(ctx: Invocation | None, func: str, fn: Callable[..., Any], *args: Any,
           **kwargs: Any) -> Any:  # fmt: skip
    """Make a stdlib call and record it for ``explain`` as the user would write it.
    Without ``ctx`` (a read-ahead no command asked for) the call is made unrecorded."""
    shown = ", ".join([py_repr(a) for a in args] + [f"{k}={py_repr(v)}" for k, v in kwargs.items()])
    return traced_as(ctx, func, shown, fn, *args, **kwargs)


def traced_as(ctx: Invocation | None, func: str, shown: str, fn: Callable[..., Any],
              *args: Any, **kwargs: Any) -> Any:  # fmt: skip
    """traced, with the arguments shown as given (a constant by name: socket.SHUT_WR is
    a plain int)."""
    if ctx is None:
        return fn(*args, **kwargs)
    try:
        value = fn(*args, **kwargs)
    except BaseException as exc:
        record_call(ctx, func, shown, f"raised {type(exc).__name__}")
        raise
    record_call(ctx, func, shown, py_repr(value))
    return value


def record_call(ctx: Invocation, func: str, args: str, result: str) -> None:
    """Append a call to the command's list; past MAX_RECORDED, one line counts the rest."""
    from pslrepl.invocation import Call

    calls = ctx.calls
    if len(calls) < MAX_RECORDED:
        calls.append(Call(func, args, result))
        return
    last = calls[-1]
    more = 1
    if last.args == "..." and last.result.endswith(" more calls, not listed"):
        more = int(last.result.split()[0]) + 1
        calls.pop()
    calls.append(Call(func, "...", f"{more} more calls, not listed"))
