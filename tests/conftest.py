"""Fixtures: a fresh shell per test, closed afterwards whatever happened."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import Shell, make_shell


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C is KeyboardInterrupt in the main thread, as at a terminal: a suite started in
    the background by a script (CI runs some so) inherits SIGINT ignored, and Python then
    installs no handler, so the Ctrl-C tests would wait for a signal that never counts."""
    import signal

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def shell() -> Iterator[Shell]:
    sh = make_shell()
    sh.session.settings.timeout = 5.0
    try:
        yield sh
        # What `set explain on` would have printed for every call of the test's session is
        # Python that compiles (issue 11: "every explain line compiles").
        for record in sh.session.history:
            for call in record.calls:
                line = call.python()
                try:
                    compile(line, f"<explain of {record.line!r}>", "exec")
                except SyntaxError as exc:
                    pytest.fail(f"explain line does not compile: {line!r}: {exc}")
    finally:
        sh.close()
