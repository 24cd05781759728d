"""Signals to the shell itself: raise SIG (signal.raise_signal), which `signal shell` runs."""

from __future__ import annotations

import os
import signal

from pslrepl.commands.groups import SIGNALS
from pslrepl.commands.signals import ACTION_TEXT, UNCATCHABLE, Trap, disposition_text
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import PslError
from pslrepl.kinds import SIGNAL
from pslrepl.results import Styled
from pslrepl.signals_table import action_of, parse_signal, signal_expr, signal_label, signal_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.invocation import Invocation

COMMANDS = Commands(SIGNALS)

FORCE = Opt("--force", "let a signal that ends or stops the shell do so")


@COMMANDS.command(
    "raise",
    "deliver a signal to the shell itself (signal.raise_signal)",
    args=(Arg("SIG", SIGNAL),),
    opts=(FORCE,),
    calls=("signal.raise_signal",),
    examples=("raise USR1", "raise USR2", "raise CHLD"),
    setup=("trap USR1", "trap USR2 --ignore"),
    details="What happens is the shell's disposition for SIG (`signals` shows it): a trap "
    "reports it with the count so far, SIG_IGN discards it, SIGINT's default_int_handler "
    "raises KeyboardInterrupt (caught here). A signal that would end or stop the shell "
    "(SIG_DFL with a Term, Core or Stop action, or the shell's own SIGTERM handler) is "
    "refused with the reason unless --force is given; `trap SIG` first shows it arrive "
    "instead. SIGKILL and SIGSTOP are always refused: nothing could close the shell's "
    "children or put it back. `signal shell SIG` is the same command.",
)
def _raise(ctx: Invocation) -> None:
    raise_in_shell(ctx, parse_signal(ctx["sig"]), force=bool(ctx["force"]))


def _fate(signum: int, handler: Any) -> str:
    """What delivering ``signum`` does to the shell, when that is to end or stop it
    (refused without --force); '' when the shell carries on."""
    if isinstance(handler, Trap) or handler == signal.SIG_IGN:
        return ""
    if handler == signal.SIG_DFL:
        action = action_of(signum)
        if action == "Stop" and _orphaned():
            return ""  # the kernel discards it: see _outcome
        if action in ("Term", "Core", "Stop"):
            return f"it is not trapped and its default action (SIG_DFL) {ACTION_TEXT[action]}"
        return ""
    if handler is None:
        return "its handler was set outside Python, so what it does can't be told"
    if getattr(handler, "__module__", "") == "pslrepl.cli":
        return (f"the shell's own handler for it closes everything and exits (status "
                f"{128 + signum})")  # fmt: skip
    return ""  # a Python function: the user's own, or SIGINT's default_int_handler


def raise_in_shell(ctx: Invocation, signum: int, *, force: bool) -> None:
    """signal.raise_signal, refusing what would end or stop the shell unless forced, and
    saying what the shell's disposition did with it."""
    label = signal_label(signum)
    who = ctx.command.name
    if signum == 0:
        ctx.say(f"shell: pid {os.getpid()} is this process (signal 0 sends nothing)")
        return
    if signum in UNCATCHABLE:
        what = "end" if signum == signal.SIGKILL else "stop"
        raise PslError(f"{who}: {label} can't be caught or ignored: it would {what} the shell "
                       "at once, and nothing could close its children or continue it; the "
                       "shell doesn't send it to itself")  # fmt: skip
    if signum not in signal.valid_signals():
        raise PslError(f"{who}: {label} is the C library's own (its threads use it); Python "
                       "can't raise it")  # fmt: skip
    handler: Any = signal.getsignal(signum)
    fate = _fate(signum, handler)
    short = signal_name(signum)[3:]
    if fate and not force:
        hint = "" if isinstance(handler, Trap) else f"`trap {short}` first to see it arrive, or "
        raise PslError(f"{who}: {label} would {'stop' if 'stops' in fate else 'end'} the "
                       f"shell: {fate}; {hint}--force to let it")  # fmt: skip
    ctx.record("signal.raise_signal", signal_expr(signum))
    if fate:
        # Said before: a shell that ends now can't say it after.
        ctx.emit(Styled((("warning", f"shell: raising {label}: {fate}"),)))
        ctx.dispatcher.show(ctx)
        ctx.results.clear()
    try:
        signal.raise_signal(signum)
    except KeyboardInterrupt:
        ctx.say(f"shell: raised {label}: Python's {disposition_text(handler)} raised "
                "KeyboardInterrupt, as Ctrl-C does to a running command (caught here)")  # fmt: skip
        return
    ctx.emit(Styled((("", f"shell: raised {label}: {_outcome(signum, handler)}"),)))


def _outcome(signum: int, handler: Any) -> str:
    """What the disposition did with a signal that left the shell running."""
    if isinstance(handler, Trap):
        return f"the trap reported it ({handler.count} so far)"
    if handler == signal.SIG_IGN:
        return "ignored (SIG_IGN): the kernel discarded it"
    if handler == signal.SIG_DFL:
        action = action_of(signum)
        if action == "Stop" and _orphaned():
            return (
                "the kernel discarded it: the shell's process group is orphaned (no "
                "parent in its session outside it), and such a group isn't stopped"
            )
        if action == "Stop":
            return "the shell was stopped (SIG_DFL), and has been continued"
        return f"its default action (SIG_DFL) {ACTION_TEXT[action]}"
    return f"handled by Python's {disposition_text(handler)}"


def _orphaned() -> bool:
    """Whether the shell's process group is orphaned (POSIX: no member has a parent in
    another group of the same session): the kernel doesn't stop such a group's processes
    with SIGTSTP, SIGTTIN or SIGTTOU. From Linux's /proc; False where there is none (the
    stop is then refused without --force, the careful way)."""
    group, session = os.getpgrp(), os.getsid(0)
    try:
        names = os.listdir("/proc")
    except OSError:
        return False
    stats: dict[int, tuple[int, int, int]] = {}  # pid -> (parent, group, session)
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        fields = data[data.rindex(b")") + 2 :].split()
        stats[int(name)] = (int(fields[1]), int(fields[2]), int(fields[3]))
    for parent, pgrp, _ in stats.values():
        if pgrp != group:
            continue
        _, parent_group, parent_session = stats.get(parent, (0, group, -1))
        if parent_group != group and parent_session == session:
            return False
    return True
