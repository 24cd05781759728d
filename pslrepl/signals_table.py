"""Signal names, numbers and default actions (signal(7)), for parsing and the `signals` table."""

from __future__ import annotations

import signal

from pslrepl.errors import UsageError

_ACTIONS = {
    "Core": "QUIT ILL TRAP ABRT IOT BUS FPE SEGV XCPU XFSZ SYS",
    "Ign": "CHLD CLD URG WINCH",
    "Stop": "STOP TSTP TTIN TTOU",
    "Cont": "CONT",
}
DEFAULT_ACTION = {f"SIG{n}": action for action, names in _ACTIONS.items() for n in names.split()}


def parse_signal(text: str) -> int:
    """A signal by name (INT, SIGINT, sigint) or number."""
    raw = text.strip()
    if raw.lstrip("-").isdigit():
        number = int(raw)
        if number not in {s.value for s in signal.Signals} and not (
            signal.SIGRTMIN <= number <= signal.SIGRTMAX
        ):
            raise UsageError(f"no signal number {number}; `signals` lists them")
        return number
    name = raw.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise UsageError(f"unknown signal {text!r}; `signals` lists them") from None


def signal_label(signum: int) -> str:
    try:
        return f"{signal.Signals(signum).name} ({signum})"
    except ValueError:
        return f"signal {signum}"


def signal_names() -> list[str]:
    return sorted(s.name for s in signal.Signals)


def default_action(name: str) -> str:
    return DEFAULT_ACTION.get(name, "Term")


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def describe_status(returncode: int) -> str:
    """'exited with status 3' or 'killed by SIGTERM (signal 15)'."""
    if returncode < 0:
        return f"killed by {signal_name(-returncode)} (signal {-returncode})"
    return f"exited with status {returncode}"


def short_status(returncode: int | None) -> str:
    if returncode is None:
        return "running"
    if returncode < 0:
        return signal_name(-returncode)
    return f"exited {returncode}"


def background_thread() -> None:
    """Called first in a helper thread: block the signals it must not take. A signal sent
    to the process goes to any thread that doesn't block it, and Python runs handlers
    only in the main thread: one landing here would wait, unseen, until the main thread
    next wakes (SIGTERM during a long `sleep`). Faults stay deliverable."""
    faults = {signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL}
    signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals() - faults)
