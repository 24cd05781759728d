"""Completion from the command table: commands, subcommands, options, names, signals, paths."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from pslrepl.commandspec import Arg, Command
from pslrepl.dispatch import CommandTable
from pslrepl.parsing import last_segment, tokenize
from pslrepl.session import Session
from pslrepl.signals_table import signal_names


class PslCompleter(Completer):
    """Reads the half-typed line like the dispatcher will, and offers what fits there."""

    def __init__(self, session: Session, table: CommandTable) -> None:
        self.session = session
        self.table = table
        self.paths = PathCompleter(expanduser=True)

    def get_completions(self, document: Document, event: CompleteEvent) -> Iterator[Completion]:
        text = last_segment(document.text_before_cursor)
        split = tokenize(text, strict=False)
        if split.comment_at is not None:
            return
        tokens = [t.text for t in split.commands[0]] if split.commands else []
        if not tokens or (split.unterminated is None and text[-1:] in (" ", "\t")):
            prefix = ""
        else:
            prefix = tokens.pop()
        yield from self._complete(tokens, prefix, document)

    def _complete(self, done: list[str], prefix: str, document: Document) -> Iterator[Completion]:
        registry = self.session.registry
        if not done:
            words = sorted(self.table.first_words) + registry.names()
            yield from _matching(words, prefix)
            return
        cmd, used = self.table.resolve(done)
        if cmd is None and done[0] in registry:
            kind = registry.get(done[0]).kind
            if len(done) == 1:
                yield from _matching(self._verbs_for(kind), prefix)
                return
            cmd, used = self.table.resolve(done[1:])
            if cmd is not None:
                done = done[1 : 1 + used] + [done[0]] + done[1 + used :]
        if cmd is None:
            if len(done) == 1:
                yield from _matching(self.table.subcommands(done[0]), prefix)
            return
        args = done[used:]
        if "--" in args and cmd.rest:
            return
        if args and args[-1].startswith("--"):
            opt = cmd.find_opt(args[-1])
            if opt is not None and opt.metavar is not None:
                yield from self._values(opt.kind, opt.choices, (), prefix, document)
                return
        if prefix.startswith("-"):
            used_opts = set(args)
            names = [o.name for o in cmd.opts if o.repeat or o.name not in used_opts]
            yield from _matching(names, prefix)
            return
        arg = self._positional(cmd, args)
        if arg is None:
            if cmd.rest and not prefix:
                return
            if cmd.rest:
                yield from self._paths(prefix, document)
            return
        if arg.kind == "setting" or (cmd.name == "set" and arg.name == "VALUE"):
            yield from self._setting(args, prefix)
            return
        yield from self._values(arg.kind, arg.choices, arg.kinds, prefix, document)

    def _verbs_for(self, kind: str) -> list[str]:
        verbs = []
        for cmd in self.table.commands:
            first = cmd.args[0] if cmd.args else None
            if (
                first is not None
                and first.kind == "resource"
                and (not first.kinds or kind in first.kinds)
            ):
                verbs.append(cmd.name)
        return verbs

    @staticmethod
    def _positional(cmd: Command, args: list[str]) -> Arg | None:
        count = 0
        skip = False
        for word in args:
            if skip:
                skip = False
                continue
            if word.startswith("--"):
                opt = cmd.find_opt(word.split("=")[0])
                skip = opt is not None and opt.metavar is not None and "=" not in word
                continue
            count += 1
        if count < len(cmd.args):
            return cmd.args[count]
        if cmd.args and cmd.args[-1].many:
            return cmd.args[-1]
        return None

    def _values(
        self,
        kind: str,
        choices: tuple[str, ...],
        kinds: tuple[str, ...],
        prefix: str,
        document: Document,
    ) -> Iterator[Completion]:
        if choices:
            yield from _matching(choices, prefix)
        elif kind == "resource":
            yield from _matching(self.session.registry.names(kinds), prefix)
        elif kind == "signal":
            names = signal_names()
            yield from _matching([n[3:] for n in names] + names, prefix)
        elif kind == "file":
            yield from self._paths(prefix, document)
        elif kind == "command":
            yield from _matching(sorted(self.table.by_name), prefix)
        elif kind == "address":
            yield from _matching([*self._listening(), "127.0.0.1:", "[::1]:", "unix:"], prefix)
        elif kind == "endpoint":  # relay's A and B
            joined = self.session.registry.names(("tcp", "unix", "process"))
            forms = ["tcp:", "tcp-listen:", "udp:", "unix:", "exec:"]
            yield from _matching([*joined, *self._listening(), *forms], prefix)
        elif kind == "handler":
            yield from self._handlers(prefix, document)
        elif kind == "sockopt":
            from pslrepl.commands.sockets import sockopt_names

            yield from _matching(sockopt_names(), prefix.upper())

    def _listening(self) -> list[str]:
        """Names that stand for an address: listeners, servers, relays that listen."""
        registry = self.session.registry
        return [name for name in registry.names(("listener", "server", "relay"))
                if getattr(registry.get(name), "bound_addr", None) is not None]  # fmt: skip

    def _handlers(self, prefix: str, document: Document) -> Iterator[Completion]:
        from pslrepl.handlers import DESCRIPTIONS

        if prefix.startswith("python:"):  # python:FILE:CLASS: the FILE part is a path
            for c in self._paths(prefix[7:], document):
                yield Completion("python:" + c.text, start_position=-len(prefix),
                                 display=c.display)  # fmt: skip
            return
        if prefix.startswith("forward:"):
            targets = [f"forward:{n}" for n in self._listening()]
            yield from _matching([*targets, "forward:127.0.0.1:"], prefix)
            return
        names = [n.split(":")[0] + (":" if ":" in n else "") for n in DESCRIPTIONS]
        yield from _matching(names, prefix)

    def _setting(self, args: list[str], prefix: str) -> Iterator[Completion]:
        settings = self.session.settings
        if not args:
            yield from _matching(settings.names(), prefix)
        elif len(args) == 1:
            yield from _matching(settings.CHOICES.get(args[0], ()), prefix)

    def _paths(self, prefix: str, document: Document) -> Iterator[Completion]:
        for c in self.paths.get_completions(Document(prefix, len(prefix)), CompleteEvent()):
            yield Completion(prefix + c.text, start_position=-len(prefix), display=c.display)


def _matching(words: Iterable[str], prefix: str) -> Iterator[Completion]:
    seen = set()
    for word in words:
        if word.startswith(prefix) and word not in seen:
            seen.add(word)
            yield Completion(word, start_position=-len(prefix))
