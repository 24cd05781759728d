"""The command table and run_line(): a line to handlers, every failure to one error line."""

from __future__ import annotations

import time

from pslrepl.commandspec import parse_args
from pslrepl.errors import PslError, describe_oserror
from pslrepl.invocation import REFUSED, CommandRecord, Invocation
from pslrepl.parsing import tokenize
from pslrepl.render import plural, render

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from pslrepl.commandspec import Command, Group
    from pslrepl.parsing import Token
    from pslrepl.session import Session


# Commands whose argument often holds a ; that was meant as part of it (Python, text).
SPLIT_BY_SEMICOLON = frozenset(
    {"py", "echo", "send", "sendall", "sendline", "write", "writeline", "sh", "run"}
)


class CommandTable:
    """Commands by name (one or two words) and alias; what help and completion read."""

    def __init__(self, commands: Iterable[Command]) -> None:
        self.commands: list[Command] = list(commands)
        self.by_name: dict[str, Command] = {}
        for cmd in self.commands:
            for name in (cmd.name, *cmd.aliases):
                if name in self.by_name:
                    raise ValueError(f"command {name!r} defined twice")
                self.by_name[name] = cmd
        self.first_words = {name.split()[0] for name in self.by_name}
        self._subs: dict[str, list[str]] = {}
        for name in sorted(self.by_name):
            first, _, second = name.partition(" ")
            if second:
                self._subs.setdefault(first, []).append(second)
        self._suggested: dict[str, list[str]] = {}  # a typo is often typed again

    def is_command(self, word: str) -> bool:
        return word in self.first_words

    def knows(self, words: str) -> bool:
        """A command, an alias, or the first word of a two-word command (``tcp``)."""
        return words in self.by_name or words in self.first_words

    def subcommands(self, first: str) -> list[str]:
        return list(self._subs.get(first, ()))

    def resolve(self, words: Sequence[str]) -> tuple[Command | None, int]:
        """The command the first words name and how many words that took."""
        if len(words) >= 2:
            cmd = self.by_name.get(f"{words[0]} {words[1]}")
            if cmd is not None:
                return cmd, 2
        if words:
            cmd = self.by_name.get(words[0])
            if cmd is not None:
                return cmd, 1
        return None, 0

    def groups(self) -> list[tuple[Group, list[Command]]]:
        """Each group (the first of its key met) with its commands, in table order."""
        out: dict[str, tuple[Group, list[Command]]] = {}
        for cmd in self.commands:
            out.setdefault(cmd.group.key, (cmd.group, []))[1].append(cmd)
        return list(out.values())

    def suggest(self, word: str) -> list[str]:
        """Near spellings of a mistyped command (difflib: the slow part of a long line of
        unknown commands, so each word is looked up once, in a bounded cache)."""
        found = self._suggested.get(word)
        if found is None:
            import difflib

            found = difflib.get_close_matches(word, sorted(self.by_name), n=3, cutoff=0.6)
            if len(self._suggested) >= 1024:
                self._suggested.clear()
            self._suggested[word] = found
        return list(found)


def _text_of(tokens: list[Token], line: str) -> str:
    """The command's own part of the line (``a`` of ``a; b``)."""
    if not tokens:
        return line
    return line[min(t.start for t in tokens) : max(t.end for t in tokens)]


class Dispatcher:
    """Runs lines against a session; the one place exceptions become ``error:`` lines."""

    def __init__(self, session: Session, table: CommandTable) -> None:
        self.session = session
        self.table = table
        self.location = ""  # "FILE:LINE: " while a script runs, for error lines
        self.source_depth = 0
        # Scripts stop at a failed command, even mid-line; the interactive shell (and a
        # transcript's replay, which shows what it did) runs the rest of the line.
        self.stop_on_error = False
        self._interrupted = False  # Ctrl-C cancelled a command: the line's rest is skipped
        self._after = ""  # the command before this one on the line, for hints

    def run_line(self, line: str) -> bool:
        """Run the commands on a line; False if one failed (the rest run unless
        stop_on_error)."""
        recorder = self.session.recorder
        if recorder is None or self.source_depth or line.split(None, 1)[:1] == ["record"]:
            return self._run_line(line)
        if line.lstrip().startswith("#"):
            recorder.comment(line)
        if not line.strip() or line.lstrip().startswith("#"):
            return True
        recorder.begin(line)  # as typed: a placeholder stays one in the transcript
        try:
            return self._run_line(line)
        finally:
            recorder.end()

    def expand(self, tokens: list[Token]) -> list[Token]:
        """The command's words with placeholders of what the session knows replaced by
        their values, as the command runs (so `tcp listen l 0; tcp connect c
        127.0.0.1:{l.port}` works on one line): {srv.port}, {srv.laddr}, {p.pid}, {tmp},
        as a transcript writes them. Braces that name nothing known stay as typed."""
        if not any("{" in t.text for t in tokens):
            return tokens
        from pslrepl.parsing import Token
        from pslrepl.transcript.matching import expand

        bindings = dict(self.session.volatile)
        if any("{tmp}" in t.text for t in tokens):
            bindings["tmp"] = self.session.tmp  # made on first use
        return [Token(expand(t.text, bindings), t.start, t.end, t.quoted) for t in tokens]

    def _run_line(self, line: str) -> bool:
        self._interrupted = False
        try:
            try:
                commands = tokenize(line).commands
            except PslError as exc:
                self.error(str(exc))
                return False
            ok = True
            previous = ""
            for index, tokens in enumerate(commands):
                if self.session.exit_requested is not None or (self.stop_on_error and not ok):
                    break
                if self._interrupted:
                    left = len(commands) - index
                    self.error(f"Ctrl-C: the rest of the line ({plural(left, 'command')}) "
                               "was not run")  # fmt: skip
                    break
                self._after = previous
                ok = self.run_tokens(tokens, line) and ok
                previous = tokens[0].text
            return ok
        except KeyboardInterrupt:  # between commands, or while an error was shown
            self.error(self._cancelled())
            return False

    def _cancelled(self) -> str:
        if self.stop_on_error:  # a script: the cancel fails the command, and it ends
            return "cancelled by Ctrl-C; the script stops here, closing everything"
        return "cancelled by Ctrl-C; everything else carries on"

    def run_tokens(self, tokens: list[Token], line: str) -> bool:
        ctx: Invocation | None = None
        failure: BaseException | None = None  # what a pitfall note may read (an errno)
        try:
            ctx = self.prepare(self.expand(tokens), line)
            ctx.command.handler(ctx)
            self.show(ctx)
            self.session.history.append(ctx.record_of(ok=True))
            self.notes()
            return True
        except KeyboardInterrupt:
            self._interrupted = True
            message = self._cancelled()
        except PslError as exc:  # Timeout too
            message, failure = str(exc), exc
        except OSError as exc:
            where = ctx.command.name if ctx else "command"
            message, failure = f"{where}: {describe_oserror(exc)}", exc
        except Exception as exc:  # a bug of ours: still one line, and the shell goes on
            where = ctx.command.name if ctx else "command"
            if isinstance(exc, UnicodeError) and "idna" in str(exc):
                # Socket calls encode host names for DNS: a name like a..b is the user's.
                message = (f"{where}: that host name can't be looked up ({exc}): "
                           "check it for empty or over-long parts (a..b), or give an IP "
                           "address")  # fmt: skip
            else:
                message = (f"internal error in {ctx.command.name if ctx else 'dispatch'}: "
                           f"{type(exc).__name__}: {exc}; please report it")  # fmt: skip
        if ctx is not None:
            self.show(ctx)
        self.error(message)
        # The failed command stays in the history with what the shell said (export and
        # timeline read it); a line refused before any handler ran is kept as refused.
        if ctx is not None:
            record = ctx.record_of(ok=False, error=message)
        else:
            record = CommandRecord(_text_of(tokens, line), REFUSED, (), False, time.time())
            record.error = message
        self.session.history.append(record)
        self.notes(ctx, failure)
        return False

    def prepare(self, tokens: list[Token], line: str) -> Invocation:
        words = [t.text for t in tokens]
        cmd, used = self.table.resolve(words)
        if cmd is None and len(words) >= 2 and words[0] in self.session.registry:
            # NAME VERB ARGS is VERB NAME ARGS, object first.
            cmd, used = self.table.resolve(words[1:])
            if cmd is not None:
                tokens = tokens[1 : 1 + used] + [tokens[0]] + tokens[1 + used :]
        if cmd is None:
            raise PslError(self.unknown(words))
        values, argv = parse_args(cmd, tokens[used:], self.session)
        ctx = Invocation(self.session, cmd, values, argv, line, self)
        ctx.arg_tokens = list(tokens[used:])
        ctx.text = _text_of(tokens, line)
        return ctx

    def unknown(self, words: list[str]) -> str:
        word = words[0]
        subs = self.table.subcommands(word)
        if subs:
            if len(words) == 1:
                return f"{word} needs a subcommand: {', '.join(subs)}"
            return f"{word} has no subcommand {words[1]!r}; try {', '.join(subs)}"
        if word in self.session.registry:
            if len(words) == 1:
                return f"{word} is a resource; say what to do with it, like `info {word}`"
            return f"{word}: {self.unknown(words[1:])}"
        if self._after in SPLIT_BY_SEMICOLON:
            return (f"unknown command {word!r}: a ; outside quotes ends a command, so it "
                    f"ended the {self._after} before it; quote the whole argument to keep "
                    f"the ; in it, like {self._after} 'a; b'")  # fmt: skip
        near = self.table.suggest(word)
        hint = f"; did you mean {' or '.join(near)}?" if near else "; `help` lists commands"
        return f"unknown command {word!r}{hint}"

    def show(self, ctx: Invocation) -> None:
        """Render and print what a command produced, then its calls if explain is on."""
        settings = self.session.settings
        lines = []
        for result in ctx.results:
            lines.extend(render(result, display=settings.display, encoding=settings.encoding))
        ctx.settle()
        if settings.explain:
            for call in ctx.calls:
                lines.append([("explain", f"  {call.python()}")])
        self.session.printer.write(lines)
        self.session.flush_events()

    def error(self, message: str) -> None:
        self.session.printer.error(message, where=self.location)

    def notes(self, ctx: Invocation | None = None, exc: BaseException | None = None) -> None:
        """Pitfall notes (pitfalls.py) on what a failure, or the children meanwhile, show."""
        pitfalls = self.session.pitfalls
        said = (
            pitfalls.failed(self.session, ctx.command.name, ctx.values, exc)
            if ctx and exc
            else None
        )
        lines = [said] if said else []
        lines += pitfalls.after(self.session)
        if lines:
            self.session.printer.write([[("note", line)] for line in lines])
            last = self.session.history.last()
            if last is not None:  # said after the command's output: it is the command's
                last.notes.extend(lines)
