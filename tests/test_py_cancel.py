"""py cancelled by Ctrl-C (or a transcript's time limit) shows what it had printed."""

from __future__ import annotations

import os
import signal
import threading

from tests.helpers import Shell


def test_what_py_printed_before_ctrl_c_is_shown(shell: Shell) -> None:
    shell.ok("py 'import threading; started = threading.Event()'")
    started = shell.session.py_namespace["started"]

    def interrupt() -> None:
        if started.wait(20):
            os.kill(os.getpid(), signal.SIGINT)

    helper = threading.Thread(target=interrupt)
    helper.start()
    try:
        ok, out, err = shell("py 'print(\"before\"); started.set(); threading.Event().wait(30)'")
    finally:
        helper.join()
    assert not ok and "cancelled by Ctrl-C" in err
    assert out == "before\n", out
    assert shell.ok("echo still here") == "still here\n"
