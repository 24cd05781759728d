"""Completion from the command table: commands, subcommands, options, names, signals, paths."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from pslrepl.commandspec import Arg, Command
from pslrepl.dispatch import CommandTable
from pslrepl.kinds import ResourceOf
from pslrepl.parsing import last_segment, tokenize
from pslrepl.session import Session


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
            words = sorted(self.table.first_words)
            yield from _matching(words, prefix, self._command_meta)
            yield from _matching(registry.names(), prefix, self._resource_meta)
            return
        cmd, used = self.table.resolve(done)
        if cmd is None and done[0] in registry:
            kind = registry.get(done[0]).kind
            if len(done) == 1:
                yield from _matching(self._verbs_for(kind), prefix, self._command_meta)
                return
            cmd, used = self.table.resolve(done[1:])
            if cmd is not None:
                done = done[1 : 1 + used] + [done[0]] + done[1 + used :]
        if cmd is None:
            if len(done) == 1:
                first = done[0]
                yield from _matching(self.table.subcommands(first), prefix,
                                     lambda sub: self._command_meta(f"{first} {sub}"))  # fmt: skip
            return
        args = done[used:]
        if "--" in args and cmd.rest:
            return
        if args and args[-1].startswith("--"):
            opt = cmd.find_opt(args[-1])
            if opt is not None and opt.metavar is not None:
                yield from opt.kind.complete(Completing(self, []), prefix)
                return
        if prefix.startswith("-"):
            used_opts = set(args)
            opts = {o.name: o.help for o in cmd.opts if o.repeat or o.name not in used_opts}
            yield from _matching(opts, prefix, opts.get)
            return
        arg = self._positional(cmd, args)
        if arg is None:
            if cmd.rest and not prefix:
                return
            if cmd.rest:
                yield from self._paths(prefix)
            return
        positional = [w for w in args if not w.startswith("--")]
        yield from arg.kind.complete(Completing(self, positional), prefix)

    def _verbs_for(self, kind: str) -> list[str]:
        verbs = []
        for cmd in self.table.commands:
            first = cmd.args[0].kind if cmd.args else None
            if isinstance(first, ResourceOf) and first.takes(kind):
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

    def _command_meta(self, name: str) -> str:
        """A command's summary; for the first word of two-word commands, what follows."""
        cmd = self.table.by_name.get(name)
        if cmd is not None:
            return cmd.summary
        return ", ".join(f"{name} {sub}" for sub in self.table.subcommands(name))

    def _resource_meta(self, name: str) -> str:
        res = self.session.registry.find(name)
        return "" if res is None else f"{res.kind}, {res.state}"

    def _listening(self) -> list[str]:
        """Names that stand for an address: listeners, servers, relays that listen."""
        return [res.name for res in self.session.registry if res.listening]

    def _paths(self, prefix: str) -> Iterator[Completion]:
        for c in self.paths.get_completions(Document(prefix, len(prefix)), CompleteEvent()):
            text = prefix + c.text
            # PathCompleter shows a directory with its slash but leaves it out of the
            # text; with it, the next Tab goes on inside the directory.
            if c.display_text.endswith("/") and not text.endswith("/"):
                text += "/"
            yield Completion(text, start_position=-len(prefix), display=c.display)


class Completing:
    """What an argument's kind may ask while it completes (pslrepl.kinds.Completing)."""

    def __init__(self, completer: PslCompleter, args: list[str]) -> None:
        self._completer = completer
        self.session = completer.session
        self.args = args

    def words(
        self, words: Iterable[str], prefix: str, meta: Callable[[str], str | None] | None = None
    ) -> Iterator[Completion]:
        return _matching(words, prefix, meta)

    def paths(self, prefix: str) -> Iterator[Completion]:
        return self._completer._paths(prefix)

    def resources(self, kinds: tuple[str, ...], prefix: str) -> Iterator[Completion]:
        names = self.session.registry.names(kinds)
        return _matching(names, prefix, self._completer._resource_meta)

    def listening(self) -> list[str]:
        return self._completer._listening()

    def commands(self, prefix: str) -> Iterator[Completion]:
        table = self._completer.table
        return _matching(sorted(table.by_name), prefix, self._completer._command_meta)

    def describe(self, name: str) -> str:
        return self._completer._resource_meta(name)

    def completion(self, text: str, prefix: str, display: Any = None) -> Completion:
        return Completion(text, start_position=-len(prefix), display=display)


def _matching(
    words: Iterable[str], prefix: str, meta: Callable[[str], str | None] | None = None
) -> Iterator[Completion]:
    """Completions for the words that start with ``prefix``; ``meta`` says what each is,
    shown beside it in the menu."""
    seen = set()
    for word in words:
        if word.startswith(prefix) and word not in seen:
            seen.add(word)
            yield Completion(word, start_position=-len(prefix),
                             display_meta=(meta(word) or "") if meta else None)  # fmt: skip
