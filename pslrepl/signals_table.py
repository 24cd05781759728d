"""Signal names, numbers and default actions (signal(7)), for parsing and the `signals` table."""

from __future__ import annotations

import signal
import sys

from pslrepl.errors import UsageError

_ACTIONS = {
    "Core": "QUIT ILL TRAP ABRT IOT BUS FPE SEGV XCPU XFSZ SYS",
    "Ign": "CHLD CLD URG WINCH",
    "Stop": "STOP TSTP TTIN TTOU",
    "Cont": "CONT",
}
DEFAULT_ACTION = {f"SIG{n}": action for action, names in _ACTIONS.items() for n in names.split()}
# Linux signals signal.Signals lacks before Python 3.11 (SIGSTKFLT came in 3.11).
_UNNAMED = {"SIGSTKFLT": 16} if sys.platform == "linux" else {}


def parse_signal(text: str, *, zero: bool = False) -> int:
    """A signal by name (INT, SIGINT, sigint, RTMIN+3) or number; 0 only when ``zero``
    (kill(pid, 0) sends nothing: it checks that the process exists)."""
    raw = text.strip()
    digits = raw[1:] if raw[:1] in ("+", "-") else raw
    if digits.isascii() and digits.isdigit():
        number = int(raw)
        # Any number the kernel knows, 32 and 33 too (glibc keeps them for its threads
        # and Python's valid_signals() leaves them out, but a child can be sent them).
        if not (1 <= number < signal.NSIG or (number == 0 and zero)):
            low = 0 if zero else 1
            raise UsageError(
                f"no signal number {raw}: signals are {low} to {signal.NSIG - 1}; "
                "`signals` lists them"
            )
        return number
    name = raw.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    realtime = _realtime_number(name)
    if realtime is not None:
        return realtime
    try:
        return int(signal.Signals[name])
    except KeyError:
        if name in _UNNAMED:
            return _UNNAMED[name]
        raise UsageError(f"unknown signal {text!r}; `signals` lists them") from None


def _realtime_number(name: str) -> int | None:
    """SIGRTMIN+N and SIGRTMAX-N, as kill -l names the realtime signals."""
    import re  # here: start-up stays cheap

    m = re.fullmatch(r"SIGRT(MIN\+|MAX-)(\d+)", name)
    if m is None:
        return None
    base = signal.SIGRTMIN if m.group(1) == "MIN+" else signal.SIGRTMAX
    number = base + int(m.group(2)) if base == signal.SIGRTMIN else base - int(m.group(2))
    if not signal.SIGRTMIN <= number <= signal.SIGRTMAX:
        raise UsageError(
            f"no signal {name}: the realtime signals are SIGRTMIN ({int(signal.SIGRTMIN)}) "
            f"to SIGRTMAX ({int(signal.SIGRTMAX)})"
        )
    return number


def signal_label(signum: int) -> str:
    """'SIGINT (2)', 'SIGRTMIN+1 (35)', or 'signal 32' for a number with no name."""
    name = signal_name(signum)
    return name if name.startswith("signal ") else f"{name} ({signum})"


def signal_names() -> list[str]:
    return sorted(s.name for s in signal.Signals)


def default_action(name: str) -> str:
    return DEFAULT_ACTION.get(name, "Term")


def signal_name(signum: int) -> str:
    """SIGHUP; the realtime ones as kill -l names them (SIGRTMIN+1 ... SIGRTMAX-1);
    'signal N' for a number with no name (32 and 33, glibc's own)."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        pass
    for name, number in _UNNAMED.items():
        if number == signum:
            return name
    low, high = int(signal.SIGRTMIN), int(signal.SIGRTMAX)
    if low < signum < high:
        if signum - low <= (high - low) // 2:
            return f"SIGRTMIN+{signum - low}"
        return f"SIGRTMAX-{high - signum}"
    return f"signal {signum}"


def describe_status(returncode: int) -> str:
    """'exited with status 3' or 'killed by SIGTERM (signal 15)': a negative returncode
    is the signal that ended the child (Popen's convention)."""
    if returncode < 0:
        name = signal_name(-returncode)
        if name.startswith("signal "):
            return f"killed by {name}"
        return f"killed by {name} (signal {-returncode})"
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
