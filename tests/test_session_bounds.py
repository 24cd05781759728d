"""What a session keeps stays bounded, and Ctrl-C stops a whole line."""

from __future__ import annotations

import os
import signal
import threading
import time

from pslrepl.session import PENDING_MAX, TRAFFIC_LINES, VOLATILE_MAX
from tests.helpers import Shell


def wait_until(check: object, timeout: float = 20.0) -> None:
    """Poll a condition that a background thread makes true (not a fixed sleep)."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_live_events_of_an_unread_chatty_child_do_not_pile_up(shell: Shell) -> None:
    # A script with `set events live` shows events only between commands: meanwhile a
    # `yes` writes without end. What waits to be shown must not grow with it.
    shell.ok("set events live")
    shell.ok("spawn p -- yes")
    proc = shell.session.registry.get("p")
    wait_until(lambda: proc.stdout.total > 8 << 20)  # type: ignore[attr-defined]
    with shell.session.cond:
        queued = list(shell.session.pending.events)
    data = [e for e in queued if e.kind == "data"]
    assert len(data) == 1, f"{len(data)} data events queued for one stream"
    assert len(queued) <= PENDING_MAX
    out = shell.ok("echo next")
    assert out.count("bytes waiting") <= 1  # one notice for the stream, however much came


def test_pending_events_are_capped_and_the_rest_counted(shell: Shell) -> None:
    from pslrepl.events import Event

    shell.ok("set events live")
    for _ in range(TRAFFIC_LINES + 5):
        shell.session.post(Event.traffic("r", "relay", "a -> b", "", b"chunk"))
    for i in range(PENDING_MAX - TRAFFIC_LINES + 37):
        shell.session.post(Event("x", "note", f"note {i}"))
    assert len(shell.session.pending) == PENDING_MAX
    shown = [e.detail for e in shell.session.take_pending()]
    assert "... and 37 more events not shown; `log` keeps them" in shown
    assert any("and 5 more chunks (25 bytes)" in d for d in shown)
    assert shell.session.take_pending() == []
    assert (
        len([e for e in shell.session.log if e.source == "x"]) == PENDING_MAX - TRAFFIC_LINES + 37
    )


def test_volatile_values_stay_bounded_and_keep_live_and_session_ones(shell: Shell) -> None:
    volatile = shell.session.volatile
    shell.ok("udp open keep --bind 0")
    tmp = shell.session.tmp
    for i in range(VOLATILE_MAX * 2):
        volatile[f"gone{i}.port"] = str(i)
    assert len(volatile) <= VOLATILE_MAX
    assert volatile["tmp"] == tmp
    assert "keep.port" in volatile and "keep.laddr" in volatile
    assert f"gone{VOLATILE_MAX * 2 - 1}.port" in volatile  # the newest stay


def test_many_short_lived_names_do_not_grow_the_session(shell: Shell) -> None:
    for i in range(VOLATILE_MAX // 2 + 100):
        shell.ok(f"udp open u{i} --bind 0; close u{i}")
    assert len(shell.session.volatile) <= VOLATILE_MAX


def test_ctrl_c_stops_the_rest_of_a_long_line(shell: Shell) -> None:
    line = "; ".join(["echo x"] * 200_000)
    history = shell.session.history
    armed = threading.Event()
    done = threading.Event()

    def on_sigint(signum: int, frame: object) -> None:
        if armed.is_set():  # only while the line runs, never in the test's own code
            raise KeyboardInterrupt

    def interrupt() -> None:
        wait_until(lambda: len(history) >= 500)
        # Ctrl-C, again until it lands: one that comes while the garbage collector runs
        # a callback is swallowed there ("Exception ignored"), as it would be for a user,
        # and the line runs on. One that landed stops it: then no second one is sent (it
        # could come while the first is being reported, and end the test run itself).
        for _ in range(50):
            at = len(history)
            os.kill(os.getpid(), signal.SIGINT)
            if done.wait(1.0):
                return
            if len(history) - at < 100:  # stopped: the line is ending, however slowly
                done.wait(60)
                return

    previous = signal.signal(signal.SIGINT, on_sigint)
    helper = threading.Thread(target=interrupt)
    armed.set()
    helper.start()
    try:
        ok, out, err = shell(line)
    finally:
        armed.clear()
        done.set()
        helper.join()
        signal.signal(signal.SIGINT, previous)
    assert not ok
    assert "cancelled by Ctrl-C" in err or "was not run" in err
    assert out.count("x\n") < 200_000
    assert shell.ok("echo still here") == "still here\n"


def test_a_fast_iter_is_shown_a_few_lines_at_a_time() -> None:
    """sh --bg --iter's lines are traffic: a few per refresh, then a count, as a relay's."""
    from pslrepl.events import Event
    from pslrepl.pending import Pending

    pending = Pending()
    for _ in range(1000):
        pending.add(Event("y", "note", "y", stream="stdout", size=2))
    shown = pending.take()
    assert len(shown) == TRAFFIC_LINES + 1
    assert shown[-1].detail == "... and 980 more chunks (1960 bytes) not shown; `log y` keeps them"
    pending.add(Event("session", "note", "a plain note"))  # no stream: not traffic
    assert [e.detail for e in pending.take()] == ["a plain note"]
