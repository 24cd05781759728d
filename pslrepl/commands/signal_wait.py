"""sigwait: wait at the prompt for a signal (signal.sigtimedwait) and show who sent it."""

from __future__ import annotations

import signal
import time

from pslrepl.commands.groups import SIGNALS
from pslrepl.commands.options import TIMEOUT
from pslrepl.commands.signals import UNCATCHABLE, _Handler
from pslrepl.commandspec import Arg, Commands
from pslrepl.errors import PslError, Timeout, UsageError
from pslrepl.kinds import SIGNAL
from pslrepl.results import Styled
from pslrepl.session import SIGNAL_LATENCY
from pslrepl.signals_table import (
    CLD_CODES,
    SI_CODES,
    parse_signal,
    signal_expr,
    signal_label,
    signal_name,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import FrameType
    from typing import Any

    from pslrepl.invocation import Invocation

COMMANDS = Commands(SIGNALS)

# The example's sender: a child that sends SIGUSR1 to the shell once its main thread
# waits for it (asleep in sigtimedwait, or blocking and catching it just before: a thread
# being started blocks everything for a moment), as /proc shows.
SENDER = (
    "python3 -c \"import os, signal, time; p = os.getppid(); t = f'/proc/{p}/task/{p}/'; "
    "bit = lambda k: int(open(t + 'status').read().split(k + ':')[1].split()[0], 16) >> 9 "
    "& 1; waiting = lambda: 'sigtimedwait' in open(t + 'wchan').read() or bit('SigBlk') "
    "and bit('SigCgt'); any(waiting() or time.sleep(0.01) for _ in range(3000)); "
    'os.kill(p, signal.SIGUSR1)"'
)


def _set_expr(signums: Iterable[int]) -> str:
    """A set of signals as Python source: {signal.SIGUSR1, signal.SIGRTMIN + 1}, set()."""
    found = sorted(int(n) for n in signums)
    return "{" + ", ".join(signal_expr(n) for n in found) + "}" if found else "set()"


class _Mask:
    """A signal mask as explain shows a call's answer: as Python source."""

    def __init__(self, signums: Iterable[int]) -> None:
        self.signums = list(signums)

    def __repr__(self) -> str:
        return _set_expr(self.signums)


class _Elsewhere:
    """The handler a waited-for signal has while sigwait runs: a signal the kernel gives
    to another thread of the process (one that doesn't block it: a library's) is counted
    here instead of taking its default action, which could end the shell."""

    def __init__(self) -> None:
        self.came: list[int] = []

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.came.append(signum)


@COMMANDS.command(
    "sigwait",
    "wait for a signal to the shell, and show who sent it (signal.sigtimedwait)",
    args=(Arg("SIG", SIGNAL, many=True),),
    opts=(TIMEOUT,),
    calls=("signal.pthread_sigmask", "signal.sigtimedwait"),
    examples=("sigwait USR1 USR2 --timeout 30",),
    setup=(f"spawn sender -- {SENDER}",),
    details="The signals are blocked in the shell's main thread (pthread_sigmask), so one "
    "that comes stays pending until sigtimedwait takes it, with its siginfo: the "
    "sender's pid and uid, and si_code (SI_USER for kill, SI_TKILL for raise, SI_KERNEL "
    "for the kernel). A trap doesn't see a signal sigwait takes. Ctrl-C cancels, unless "
    "INT is one of the signals waited for. The mask is put back afterwards. Live events "
    "still show while it waits.",
)
def _sigwait(ctx: Invocation) -> None:
    if not hasattr(signal, "sigtimedwait"):
        raise PslError("sigwait: signal.sigtimedwait isn't available on this system")
    signums = []
    for word in ctx["sig"]:
        signum = parse_signal(word)
        if signum in UNCATCHABLE:
            raise UsageError(f"sigwait: {signal_label(signum)} can't be blocked, so it can't "
                             "be waited for: the kernel acts on it at once")  # fmt: skip
        if signum not in signal.valid_signals():
            raise UsageError(f"sigwait: {signal_label(signum)} is the C library's own")
        if signum not in signums:
            signums.append(signum)
    if not signums:
        raise UsageError(f"sigwait: give the signals to wait for; usage: {ctx.command.usage()}")
    shown = "{" + ", ".join(signal_expr(n) for n in signums) + "}"
    timeout = ctx.timeout
    elsewhere = _Elsewhere()
    handlers = {n: signal.getsignal(n) for n in signums}
    # The mask as it is, taken before anything changes: a Ctrl-C may come between any two
    # lines below, and the finally must put back all that was done by then.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    info: Any = None
    waited = False
    try:
        for signum in signums:
            ctx.record("signal.signal", f"{signal_expr(signum)}, lambda signum, frame: None",
                       _Handler(handlers[signum]), exact=False,
                       note="the handler notes a signal another thread is given")  # fmt: skip
            signal.signal(signum, elsewhere)
        ctx.record("signal.pthread_sigmask", f"signal.SIG_BLOCK, {shown}", _Mask(previous))
        signal.pthread_sigmask(signal.SIG_BLOCK, signums)
        info = _wait(ctx, signums, timeout, elsewhere)
        waited = True
    except Timeout:
        waited = True
        raise
    finally:
        if waited:
            ctx.record("signal.sigtimedwait", f"{shown}, {timeout!r}",
                       None if isinstance(info, int) else info, exact=False,
                       note=f"waited in steps of {SIGNAL_LATENCY:g} s, showing events "
                       "between")  # fmt: skip
        ctx.record("signal.pthread_sigmask", f"signal.SIG_SETMASK, {_set_expr(previous)}",
                   _Mask({*previous, *signums}))  # fmt: skip
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        for signum, handler in handlers.items():
            restored = handler if handler is not None else signal.SIG_DFL
            ctx.record("signal.signal", f"{signal_expr(signum)}, {_Handler(restored)!r}")
            signal.signal(signum, restored)
    if isinstance(info, int):
        ctx.emit(Styled((("", f"sigwait: {signal_label(info)} came, but another thread of "
                                "the process took it (its mask doesn't block it): who sent "
                                "it can't be told"),)))  # fmt: skip
        return
    ctx.emit(Styled((("", f"sigwait: {_describe(ctx, info)}"),)))


def _wait(ctx: Invocation, signums: list[int], timeout: float, elsewhere: _Elsewhere) -> Any:
    """sigtimedwait in steps, showing live events between them: its siginfo, or the
    signal another thread took."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            names = " or ".join(signal_name(n) for n in signums)
            raise Timeout(f"sigwait: timeout after {timeout:g} s: no {names} came; "
                          "--timeout S waits longer")  # fmt: skip
        info = signal.sigtimedwait(signums, min(remaining, SIGNAL_LATENCY))
        if info is not None:
            return info
        if elsewhere.came:
            return elsewhere.came[0]
        ctx.session.flush_events()


def _describe(ctx: Invocation, info: Any) -> str:
    """SIGUSR1 (10) from pid 4242 (p, a child of the shell), uid 1000: SI_USER: sent by kill."""
    import os

    pid = info.si_pid
    who = f"pid {pid}"
    if pid == os.getpid():
        who += " (the shell itself)"
    else:
        from pslrepl.resources.process import Process

        for res in ctx.session.registry:
            if isinstance(res, Process) and res.pid == pid:
                who += f" ({res.name}, a child of the shell)"
                break
    codes = CLD_CODES if info.si_signo == signal.SIGCHLD else SI_CODES
    code = codes.get(info.si_code, f"si_code {info.si_code}")
    return f"{signal_label(info.si_signo)} from {who}, uid {info.si_uid}: {code}"
