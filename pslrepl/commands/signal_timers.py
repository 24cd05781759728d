"""itimer: signal.setitimer and getitimer, the sub-second and repeating timers that signal
the shell (alarm, in signals.py, is the whole-second one)."""

from __future__ import annotations

import signal

from pslrepl.commands.groups import SIGNALS
from pslrepl.commands.signals import ITIMER_NAMES, current_trap, trap_for_timer, volatile_left
from pslrepl.commandspec import Arg, Commands
from pslrepl.errors import PslError, UsageError
from pslrepl.kinds import SECONDS, Kind, Where
from pslrepl.pending import PENDING_MAX
from pslrepl.results import Table
from pslrepl.signals_table import signal_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.kinds import Completing

COMMANDS = Commands(SIGNALS)

# setitimer(2): the signal each timer delivers, and the time it counts.
TIMERS = {
    "REAL": (signal.SIGALRM, "real (wall-clock) time"),
    "VIRTUAL": (signal.SIGVTALRM, "the shell's CPU time in user mode"),
    "PROF": (signal.SIGPROF, "the shell's CPU time, user and system"),
}
# A repeating timer stops itself after this many signals: the session's event cap (the
# most events kept waiting to be shown), so no interval can flood the shell.
CAP = PENDING_MAX
# The shortest INTERVAL: at a microsecond the kernel delivers signals faster than the
# shell's thread can return from one, and it never runs again (the cap would never be
# counted). A millisecond leaves it nearly all of its time.
MIN_INTERVAL = 0.001


class TimerName(Kind):
    """REAL, VIRTUAL or PROF (any case; ITIMER_REAL too)."""

    name = "timer"

    def convert(self, raw: str, where: Where) -> Any:
        name = raw.upper().removeprefix("ITIMER_")
        if name not in TIMERS:
            raise where.fail(f"must be REAL, VIRTUAL or PROF, not {raw!r}")
        return name

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        return ask.words(TIMERS, prefix.upper(), lambda n: TIMERS[n][1])

    def listing(self) -> dict[str, str]:
        return {n: f"delivers {signal_name(s)}; counts {what}" for n, (s, what) in TIMERS.items()}


def _left(value: tuple[float, float], ctx: Invocation | None = None) -> str:
    """'0.0496 s left, then every 0.05 s'. The time left differs from run to run: given
    ``ctx``, it is noted among the session's volatile values, so a recording writes it
    as a placeholder that replay matches afresh."""
    delay, interval = value
    if not delay and interval:  # only the kernel leaves this: see IGNORED_TIMER
        return (f"off (its {interval:.3g} s interval is kept, but the kernel stopped it: its "
                "signal was ignored when it fired)")  # fmt: skip
    if not delay:
        return "off"
    text = f"{delay:#.3g} s left"  # 0.700, not 0.7: a table column keeps its width
    if ctx is not None:
        volatile_left(ctx, text)
    return text + (f", then every {interval:.3g} s" if interval else "")


@COMMANDS.command(
    "itimer",
    "a timer that signals the shell: sub-second, repeating (signal.setitimer)",
    args=(
        Arg("WHICH", TimerName(), optional=True),
        Arg("SECONDS", SECONDS, optional=True),
        Arg("INTERVAL", SECONDS, optional=True),
    ),
    calls=("signal.setitimer", "signal.getitimer"),
    examples=("itimer REAL 0.25", "itimer REAL 0.1 0.1", "itimer", "itimer REAL 0"),
    details="alarm sets whole seconds, once; itimer takes fractions and an INTERVAL to "
    "repeat. WHICH is REAL (counts real time, delivers SIGALRM: alarm's timer too, so "
    "either replaces the other), "
    "VIRTUAL (the shell's CPU time in user mode, SIGVTALRM) or PROF (its CPU time, user "
    "and system, SIGPROF): idle at the prompt the shell uses no CPU, so VIRTUAL and PROF "
    "don't advance. SECONDS is the first delivery (0 stops the timer), INTERVAL the time "
    "between the next ones (none: once; at least 1 ms). Each signal is trapped and "
    "reported with the count so far; a repeating timer stops itself after 500 signals "
    "(the session's event cap), and exit stops it. Alone, itimer shows the three timers "
    "(signal.getitimer).",
)
def _itimer(ctx: Invocation) -> None:
    name = ctx["which"]
    if ctx["seconds"] is None:
        _show(ctx, [name] if name else list(TIMERS))
        return
    which = ITIMER_NAMES[name]
    signum, counts = TIMERS[name]
    seconds, interval = float(ctx["seconds"]), float(ctx["interval"] or 0.0)
    if interval and interval < MIN_INTERVAL:
        raise UsageError(f"itimer: INTERVAL must be 0 (once) or at least {MIN_INTERVAL:g} s: "
                         "a shorter one delivers signals faster than the shell can take "
                         "them")  # fmt: skip
    if not seconds:
        previous = _set(ctx, name, which, 0.0, 0.0)
        trap = current_trap(signum)
        if trap is not None:
            trap.stop_after = None
        was = "was not running" if not previous[0] else f"stopped (it had {_left(previous, ctx)})"
        ctx.say(f"itimer: ITIMER_{name} {was}")
        return
    trap = trap_for_timer(ctx, signum)
    if trap is not None:
        if interval:
            trap.cap_timer(CAP)
        else:
            trap.stop_after = None
    previous = _set(ctx, name, which, seconds, interval)
    text = f"itimer: ITIMER_{name} delivers {signal_name(signum)} in {seconds:g} s"
    if interval:
        text += f", then every {interval:g} s (at most {CAP} times: the session's event cap)"
    if previous[0]:
        text += f" (the previous timer had {_left(previous, ctx)})"
    ctx.say(text)
    if name != "REAL":
        ctx.say(f"note: ITIMER_{name} counts {counts}: idle at the prompt it doesn't advance",
                "notice")  # fmt: skip


def _set(
    ctx: Invocation, name: str, which: int, seconds: float, interval: float
) -> tuple[float, float]:
    args = f"signal.ITIMER_{name}, {seconds!r}" + (f", {interval!r}" if interval else "")
    try:
        previous = signal.setitimer(which, seconds, interval)
    except (OSError, OverflowError, ValueError) as exc:
        ctx.record("signal.setitimer", args, f"raised {type(exc).__name__}")
        raise PslError(f"itimer: setitimer refused {seconds:g} s: {exc}") from None
    ctx.record("signal.setitimer", args, previous)
    return previous


def _show(ctx: Invocation, names: list[str]) -> None:
    rows: list[Any] = []
    for name in names:
        value = signal.getitimer(ITIMER_NAMES[name])
        ctx.record("signal.getitimer", f"signal.ITIMER_{name}", value)
        signum, counts = TIMERS[name]
        rows.append([("name", name), signal_name(signum), _left(value, ctx), counts])
    ctx.emit(Table(("TIMER", "SIGNAL", "NOW", "COUNTS"), rows))
