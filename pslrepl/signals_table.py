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


# What a helper thread blocks: every signal but the faults, which must stay deliverable
# (and KILL and STOP, which can't be blocked).
BLOCKABLE = frozenset(
    signal.valid_signals()
    - {signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGKILL, signal.SIGSTOP}
)


def background_thread() -> None:
    """Called first in a helper thread: block the signals it must not take. A signal sent
    to the process goes to any thread that doesn't block it, and Python runs handlers
    only in the main thread: one landing here would wait, unseen, until the main thread
    next wakes (SIGTERM during a long `sleep`). Faults stay deliverable."""
    signal.pthread_sigmask(signal.SIG_BLOCK, BLOCKABLE)


# siginfo(2)'s si_code for a signal sigtimedwait took: who or what sent it.
SI_CODES = {
    0: "SI_USER: sent by kill",
    -1: "SI_QUEUE: sent by sigqueue",
    -2: "SI_TIMER: a POSIX timer expired",
    -3: "SI_MESGQ: a message queue",
    -4: "SI_ASYNCIO: asynchronous I/O completed",
    -5: "SI_SIGIO: queued SIGIO",
    -6: "SI_TKILL: sent by tkill or tgkill (raise)",
    0x80: "SI_KERNEL: sent by the kernel",
}

# siginfo(2)'s si_code for a SIGCHLD: what became of the child (os.CLD_EXITED...).
CLD_CODES = {
    1: "CLD_EXITED: the child exited",
    2: "CLD_KILLED: the child was killed by a signal",
    3: "CLD_DUMPED: the child was killed by a signal and dumped core",
    4: "CLD_TRAPPED: a traced child trapped",
    5: "CLD_STOPPED: the child was stopped",
    6: "CLD_CONTINUED: the stopped child was continued",
}

# Linux's /proc/PID/status: the masks of a live process, by their field names.
MASKS = {"SigIgn": "ignored", "SigBlk": "blocked", "SigCgt": "caught", "ShdPnd": "pending"}


def mask_signals(hexmask: str) -> list[int]:
    """The signals set in a /proc mask (hex; bit N-1 is signal N)."""
    bits = int(hexmask, 16)
    return [n for n in range(1, bits.bit_length() + 1) if bits >> (n - 1) & 1]


def proc_masks(pid: int) -> dict[str, list[int]] | None:
    """What a live process ignores, blocks, catches and has pending, as Linux's
    /proc/PID/status shows it (what a child inherited across exec included); None where
    there is no such file (another system, or the process is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None
    found: dict[str, list[int]] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in MASKS:
            try:
                found[MASKS[key]] = mask_signals(value.strip())
            except ValueError:
                continue
    return found or None


def names_text(signums: list[int]) -> str:
    """SIGHUP, SIGINT; 'none' for an empty list."""
    return ", ".join(signal_name(n) for n in signums) if signums else "none"


def action_of(signum: int) -> str:
    """What the default action (SIG_DFL) does to the process that gets ``signum``:
    'Term', 'Core', 'Stop', 'Ign' or 'Cont' (signal(7))."""
    return default_action(signal_name(signum))


def signal_expr(signum: int) -> str:
    """A signal as Python source, for explain: signal.SIGINT, signal.SIGRTMIN + 1, or the
    bare number for one with no name (32)."""
    name = signal_name(signum)
    if name.startswith("signal "):
        return str(signum)
    if name.startswith(("SIGRTMIN+", "SIGRTMAX-")):
        return f"signal.{name[:8]} {name[8]} {name[9:]}"
    return f"signal.{name}"
