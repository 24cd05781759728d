"""Every signal a child can die of, reported by name by wait, poll, ps, info and the live event.

One shell spawns a child per signal, signals them all, then waits for them all; each
parametrized test checks one signal's reports. The children reset every signal to its
default action and drop core dumps before they exec `sleep`, so nothing inherited from
the test runner (an ignored SIGHUP under nohup, Python's SIGPIPE) changes how they die.
"""

from __future__ import annotations

import re
import shlex
import signal
from collections.abc import Iterator

import pytest

from tests.helpers import PY, Shell, make_shell

# signal(7): the signals whose default action is not to end the process. The test keeps
# its own list rather than read the shell's table, so a wrong table can't hide here.
NOT_FATAL = {"SIGCHLD", "SIGURG", "SIGWINCH", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU",
             "SIGCONT"}  # fmt: skip
RTMIN, RTMAX = int(signal.SIGRTMIN), int(signal.SIGRTMAX)


def expected_name(n: int) -> str:
    """The name `kill -l` gives: SIGHUP ... SIGRTMIN, SIGRTMIN+1 ... SIGRTMAX-1, SIGRTMAX."""
    if n == 16:
        return "SIGSTKFLT"  # Linux's; signal.Signals has it from Python 3.11 on
    if n in (RTMIN, RTMAX) or n < RTMIN:
        return signal.Signals(n).name
    if n - RTMIN <= (RTMAX - RTMIN) // 2:
        return f"SIGRTMIN+{n - RTMIN}"
    return f"SIGRTMAX-{RTMAX - n}"


# 32 and 33 are left out: glibc handles them for its threads in every child it runs.
FATAL = [
    n for n in range(1, signal.NSIG) if n not in (32, 33) and expected_name(n) not in NOT_FATAL
]

DEFAULTS_THEN_SLEEP = """
import os, resource, signal
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
for s in signal.valid_signals():
    if s not in (signal.SIGKILL, signal.SIGSTOP):
        signal.signal(s, signal.SIG_DFL)
signal.pthread_sigmask(signal.SIG_SETMASK, [])
print("ready", flush=True)
os.execv("/bin/sleep", ["sleep", "60"])
"""


def answer(out: str) -> str:
    """A command's own lines, without the live events shown around them."""
    return "".join(line for line in out.splitlines(keepends=True) if not line.startswith("["))


class Deaths:
    def __init__(self, shell: Shell) -> None:
        self.shell = shell
        self.sent: dict[int, str] = {}
        self.waited: dict[int, str] = {}
        self.shown = ""  # everything the commands printed, live events included


@pytest.fixture(scope="module")
def deaths() -> Iterator[Deaths]:
    shell = make_shell()
    shell.session.settings.timeout = 30.0
    # The pitfall note a SIGPIPE death earns would come in another command's answer.
    shell.ok("set notes off")
    found = Deaths(shell)
    try:
        argv = shlex.join([PY, "-S", "-u", "-c", DEFAULTS_THEN_SLEEP])
        for n in FATAL:
            found.shown += shell.ok(f"spawn s{n} -- {argv}")
        for n in FATAL:
            assert shell.ok(f"read s{n} --line") == "ready\n"
        # Live from here, as interactively: what happens next is shown as it happens.
        found.shown += shell.ok("set events live")
        for n in FATAL:
            # By name, as a user types it: HUP, RTMIN+3, RTMAX-1.
            found.sent[n] = shell.ok(f"signal s{n} {expected_name(n).removeprefix('SIG')}")
            found.shown += found.sent[n]
        for n in FATAL:
            found.waited[n] = shell.ok(f"wait s{n}")
            found.shown += found.waited[n]
        found.shown += shell.ok("echo done")  # shows what live events are left
        found.shown += shell.ok("set events quiet")
        yield found
    finally:
        shell.close()


def test_the_list_covers_every_kind() -> None:
    names = {expected_name(n) for n in FATAL}
    assert {"SIGHUP", "SIGINT", "SIGKILL", "SIGPIPE", "SIGSEGV", "SIGABRT", "SIGSYS"} <= names
    assert {"SIGRTMIN", "SIGRTMIN+1", "SIGRTMIN+15", "SIGRTMAX-14", "SIGRTMAX"} <= names
    assert "SIGCHLD" not in names and "SIGTSTP" not in names


@pytest.mark.parametrize("n", FATAL, ids=[expected_name(n) for n in FATAL])
def test_a_child_killed_by_a_signal_is_named(deaths: Deaths, n: int) -> None:
    shell = deaths.shell
    name = expected_name(n)
    said = f"killed by {name} (signal {n})"
    assert answer(deaths.sent[n]) == f"s{n}: sent {name} ({n})\n"
    assert answer(deaths.waited[n]) == f"s{n}: {said}\n"
    assert shell.ok(f"poll s{n}") == f"s{n}: {said}\n"
    info = dict(line.split(":", 1) for line in shell.ok(f"info s{n}").splitlines())
    assert info["status"].strip() == said
    assert info["returncode"].strip() == str(-n)
    rows = [line for line in shell.ok("ps").splitlines() if line.split()[0] == f"s{n}"]
    assert len(rows) == 1 and re.search(rf"  {re.escape(said)} +-{n}  ", rows[0]), rows
    # The exit is shown live once; the signal the command sent is said by its answer
    # only, not again as a live event.
    assert deaths.shown.count(f"[s{n}] {said}\n") == 1
    assert f"[s{n}] sent" not in deaths.shown
    assert f"sent {name} ({n})" in shell.ok(f"log s{n}")  # but logged
