"""Signal commands: trap (report, ignore, default, off), the signal table, alarm."""

from __future__ import annotations

import signal

from pslrepl.commands.groups import SIGNALS
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import PslError
from pslrepl.events import Event
from pslrepl.kinds import SIGNAL, Int
from pslrepl.results import Styled, Table
from pslrepl.signals_table import action_of, parse_signal, signal_expr, signal_label, signal_name

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
# setitimer(2): the timer that delivers each signal (SIGALRM's is alarm's too).
ITIMER_OF: dict[int, int] = {
    signal.SIGALRM: signal.ITIMER_REAL,
    signal.SIGVTALRM: signal.ITIMER_VIRTUAL,
    signal.SIGPROF: signal.ITIMER_PROF,
}
# What the default action does to the shell, by signal(7)'s name for it.
ACTION_TEXT = {
    "Term": "ends the shell",
    "Core": "ends the shell (and dumps core)",
    "Stop": "stops the shell until SIGCONT",
    "Ign": "does nothing",
    "Cont": "continues the shell if stopped, else does nothing",
}


class Trap:
    """A handler that only reports: the signal becomes an event, nothing else happens.

    A repeating itimer stops itself once its signal has come ``stop_after`` times (the
    session's event cap), so a timer of a microsecond can't flood the shell."""

    def __init__(self, session: Session, signum: int) -> None:
        import itertools

        self.session = session
        self.signum = signum
        # Python runs a handler between bytecodes, and the next signal's handler may run
        # inside this one: `count += 1` there could give two deliveries one number and
        # lose another. next() on an itertools.count is one C call, never interrupted.
        self._tally = itertools.count(1)
        self.stop_after: int | None = None
        self.timer_start = 0

    @property
    def count(self) -> int:
        """How many times the signal has come (the tally's next number, less one)."""
        return int(repr(self._tally)[len("count(") : -1]) - 1

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        count = next(self._tally)
        self.session.post(Event("signal", "signal", signum=signum, count=count))
        if self.stop_after is not None and count >= self.stop_after:
            self._stop_timer(signum)

    def _stop_timer(self, signum: int) -> None:
        self.stop_after = None
        which = ITIMER_OF.get(signum)
        if which is None:
            return
        signal.setitimer(which, 0)
        name = {v: k for k, v in ITIMER_NAMES.items()}[which]
        came = self.count - self.timer_start
        self.session.post(Event("signal", "signal", signum=signum, count=came, origin=name,
                                phase="timer-stopped"))  # fmt: skip

    def cap_timer(self, deliveries: int) -> None:
        """A repeating timer now delivers this signal: stop it after ``deliveries``."""
        self.timer_start = self.count
        self.stop_after = self.count + deliveries


ITIMER_NAMES = {
    "REAL": signal.ITIMER_REAL,
    "VIRTUAL": signal.ITIMER_VIRTUAL,
    "PROF": signal.ITIMER_PROF,
}


def set_disposition(session: Session, signum: int, handler: Any) -> Any:
    """signal.signal, remembering what the shell replaced the first time: every changed
    disposition is put back when the session ends. Returns the previous handler."""
    previous = signal.signal(signum, handler)
    session.traps.setdefault(signum, previous)
    session.on_close("traps", lambda: remove_traps(session))
    return previous


def install_trap(session: Session, signum: int) -> Trap:
    trap = Trap(session, signum)
    set_disposition(session, signum, trap)
    return trap


def current_trap(signum: int) -> Trap | None:
    try:
        handler = signal.getsignal(signum)
    except (ValueError, OSError):
        return None
    return handler if isinstance(handler, Trap) else None


def remove_traps(session: Session) -> None:
    """Stop the timers the shell set (alarm, itimer), then put back every disposition it
    changed: a timer left running would deliver its signal to the default action."""
    for signum, which in ITIMER_OF.items():
        if signum in session.traps:
            signal.setitimer(which, 0)
    for signum, previous in list(session.traps.items()):
        try:
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        except (ValueError, OSError):
            pass
    session.traps.clear()


@COMMANDS.command(
    "trap",
    "how the shell takes a signal: report it, ignore it, its default action",
    args=(Arg("SIG", SIGNAL),),
    opts=(
        Opt("--ignore", "ignore it (SIG_IGN); children inherit that", exclusive="how"),
        Opt("--default", "give it its default action (SIG_DFL)", exclusive="how"),
        Opt("--off", "put back the handler the shell replaced", exclusive="how"),
    ),
    calls=("signal.signal",),
    examples=("trap USR1", "trap USR1 --off", "trap USR2 --ignore", "trap USR2 --default"),
    details="Without an option the shell reports the signal as it arrives, with the count "
    "so far, and does nothing else (trapped again, it says the count). --ignore sets "
    "SIG_IGN: the kernel discards the signal, and a child started afterwards inherits it "
    "across exec (the nohup lesson). --default sets SIG_DFL: the action signal(7) gives "
    "(`signals` lists it), which for most signals ends the shell. --off puts back what "
    "the shell replaced first; every change is put back when the shell ends. SIGKILL and "
    "SIGSTOP are the kernel's: they can't be caught, ignored or reset.",
)
def _trap(ctx: Invocation) -> None:
    signum = parse_signal(ctx["sig"])
    label = signal_label(signum)
    session = ctx.session
    if signum in UNCATCHABLE:
        raise PslError(f"trap: {label} can't be caught or ignored (the kernel handles it)")
    if signum not in signal.valid_signals():
        raise PslError(f"trap: {label} is the C library's own (its threads use it); Python "
                       "can't handle, ignore or reset it")  # fmt: skip
    if ctx["off"]:
        _trap_off(ctx, signum)
        return
    if ctx["ignore"] or ctx["default"]:
        _set_action(ctx, signum, signal.SIG_IGN if ctx["ignore"] else signal.SIG_DFL)
        return
    trap = current_trap(signum)
    if trap is not None:
        ctx.say(f"trap: {label} is already trapped: {trap.count} received so far")
        return
    try:
        install_trap(session, signum)
    except (ValueError, OSError) as exc:
        ctx.record("signal.signal", f"{signal_expr(signum)}, handler",
                   f"raised {type(exc).__name__}")  # fmt: skip
        raise PslError(f"trap: can't trap {label}: {exc}") from None
    previous = session.traps.get(signum)
    ctx.record("def handler(signum, frame)", "", None, exact=False,
               note="the shell's: it reports the signal, with the count so far")  # fmt: skip
    ctx.record("signal.signal", f"{signal_expr(signum)}, handler", _Handler(previous))
    ctx.emit(Styled((("", f"trap: {label} will be reported, not acted on"),)))
    if signum == signal.SIGINT:
        ctx.say("warning: while SIGINT is trapped, Ctrl-C reports instead of cancelling; "
                "blocking commands still time out", "warning")  # fmt: skip


def _trap_off(ctx: Invocation, signum: int) -> None:
    label = signal_label(signum)
    session = ctx.session
    if signum not in session.traps:
        raise PslError(f"trap: {label} is not trapped, ignored or reset by the shell")
    previous = session.traps.get(signum)
    restored = previous if previous is not None else signal.SIG_DFL
    stopped = _stop_timer(ctx, signum, restored)
    session.traps.pop(signum)
    previous_now = signal.signal(signum, restored)
    ctx.record("signal.signal", f"{signal_expr(signum)}, {_Handler(restored)!r}",
               _Handler(previous_now))  # fmt: skip
    ctx.emit(Styled((("", f"trap: {label} restored to its previous handler"),)))
    if stopped:
        ctx.say(stopped, "warning")


def _set_action(ctx: Invocation, signum: int, handler: Any) -> None:
    """trap SIG --ignore or --default."""
    label = signal_label(signum)
    ignore = handler == signal.SIG_IGN
    if ignore and signum == signal.SIGCHLD:
        raise PslError("trap: SIGCHLD can't be ignored here: with SIG_IGN the kernel reaps "
                       "children itself and their exit statuses are lost, which every child "
                       "of the shell needs; `trap CHLD` reports each one instead")  # fmt: skip
    stopped = _stop_timer(ctx, signum, handler)
    try:
        previous = set_disposition(ctx.session, signum, handler)
    except (ValueError, OSError) as exc:
        ctx.record("signal.signal", f"{signal_expr(signum)}, signal.{handler.name}",
                   f"raised {type(exc).__name__}")  # fmt: skip
        raise PslError(f"trap: can't set {label} to {handler.name}: {exc}") from None
    ctx.record("signal.signal", f"{signal_expr(signum)}, signal.{handler.name}", _Handler(previous))
    ctx.say(disposition_said(label, signum, ignore=ignore))
    warning = _WARNINGS.get((signum, handler))
    if warning:
        ctx.say(f"warning: {warning}", "warning")
    if stopped:
        ctx.say(stopped, "warning")


def disposition_said(label: str, signum: int, *, ignore: bool) -> str:
    """What `trap SIG --ignore` or `--default` says it has done (export's scripts say it
    too, with ``label`` an f-string's part)."""
    if ignore:
        return (f"trap: {label} is ignored (SIG_IGN): the kernel discards it, and a child "
                "started now inherits that, across exec")  # fmt: skip
    action = action_of(signum)
    return (f"trap: {label} takes its default action (SIG_DFL): it {ACTION_TEXT[action]} "
            f"({action} in signal(7))")  # fmt: skip


# What a changed disposition does to the shell itself, said when it is set.
_WARNINGS: dict[tuple[int, Any], str] = {
    (signal.SIGINT, signal.SIG_IGN): "while SIGINT is ignored, Ctrl-C cancels nothing; "
    "blocking commands still time out; `trap INT --off` gives it back to Python",
    (signal.SIGINT, signal.SIG_DFL): "with SIGINT at SIG_DFL, Ctrl-C during a command ends "
    "the shell, as it would any program; `trap INT --off` gives it back to Python",
    (signal.SIGPIPE, signal.SIG_DFL): "with SIGPIPE at SIG_DFL, writing to a pipe or socket "
    "nobody reads ends the shell (Python ignores it, so that the write raises "
    "BrokenPipeError); `trap PIPE --off` puts that back",
    (signal.SIGTERM, signal.SIG_DFL): "with SIGTERM at SIG_DFL, `kill PID` ends the shell "
    "at once, without closing anything (the watchdog then ends its children)",
    (signal.SIGHUP, signal.SIG_DFL): "with SIGHUP at SIG_DFL, closing the terminal ends the "
    "shell at once, without closing anything (the watchdog then ends its children)",
}


def _stop_timer(ctx: Invocation, signum: int, handler: Any) -> str:
    """A running timer would deliver its signal to ``handler``: where that default action
    ends the shell, it is stopped first (setitimer(WHICH, 0)). What to say, or ''."""
    which = ITIMER_OF.get(signum, -1)  # ITIMER_REAL... are 0 to 2
    left, interval = signal.getitimer(which) if which >= 0 else (0.0, 0.0)
    if not left or handler != signal.SIG_DFL or action_of(signum) not in ("Term", "Core"):
        return ""
    name = {v: k for k, v in ITIMER_NAMES.items()}[which]
    ctx.record("signal.setitimer", f"signal.ITIMER_{name}, 0", (left, interval))
    signal.setitimer(which, 0)
    every = f", then every {interval:.3g} s" if interval else ""
    return (f"warning: itimer {name} stopped first ({left:.3g} s left{every}): its next "
            f"{signal_name(signum)} would have ended the shell at SIG_DFL; `itimer {name} "
            "S` sets it again")  # fmt: skip


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


# Said of a timer whose signal is ignored (Linux 6.18: getitimer gives (0.0, interval)).
IGNORED_TIMER = (" (a repeating one may stop at its first: Linux 6.13 and later don't rearm "
                 "it while its signal is ignored)")  # fmt: skip


def disposition_text(handler: Any) -> str:
    """A signal's disposition as the stdlib names it: SIG_DFL, SIG_IGN, None (set outside
    Python), a function's name; the shell's own trap with its count."""
    if isinstance(handler, Trap):
        return f"trap: {handler.count} received"
    if handler == signal.SIG_DFL:
        return "SIG_DFL"
    if handler == signal.SIG_IGN:
        return "SIG_IGN"
    if handler is None:
        return "None: set outside Python"
    name = getattr(handler, "__qualname__", None) or type(handler).__name__
    own = _SHELLS_OWN.get((getattr(handler, "__module__", ""), name))
    return f"{name}: {own}" if own else name


# The shell's own handlers, said for what they do (their names mean nothing to a user).
_SHELLS_OWN = {
    ("pslrepl.loop", "Loop._on_sigint"): "the shell's Ctrl-C handler (cancels the command)",
    ("pslrepl.cli", "_terminate"): "the shell's: it closes everything, then exits",
}


@COMMANDS.command(
    "signals",
    "the signal table: number, default action, the shell's disposition now",
    calls=("signal.Signals", "signal.getsignal", "signal.strsignal"),
    examples=("signals",),
    details="HANDLER is signal.getsignal's answer as the stdlib names it: SIG_DFL (the "
    "default action, DEFAULT), SIG_IGN (ignored), a Python function's name "
    "(default_int_handler for SIGINT), None (set outside Python), or trap with the count "
    "received.",
)
def _signals(ctx: Invocation) -> None:
    from pslrepl.signals_table import default_action

    rows: list[Any] = []
    # Every signal Python can handle, the realtime ones between SIGRTMIN and SIGRTMAX
    # included (signal.Signals names only those two); int() as str() of one is its name.
    for number in sorted(signal.valid_signals()):
        name = signal_name(number)
        try:
            handler: Any = signal.getsignal(number)
            shown = disposition_text(handler)
        except (ValueError, OSError):
            shown = "?"
        rows.append([("name", name), str(int(number)), default_action(name), shown,
                     signal.strsignal(number) or ""])  # fmt: skip
    ctx.emit(Table(("NAME", "NUM", "DEFAULT", "HANDLER", "DESCRIPTION"), rows))


@COMMANDS.command(
    "alarm",
    "deliver SIGALRM to the shell once, after S whole seconds (signal.alarm)",
    args=(Arg("SECONDS", Int(0, ALARM_MAX)),),
    calls=("signal.alarm",),
    examples=("alarm 2", "alarm 0"),
    details="SECONDS is from 0 (cancel the alarm) to 2147483647: signal.alarm takes a C int, "
    "and whole seconds only. For a fraction of a second or a timer that repeats, use "
    "`itimer REAL S [INTERVAL]`: alarm and itimer REAL are one timer (ITIMER_REAL), so "
    "setting either replaces the other, and `itimer` shows what is left of it. SIGALRM is "
    "trapped first where its default action would end the shell.",
)
def _alarm(ctx: Invocation) -> None:
    seconds = ctx["seconds"]  # 0 to ALARM_MAX, checked by the parser
    if seconds:
        trap_for_timer(ctx, signal.SIGALRM)
    previous = ctx.call("signal.alarm", signal.alarm, seconds)
    left = f" (the previous alarm had {previous} s left)" if previous else ""
    if previous:  # it differs from run to run: a recording writes a placeholder for it
        volatile_left(ctx, f"{previous} s left")
    if seconds:
        ctx.say(f"alarm: SIGALRM in {seconds} s{left}")
    else:
        ctx.say(f"alarm: cancelled{left}")


def trap_for_timer(ctx: Invocation, signum: int) -> Trap | None:
    """The trap a timer's signal needs where it would take its default action (which ends
    the shell): installed, and said so. A signal already trapped, ignored or handled by
    the user's own Python function is left as it is."""
    trap = current_trap(signum)
    if trap is not None:
        return trap
    try:
        handler = signal.getsignal(signum)
    except (ValueError, OSError):
        handler = None
    name = signal_name(signum)
    if handler == signal.SIG_IGN:
        ctx.say(f"{ctx.command.name}: {name} is ignored (SIG_IGN): it will come and go "
                f"unseen{IGNORED_TIMER}; `trap {name[3:]}` reports it", "notice")  # fmt: skip
        return None
    if callable(handler):
        return None  # the user's own handler, set from py
    trap = install_trap(ctx.session, signum)
    ctx.say(f"{ctx.command.name}: {name} is now trapped: its default action would end the "
            "shell", "notice")  # fmt: skip
    return trap


def volatile_left(ctx: Invocation, text: str) -> None:
    """Note a timer's time left ('0.0496 s left') as a volatile value of its own: each
    under a new name (timer1.left, timer2.left...), since a placeholder binds once."""
    volatile = ctx.session.volatile
    numbers = [int(k[5:-5]) for k in volatile if k.startswith("timer") and k.endswith(".left")
               and k[5:-5].isdigit()]  # fmt: skip
    for key in [k for k, v in volatile.items() if v == text and k.endswith(".left")]:
        del volatile[key]  # the same text said again is this new value, not the old one
    volatile[f"timer{max(numbers, default=0) + 1}.left"] = text
