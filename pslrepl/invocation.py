"""One command being run: its parsed arguments, what it produced, and the calls it made."""

from __future__ import annotations

import time

from pslrepl.errors import PslError, UsageError
from pslrepl.parsing import parse_hex, unescape
from pslrepl.results import Text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    from pslrepl.commandspec import Command
    from pslrepl.dispatch import Dispatcher
    from pslrepl.parsing import Token
    from pslrepl.resources.base import Resource
    from pslrepl.results import Result
    from pslrepl.session import Session

    T = TypeVar("T")


class Call:
    """One stdlib call a command made: the data ``explain`` and ``export py`` are built on."""

    __slots__ = ("func", "args", "result", "t")

    def __init__(self, func: str, args: str, result: str) -> None:
        self.func = func
        self.args = args
        self.result = result
        self.t = time.time()


def _short_repr(value: Any, limit: int = 80) -> str:
    # reprlib bounds the work too: a 64 KiB payload is never turned into text whole.
    import reprlib

    short = reprlib.Repr()
    short.maxstring = short.maxother = short.maxlong = limit
    text = short.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Shown:
    """A value for a recorded call that shows as the given text (a server, a running
    command: their own repr would name the shell's classes)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class CommandRecord:
    """A finished command, kept in the session's history: the line, its calls, the outcome."""

    __slots__ = ("line", "command", "calls", "ok", "started")

    def __init__(
        self, line: str, command: str, calls: tuple[Call, ...], ok: bool, started: float
    ) -> None:
        self.line = line
        self.command = command
        self.calls = calls
        self.ok = ok
        self.started = started


class Invocation:
    """The context a handler gets: the session, its arguments, and where results go."""

    def __init__(
        self,
        session: Session,
        command: Command,
        values: dict[str, Any],
        argv: list[str],
        line: str,
        dispatcher: Dispatcher,
    ) -> None:
        self.session = session
        self.command = command
        self.values = values
        self.argv = argv
        self.line = line
        self.dispatcher = dispatcher
        self.results: list[Result] = []
        self.calls: list[Call] = []
        self.started = time.time()
        self.arg_tokens: list[Token] = []  # where the arguments stood in the line

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def raw_args(self) -> str:
        """The arguments as typed, quotes and all (for code, where quotes are syntax).
        One quoted word is taken unquoted: py 'print(1); print(2)'."""
        tokens = self.arg_tokens
        if not tokens:
            return ""
        raw = self.line[tokens[0].start : tokens[-1].end]
        if len(tokens) == 1 and len(raw) >= 2 and raw[0] in "'\"" and raw[-1] == raw[0]:
            return tokens[0].text  # the whole thing quoted: the shell's quotes, not Python's
        return raw

    def record_of(self, *, ok: bool) -> CommandRecord:
        return CommandRecord(self.line, self.command.name, tuple(self.calls), ok, self.started)

    def emit(self, result: Result) -> None:
        self.results.append(result)

    def say(self, text: str, style: str = "") -> None:
        self.results.append(Text(text, style))

    def call(
        self, func: str, fn: Callable[..., T], *args: Any, redact: bool = False, **kwargs: Any
    ) -> T:
        """Run a stdlib call and record it (arguments hidden when ``redact``, for secrets)."""
        shown = [_short_repr(a) for a in args]
        shown += [f"{k}={_short_repr(v)}" for k, v in kwargs.items()]
        text = "<redacted>" if redact else ", ".join(shown)
        try:
            value = fn(*args, **kwargs)
        except BaseException as exc:
            self.calls.append(Call(func, text, f"raised {type(exc).__name__}"))
            raise
        # A secret's call keeps neither side: what comes back may hold it too (a sudo
        # that echoes its input).
        self.calls.append(Call(func, text, "<redacted>" if redact else _short_repr(value)))
        return value

    def record(self, func: str, args: str, result: Any = None) -> None:
        """Note a call made elsewhere (by a resource or a thread) for this command."""
        self.calls.append(Call(func, args, _short_repr(result)))

    def display(self) -> str | None:
        """A display mode asked for on this command (--hex or --repr), else None."""
        if self.values.get("hex") is True:  # --hex as a flag; with a value it gives DATA
            return "hex"
        if self.values.get("repr"):
            return "repr"
        return None

    @property
    def timeout(self) -> float:
        value = self.values.get("timeout")
        return self.session.settings.timeout if value is None else float(value)

    def resource(self, name: str, kinds: tuple[str, ...] = ()) -> Resource:
        return self.session.registry.get(name, kinds, command=self.command.name)

    def data(self, key: str = "data", *, newline: bool = False, required: bool = True) -> bytes:
        """The DATA argument as bytes: escapes applied, or from --hex / --file."""
        # --hex and --file give DATA only where they take a value (elsewhere --hex
        # is a display flag).
        hexed = self.values.get("hex") if key == "data" else None
        path = self.values.get("file") if key == "data" else None
        hexed = hexed if isinstance(hexed, str) else None
        path = path if isinstance(path, str) else None
        words = self.values.get(key)
        given = [bool(hexed), bool(path), bool(words)]
        if sum(given) > 1:
            raise UsageError(f"{self.command.name}: give DATA, --hex or --file, only one of them")
        if hexed:
            data = parse_hex(hexed)
        elif path:
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                raise PslError(f"can't read {path!r}: {exc.strerror or exc}") from None
        elif words:
            text = " ".join(words) if isinstance(words, list) else str(words)
            data = unescape(text, encoding=self.session.settings.encoding)
        elif required and not newline:
            raise UsageError(f"{self.command.name}: missing DATA; usage: {self.command.usage()}")
        else:
            data = b""
        return data + b"\n" if newline else data
