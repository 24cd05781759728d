"""Signal commands: trap (shell-level handlers that report), the signal table, alarm."""

from __future__ import annotations

import signal

from pslrepl.commands.groups import SIGNALS
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import PslError
from pslrepl.events import Event
from pslrepl.kinds import SIGNAL, Int
from pslrepl.results import Styled, Table
from pslrepl.signals_table import default_action, parse_signal, signal_label, signal_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.session import Session

COMMANDS = Commands(SIGNALS)

UNCATCHABLE = {signal.SIGKILL, signal.SIGSTOP}
# alarm(2) takes an unsigned int, but Python's signal.alarm converts to a C int first.
ALARM_MAX = 2**31 - 1


class Trap:
    """A handler that only reports: the signal becomes an event, nothing else happens."""

    def __init__(self, session: Session, signum: int) -> None:
        self.session = session
        self.signum = signum
        self.count = 0

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        self.session.post(
            Event("signal", "signal", f"received {signal_label(signum)}", fields={"signum": signum})
        )


def install_trap(session: Session, signum: int) -> Trap:
    trap = Trap(session, signum)
    previous = signal.signal(signum, trap)
    session.traps.setdefault(signum, previous)
    session.on_close("traps", lambda: remove_traps(session))
    return trap


def remove_traps(session: Session) -> None:
    """Put back every handler a trap replaced, and cancel a pending alarm."""
    if signal.SIGALRM in session.traps:
        signal.alarm(0)
    for signum, previous in list(session.traps.items()):
        try:
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        except (ValueError, OSError):
            pass
    session.traps.clear()


@COMMANDS.command(
    "trap",
    "report a signal when it arrives, instead of its default action",
    args=(Arg("SIG", SIGNAL),),
    opts=(Opt("--off", "restore the handler the trap replaced"),),
    calls=("signal.signal",),
    examples=("trap USR1", "trap USR1 --off"),
)
def _trap(ctx: Invocation) -> None:
    signum = parse_signal(ctx["sig"])
    label = signal_label(signum)
    session = ctx.session
    if ctx["off"]:
        if signum not in session.traps:
            raise PslError(f"trap: {label} is not trapped")
        previous = session.traps.pop(signum)
        ctx.call(
            "signal.signal",
            signal.signal,
            signum,
            previous if previous is not None else signal.SIG_DFL,
        )
        ctx.emit(Styled((("", f"trap: {label} restored to its previous handler"),)))
        return
    if signum in UNCATCHABLE:
        raise PslError(f"trap: {label} can't be caught or ignored (the kernel handles it)")
    try:
        install_trap(session, signum)
    except (ValueError, OSError) as exc:
        ctx.record("signal.signal", f"signal.{signal_name(signum)}, handler", exc)
        raise PslError(f"trap: can't trap {label}: {exc}") from None
    previous = session.traps.get(signum)
    ctx.record("signal.signal", f"signal.{signal_name(signum)}, handler", _Handler(previous))
    ctx.emit(Styled((("", f"trap: {label} will be reported, not acted on"),)))
    if signum == signal.SIGINT:
        ctx.say(
            "warning: while SIGINT is trapped, Ctrl-C reports instead of cancelling; "
            "blocking commands still time out",
            "warning",
        )


class _Handler:
    """A signal handler as explain shows it: signal.SIG_DFL, signal.SIG_IGN, or a name."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler

    def __repr__(self) -> str:
        if self.handler in (signal.SIG_DFL, signal.SIG_IGN):
            return f"signal.{self.handler.name}"
        if self.handler is None:
            return "None"
        return getattr(self.handler, "__name__", type(self.handler).__name__)


def _handler_text(session: Session, signum: int) -> str:
    try:
        handler: Any = signal.getsignal(signum)
    except (ValueError, OSError):
        return "?"
    if isinstance(handler, Trap):
        return f"trapped ({handler.count} received)"
    if handler == signal.SIG_DFL:
        return "default"
    if handler == signal.SIG_IGN:
        return "ignored"
    if handler is None:
        return "not set from Python"
    return f"python: {getattr(handler, '__name__', type(handler).__name__)}"


@COMMANDS.command(
    "signals",
    "the signal table: number, default action, handler now",
    calls=("signal.Signals", "signal.getsignal", "signal.strsignal"),
    examples=("signals",),
)
def _signals(ctx: Invocation) -> None:
    rows: list[Any] = []
    # Every signal Python can handle, the realtime ones between SIGRTMIN and SIGRTMAX
    # included (signal.Signals names only those two).
    for number in sorted(signal.valid_signals()):
        name = signal_name(number)
        rows.append(
            [
                ("name", name),
                str(int(number)),  # Python 3.10: str() of a Signals is its name
                default_action(name),
                _handler_text(ctx.session, number),
                signal.strsignal(number) or "",
            ]
        )
    ctx.emit(Table(("NAME", "NUM", "DEFAULT", "HANDLER", "DESCRIPTION"), rows))


@COMMANDS.command(
    "alarm",
    "deliver SIGALRM to the shell after S whole seconds",
    args=(Arg("SECONDS", Int(0, ALARM_MAX)),),
    calls=("signal.alarm",),
    examples=("alarm 2", "alarm 0"),
    details="SECONDS is from 0 (cancel the alarm) to 2147483647: signal.alarm takes a C int.",
)
def _alarm(ctx: Invocation) -> None:
    seconds = ctx["seconds"]  # 0 to ALARM_MAX, checked by the parser
    session = ctx.session
    handler = signal.getsignal(signal.SIGALRM)
    if seconds and not isinstance(handler, Trap):
        install_trap(session, signal.SIGALRM)
        ctx.say("alarm: SIGALRM is now trapped: its default action would end the shell", "notice")
    previous = ctx.call("signal.alarm", signal.alarm, seconds)
    left = f" (the previous alarm had {previous} s left)" if previous else ""
    if seconds:
        ctx.say(f"alarm: SIGALRM in {seconds} s{left}")
    else:
        ctx.say(f"alarm: cancelled{left}")
