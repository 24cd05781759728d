"""Exporters for the shell's timers, alarm and itimer, and what the signal exporters share:
the disposition the script has given each signal, the trap's handler, a signal's label."""

from __future__ import annotations

from pslrepl.export.script import Unexportable, wrapped_print

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord

# The disposition a signal has at a script's start, where it is not SIG_DFL: Python's own
# (it ignores SIGPIPE and SIGXFSZ so that a write raises; SIGINT raises KeyboardInterrupt).
PYTHON_IGNORES = ("SIGPIPE", "SIGXFSZ")


def dispositions(script: Script) -> dict[int, str]:
    """What the script has made of each signal so far: 'trap', 'ignore' or 'default'
    (a signal not here has the disposition Python starts with)."""
    found: dict[int, str] = vars(script).setdefault("signal_dispositions", {})
    return found


def disposition(script: Script, signum: int) -> str:
    import signal

    from pslrepl.signals_table import signal_name

    made = dispositions(script).get(signum)
    if made is not None:
        return made
    if signum == signal.SIGINT:
        return "int"
    return "ignore" if signal_name(signum) in PYTHON_IGNORES else "default"


def signum_of(record: CommandRecord) -> int:
    from pslrepl.errors import PslError
    from pslrepl.signals_table import parse_signal

    try:
        return parse_signal(str(record.values["sig"]), zero=True)
    except PslError:
        raise Unexportable(f"the shell refused the signal {record.values['sig']!r}") from None


def label_of(signum: int) -> str:
    """'SIGUSR1 ({signal.SIGUSR1:d})': a signal as the shell labels it, its number taken
    from the signal module where the script runs (an f-string's part)."""
    from pslrepl.signals_table import signal_expr, signal_name

    expr = signal_expr(signum)
    if expr.isdigit():
        return f"signal {signum}"
    return f"{signal_name(signum)} ({{{expr}:d}})"


def report(script: Script) -> None:
    """The trap's handler, once: it notes each signal, as `log signal` shows them (the
    same names session_cmds' trap exporter defines)."""
    script.imp("signal", "time")
    if "received" in script.globals:
        return
    script.globals.add("received")
    script.add("received = []  # (when, signal number): what `log signal` shows",
               "", "", "def report(signum, frame):",
               '    """A trap: note the signal, as the shell reports one, and go on."""',
               "    received.append((time.time(), signum))", "", "")  # fmt: skip


# -- alarm, itimer ------------------------------------------------------------------------


def _timer_trap(script: Script, command: str, signame: str) -> None:
    """The trap a timer's signal gets where it would take its default action, said so."""
    import signal

    signum = int(getattr(signal, signame))
    if disposition(script, signum) != "default":
        if disposition(script, signum) == "ignore":
            from pslrepl.commands.signals import IGNORED_TIMER

            text = (f"{command}: {signame} is ignored (SIG_IGN): it will come and go unseen"
                    f"{IGNORED_TIMER}; `trap {signame[3:]}` reports it")  # fmt: skip
            script.add(wrapped_print(text))
        return
    report(script)
    dispositions(script)[signum] = "trap"
    script.add(f"signal.signal(signal.{signame}, report)")
    script.add(wrapped_print(f"{command}: {signame} is now trapped: its default action would "
                             "end the shell"))  # fmt: skip


def _alarm(script: Script, record: CommandRecord) -> None:
    seconds = int(record.values["seconds"])
    script.imp("signal")
    if seconds:
        _timer_trap(script, "alarm", "SIGALRM")
    script.add(f"previous = signal.alarm({seconds})")
    left = "{f' (the previous alarm had {previous} s left)' if previous else ''}"
    said = f"SIGALRM in {seconds} s" if seconds else "cancelled"
    script.add(f'print(f"alarm: {said}{left}")')


# itimer's timers: the signal each delivers, and what it counts (as itimer's table says).
TIMER_LEFT = (
    "",
    "",
    "def timer_left(value):",
    '    """A timer as setitimer and getitimer give it: (delay, interval)."""',
    "    delay, interval = value",
    "    if not delay and interval:  # the kernel stopped it: its signal was ignored",
    '        return (f"off (its {interval:.3g} s interval is kept, but the kernel stopped it: "',
    '                "its signal was ignored when it fired)")',
    "    if not delay:",
    '        return "off"',
    '    text = f"{delay:#.3g} s left"',
    '    return text + (f", then every {interval:.3g} s" if interval else "")',
    "",
    "",
)


def _itimer(script: Script, record: CommandRecord) -> None:
    from pslrepl.commands.signal_timers import CAP, TIMERS
    from pslrepl.signals_table import signal_name

    values = record.values
    script.imp("signal")
    if "timer_left" not in script.globals:
        script.globals.add("timer_left")
        script.add(*TIMER_LEFT)
    name = values.get("which")
    if values.get("seconds") is None:
        table = script.use("table")
        script.add("rows = []")
        for each in [name] if name else list(TIMERS):
            signum, counts = TIMERS[each]
            script.add(f"now = timer_left(signal.getitimer(signal.ITIMER_{each}))")
            script.add(f"rows.append([{each!r}, {signal_name(signum)!r}, now, {counts!r}])")
        script.add(f'{table}(("TIMER", "SIGNAL", "NOW", "COUNTS"), rows, {{}})')
        return
    signum, counts = TIMERS[str(name)]
    signame = signal_name(signum)
    seconds, interval = float(values["seconds"]), float(values.get("interval") or 0.0)
    which = f"signal.ITIMER_{name}"
    if not seconds:
        script.add(f"previous = signal.setitimer({which}, 0)")
        script.add('was = "was not running" if not previous[0] else f"stopped (it had '
                   '{timer_left(previous)})"')  # fmt: skip
        script.add(f'print(f"itimer: ITIMER_{name} {{was}}")')
        return
    _timer_trap(script, "itimer", signame)
    args = f"{which}, {seconds!r}" + (f", {interval!r}" if interval else "")
    script.add(f"previous = signal.setitimer({args})")
    text = f"itimer: ITIMER_{name} delivers {signame} in {seconds:g} s"
    if interval:
        text += f", then every {interval:g} s (at most {CAP} times: the session's event cap)"
        # The shell stops a repeating timer after CAP signals; the script's own end does.
    text += "{f' (the previous timer had {timer_left(previous)})' if previous[0] else ''}"
    script.add(wrapped_print(text, f=True))
    if name != "REAL":
        script.add(wrapped_print(f"note: ITIMER_{name} counts {counts}: idle at the prompt it "
                                 "doesn't advance"))  # fmt: skip


EXPORTERS = {"alarm": _alarm, "itimer": _itimer}


def cancelled(script: Script, record: CommandRecord) -> bool:
    """A command Ctrl-C cancelled in the session: not run here (its wait would sit to its
    timeout, or raise where the session went on), and what the session said is printed."""
    from pslrepl.loop import CANCELLED

    if record.ok or record.error != CANCELLED:
        return False
    script.add("# cancelled by Ctrl-C in the session: not run here; what it said:",
               wrapped_print(f"error: {record.error}"))  # fmt: skip
    return True


def cancelled_wait(script: Script, record: CommandRecord, seconds: float) -> None:
    """A wait Ctrl-C cancelled in the session, after ``seconds``: for a child's exit, the
    same wait bounded by as long, which gives up as the Ctrl-C did (and says so as the
    shell did); any other wait is not run, and what the session said is printed."""
    from pslrepl.loop import CANCELLED

    name = record.values.get("name")
    event = record.values.get("event")
    if script.kinds.get(str(name)) != "process" or event not in (None, "exit"):
        cancelled(script, record)
        return
    v = script.var(str(name))
    status = script.use("status")
    script.imp("subprocess")
    script.add(f"# cancelled by Ctrl-C in the session after about {seconds:g} s of waiting: "
               "here the\n# wait gives up after as long, as the Ctrl-C ended it",
               "try:", f"    returncode = {v}.wait(timeout={seconds:g})",
               "except subprocess.TimeoutExpired:", wrapped_print(f"error: {CANCELLED}",
                                                                  indent="    "),
               "else:", f'    print(f"{name}: {{{status}(returncode)}}")')  # fmt: skip
