"""Command records (syntax, help, stdlib calls, handler) and the argument parser they share."""

from __future__ import annotations

from pslrepl.errors import UsageError
from pslrepl.kinds import TEXT, Kind, Where

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.parsing import Token
    from pslrepl.session import Session

    Handler = Callable[[Invocation], None]


def _checked(kind: Kind, name: str) -> Kind:
    """A kind given as anything but a Kind (a string, as kinds once were) fails at import,
    not as a completion that silently offers nothing."""
    if not isinstance(kind, Kind):
        raise TypeError(f"{name}: kind must be a pslrepl.kinds.Kind, not {kind!r}")
    return kind


class Arg:
    """A positional argument; its ``kind`` (pslrepl.kinds) converts and completes it."""

    __slots__ = ("name", "kind", "optional", "many")

    def __init__(
        self, name: str, kind: Kind = TEXT, *, optional: bool = False, many: bool = False
    ) -> None:
        self.name = name
        self.kind = _checked(kind, name)
        self.optional = optional
        self.many = many

    @property
    def key(self) -> str:
        return self.name.lower().replace("-", "_")


class Opt:
    """An option: ``--flag`` when ``metavar`` is None, else ``--opt VALUE`` of ``kind``."""

    __slots__ = ("name", "help", "metavar", "kind", "repeat", "exclusive")

    def __init__(
        self,
        name: str,
        help: str,
        metavar: str | None = None,
        *,
        kind: Kind = TEXT,
        repeat: bool = False,
        exclusive: str | None = None,
    ) -> None:
        self.name = name
        self.help = help
        self.metavar = metavar
        self.kind = _checked(kind, name)
        self.repeat = repeat
        self.exclusive = exclusive

    @property
    def key(self) -> str:
        return self.name.lstrip("-").replace("-", "_")


class Group:
    """A heading of help and the reference: the commands of one area, under one title."""

    __slots__ = ("key", "title")

    def __init__(self, key: str, title: str = "") -> None:
        self.key = key
        self.title = title or key.capitalize()

    def __repr__(self) -> str:
        return f"Group({self.key!r})"


class Command:
    """One command: the single record that help, completion, highlighting and dispatch read."""

    __slots__ = (
        "name", "group", "summary", "handler", "args", "opts", "calls", "examples",
        "rest", "rest_name", "aliases", "details", "setup",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        group: Group | str,
        summary: str,
        handler: Handler,
        *,
        args: tuple[Arg, ...] = (),
        opts: tuple[Opt, ...] = (),
        calls: tuple[str, ...] = (),
        examples: tuple[str, ...] = (),
        rest: bool = False,
        rest_name: str = "ARGV",
        aliases: tuple[str, ...] = (),
        details: str = "",
        setup: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.group = group if isinstance(group, Group) else Group(group)
        self.summary = summary
        self.handler = handler
        self.args = args
        self.opts = opts
        self.calls = calls
        self.examples = examples
        self.rest = rest
        self.rest_name = rest_name
        self.aliases = aliases
        self.details = details
        # Commands that make what the examples name (a child p, a listener srv): the
        # suite runs setup then the examples in a fresh session, and each must succeed.
        self.setup = setup

    def __repr__(self) -> str:
        return f"Command({self.name!r})"

    @property
    def words(self) -> list[str]:
        return self.name.split()

    def usage(self) -> str:
        parts = [self.name]
        for opt in self.opts:
            text = opt.name if opt.metavar is None else f"{opt.name} {opt.metavar}"
            parts.append(f"[{text}]" + ("..." if opt.repeat else ""))
        for arg in self.args:
            text = arg.name + ("..." if arg.many else "")
            parts.append(f"[{text}]" if arg.optional else text)
        if self.rest:
            parts.append(f"[--] {self.rest_name}...")
        return " ".join(parts)

    def find_opt(self, name: str) -> Opt | None:
        for opt in self.opts:
            if opt.name == name:
                return opt
        return None


class Commands:
    """One module's commands, each declared right above its handler::

        COMMANDS = Commands(SOCKETS)

        @COMMANDS.command("accept", "take a pending connection", args=(...), ...)
        def _accept(ctx: Invocation) -> None: ...

    Help lists them in the order they are declared.
    """

    def __init__(self, group: Group) -> None:
        self.group = group
        self._commands: list[Command] = []

    def command(self, name: str, summary: str, **how: Any) -> Callable[[Handler], Handler]:
        """Declare the handler below as the command ``name`` (keywords as Command's)."""

        def declare(handler: Handler) -> Handler:
            self._commands.append(Command(name, self.group, summary, handler, **how))
            return handler

        return declare

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands)

    def __len__(self) -> int:
        return len(self._commands)


def parse_args(
    cmd: Command, tokens: Sequence[Token], session: Session | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Match tokens against a command's syntax: (values by key, argv after the arguments).

    Each value is converted by its kind: with a ``session``, a new NAME is checked free
    and an existing resource's NAME becomes the resource. Options come anywhere before
    ``--``; for a command with ``rest`` the first word past its declared positionals
    starts the argv, so ``run ls -l`` works as ``run -- ls -l``.
    """
    values: dict[str, Any] = {}
    for option in cmd.opts:
        values[option.key] = [] if option.repeat else (False if option.metavar is None else None)
    for arg in cmd.args:
        values[arg.key] = [] if arg.many else None
    positionals: list[str] = []
    argv: list[str] = []
    exclusive_seen: dict[str, str] = {}
    i = 0
    n_declared = len(cmd.args)
    while i < len(tokens):
        tok = tokens[i]
        text = tok.text
        if text == "--" and not tok.quoted:
            rest = [t.text for t in tokens[i + 1 :]]
            if cmd.rest:
                argv = rest
            else:
                positionals.extend(rest)
            break
        if text.startswith("--") and len(text) > 2 and not tok.quoted:
            name, eq, inline = text.partition("=")
            opt = cmd.find_opt(name)
            if opt is None:
                known = ", ".join(o.name for o in cmd.opts) or "none"
                raise UsageError(f"{cmd.name}: unknown option {name} (options: {known})")
            if opt.exclusive:
                other = exclusive_seen.get(opt.exclusive)
                if other and other != opt.name:
                    raise UsageError(f"{cmd.name}: {other} and {opt.name} can't be used together")
                exclusive_seen[opt.exclusive] = opt.name
            if opt.metavar is None:
                if eq:
                    raise UsageError(f"{cmd.name}: {name} is a flag and takes no value")
                values[opt.key] = True
                i += 1
                continue
            if eq:
                raw = inline
                i += 1
            else:
                if i + 1 >= len(tokens):
                    raise UsageError(f"{cmd.name}: {name} needs a value ({opt.metavar})")
                raw = tokens[i + 1].text
                i += 2
            value = opt.kind.convert(raw, Where(cmd.name, opt.name, session))
            if opt.repeat:
                values[opt.key].append(value)
            else:
                values[opt.key] = value
            continue
        many = bool(cmd.args) and cmd.args[-1].many
        if cmd.rest and len(positionals) >= n_declared and not many:
            argv = [t.text for t in tokens[i:]]
            break
        positionals.append(text)
        i += 1
    _bind_positionals(cmd, positionals, values, session)
    return values, argv


def _bind_positionals(
    cmd: Command, positionals: list[str], values: dict[str, Any], session: Session | None
) -> None:
    args = cmd.args
    required = [a for a in args if not a.optional]
    if len(positionals) < len(required):
        missing = [a.name for a in required[len(positionals) :]]
        raise UsageError(f"{cmd.name}: missing {' '.join(missing)}; usage: {cmd.usage()}")
    # Optional positionals before a required one are filled only when there are
    # enough words for both (``accept LISTENER [NAME]`` style stays left-to-right).
    spare = len(positionals) - len(required)
    pos = 0
    bound: list[tuple[Arg, list[str]]] = []
    for arg in args:
        if arg.many:
            bound.append((arg, positionals[pos:]))
            pos = len(positionals)
            continue
        if arg.optional:
            if spare <= 0:
                continue
            spare -= 1
        if pos < len(positionals):
            bound.append((arg, [positionals[pos]]))
            pos += 1
    if pos < len(positionals):
        extra = " ".join(positionals[pos:])
        raise UsageError(f"{cmd.name}: unexpected {extra!r}; usage: {cmd.usage()}")
    # Converted once the words fit the syntax, left to right: a usage error comes
    # before a name that isn't live.
    for arg, words in bound:
        where = Where(cmd.name, arg.name, session)
        converted = [arg.kind.convert(word, where) for word in words]
        values[arg.key] = converted if arg.many else converted[0]
