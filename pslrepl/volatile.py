"""The values that change from run to run, by the placeholder a transcript writes for them."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

VOLATILE_MAX = 2000


class Volatile(dict[str, str]):
    """Values that change from run to run, by the placeholder a transcript writes for
    them; bounded: past VOLATILE_MAX the oldest values of resources no longer live go
    first (a long session creates and closes names without end)."""

    def __init__(self, is_live: Callable[[str], bool]) -> None:
        super().__init__()
        self._is_live = is_live

    def __setitem__(self, key: str, value: str) -> None:
        self.pop(key, None)  # newest last: the order says what to drop first
        super().__setitem__(key, value)
        if len(self) > VOLATILE_MAX:
            self._trim()

    def _trim(self) -> None:
        excess = len(self) - VOLATILE_MAX * 3 // 4
        for keep_live in (True, False):  # thousands of live names: the oldest go too
            for key in [k for k in self if "." in k]:  # session-wide ({tmp}) stay
                if excess <= 0:
                    return
                if not (keep_live and self._is_live(key.partition(".")[0])):
                    del self[key]
                    excess -= 1
