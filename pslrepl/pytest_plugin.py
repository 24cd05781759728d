"""A pytest plugin: every ``*.psl`` transcript is a test item, a failure shows its diff.

Registered through the ``pytest11`` entry point, so ``pytest`` collects transcripts
wherever it collects tests; ``-k NAME`` selects by file name. pytest-timeout's limit for an
item bounds its replay: the command still running short of it is cancelled and the item
fails with its diff, so a transcript that hangs names itself and the rest go on; a
transcript's own ``#! timeout`` may bound it sooner. Without pytest-timeout a replay
is bounded as --check bounds it (300 s; the ``psl_timeout`` ini option sets another),
so a hang never holds up a whole run. One whose ``#! require`` conditions
are unmet is skipped with the reason. It works under pytest-xdist (``pytest -n N``): each
item replays in its own fresh session, with its own temporary directory and ports.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("psl_timeout", "seconds a transcript's replay may take where "
                  "pytest-timeout sets no limit (default 300, as --check)")  # fmt: skip


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.File | None:
    if file_path.suffix == ".psl":
        return TranscriptFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> None:
    """pytest-timeout tells each item its limit here; a transcript keeps it for its replay
    and pytest-timeout's own timer stays as the last resort (None: the next hook runs)."""
    if isinstance(item, TranscriptItem):
        item.time_limit = settings.timeout
    return None


def replay_limit(timeout: float) -> float:
    """How long the replay itself may run under a pytest-timeout of ``timeout`` seconds:
    time is left to cancel the command, close what the transcript started and report,
    before pytest-timeout ends the whole run."""
    return max(timeout * 0.6, timeout - 10)


class TranscriptFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        yield TranscriptItem.from_parent(self, name=self.path.name)


class TranscriptDiffers(Exception):
    """The replay differed from the transcript; the message is the report with its diff."""


class TranscriptItem(pytest.Item):
    time_limit: float | None = None  # pytest-timeout's, when it runs

    def runtest(self) -> None:
        from pslrepl.replay import check_file  # imported late: pytest loads every plugin

        if self.time_limit:
            limit = replay_limit(self.time_limit)
            note = f"pytest-timeout is {self.time_limit:g} s"
        else:  # no pytest-timeout: bounded all the same, as --check is
            limit, note = self._default_limit()
        try:
            outcome = check_file(str(self.path), time_limit=limit, limit_note=note)
        except OSError as exc:  # empty, not UTF-8, gone: one line, as --check says it
            raise TranscriptDiffers(f"{self.path}: {exc.strerror or exc}") from None
        if outcome.skipped:  # a #! require condition is unmet here: -rs names the file
            raise pytest.skip.Exception(outcome.skipped, _use_item_location=True)
        if not outcome.ok:
            raise TranscriptDiffers(outcome.report())

    def _default_limit(self) -> tuple[float, str]:
        from pslrepl.replay import DEFAULT_TIMEOUT

        raw = self.config.getini("psl_timeout")
        if not raw:
            return DEFAULT_TIMEOUT, "the default; #! timeout S sets one"
        try:
            seconds = float(raw)
        except ValueError:
            seconds = 0.0
        if not 0 < seconds < float("inf"):
            raise TranscriptDiffers(f"psl_timeout = {raw!r}: give a number of seconds above 0")
        return seconds, "psl_timeout"

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
                     ) -> str:  # fmt: skip
        if isinstance(excinfo.value, TranscriptDiffers):
            # pytest names the item, and its short summary shows the first line: the
            # FILE:LINE of the command that differs says more than "FILE: FAIL".
            text = str(excinfo.value)
            first, _, rest = text.partition("\n")
            return rest if first.endswith(": FAIL") and rest else text
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"transcript {self.path.name}"
