"""`reset` ends the session's children together: one grace period for all that ignore
SIGTERM, not one each, and it says which it had to kill."""

from __future__ import annotations

import os
import time

from tests.helpers import Shell


def test_reset_waits_one_grace_for_all_children_that_ignore_term(shell: Shell) -> None:
    shell.ok("set grace 0.5")
    for n in range(1, 5):
        shell.ok(f"spawn x{n} --ignore TERM -- sleep 100")
    shell.ok("spawn y -- sleep 100")  # ends on TERM: not named as killed
    pids = [shell.session.registry.get(f"x{n}").pid for n in range(1, 5)]
    started = time.monotonic()
    out = shell.ok("reset")
    took = time.monotonic() - started
    assert out.splitlines()[-1] == ("reset: closed 5 resources (y, x4, x3, x2, x1); x4, x3, x2, "
                                    "x1 ignored SIGTERM: killed after the 0.5 s grace; an "
                                    "empty session")  # fmt: skip
    # One after another that was 4 x 0.5 s at least.
    assert took < 1.5, took
    assert not [pid for pid in pids if os.path.exists(f"/proc/{pid}")]


def test_reset_says_the_pitfall_notes_again(shell: Shell) -> None:
    demo = "udp open s --bind 0; udp open c --connect s; send c abcdef; recvfrom s 2"
    note = "note: "
    assert note in shell.ok(demo)
    assert note not in shell.ok("close s c; " + demo)  # once a session...
    shell.ok("reset")
    assert note in shell.ok(demo)  # ...and a reset starts the lesson over
