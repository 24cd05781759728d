"""Stdlib calls made and recorded for ``explain``, written as the user would write them."""

from __future__ import annotations

from pslrepl.callrecord import Call, py_repr, receiver_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pslrepl.invocation import Invocation

MAX_RECORDED = 64  # calls one command lists; a long read loop sums up the rest


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
    on = receiver_of(fn)
    try:
        value = fn(*args, **kwargs)
    except BaseException as exc:
        record_call(ctx, func, shown, f"raised {type(exc).__name__}", on=on)
        raise
    record_call(ctx, func, shown, py_repr(value), on=on, value=value)
    return value


def record_call(ctx: Invocation, func: str, args: str, result: str, *, on: Any = None,
                value: Any = None) -> None:  # fmt: skip
    """Append a call to the command's list; past MAX_RECORDED, one line counts the rest.
    ``on`` and ``value``: the objects called and returned, named when the command ends."""
    calls = ctx.calls
    if len(calls) < MAX_RECORDED:
        calls.append(Call(func, args, result, on=on, value=value))
        return
    last = calls[-1]
    more = 1
    if last.args == "..." and last.result.endswith(" more calls, not listed"):
        more = int(last.result.split()[0]) + 1
        calls.pop()
    calls.append(Call(func, "...", f"{more} more calls, not listed"))


def end_tls(sock: Any) -> None:
    """Send TLS's close_notify before the socket closes, so the peer sees TLS end cleanly
    and not "unexpected eof". Non-blocking: it sends ours and doesn't wait for theirs."""
    try:
        sock.setblocking(False)
        sock.unwrap()
    except (OSError, ValueError):
        pass  # the peer left first, or TLS never got going: nothing to end cleanly
