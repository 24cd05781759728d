"""The registry: live resources by name, unique across kinds, never shadowing a command."""

from __future__ import annotations

from pslrepl.errors import PslError
from pslrepl.parsing import check_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pslrepl.resources.base import Resource


# Names a command gives a meaning of its own, so no resource may take them.
RESERVED = {"shell": "means the shell itself (`signal shell SIG`)"}


class Registry:
    """Names to resources, in creation order."""

    def __init__(self, is_command: Callable[[str], bool]) -> None:
        self._items: dict[str, Resource] = {}
        self._is_command = is_command

    def check_free(self, name: str) -> str:
        """Refuse a NAME that is malformed, a command, or taken; before anything is created."""
        check_name(name)
        if name in RESERVED:
            raise PslError(f"{name!r} {RESERVED[name]}; pick another name")
        if self._is_command(name):
            raise PslError(f"{name!r} is a command and can't name a resource; pick another name")
        if name in self._items:
            kind = self._items[name].kind
            raise PslError(f"the name {name!r} is taken by a {kind}; close it or pick another")
        return name

    def add(self, resource: Resource) -> Resource:
        self.check_free(resource.name)
        self._items[resource.name] = resource
        return resource

    def get(self, name: str, kinds: tuple[str, ...] = (), *, command: str = "") -> Resource:
        res = self._items.get(name)
        if res is None:
            hint = "; `ls` lists what is live" if self._items else "; nothing is live yet"
            raise PslError(f"no resource named {name!r}{hint}")
        if kinds and res.kind not in kinds:
            wants = [a_kind(kind) for kind in kinds]
            listed = wants[0] if len(wants) == 1 else f"{', '.join(wants[:-1])} or {wants[-1]}"
            who = f"{command} takes" if command else "this needs"
            raise PslError(f"{name} is {a_kind(res.kind)}; {who} {listed}")
        return res

    def find(self, name: str) -> Resource | None:
        return self._items.get(name)

    def remove(self, name: str) -> None:
        self._items.pop(name, None)

    def names(self, kinds: tuple[str, ...] = ()) -> list[str]:
        return [n for n, r in self._items.items() if not kinds or r.kind in kinds]

    def __iter__(self) -> Iterator[Resource]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items


# What each kind is called in a sentence (the kind's own word stays in it, as ls shows it).
_NOUNS = {"tcp": "a tcp socket", "udp": "a udp socket", "unix": "a unix socket",
          "unix-dgram": "a unix-dgram socket", "tls": "a tls connection",
          "tls-bio": "a tls-bio pair", "sh": "an sh job"}  # fmt: skip


def a_kind(kind: str) -> str:
    """``kind`` with its article and noun: "a udp socket", "a process"."""
    return _NOUNS.get(kind, f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}")
