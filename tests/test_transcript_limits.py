"""Transcripts' time limit over matching: a backtracking pattern ends at `#! timeout`."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

from pslrepl.replay import replay
from pslrepl.transcript import parse
from pslrepl.transcript.timelimit import SlowPattern, bounded
from tests.helpers import child_pids, run_cli

LONG = "a" * 40 + "c"  # (a+)+ tries every split of it before it gives up: for ever


@pytest.mark.parametrize(
    ("echoed", "line"),
    [(LONG, "(a+)+b (re)"), (LONG, "{?x:(a+)+$}"), ("x " + LONG, "x {?x:(a+)+b}")],
    ids=["re", "capture", "capture-in-a-line"],
)
def test_a_backtracking_pattern_is_ended_by_the_time_limit(echoed: str, line: str) -> None:
    text = f"#! timeout 0.3\npsl> echo {echoed}\n{line}\npsl> echo after\nafter\n"
    started = time.monotonic()
    outcome = replay(parse(text), path="t.psl")
    took = time.monotonic() - started
    assert took < 10, took
    assert outcome.timed_out and outcome.slow_step == 0 and outcome.steps_run == 1
    report = outcome.report()
    assert "t.psl:2: psl> echo" in report
    assert "matching its output ran past the time limit (0.3 s, #! timeout on line 1)" in report
    assert "echo after" not in report
    assert not outcome.takes(0)  # --update and -i leave the written line


def test_update_leaves_a_backtracking_pattern_as_written(tmp_path: Path) -> None:
    path = tmp_path / "slow.psl"
    text = f"#! timeout 0.3\npsl> echo {LONG}\n(a+)+b (re)\npsl> echo after\nbefore\n"
    path.write_text(text)
    done = run_cli("--update", str(path), timeout=30)
    assert done.returncode == 1
    assert "its expected lines are kept as written; the steps after it were not run" in done.stdout
    assert path.read_text() == text
    assert "matching its output ran past the time limit" in done.stdout


def test_the_bound_gives_back_a_transcripts_own_alarm() -> None:
    fired: list[int] = []
    old = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        with bounded(5):
            assert signal.getitimer(signal.ITIMER_REAL)[0] <= 5
        assert 25 < signal.getitimer(signal.ITIMER_REAL)[0] <= 30
        # Its own handler is back, and a timer that came due meanwhile still fires.
        signal.setitimer(signal.ITIMER_REAL, 0.001)
        with bounded(5):
            time.sleep(0.01)
        deadline = time.monotonic() + 5
        while not fired and time.monotonic() < deadline:
            time.sleep(0.005)
        assert fired == [signal.SIGALRM]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_the_bound_ends_re_in_the_main_thread_and_passes_quick_matches() -> None:
    import re

    with pytest.raises(SlowPattern), bounded(0.2):
        re.fullmatch(r"(a+)+b", LONG)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    with bounded(0.2):
        assert re.fullmatch(r"a+c", LONG)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_off_the_main_thread_the_bound_arms_no_timer() -> None:
    seen: list[tuple[float, float]] = []

    def run() -> None:
        with bounded(5):
            seen.append(signal.getitimer(signal.ITIMER_REAL))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [(0.0, 0.0)]


def test_off_the_main_thread_a_backtracking_pattern_is_ended_in_a_process_of_its_own() -> None:
    """There no signal reaches re: the step is matched in a helper process, killed at the
    limit; a step with no pattern line is matched in place, and the helper is gone after."""

    before = child_pids()
    text = f"psl> echo plain\nplain\npsl> echo {LONG}\n(a+)+b (re)\npsl> echo after\nafter\n"
    found = []

    def run() -> None:
        found.append(replay(parse(text), path="t.psl", time_limit=0.3, limit_note="a test's"))

    started = time.monotonic()
    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive() and time.monotonic() - started < 15
    outcome = found[0]
    assert outcome.slow_step == 1 and outcome.steps_run == 2, outcome.report()
    assert "t.psl:3: psl> echo" in outcome.report()
    assert "matching its output ran past the time limit (0.3 s, a test's)" in outcome.report()
    assert child_pids() == before
    # A pattern that matches at once passes there too, its captures bound.
    found.clear()
    text = "psl> echo token 42\ntoken {?t:\\d+}\npsl> echo {t}\n42\n"
    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert found[0].ok and found[0].bindings["t"] == "42", found[0].report()
    assert child_pids() == before


def test_the_time_limit_message_blames_only_a_pattern_the_step_holds() -> None:
    """A step with `...` lines and no (re) line nor capture was told that "a (re) line or
    a capture's REGEX under it backtracks"."""
    from pslrepl.transcript.replay_aids import slow_cause as _slow_cause

    plain = parse("psl> echo x\n...\nx\n...\ny\n").steps[0]
    assert _slow_cause(plain, ["x"] * 300) == (
        "its lines hold no (re) line nor capture; 2 `...` lines over 300 output lines: "
        "match a shorter output, or raise #! timeout"
    )
    for line in ("(a+)+b (re)", "{?c:(a+)+b}"):
        step = parse(f"psl> echo x\n...\n{line}\n").steps[0]
        assert _slow_cause(step, ["x"]).startswith("a (re) line or a capture's REGEX")
