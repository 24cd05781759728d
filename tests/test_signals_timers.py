"""itimer: real interval timers delivering real signals to the shell, bounded and undone."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest

from pslrepl.pending import PENDING_MAX
from tests.helpers import Shell, make_shell, run_cli

TIMERS = (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF)


def _count(signum: int) -> int:
    handler = signal.getsignal(signum)
    return int(getattr(handler, "count", -1))


def test_a_repeating_100ms_timer_counted_over_half_a_second(shell: Shell) -> None:
    started = time.monotonic()
    out = shell.ok("itimer REAL 0.1 0.1")
    assert out == (
        "itimer: SIGALRM is now trapped: its default action would end the shell\n"
        "itimer: ITIMER_REAL delivers SIGALRM in 0.1 s, then every 0.1 s (at most "
        f"{PENDING_MAX} times: the session's event cap)\n"
    )
    shell.ok("sleep 0.5")
    stopped = shell.ok("itimer REAL 0")
    elapsed = time.monotonic() - started
    assert stopped.startswith("itimer: ITIMER_REAL stopped (it had ")
    assert stopped.endswith(", then every 0.1 s)\n")
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    count = _count(signal.SIGALRM)
    # Five in half a second, within one; and never more than the time it ran allows.
    assert 4 <= count <= 6 and count <= elapsed / 0.1 + 1, (count, elapsed)
    assert shell.ok("trap ALRM") == (
        f"trap: SIGALRM (14) is already trapped: {count} received so far\n"
    )
    log = shell.ok("log signal")
    assert f"received SIGALRM (14) again: {count} so far" in log


def test_a_fast_repeating_timer_stops_at_the_event_cap(shell: Shell) -> None:
    shell.ok("itimer REAL 0.001 0.001")
    session = shell.session

    def stopped() -> bool:
        # A snapshot: the trap appends to the log between bytecodes of this very thread.
        return any("itimer REAL stopped after" in e.detail for e in list(session.log))

    assert session.wait_for(stopped, timeout=30)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    count = _count(signal.SIGALRM)
    # The cap's own signal, and at most one already on its way when the timer stopped.
    assert PENDING_MAX <= count <= PENDING_MAX + 1
    note = [e.detail for e in list(session.log) if "itimer REAL stopped" in e.detail]
    assert note == [
        f"itimer REAL stopped after {PENDING_MAX} SIGALRMs: the session's event cap; "
        "`itimer REAL S INTERVAL` starts it again"
    ]
    assert len(session.pending) <= PENDING_MAX


def test_an_interval_under_a_millisecond_is_refused(shell: Shell) -> None:
    assert shell.fails("itimer REAL 0.01 0.0005") == (
        "error: itimer: INTERVAL must be 0 (once) or at least 0.001 s: a shorter one "
        "delivers signals faster than the shell can take them"
    )
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert "must be REAL, VIRTUAL or PROF" in shell.fails("itimer WALL 1")
    assert "must be" in shell.fails("itimer REAL -1")


def test_a_one_shot_timer_is_delivered_once(shell: Shell) -> None:
    shell.ok("itimer real 0.05")  # any case
    session = shell.session
    assert session.wait_for(lambda: _count(signal.SIGALRM) >= 1, timeout=10)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert shell.ok("itimer REAL 0") == "itimer: ITIMER_REAL was not running\n"


def test_itimer_alone_shows_the_three_timers(shell: Shell) -> None:
    shell.ok("itimer PROF 30 5")
    rows = {line.split()[0]: line for line in shell.ok("itimer").splitlines()[1:]}
    assert rows["REAL"].split()[1:3] == ["SIGALRM", "off"]
    assert rows["VIRTUAL"].split()[1:3] == ["SIGVTALRM", "off"]
    assert rows["PROF"].split()[1] == "SIGPROF" and ", then every 5 s" in rows["PROF"]
    assert "signal.getitimer(signal.ITIMER_PROF)" in shell.ok("explain")
    assert shell.ok("itimer PROF").count("\n") == 2
    assert "stopped (it had" in shell.ok("itimer PROF 0")


def test_cpu_time_timers_say_they_count_cpu_time(shell: Shell) -> None:
    out = shell.ok("itimer VIRTUAL 10")
    assert "note: ITIMER_VIRTUAL counts the shell's CPU time in user mode: idle at the " in out
    assert signal.getitimer(signal.ITIMER_VIRTUAL)[0] > 0
    shell.ok("itimer VIRTUAL 0")


def test_exit_stops_every_timer_and_puts_every_disposition_back() -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGALRM, signal.SIGVTALRM,
                                                signal.SIGPROF, signal.SIGUSR2)}  # fmt: skip
    shell = make_shell()
    shell.ok("itimer REAL 30 1; itimer VIRTUAL 30; itimer PROF 30 2; trap USR2 --ignore")
    assert all(signal.getitimer(t)[0] > 0 for t in TIMERS)
    shell.ok("exit")
    shell.close()
    assert [signal.getitimer(t) for t in TIMERS] == [(0.0, 0.0)] * 3
    assert {s: signal.getsignal(s) for s in before} == before


@pytest.mark.parametrize("how", ["--off", "--default"])
def test_a_running_timer_is_stopped_before_its_signal_goes_back_to_sig_dfl(
    how: str,
) -> None:
    """itimer trapped SIGALRM itself; `trap ALRM --off` (or --default) would give it to
    SIG_DFL while the repeating timer runs, and its next expiry would end the shell."""
    done = run_cli(
        "--keep-going",
        "-c",
        f"itimer REAL 0.05 0.05; trap ALRM {how}; sigwait USR1 --timeout 0.3; py print('alive')",
    )
    assert done.returncode == 1, done  # sigwait's timeout, not SIGALRM's death (142)
    lines = done.stdout.splitlines()
    assert lines[-1] == "alive"
    # (the timer may have fired before: its reports come between the lines)
    warning = [line for line in lines if line.startswith("warning: itimer REAL stopped first (")]
    assert len(warning) == 1
    assert warning[0].endswith(
        " s left, then every 0.05 s): its next SIGALRM would have ended the shell at "
        "SIG_DFL; `itimer REAL S` sets it again"
    )
    assert "error: sigwait: timeout after 0.3 s: no SIGUSR1 came" in done.stderr


def test_a_timer_on_a_trapped_signal_is_left_running(shell: Shell) -> None:
    shell.ok("trap ALRM")
    shell.ok("itimer REAL 30")
    try:
        shell.ok("trap ALRM --ignore")  # SIG_IGN ends nothing: the timer is the user's
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        shell.ok("trap ALRM --off")


@pytest.mark.parametrize("command", ["alarm 30", "itimer REAL 30"])
def test_a_timer_for_an_ignored_signal_says_it_goes_unseen(shell: Shell, command: str) -> None:
    shell.ok("trap ALRM --ignore")
    out = shell.ok(command)
    assert "SIGALRM is ignored (SIG_IGN): it will come and go unseen" in out
    assert signal.getsignal(signal.SIGALRM) == signal.SIG_IGN
    shell.ok(f"{command.rsplit(' ', 1)[0]} 0")


def test_the_time_a_timer_has_left_is_a_placeholder_in_a_recording(tmp_path: Path) -> None:
    # The time left differs from run to run: recorded as it was, replay would fail.
    recording = tmp_path / "timers.psl"
    script = tmp_path / "session.psl"
    script.write_text(f"record {recording}\nitimer REAL 30 5\nitimer REAL 0.7\nitimer\n"
                      "itimer REAL 0\nalarm 9\nalarm 0\nrecord stop\n")  # fmt: skip
    assert run_cli(str(script)).returncode == 0
    text = recording.read_text()
    assert "(the previous timer had {timer1.left}, then every 5 s)" in text
    assert re.search(r"\nREAL +SIGALRM +\{timer2\.left\}  real", text), text
    assert "itimer: ITIMER_REAL stopped (it had {timer3.left})" in text
    assert "alarm: cancelled (the previous alarm had {timer4.left})" in text
    assert not re.search(r"\d s left", text), text
    checked = run_cli("--check", str(recording))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_alarm_and_itimer_help_say_which_to_use(shell: Shell) -> None:
    alarm = shell.ok("help alarm")
    assert "once, after S whole seconds" in alarm
    assert "For a fraction of a second or a timer that repeats, use `itimer REAL S" in alarm
    assert "setting either replaces the other" in alarm
    assert "alarm sets whole seconds, once; itimer takes fractions" in shell.ok("help itimer")


def test_each_delivery_of_a_repeating_timer_is_a_line_of_its_own_up_to_the_cap() -> None:
    shell = make_shell()
    try:
        shell.ok("set events live")
        start = shell.out.tell()
        shell.ok("itimer REAL 0.002 0.002")
        session = shell.session
        assert session.wait_for(lambda: any("itimer REAL stopped after" in e.detail
                                            for e in list(session.log)), timeout=30)  # fmt: skip
        shell.ok("echo after")
        shell.out.seek(start)
        lines = shell.out.read().splitlines()
    finally:
        shell.close()
    received = [line for line in lines if line.startswith("[signal] received SIGALRM")]
    # One line per signal, each its own number: none summed into another, none lost. (A
    # signal that comes while the handler of the one before runs is told first.)
    assert sorted(received, key=lambda line: int(line.split()[-3]) if "again" in line else 1) == [
        "[signal] received SIGALRM (14)",
        *(f"[signal] received SIGALRM (14) again: {n} so far" for n in range(2, PENDING_MAX + 1)),
    ]
    assert lines[-2:] == [
        f"[signal] itimer REAL stopped after {PENDING_MAX} SIGALRMs: the session's event cap; "
        "`itimer REAL S INTERVAL` starts it again",
        "after",
    ]


def test_an_ignored_timer_signal_is_said_to_maybe_stop_the_timer(shell: Shell) -> None:
    from pslrepl.commands.signal_timers import _left

    shell.ok("trap ALRM --ignore")
    try:
        out = shell.ok("itimer REAL 30 30")
        assert ("it will come and go unseen (a repeating one may stop at its first: Linux "
                "6.13 and later don't rearm it while its signal is ignored)") in out  # fmt: skip
    finally:
        shell.ok("itimer REAL 0")
        shell.ok("trap ALRM --off")
    # What getitimer gives once the kernel has stopped it: the table says so, not "off".
    assert _left((0.0, 0.1)) == (
        "off (its 0.1 s interval is kept, but the kernel stopped it: its signal was ignored "
        "when it fired)"
    )
    assert _left((0.0, 0.0)) == "off"
