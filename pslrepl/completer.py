"""Completion from the command table: commands, subcommands, options, names, signals, paths."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from pslrepl.commandspec import Arg, Command
from pslrepl.dispatch import CommandTable
from pslrepl.parsing import last_segment, tokenize
from pslrepl.session import Session
from pslrepl.signals_table import default_action, signal_names


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
                yield from self._values(opt.kind, opt.choices, (), prefix, document)
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
            yield from _matching(self.session.registry.names(kinds), prefix, self._resource_meta)
        elif kind == "signal":
            names = signal_names()
            yield from _matching([n[3:] for n in names] + names, prefix, _signal_meta)
        elif kind == "file":
            yield from self._paths(prefix, document)
        elif kind == "command":
            yield from _matching(sorted(self.table.by_name), prefix, self._command_meta)
        elif kind == "address":
            yield from _matching(self._listening(), prefix, self._resource_meta)
            yield from _matching(["127.0.0.1:", "[::1]:", "unix:"], prefix, ADDRESS_FORMS.get)
        elif kind == "endpoint":  # relay's A and B
            joined = self.session.registry.names(("tcp", "unix", "process"))
            yield from _matching([*joined, *self._listening()], prefix, self._resource_meta)
            yield from _matching(ENDPOINT_FORMS, prefix, ENDPOINT_FORMS.get)
        elif kind == "handler":
            yield from self._handlers(prefix, document)
        elif kind == "sockopt":
            from pslrepl.commands.socket_common import sockopt_names

            yield from _matching(sockopt_names(), prefix.upper())

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
            yield from _matching([*targets, "forward:127.0.0.1:"], prefix,
                                 lambda _: DESCRIPTIONS["forward:ADDR"])  # fmt: skip
            return
        # forward:ADDR and python:FILE:CLASS complete to their first part, with the colon.
        described = {
            n.split(":")[0] + (":" if ":" in n else ""): d for n, d in DESCRIPTIONS.items()
        }
        yield from _matching(described, prefix, described.get)

    def _setting(self, args: list[str], prefix: str) -> Iterator[Completion]:
        settings = self.session.settings
        if not args:
            yield from _matching(settings.names(), prefix, settings.HELP.get)
        elif len(args) == 1:
            yield from _matching(settings.CHOICES.get(args[0], ()), prefix)

    def _paths(self, prefix: str, document: Document) -> Iterator[Completion]:
        for c in self.paths.get_completions(Document(prefix, len(prefix)), CompleteEvent()):
            text = prefix + c.text
            # PathCompleter shows a directory with its slash but leaves it out of the
            # text; with it, the next Tab goes on inside the directory.
            if c.display_text.endswith("/") and not text.endswith("/"):
                text += "/"
            yield Completion(text, start_position=-len(prefix), display=c.display)


# What the menu says beside the forms an address or a relay's endpoint takes.
ADDRESS_FORMS = {
    "127.0.0.1:": "IPv4 loopback: add the PORT",
    "[::1]:": "IPv6 loopback: add the PORT",
    "unix:": "a UNIX socket: add its PATH",
}
ENDPOINT_FORMS = {
    "tcp:": "connect to HOST:PORT",
    "tcp-listen:": "listen on PORT and take one client",
    "udp:": "a UDP socket connected to HOST:PORT",
    "unix:": "connect to the UNIX socket at PATH",
    "exec:": "a program's stdin and stdout: exec:COMMAND",
}


def _signal_meta(name: str) -> str:
    """What the signal is for, as strsignal(3) says, and what it does by default."""
    import signal

    full = name if name.startswith("SIG") else "SIG" + name
    try:
        number = signal.Signals[full]
    except KeyError:
        return ""
    return f"{signal.strsignal(number) or full}; default: {default_action(full)}"


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
