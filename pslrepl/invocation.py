"""One command being run: its parsed arguments, what it produced, and the calls it made."""

from __future__ import annotations

import time

from pslrepl.callrecord import Call, py_repr, receiver_of
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

# Commands whose output export prints again (from the live objects where it can): their
# results are kept in the record, up to SHOWN_BUDGET characters of text.
SHOWN_KEPT = frozenset({"ls", "info", "clients", "help", "tls info", "handlers", "signals",
                        "set", "fromfd", "ca show", "makefile"})  # fmt: skip
SHOWN_BUDGET = 64 * 1024
# The command of a record for a line the shell refused before running anything.
REFUSED = "(refused)"


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """Parsed values without live objects: a resource becomes its name."""
    from pslrepl.resources.base import Resource

    def plain(value: Any) -> Any:
        if isinstance(value, Resource):
            return value.name
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return {key: plain(value) for key, value in values.items()}


def shown_size(results: list[Result]) -> int:
    """About how much text results hold (bytes a peer sent are never kept)."""
    from pslrepl.results import Fields, Output, Styled, Table, Text

    size = 0
    for result in results:
        if isinstance(result, Output):
            return SHOWN_BUDGET + 1
        if isinstance(result, Text):
            size += len(result.text)
        elif isinstance(result, Styled):
            size += sum(len(text) for _, text in result.fragments)
        elif isinstance(result, Table):
            size += sum(len(c if isinstance(c, str) else c[1]) for row in result.rows for c in row)
        elif isinstance(result, Fields):
            size += sum(len(k) + len(v if isinstance(v, str) else v[1]) for k, v in result.pairs)
    return size


class Shown:
    """A value for a recorded call that shows as the given text (a server, a running
    command: their own repr would name the shell's classes); ``stands_for``: the object
    it is, so explain binds it to that resource's name (``e = socketserver.TCPServer(...)``)."""

    __slots__ = ("text", "stands_for")

    def __init__(self, text: str, stands_for: Any = None) -> None:
        self.text = text
        self.stands_for = stands_for

    def __repr__(self) -> str:
        return self.text


class CommandRecord:
    """A finished command, kept in the session's history: the line, its calls, the outcome."""

    __slots__ = (
        "line", "command", "calls", "ok", "started", "number", "dropped_calls", "values",
        "argv", "shown", "known", "error", "notes",
    )  # fmt: skip

    def __init__(
        self,
        line: str,
        command: str,
        calls: tuple[Call, ...],
        ok: bool,
        started: float,
        values: dict[str, Any] | None = None,
        argv: tuple[str, ...] = (),
    ) -> None:
        self.line = line
        self.command = command
        self.calls = calls
        self.ok = ok
        self.started = started
        # The arguments as parsed, plain: a resource by its name (what export reads).
        self.values = values or {}
        self.argv = argv
        self.number = 0  # its place in the session's CommandLog, from 1
        self.dropped_calls = 0  # calls the log let go to stay in its budget
        # What a command that shows the session's state (ls, info, help: SHOWN_KEPT)
        # showed, as results, and the session's live values then ({srv.laddr} and the
        # like): export prints it again, each live value from the script's own object.
        self.shown: tuple[Result, ...] = ()
        self.known: dict[str, str] = {}
        self.error = ""  # the line the shell said when the command failed, where known
        self.notes: list[str] = []  # pitfall notes it said ("note: ..."), in order


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
        self.text = line  # this command's own part of the line (a line may hold several)
        # Objects a handler named for explain that are no resource (run's popen), kept
        # until the calls are settled.
        self._local_names: list[tuple[Any, str]] = []
        self._settled = 0  # calls named already: shown, then kept, settles each once

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

    def name(self, obj: Any, variable: str) -> None:
        """Call ``obj`` ``variable`` in this command's explain lines (an object that is no
        resource: run's Popen is ``popen``)."""
        self._local_names.append((obj, variable))

    def settle(self) -> None:
        """Name each call's receiver and result from what is live now, and let go of the
        objects (done when the command's output is shown)."""
        fresh = self.calls[self._settled :]
        self._settled = len(self.calls)
        if fresh:  # most commands make no call: no walk of the registry for them
            from pslrepl.callrecord import settle_all

            local = {id(obj): variable for obj, variable in self._local_names}
            settle_all(fresh, self.session.registry, local)
        self._local_names.clear()

    def record_of(self, *, ok: bool, error: str = "") -> CommandRecord:
        """The finished command as data; ``error``: the line the shell said, if it failed."""
        self.settle()
        record = CommandRecord(self.text, self.command.name, tuple(self.calls), ok,
                               self.started, _plain(self.values),
                               tuple(self.argv))  # fmt: skip
        record.error = error
        record.notes = [r.text for r in self.results if isinstance(r, Text) and r.style == "note"]
        if self.command.name in SHOWN_KEPT and shown_size(self.results) <= SHOWN_BUDGET:
            record.shown = tuple(self.results)
            record.known = dict(self.session.volatile)
        return record

    def emit(self, result: Result) -> None:
        self.results.append(result)

    def say(self, text: str, style: str = "") -> None:
        self.results.append(Text(text, style))

    def call(
        self, func: str, fn: Callable[..., T], *args: Any, redact: bool = False, **kwargs: Any
    ) -> T:
        """Run a stdlib call and record it (arguments hidden when ``redact``, for secrets)."""
        shown = [py_repr(a) for a in args]
        shown += [f"{k}={py_repr(v)}" for k, v in kwargs.items()]
        # A secret's call keeps neither side: what comes back may hold it too (a sudo
        # that echoes its input). ``...`` keeps the line Python.
        text = "..." if redact and shown else ", ".join(shown)
        on = receiver_of(fn)
        try:
            value = fn(*args, **kwargs)
        except BaseException as exc:
            self.calls.append(Call(func, text, f"raised {type(exc).__name__}", on=on))
            raise
        result = "<redacted>" if redact else py_repr(value)
        self.calls.append(Call(func, text, result, on=on, value=None if redact else value,
                               note="arguments redacted" if redact else ""))  # fmt: skip
        return value

    def record(self, func: str, args: str, result: Any = None, *, on: Any = None,
               exact: bool = True, note: str = "") -> None:  # fmt: skip
        """Note a call made elsewhere (by a resource or a thread) for this command: ``on``
        the object it was made on, ``result`` what it returned (both named, when the
        command ends, after the resources they became); ``exact=False`` with a ``note``
        where the line stands for what the code does another way."""
        raised = isinstance(result, str) and result.startswith("raised ")
        shown = result if raised else py_repr(result)
        own = own_class(func)
        if own:  # a class the stdlib module has not: the shell's, defined, never passed off
            func, exact = own[0], False
            note = note or f"{own[0]} is the shell's own (the line above), not socketserver's"
            if not any(c.func == own[1] for c in self.calls):
                self.calls.append(Call(own[1], "", "None", exact=False, note=own[2]))
        self.calls.append(Call(func, args, shown, on=on, value=None if raised else result,
                               exact=exact, note=note))  # fmt: skip

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


def own_class(func: str) -> tuple[str, str, str] | None:
    """For ``socketserver.NAME`` where socketserver has no NAME (serve --selectors's
    SelectorsTCPServer: the shell's own): the call without the module's name, the
    one-line definition explain shows before it, and what it is. Else None."""
    import socketserver

    module, _, name = func.partition(".")
    if module != "socketserver" or not name.isidentifier() or hasattr(socketserver, name):
        return None
    base = name.removeprefix("Selectors")
    base = base if hasattr(socketserver, base) else "BaseServer"
    what = (
        f"the shell's own {name}, not socketserver's: a {base} whose one thread "
        "serves every client from a selectors loop"
    )
    return name, f"class {name}(socketserver.{base})", what
