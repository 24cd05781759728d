"""The session's commands as data, numbered from 1: each line typed and the calls it made.

Every command is kept; what is bounded is bytes. Past CALLS_BUDGET the oldest commands'
calls (and what an ls or info showed) are let go (the line stays, with the count of
calls it had); past LINES_BUDGET the oldest lines go too, and the log says how many it
forgot.
"""

from __future__ import annotations

from collections import deque

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from pslrepl.invocation import CommandRecord

CALLS_BUDGET = 8 * 1024 * 1024
LINES_BUDGET = 8 * 1024 * 1024
# A command's own cost in the budget beside its text: the record and its fields.
OVERHEAD = 64


def calls_size(record: CommandRecord) -> int:
    """The calls, and what an ls or info showed beside them (export prints it again)."""
    size = sum(len(c.func) + len(c.args) + len(c.result) + OVERHEAD for c in record.calls)
    if record.shown:
        from pslrepl.invocation import shown_size

        size += shown_size(list(record.shown)) + OVERHEAD * len(record.shown)
        size += sum(len(k) + len(v) + OVERHEAD for k, v in record.known.items())
    return size


def line_size(record: CommandRecord) -> int:
    """The line, and its parsed values beside it (about as much again)."""
    return 2 * len(record.line) + OVERHEAD


class CommandLog:
    """Numbered CommandRecords, oldest first, bounded in bytes, not in count."""

    def __init__(self, calls_budget: int = CALLS_BUDGET, lines_budget: int = LINES_BUDGET) -> None:
        self._records: deque[CommandRecord] = deque()
        self._next = 1
        self._calls_bytes = 0
        self._lines_bytes = 0
        self._calls_budget = calls_budget
        self._lines_budget = lines_budget
        self._stripped = 0  # how many of the oldest records had their calls let go
        self.forgotten = 0  # commands whose lines went too

    def append(self, record: CommandRecord) -> None:
        record.number = self._next
        self._next += 1
        self._records.append(record)
        self._calls_bytes += calls_size(record)
        self._lines_bytes += line_size(record)
        while self._calls_bytes > self._calls_budget and self._stripped < len(self._records):
            old = self._records[self._stripped]
            self._calls_bytes -= calls_size(old)
            old.dropped_calls = len(old.calls)
            old.calls = ()
            old.shown, old.known = (), {}
            self._stripped += 1
        while self._lines_bytes > self._lines_budget and len(self._records) > 1:
            old = self._records.popleft()
            self._lines_bytes -= line_size(old)
            self._calls_bytes -= calls_size(old)
            self._stripped = max(0, self._stripped - 1)
            self.forgotten += 1

    def get(self, number: int) -> CommandRecord | None:
        if not self._records:
            return None
        index = number - self._records[0].number
        return self._records[index] if 0 <= index < len(self._records) else None

    def first_number(self) -> int:
        return self._records[0].number if self._records else self._next

    def last(self, *, skipping: tuple[str, ...] = ()) -> CommandRecord | None:
        """The newest record, passing over commands named in ``skipping``."""
        for record in reversed(self._records):
            if record.command not in skipping:
                return record
        return None

    def __iter__(self) -> Iterator[CommandRecord]:
        return iter(list(self._records))

    def __len__(self) -> int:
        return len(self._records)
