"""Argument kinds: each converts a typed word for the handler and completes it at the prompt.

An ``Arg`` or ``Opt`` names its kind with one of these objects. The parser calls
``convert`` (a new NAME is checked free, an existing one becomes its resource, a number
is checked against its range) and the completer calls ``complete``, so a command module
that needs a new kind defines one here-like class beside its handlers and touches
nothing else.
"""

from __future__ import annotations

from pslrepl.errors import UsageError
from pslrepl.parsing import parse_duration

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any, Protocol

    from pslrepl.session import Session

    class Completing(Protocol):
        """What a kind may ask of the completer (see completer.Completing)."""

        session: Session
        args: list[str]  # the command's words before the one being completed

        def describe(self, name: str) -> str: ...

        def completion(self, text: str, prefix: str, display: Any = None) -> Any: ...

        def words(
            self, words: Iterable[str], prefix: str, meta: Callable[[str], str | None] | None = None
        ) -> Iterator[Any]: ...

        def paths(self, prefix: str) -> Iterator[Any]: ...

        def resources(self, kinds: tuple[str, ...], prefix: str) -> Iterator[Any]: ...

        def listening(self) -> list[str]: ...

        def commands(self, prefix: str) -> Iterator[Any]: ...


class Where:
    """Where a word is being converted: the command, the argument's name, the session."""

    __slots__ = ("command", "what", "session")

    def __init__(self, command: str, what: str, session: Session | None) -> None:
        self.command = command
        self.what = what
        self.session = session

    def fail(self, message: str) -> UsageError:
        return UsageError(f"{self.command}: {self.what} {message}")


class Kind:
    """Text: the word as typed, completing to nothing."""

    name = "text"

    def convert(self, raw: str, where: Where) -> Any:
        return raw

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        return ()

    def listing(self) -> dict[str, str]:
        """The words this kind takes with what each means, where help should list them."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Data(Kind):
    """Bytes to send, with escapes; the handler unescapes them (ctx.data)."""

    name = "data"


class Choice(Kind):
    """One of a fixed set of words; ``choices`` may be a function, asked when first needed
    (so the set can come from what defines it without importing it at start-up)."""

    name = "choice"

    def __init__(self, choices: tuple[str, ...] | Callable[[], tuple[str, ...]]) -> None:
        self._choices = choices

    @property
    def choices(self) -> tuple[str, ...]:
        if callable(self._choices):
            self._choices = self._choices()
        return self._choices

    def convert(self, raw: str, where: Where) -> Any:
        if raw not in self.choices:
            raise where.fail(f"must be one of {', '.join(self.choices)}, not {raw!r}")
        return raw

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        return ask.words(self.choices, prefix)


# A whole number's range unless an argument says otherwise: what fits a C long, as
# most of the calls behind the commands take (past it they raise OverflowError).
INT_LIMITS = (-(2**63), 2**63 - 1)


class Int(Kind):
    """A whole number (0x.. and 0o.. too) within ``low`` and ``high``, both allowed."""

    name = "int"

    def __init__(self, low: int = INT_LIMITS[0], high: int = INT_LIMITS[1]) -> None:
        self.low = low
        self.high = high

    def convert(self, raw: str, where: Where) -> Any:
        try:
            value = int(raw, 0)
        except ValueError:
            raise where.fail(f"must be a whole number, not {raw!r}") from None
        if not self.low <= value <= self.high:
            if self.high == INT_LIMITS[1] and value >= self.low:  # past what a C long holds
                raise where.fail(f"must be {self.low} or more and fit 64 bits, not {raw}")
            if self.high == INT_LIMITS[1]:
                raise where.fail(f"must be {self.low} or more, not {raw}")
            raise where.fail(f"must be from {self.low} to {self.high}, not {raw}")
        return value


class Seconds(Kind):
    """A duration: 2, 0.5, 250ms, 1m."""

    name = "seconds"

    def convert(self, raw: str, where: Where) -> Any:
        return parse_duration(raw, what=f"{where.command}: {where.what}")


class NewName(Kind):
    """A NAME for a resource about to be made: refused if malformed, a command, or taken."""

    name = "new"

    def convert(self, raw: str, where: Where) -> Any:
        if where.session is not None:
            where.session.registry.check_free(raw)
        return raw


class ResourceOf(Kind):
    """An existing resource's NAME, of one of ``kinds`` (any when empty): the handler
    gets the resource itself."""

    name = "resource"

    def __init__(self, *kinds: str) -> None:
        self.kinds = kinds

    def convert(self, raw: str, where: Where) -> Any:
        if where.session is None:
            return raw
        return where.session.registry.get(raw, self.kinds, command=where.command)

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        return ask.resources(self.kinds, prefix)

    def takes(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds

    def __repr__(self) -> str:
        return f"ResourceOf{self.kinds!r}"


class SignalName(Kind):
    """A signal: TERM, SIGTERM or a number (the handler looks it up)."""

    name = "signal"

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        from pslrepl.signals_table import signal_names

        names = signal_names()
        return ask.words([n[3:] for n in names] + names, prefix, _signal_meta)


class Path(Kind):
    """A file system path."""

    name = "file"

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        return ask.paths(prefix)


class CommandName(Kind):
    """A command's name, as help takes it."""

    name = "command"

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        return ask.commands(prefix)


def _signal_meta(name: str) -> str:
    """What the signal is for, as strsignal(3) says, and what it does by default."""
    import signal

    from pslrepl.signals_table import default_action

    full = name if name.startswith("SIG") else "SIG" + name
    try:
        number = signal.Signals[full]
    except KeyError:
        return ""
    return f"{signal.strsignal(number) or full}; default: {default_action(full)}"


TEXT = Kind()
DATA = Data()
INT = Int()
SECONDS = Seconds()
NEW = NewName()
ANY_RESOURCE = ResourceOf()
SIGNAL = SignalName()
PATH = Path()
COMMAND = CommandName()
