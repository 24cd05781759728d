"""Exporters for signals in the shell itself and to children's groups: raise (signal
shell), trap --ignore and --default, alarm, itimer, sigwait, spawn --ignore, signal --group."""

from __future__ import annotations

from pslrepl.export.enders import GROUP_MEMBERS
from pslrepl.export.script import Unexportable, indented, wrapped_print
from pslrepl.export.shlib import EXPORTERS as SHLIB
from pslrepl.export.signal_timers import EXPORTERS as TIMERS
from pslrepl.export.signal_timers import (
    cancelled,
    disposition,
    dispositions,
    label_of,
    report,
    signum_of,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord


# -- raise, signal shell ----------------------------------------------------------------


# ruff's PLW1509 warns that a lock another thread held at the fork stays held in the
# child: these preexec_fn lambdas take none (signal.signal and an ioctl).
NOQA = "  # noqa: PLW1509"


def _raise(script: Script, record: CommandRecord) -> None:
    from pslrepl.commands.signals import ACTION_TEXT
    from pslrepl.signals_table import action_of, signal_expr

    if record.values.get("force"):
        raise Unexportable("a signal that ends or stops the shell (--force) is not exported")
    signum = signum_of(record)
    script.imp("signal")
    if signum == 0:
        script.imp("os")
        script.add('print(f"shell: pid {os.getpid()} is this process (signal 0 sends nothing)")')
        return
    expr, label = signal_expr(signum), label_of(signum)
    said = f"shell: raised {label}: "
    held = disposition(script, signum)
    if held == "int":
        script.add("try:", f"    signal.raise_signal({expr})", "except KeyboardInterrupt:")
        script.add(wrapped_print(said + "Python's default_int_handler raised KeyboardInterrupt, "
                                 "as Ctrl-C does to a running command (caught here)", f=True,
                                 indent="    "))  # fmt: skip
        return
    if held == "trap":
        outcome = f"the trap reported it ({{sum(n == {expr} for _, n in received)}} so far)"
    elif held == "ignore":
        outcome = "ignored (SIG_IGN): the kernel discarded it"
    else:
        action = action_of(signum)
        if action not in ("Ign", "Cont"):
            raise Unexportable(f"{signal_expr(signum)} at SIG_DFL would end or stop the script")
        outcome = f"its default action (SIG_DFL) {ACTION_TEXT[action]}"
    script.add(f"signal.raise_signal({expr})")
    script.add(wrapped_print(said + outcome, f=True))


def _signal(script: Script, record: CommandRecord) -> None:
    """signal shell SIG is raise; --group is os.killpg; the rest is processes' own."""
    from pslrepl.export.processes import EXPORTERS as PROCESSES
    from pslrepl.export.shlib import signal_job

    name = record.values.get("name")
    if not isinstance(name, str):
        _raise(script, record)
    elif script.kinds.get(name) == "sh":
        signal_job(script, record, signum_of(record), group=bool(record.values.get("group")))
    elif record.values.get("group"):
        _signal_group(script, record)
    else:
        PROCESSES["signal"](script, record)


def _signal_group(script: Script, record: CommandRecord) -> None:
    from pslrepl.signals_table import signal_expr

    name = str(record.values["name"])
    if script.kinds.get(name) != "process":
        raise Unexportable(f"signal --group to {name} (no child of this script) is not exported")
    v = script.var(name)
    signum = signum_of(record)
    script.imp("os", "signal")
    if "group_members" not in script.globals:
        script.globals.add("group_members")
        script.add(*GROUP_MEMBERS)
    script.add(f"members = len(group_members({v}.pid))")
    script.add(f"os.killpg({v}.pid, {signal_expr(signum) if signum else 0})")
    count = "{members} process{'es' if members != 1 else ''}"
    if signum:
        text = f"{name}: sent {label_of(signum)} to process group {{{v}.pid}} ({count})"
    else:
        text = f"{name}: process group {{{v}.pid}} exists ({count}) (signal 0 sends nothing)"
    script.add(wrapped_print(text, f=True))


# -- trap ---------------------------------------------------------------------------------


def _trap(script: Script, record: CommandRecord) -> None:
    """trap SIG (report), --off, --ignore and --default, for every signal (the real-time
    ones too: SIGRTMIN + 1 is an expression, never a name)."""
    from pslrepl.signals_table import signal_expr

    values = record.values
    if not record.ok:
        raise Unexportable("this trap failed in the session; what it said is not in this script")
    if values.get("ignore") or values.get("default"):
        _set_action(script, record)
        return
    signum = signum_of(record)
    expr, label, saved = signal_expr(signum), label_of(signum), _saved(signum)
    held = dispositions(script)
    script.imp("signal")
    if values.get("off"):
        held.pop(signum, None)
        stopping = _timer_stop(script, record)
        if not any(line.lstrip().startswith(f"{saved} = ") for line in script.body):
            saved = "signal.SIG_DFL"  # a timer's own trap (itimer's): it had SIG_DFL before
        script.add(f"signal.signal({expr}, {saved})")
        script.add(wrapped_print(f"trap: {label} restored to its previous handler", f=True))
        script.add(*stopping)
        return
    if held.get(signum) == "trap":
        script.add(wrapped_print(f"trap: {label} is already trapped: {{sum(n == {expr} for _, "
                                 "n in received)} received so far", f=True))  # fmt: skip
        return
    report(script)
    call = f"signal.signal({expr}, report)"
    script.add(call if signum in held else f"{saved} = {call}")
    held[signum] = "trap"
    script.add(wrapped_print(f"trap: {label} will be reported, not acted on", f=True))
    if signum == 2:
        script.add(wrapped_print("warning: while SIGINT is trapped, Ctrl-C reports instead of "
                                 "cancelling; blocking commands still time out"))  # fmt: skip


def _saved(signum: int) -> str:
    """The variable holding the disposition a signal had before the script changed it
    (what `trap SIG --off` puts back): previous_SIGUSR1, previous_SIGRTMIN_1."""
    from pslrepl.signals_table import signal_name

    return "previous_" + signal_name(signum).replace("+", "_").replace("-", "_").replace(" ", "_")


def _set_action(script: Script, record: CommandRecord) -> None:
    import signal

    from pslrepl.commands.signals import _WARNINGS, disposition_said
    from pslrepl.signals_table import signal_expr

    signum = signum_of(record)
    ignore = bool(record.values.get("ignore"))
    handler = "SIG_IGN" if ignore else "SIG_DFL"
    saved = _saved(signum)
    call = f"signal.signal({signal_expr(signum)}, signal.{handler})"
    script.imp("signal")
    stopping = _timer_stop(script, record)
    if signum in dispositions(script):
        script.add(call)
    else:  # what `trap SIG --off` puts back
        script.add(f"{saved} = {call}")
    dispositions(script)[signum] = "ignore" if ignore else "default"
    script.add(wrapped_print(disposition_said(label_of(signum), signum, ignore=ignore), f=True))
    warning = _WARNINGS.get((signum, getattr(signal, handler)))
    if warning:
        script.add(wrapped_print(f"warning: {warning}"))
    script.add(*stopping)


def _timer_stop(script: Script, record: CommandRecord) -> list[str]:
    """Where the shell stopped a running timer before giving its signal back to SIG_DFL
    (its next expiry would have ended the shell): the same, first; the lines that say so."""
    stop = next((c for c in record.calls if c.func == "signal.setitimer"), None)
    if stop is None:
        return []
    which = stop.args.split(",")[0].strip()  # signal.ITIMER_REAL
    name = which.rsplit("_", 1)[-1]
    script.add(f"left, interval = signal.getitimer({which})",
               f"signal.setitimer({which}, 0)  # its next signal would end the script")  # fmt: skip
    every = "{f', then every {interval:.3g} s' if interval else ''}"
    signame = {"REAL": "SIGALRM", "VIRTUAL": "SIGVTALRM", "PROF": "SIGPROF"}[name]
    return [wrapped_print(f"warning: itimer {name} stopped first ({{left:.3g}} s left{every}): "
                          f"its next {signame} would have ended the shell at SIG_DFL; "
                          f"`itimer {name} S` sets it again", f=True)]  # fmt: skip


# -- sigwait ------------------------------------------------------------------------------


def _sigwait(script: Script, record: CommandRecord) -> None:
    from pslrepl.errors import PslError
    from pslrepl.signals_table import CLD_CODES, SI_CODES, parse_signal, signal_expr, signal_name

    if cancelled(script, record):
        return
    if not record.ok and not record.calls and record.error:
        # refused before any call (SIGKILL, SIGSTOP, the C library's 32 and 33): the
        # script says what the shell said, and makes no call that would raise OSError
        script.add("# the shell refused it before making any call; what it said:",
                   wrapped_print(f"error: {record.error}"))  # fmt: skip
        return
    try:
        signums = list(dict.fromkeys(parse_signal(str(w)) for w in record.values["sig"]))
    except PslError:
        raise Unexportable("the shell refused a signal of this sigwait") from None
    timeout = record.values.get("timeout")
    timeout = script.timeout if timeout is None else float(timeout)
    shown = "{" + ", ".join(signal_expr(n) for n in signums) + "}"
    names = " or ".join(signal_name(n) for n in signums)
    script.imp("os", "signal")
    children = ", ".join(f"{script.var(n)}.pid: {n!r}" for n, kind in script.kinds.items()
                         if kind == "process")  # fmt: skip
    script.add(
        "# Blocked, the signal stays pending until sigtimedwait takes it; the handler only",
        "# keeps its default action away should another thread be sent it.",
        f"waited = {shown}",
        "handlers = {n: signal.signal(n, lambda signum, frame: None) for n in waited}",
        "mask = signal.pthread_sigmask(signal.SIG_BLOCK, waited)",
        f"info = signal.sigtimedwait(waited, {timeout!r})",
        "signal.pthread_sigmask(signal.SIG_SETMASK, mask)",
        "for n, handler in handlers.items():",
        "    signal.signal(n, handler)",
        "if info is None:",
        wrapped_print(
            f"error: sigwait: timeout after {timeout:g} s: no {names} came; "
            "--timeout S waits longer",
            indent="    ",
        ),
        "else:",
        *_dict_lines("codes", SI_CODES, indent=4),
        "    if info.si_signo == signal.SIGCHLD:  # a child's: what became of it",
        *_dict_lines("codes", CLD_CODES, indent=8),
        '    who = f"pid {info.si_pid}"',
        f"    children = {{{children}}}",
        "    if info.si_pid == os.getpid():",
        '        who += " (the shell itself)"',
        "    elif info.si_pid in children:",
        '        who += f" ({children[info.si_pid]}, a child of the shell)"',
        '    code = codes.get(info.si_code, f"si_code {info.si_code}")',
        "    low, high = int(signal.SIGRTMIN), int(signal.SIGRTMAX)",
        "    if low < info.si_signo < high:  # named as kill -l names it",
        "        if info.si_signo - low <= (high - low) // 2:",
        '            name = f"SIGRTMIN+{info.si_signo - low}"',
        "        else:",
        '            name = f"SIGRTMAX-{high - info.si_signo}"',
        "    else:",
        "        name = signal.Signals(info.si_signo).name",
        '    print(f"sigwait: {name} ({info.si_signo}) from {who}, uid {info.si_uid}: {code}")',
    )


def _dict_lines(name: str, table: dict[int, str], *, indent: int) -> list[str]:
    """``name = {...}``, one entry a line."""
    pad = " " * indent
    return [f"{pad}{name} = {{", *(f"{pad}    {k}: {v!r}," for k, v in table.items()), f"{pad}}}"]


# -- spawn --ignore ---------------------------------------------------------------------


def _spawn(script: Script, record: CommandRecord) -> None:
    """processes' spawn, with the signals --ignore names set to SIG_IGN in the child before
    it execs (Popen's preexec_fn): SIG_IGN survives exec, a handler would not."""
    import copy

    from pslrepl.export.processes import EXPORTERS as PROCESSES
    from pslrepl.signals_table import parse_signal, signal_expr

    ignore = record.values.get("ignore")
    if ignore and not record.ok and not record.calls and record.error:
        # --ignore KILL, 32...: refused before any call, as the script says
        script.add("# the shell refused it before making any call; what it said:",
                   wrapped_print(f"error: {record.error}"))  # fmt: skip
        return
    if not ignore or not record.ok:
        PROCESSES["spawn"](script, record)
        return
    words = [w for word in ignore for w in str(word).split(",") if w]
    exprs = list(dict.fromkeys(signal_expr(parse_signal(w)) for w in words))
    plain = copy.copy(record)
    plain.values = {**record.values, "ignore": []}
    start = len(script.body)
    PROCESSES["spawn"](script, plain)
    if len(exprs) == 1:
        body = f"signal.signal({exprs[0]}, signal.SIG_IGN)"
    else:
        body = f"[signal.signal(s, signal.SIG_IGN) for s in ({', '.join(exprs)})]"
    script.imp("signal")
    for at in range(start, len(script.body)):
        line = script.body[at]
        if line.lstrip().startswith("preexec_fn=lambda: "):
            # --pty's own preexec_fn (the terminal made the controlling one): one
            # function doing both, as the shell's does; Popen takes the keyword once
            lead, rest = line[: len(line) - len(line.lstrip())], line.lstrip()
            rest = rest.removesuffix(NOQA)
            pty_call = rest[len("preexec_fn=lambda: ") :].rstrip(",")
            script.body[at] = f"{lead}preexec_fn=lambda: ({body}, {pty_call}),{NOQA}"
            return
    for at in range(start, len(script.body)):
        if script.body[at].lstrip().startswith("start_new_session=True"):
            lead = script.body[at][: len(script.body[at]) - len(script.body[at].lstrip())]
            script.body.insert(at + 1, indented(f"preexec_fn=lambda: {body},{NOQA}", len(lead)))
            script.imp("signal")
            return
    raise Unexportable("spawn --ignore: processes' Popen call has no start_new_session line")


def _sh_job_first(command: str) -> Any:
    """shlib's exporter of ``command`` for an sh job; for anything else the one the modules
    before this one declare (shlib's too, which hands what is no sh job on)."""

    def export(script: Script, record: CommandRecord) -> None:
        import importlib

        from pslrepl.export import MODULES

        name = record.values.get("name")
        names = [str(n) for n in (name if isinstance(name, list) else [name])]
        if any(script.kinds.get(n) == "sh" for n in names):
            return SHLIB[command](script, record)
        found = None
        for module in MODULES[: MODULES.index("signals")]:
            found = importlib.import_module(f"pslrepl.export.{module}").EXPORTERS.get(
                command, found
            )
        if found is None:
            raise Unexportable(f"{command} is not exported yet")
        return found(script, record)

    return export


EXPORTERS = {
    **{command: _sh_job_first(command) for command in SHLIB},
    "raise": _raise,
    "signal": _signal,
    "trap": _trap,
    **TIMERS,
    "sigwait": _sigwait,
    "spawn": _spawn,
}
