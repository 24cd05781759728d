"""Fixtures: a fresh shell per test, closed afterwards whatever happened."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import Shell, make_shell


@pytest.fixture
def shell() -> Iterator[Shell]:
    sh = make_shell()
    sh.session.settings.timeout = 5.0
    try:
        yield sh
    finally:
        sh.close()
