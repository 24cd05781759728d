"""tls unwrap: TLS ended with close_notify both ways, and the connection goes on in
plain TCP (STARTTLS reversed); bounded, and Ctrl-C can cancel it."""

from __future__ import annotations

import socket

from pslrepl.commands.groups import TLS
from pslrepl.commands.options import TIMEOUT
from pslrepl.commandspec import Arg, Commands
from pslrepl.errors import PslError, Timeout
from pslrepl.kinds import ResourceOf
from pslrepl.results import Styled

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.resources.sockets import Sock

COMMANDS = Commands(TLS)


@COMMANDS.command(
    "tls unwrap",
    "end TLS (close_notify both ways) and go on in plain TCP: STARTTLS reversed",
    args=(Arg("NAME", ResourceOf("tls")),),
    opts=(TIMEOUT,),
    calls=("SSLSocket.unwrap", "socket.socket"),
    examples=("tls unwrap t --timeout 0.5",),
    setup=("serve web tcp 0 --handler echo --tls", "tls connect t web"),
    details="It sends close_notify and waits up to --timeout for the peer's. A peer that "
    "has not answered by then may unwrap its side later: `tls unwrap NAME` again "
    "finishes. Until then the connection is still TLS and can send nothing more.",
)
def _tls_unwrap(ctx: Invocation) -> None:
    from pslrepl.resources.sockets import Sock, traced

    res = ctx["name"]
    assert isinstance(res, Sock)
    tls = res.sock
    res.begin_read()  # the watcher keeps off the socket while it changes hands
    try:
        res.fill(ctx)  # what came over TLS before the peer's close_notify
        if res.held:
            raise PslError(f"{res.name}: {len(res.held)} bytes came over TLS and were not read "
                           f"yet: recv {res.name} first, then tls unwrap {res.name}")  # fmt: skip
        if (res.held_eof or res.held_error is not None) and not _peer_ended_tls(tls):
            raise PslError(f"{res.name}: {NO_CLOSE_NOTIFY}; no plain connection is left to go on "
                           f"with: close {res.name}")  # fmt: skip
        _unwrap(ctx, res, tls, traced)
    except BaseException:
        res.end_read()
        raise
    plain = socket.socket(tls.family, tls.type, tls.proto, fileno=tls.detach())
    plain.settimeout(None)
    with res.lock:  # its kind follows the socket: tcp (or unix) again
        res.sock = plain
        res.seen, res.eof_told, res.peer_eof = 0, False, False
        res.held_eof, res.held_error = False, None
    res.tls_note, res.tls_details = "", []
    res.tls_unwrapping = False  # type: ignore[attr-defined]
    res.end_read()
    ctx.emit(Styled((("name", res.name), ("", ": TLS ended (close_notify both ways): the "
                     f"connection goes on as plain {res.kind}"))))  # fmt: skip


NO_CLOSE_NOTIFY = "the peer closed the connection without ending TLS (no close_notify)"


def _peer_ended_tls(tls: Any) -> bool:
    """The peer's close_notify came (a read ahead met it): TLS ended cleanly on its side."""
    from pslrepl.tls_trace import ALERT, trace_of

    trace = trace_of(tls)
    return trace is not None and any(
        e.ctype == ALERT and not e.out and e.mtype == 0 for e in trace.entries
    )


class _Interrupts:
    """Ctrl-C while ssl runs Python inside a call (the handshake trace's callback): the
    KeyboardInterrupt raised there is swallowed by ssl, so the handler also notes it,
    and the loop raises it again once the call returns."""

    def __init__(self) -> None:
        self.hit = False
        self._old: Any = None

    def __enter__(self) -> _Interrupts:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._on_int)
        return self

    def _on_int(self, signum: int, frame: Any) -> None:
        self.hit = True
        raise KeyboardInterrupt

    def check(self) -> None:
        if self.hit:
            raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        import signal

        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def _unwrap(ctx: Invocation, res: Sock, tls: Any, traced: Any) -> None:
    """SSLSocket.unwrap, bounded: our close_notify, then the peer's. Non-blocking, retried
    in short waits: one blocking unwrap is a C call Ctrl-C can't interrupt until it ends."""
    import ssl
    import time

    from pslrepl.resources.polling import poll_ready

    deadline = time.monotonic() + ctx.timeout
    tls.setblocking(False)
    tries = 0
    try:
        with _Interrupts() as interrupts:
            while True:
                tries += 1
                try:
                    tls.unwrap()
                    break
                except ssl.SSLWantReadError:
                    want: tuple[tuple[Any, ...], tuple[Any, ...]] = ((tls,), ())
                except ssl.SSLWantWriteError:
                    want = ((), (tls,))
                finally:
                    interrupts.check()  # a Ctrl-C ssl swallowed
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                poll_ready(*want, timeout=min(left, 0.2))  # Ctrl-C is taken between waits
        ctx.record("SSLSocket.unwrap", "", None, on=tls, exact=tries == 1,
                   note=f"non-blocking, called {tries} times while the peer's "
                   "close_notify was awaited")  # fmt: skip
    except TimeoutError:
        ctx.record("SSLSocket.unwrap", "", "raised TimeoutError", on=tls)
        res.tls_unwrapping = True  # type: ignore[attr-defined]
        raise Timeout(f"{res.name}: sent close_notify; the peer has not answered with its own "
                      f"in {ctx.timeout:g} s: once it unwraps its side, `tls unwrap "
                      f"{res.name}` again finishes (until then the connection is TLS, and "
                      "sends nothing)") from None  # fmt: skip
    except (ssl.SSLError, OSError) as exc:
        ctx.record("SSLSocket.unwrap", "", f"raised {type(exc).__name__}", on=tls)
        reason = getattr(exc, "reason", None) or ""
        if reason == "APPLICATION_DATA_AFTER_CLOSE_NOTIFY":
            why = ("the peer sent data over TLS after our close_notify, and OpenSSL drops "
                   "the connection for it")  # fmt: skip
        elif isinstance(exc, ssl.SSLEOFError) or reason in ("UNEXPECTED_EOF_WHILE_READING",
                                                             "SHUTDOWN_WHILE_IN_INIT"):  # fmt: skip
            why = NO_CLOSE_NOTIFY
        else:
            from pslrepl.errors import describe_oserror

            why = f"TLS could not end cleanly: {reason or describe_oserror(exc)}"
        raise PslError(f"{res.name}: {why}; no plain connection is left to go on with: "
                       f"close {res.name}") from None  # fmt: skip
    finally:
        if tls.fileno() >= 0:
            tls.settimeout(None)
