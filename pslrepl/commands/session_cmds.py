"""What the session holds, looked at: help, ls, info, close and log."""

from __future__ import annotations

import time

from pslrepl.commands.groups import SESSION
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import PslError, UsageError
from pslrepl.kinds import ANY_RESOURCE, COMMAND, Choice, Int, Kind
from pslrepl.render import log_line
from pslrepl.resources.base import age
from pslrepl.resources.catalog import kinds as resource_kinds
from pslrepl.results import Cell, Fields, Styled, Table, volatile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.kinds import Completing

COMMANDS = Commands(SESSION)


@COMMANDS.command(
    "help",
    "list commands, or show one's usage, examples and stdlib calls",
    args=(Arg("COMMAND", COMMAND, optional=True, many=True),),
    examples=("help", "help spawn", "help read"),
)
def _help(ctx: Invocation) -> None:
    table = ctx.dispatcher.table
    words = ctx["command"]
    if not words:
        for group, cmds in table.groups():
            ctx.say(group.title, "header")
            width = max(len(c.name) for c in cmds)
            for each in cmds:
                ctx.emit(Styled((("command", f"  {each.name:<{width}}  "), ("", each.summary))))
        ctx.say("`help COMMAND` shows its usage, examples and the stdlib calls it makes.", "notice")
        return
    cmd, used = table.resolve(words)
    if cmd is not None and used < len(words):
        # `help set tls-keylog`: a word the command's arguments list (a setting), or none.
        word = " ".join(words[used:])
        for arg in cmd.args:
            text = arg.kind.listing().get(word)
            if text is not None:
                ctx.emit(Styled((("option", f"{cmd.name} {word}"), ("", f": {text}"))))
                return
        raise PslError(f"help: {cmd.name} has no subcommand {word!r}; `help {cmd.name}` "
                       "shows its usage")  # fmt: skip
    if cmd is None or used != len(words):
        subs = table.subcommands(words[0])
        if subs and len(words) == 1:
            found = [c for sub in subs if (c := table.resolve([words[0], sub])[0]) is not None]
            width = max(len(c.name) for c in found)
            for sub_cmd in found:
                ctx.emit(Styled((("command", f"{sub_cmd.name:<{width}}"),
                                 ("", "  " + sub_cmd.summary))))  # fmt: skip
            ctx.say(f"`help {words[0]} SUBCOMMAND` shows its usage.", "notice")
            return
        if len(words) == 1 and _help_stdlib(ctx, words[0].removeprefix("--")):
            return
        raise PslError(ctx.dispatcher.unknown(words))
    ctx.emit(Styled((("command", "usage: "), ("", cmd.usage()))))
    ctx.say(cmd.summary)
    if cmd.details:
        ctx.say(cmd.details)
    if cmd.aliases:
        ctx.emit(Styled((("key", "aliases: "), ("", ", ".join(cmd.aliases)))))
    if cmd.opts:
        ctx.say("options:", "header")
        width = max(len(_opt_text(o)) for o in cmd.opts)
        for opt in cmd.opts:
            ctx.emit(Styled((("option", f"  {_opt_text(opt):<{width}}  "), ("", opt.help))))
    if cmd.calls:
        ctx.emit(Styled((("key", "stdlib: "), ("calls", ", ".join(cmd.calls)))))
    if cmd.examples:
        ctx.say("examples:", "header")
        for example in cmd.examples:
            ctx.emit(Styled((("example", f"  {example}"),)))
    for arg in cmd.args:
        listed = arg.kind.listing()
        width = max(map(len, listed), default=0)
        for key, text in listed.items():
            ctx.emit(Styled((("option", f"  {key:<{width}}  "), ("", text))))


def _help_stdlib(ctx: Invocation, name: str) -> bool:
    """A stdlib name that is no command: where it shows. False if it is none we know."""
    from pslrepl.commands.stdlib_names import stdlib_help

    table = ctx.dispatcher.table
    found = stdlib_help(name.rpartition(".")[2] or name, table.commands)
    if found is None:
        return False
    answer, makers = found
    if answer:
        ctx.emit(Styled((("command", name), ("", f": {answer}"))))
    if makers:
        ctx.emit(Styled((("key", "see: " if answer else f"{name} is called by: "),
                         ("command", ", ".join(makers)))))  # fmt: skip
        ctx.say(f"`help {makers[0]}` shows its usage.", "notice")
    return True


def _opt_text(opt: Opt) -> str:
    return opt.name if opt.metavar is None else f"{opt.name} {opt.metavar}"


@COMMANDS.command(
    "ls",
    "a table of live resources: name, kind, state, addresses, bytes, age",
    # Each kind as the resource classes declare it, asked when first needed (the catalog
    # imports every resource module, ssl and socketserver with them).
    args=(Arg("KIND", Choice(resource_kinds), optional=True),),
    examples=("ls", "ls process", "ls tcp"),
)
def _ls(ctx: Invocation) -> None:
    kind = ctx["kind"]
    rows: list[list[Cell]] = []
    now = time.time()
    for res in ctx.session.registry:
        if kind and res.kind != kind:
            continue
        rows.append([
            ("name", res.name), ("kind", res.kind), (res.state_style, res.state),
            res.local, res.remote, str(res.bytes_in), str(res.bytes_out),
            volatile(age(now - res.created), "age"),
        ])  # fmt: skip
    empty = "(nothing live: spawn a process, or `help` for what you can start)"
    headers = ("NAME", "KIND", "STATE", "LOCAL", "REMOTE", "IN", "OUT", "AGE")
    ctx.emit(Table(headers, rows, empty, min_widths={3: len("pid 4194304")}))


@COMMANDS.command(
    "info",
    "everything known about a resource",
    args=(Arg("NAME", ANY_RESOURCE),),
    examples=("info p",),
    setup=("spawn p -- cat",),
    calls=("Popen.pid", "Popen.args", "Popen.returncode"),
)
def _info(ctx: Invocation) -> None:
    res = ctx["name"]
    ctx.emit(Fields(res.info()))


@COMMANDS.command(
    "close",
    "close resources: a child gets TERM, then KILL after `set grace`",
    args=(Arg("NAME", ANY_RESOURCE, optional=True, many=True),),
    opts=(Opt("--all", "close every live resource"),),
    calls=("os.killpg", "Popen.wait"),
    examples=("close p", "close --all"),
    setup=("spawn p -- cat", "spawn q -- cat"),
)
def _close(ctx: Invocation) -> None:
    names = [res.name for res in ctx["name"]]  # each resolved: an unknown name closes none
    session = ctx.session
    if ctx["all"]:
        if names:
            raise UsageError("close: give names or --all, not both")
        names = session.registry.names()[::-1]  # newest first, as exit does
        if not names:
            ctx.say("nothing to close", "notice")
    elif not names:
        raise UsageError("close: give the NAMEs to close, or --all")
    for name in names:
        res = session.registry.find(name)
        obj = res.obj if res is not None and not res.closed else None
        kind = res.kind if res is not None else ""
        outcome = session.close(name)
        if obj is not None:
            ctx.name(obj, name)  # gone from the registry once closed: named here
            _record_close(ctx, kind, obj)
        ctx.emit(Styled((("name", name), ("", f": {outcome}"))))


def _record_close(ctx: Invocation, kind: str, obj: Any) -> None:
    """What close did, for explain: the calls a script would make to the same end."""
    grace = ctx.session.settings.grace
    if kind in ("process", "sh"):
        ctx.record("Popen.terminate", "", on=obj, exact=False,
                   note="SIGTERM to its whole process group (os.killpg), SIGKILL after "
                   f"`set grace` ({grace:g} s) if anything stays")  # fmt: skip
        ctx.record("Popen.wait", f"timeout={grace:g}", on=obj, exact=False,
                   note="and what its process group left running ended too")  # fmt: skip
    elif kind == "server":
        ctx.record("BaseServer.shutdown", "", on=obj)
        ctx.record("BaseServer.server_close", "", on=obj)
    elif hasattr(obj, "close") and kind not in ("relay", "tls-bio"):
        ctx.record("socket.close", "", on=obj)


class Logged(Kind):
    """A resource's NAME, live or closed, whose events the log still holds."""

    name = "resource"

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        return ask.resources((), prefix)


@COMMANDS.command(
    "log",
    "a resource's (or the session's) history: events and traffic, timed",
    args=(Arg("NAME", Logged(), optional=True),),
    opts=(
        Opt("--hex", "show data as hex", exclusive="mode"),
        Opt("--text", "show data as text", exclusive="mode"),
        Opt("--repr", "show data as Python bytes literals", exclusive="mode"),
        Opt("--last", "only the last N entries", "N", kind=Int(0, 2**63 - 1)),
    ),
    examples=("log p", "log p --hex --last 5", "log"),
    setup=("spawn p -- cat", "writeline p hello", "read p --line"),
)
def _log(ctx: Invocation) -> None:
    session = ctx.session
    name = ctx["name"]
    display = next((m for m in ("hex", "text", "repr") if ctx[m]), session.settings.display)
    if name:
        res = session.registry.find(name)
        if res is not None:
            events = list(res.log)
        else:
            events = [e for e in list(session.log) if e.source == name]
            if not events:
                session.registry.get(name)  # raises the usual 'no resource' error
    else:
        events = list(session.log)
    last = ctx["last"]
    if last is not None:
        events = events[-last:] if last else []
    if not events:
        ctx.say("(no events)", "notice")
    enc = session.settings.encoding
    for event in events:
        line = log_line(event, display=display, encoding=enc)
        if not name:
            line.insert(1, ("event.name", f"{event.source} "))
        ctx.emit(Styled(tuple(line)))
