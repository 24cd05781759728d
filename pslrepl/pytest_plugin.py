"""A pytest plugin: every ``*.psl`` transcript is a test item, a failure shows its diff.

Registered through the ``pytest11`` entry point, so ``pytest`` collects transcripts
wherever it collects tests; ``-k NAME`` selects by file name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.File | None:
    if file_path.suffix == ".psl":
        return TranscriptFile.from_parent(parent, path=file_path)
    return None


class TranscriptFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        yield TranscriptItem.from_parent(self, name=self.path.name)


class TranscriptDiffers(Exception):
    """The replay differed from the transcript; the message is the report with its diff."""


class TranscriptItem(pytest.Item):
    def runtest(self) -> None:
        from pslrepl.replay import check_file  # imported late: pytest loads every plugin

        outcome = check_file(str(self.path))
        if not outcome.ok:
            raise TranscriptDiffers(outcome.report())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
                     ) -> str:  # fmt: skip
        if isinstance(excinfo.value, TranscriptDiffers):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"transcript {self.path.name}"
