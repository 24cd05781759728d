"""Session commands: help, ls, info, close, log, wait, set, echo, sleep, py, source, exit."""

from __future__ import annotations

import io
import os
import time

from pslrepl.commands.groups import SESSION
from pslrepl.commands.options import TIMEOUT
from pslrepl.commandspec import Arg, Command, Opt
from pslrepl.errors import PslError, Terminated, Timeout, UsageError
from pslrepl.kinds import ANY_RESOURCE, COMMAND, PATH, SECONDS, TEXT, Choice, Int, Kind
from pslrepl.render import log_line
from pslrepl.resources.base import age
from pslrepl.results import Cell, Fields, Styled, Table, volatile
from pslrepl.session import Settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.kinds import Completing

# Every kind of resource, for `ls KIND`.
KINDS = ("process", "tcp", "tls", "udp", "unix", "unix-dgram", "listener", "server", "relay")
# Every event `wait` knows; each kind of resource says which of them it has.
WAIT_EVENTS = ("exit", "data", "eof", "connect", "accept", "close")


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


class Logged(Kind):
    """A resource's NAME, live or closed, whose events the log still holds."""

    name = "resource"

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        return ask.resources((), prefix)


class SettingName(Kind):
    """A setting's name, for `set`."""

    name = "setting"

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        return ask.words(Settings.HELP, prefix, Settings.HELP.get)

    def listing(self) -> dict[str, str]:
        choices = Settings.CHOICES
        return {key: text + (f" ({', '.join(choices[key])})" if key in choices else "")
                for key, text in Settings.HELP.items()}  # fmt: skip


class SettingValue(Kind):
    """A setting's value: the words it takes, where it has a fixed set."""

    name = "text"

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        key = ask.args[0] if ask.args else ""
        return ask.words(Settings.CHOICES.get(key, ()), prefix)


def _opt_text(opt: Opt) -> str:
    return opt.name if opt.metavar is None else f"{opt.name} {opt.metavar}"


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


def _info(ctx: Invocation) -> None:
    res = ctx["name"]
    ctx.emit(Fields(res.info()))


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
        ctx.emit(Styled((("name", name), ("", f": {session.close(name)}"))))


def _log(ctx: Invocation) -> None:
    session = ctx.session
    name = ctx["name"]
    display = next((m for m in ("hex", "text", "repr") if ctx[m]), session.settings.display)
    if name:
        res = session.registry.find(name)
        if res is not None:
            events = list(res.log)
        else:
            events = [e for e in session.log if e.source == name]
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


def _wait(ctx: Invocation) -> None:
    res = ctx["name"]
    event = ctx["event"] or res.wait_events[0]
    if event not in res.wait_events:
        raise UsageError(
            f"wait: a {res.kind} has no event {event!r}; it has {', '.join(res.wait_events)}"
        )
    timeout = ctx.timeout
    # No stdlib call to record while waiting: the shell watches for the event itself
    # (a child's exit below is Popen.wait's answer).
    if not ctx.session.wait_for(lambda: res.ready(event), timeout):
        raise Timeout(
            f"{res.name}: timeout after {timeout:g} s waiting for {event}; it is {res.state}; "
            "--timeout S waits longer"
        )
    if event == "exit":
        from pslrepl.resources.process import Process
        from pslrepl.signals_table import describe_status

        assert isinstance(res, Process)
        rc = res.returncode
        assert rc is not None
        ctx.record("Popen.wait", "", rc)
        ctx.emit(Styled((("name", res.name), ("", f": {describe_status(rc)}"))))
    else:
        ctx.emit(Styled((("name", res.name), ("", f": {res.waited(event)}"))))


def _set(ctx: Invocation) -> None:
    settings = ctx.session.settings
    key, value = ctx["key"], ctx["value"]
    if key is None:
        ctx.emit(Fields([(k, settings.show(k)) for k in settings.names()]))
        return
    if value is None:
        if key not in settings.HELP:
            raise UsageError(f"no setting {key!r}; settings: {', '.join(settings.HELP)}")
        ctx.emit(Fields([(key, settings.show(key))]))
        return
    settings.change(key, value)
    if key == "color":
        ctx.session.printer.color = settings.color
    ctx.emit(Fields([(key, settings.show(key))]))


def _echo(ctx: Invocation) -> None:
    ctx.say(" ".join(ctx["text"]))


def _sleep(ctx: Invocation) -> None:
    ctx.record("time.sleep", str(ctx["seconds"]))
    ctx.session.sleep(ctx["seconds"])


def _py(ctx: Invocation) -> None:
    import contextlib
    import traceback

    # Python's quotes are its own syntax: take the code as typed, not shell-unquoted.
    code = ctx.raw_args()
    if not code.strip():
        raise UsageError("py: give Python code, like: py p.pid")
    namespace = ctx.session.py_namespace
    if not namespace:
        import signal
        import socket
        import subprocess
        import sys

        namespace.update(os=os, sys=sys, socket=socket, subprocess=subprocess, signal=signal)
        # site's exit() and quit() close sys.stdin before they raise SystemExit, and
        # the prompt still reads it: these only raise, and the shell leaves cleanly.
        namespace.update(exit=_Leave("exit"), quit=_Leave("quit"))
    namespace["session"] = ctx.session
    namespace["res"] = {r.name: r.obj for r in ctx.session.registry}
    bound = {r.name: r.obj for r in ctx.session.registry if r.name.isidentifier()}
    namespace.update(bound)
    out = _Captured()
    try:
        compiled = compile(code, "<py>", "eval")
        is_expr = True
    except SyntaxError:
        try:
            compiled = compile(code, "<py>", "exec")
        except SyntaxError as exc:
            raise PslError(f"py: syntax error: {exc.msg} (column {exc.offset})") from None
        is_expr = False
    try:
        import sys

        stdin = sys.stdin
        sys.stdin = _Unclosable(stdin)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                value = eval(compiled, namespace)
        finally:
            sys.stdin = stdin
    except (KeyboardInterrupt, Terminated):
        raise
    except SystemExit as exc:  # exit(), quit(), sys.exit(): leave, as `exit` does
        if out.getvalue():
            ctx.say(out.getvalue().rstrip("\n"))
        status = exc.code
        if status is not None and not isinstance(status, int):
            ctx.say(str(status), "stderr")  # as Python prints a non-integer exit code
        ctx.session.exit_requested = (
            status if isinstance(status, int) else 0 if status is None else 1
        )
        ctx.say("py: SystemExit: leaving the shell, as `exit` does", "notice")
        return
    except BaseException as exc:  # the user's code: its error, on one line
        if out.getvalue():
            ctx.say(out.getvalue().rstrip("\n"))
        frame = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" (line {frame[0].lineno})" if frame and frame[0].filename == "<py>" else ""
        raise PslError(f"py: {type(exc).__name__}: {exc}{where}") from None
    finally:
        _shadowed(ctx, namespace, bound)
    if out.getvalue():
        ctx.say(out.getvalue().rstrip("\n"))
    if is_expr and value is not None:
        ctx.say(repr(value))


class _Captured(io.StringIO):
    """What py's code prints; `sys.stdout.close()` in it must not lose the rest."""

    def close(self) -> None:
        pass


class _Unclosable:
    """The shell's standard input while py runs: everything but close(), which would
    take the prompt's terminal from under it (as site's exit() did)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _Leave:
    """``exit`` and ``quit`` inside py: SystemExit without closing standard input."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Use {self.name}() or the shell's `exit` to leave"

    def __call__(self, code: object = None) -> None:
        raise SystemExit(code)


def _shadowed(ctx: Invocation, namespace: dict[str, object], bound: dict[str, object]) -> None:
    """Say so when code assigned to a resource's name: the next py binds it back."""
    for name, obj in bound.items():
        if namespace.get(name) is not obj:
            ctx.say(f"warning: {name} is a resource's name, and py binds it to {name}'s "
                    "object each time: your value is gone at the next py; use another "
                    "name", "warning")  # fmt: skip
            namespace[name] = obj


def _source(ctx: Invocation) -> None:
    path = ctx["file"]
    dispatcher = ctx.dispatcher
    if dispatcher.source_depth >= 10:
        raise PslError("source: nested 10 deep; does a script source itself?")
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise PslError(f"source: can't read {path!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise PslError(f"source: {path!r} is not UTF-8 text") from None
    from pslrepl.transcript import PROMPT

    numbered = list(enumerate(lines, 1))
    body = [(n, line.lstrip(" \t")) for n, line in numbered]
    if any(line.startswith(PROMPT) or line.rstrip() == PROMPT.rstrip() for _, line in body):
        # A transcript (.psl) or a block copied from one, as a paste takes it (indented
        # too): its commands are the prompted lines; the lines under them are what they
        # printed then.
        numbered = [(n, line[len(PROMPT) :]) for n, line in body if line.startswith(PROMPT)]
    saved = dispatcher.location
    dispatcher.source_depth += 1
    try:
        for number, line in numbered:
            dispatcher.location = f"{path}:{number}: "
            if not dispatcher.run_line(line):
                raise PslError(f"source: {path} stopped at line {number}")
            if ctx.session.exit_requested is not None:
                break
    finally:
        dispatcher.location = saved
        dispatcher.source_depth -= 1


def _exit(ctx: Invocation) -> None:
    code = ctx["status"]
    ctx.session.exit_requested = 0 if code is None else code


COMMANDS = (
    Command(
        "help",
        SESSION,
        "list commands, or show one's usage, examples and stdlib calls",
        _help,
        args=(Arg("COMMAND", COMMAND, optional=True, many=True),),
        examples=("help", "help spawn", "help read"),
    ),
    Command(
        "ls",
        SESSION,
        "a table of live resources: name, kind, state, addresses, bytes, age",
        _ls,
        args=(Arg("KIND", Choice(KINDS), optional=True),),
        examples=("ls", "ls process", "ls tcp"),
    ),
    Command(
        "info",
        SESSION,
        "everything known about a resource",
        _info,
        args=(Arg("NAME", ANY_RESOURCE),),
        examples=("info p",),
        setup=("spawn p -- cat",),
        calls=("Popen.pid", "Popen.args", "Popen.returncode"),
    ),
    Command(
        "close",
        SESSION,
        "close resources: a child gets TERM, then KILL after `set grace`",
        _close,
        args=(Arg("NAME", ANY_RESOURCE, optional=True, many=True),),
        opts=(Opt("--all", "close every live resource"),),
        calls=("os.killpg", "Popen.wait"),
        examples=("close p", "close --all"),
        setup=("spawn p -- cat", "spawn q -- cat"),
    ),
    Command(
        "log",
        SESSION,
        "a resource's (or the session's) history: events and traffic, timed",
        _log,
        args=(Arg("NAME", Logged(), optional=True),),
        opts=(
            Opt("--hex", "show data as hex", exclusive="mode"),
            Opt("--text", "show data as text", exclusive="mode"),
            Opt("--repr", "show data as Python bytes literals", exclusive="mode"),
            Opt("--last", "only the last N entries", "N", kind=Int(0, 2**63 - 1)),
        ),
        examples=("log p", "log p --hex --last 5", "log"),
        setup=("spawn p -- cat", "writeline p hello", "read p --line"),
    ),
    Command(
        "wait",
        SESSION,
        "block until an event on NAME: a process's exit, data or eof; a socket's data, eof "
        "or accept; a server's connect; a relay's close",
        _wait,
        args=(
            Arg("NAME", ANY_RESOURCE),
            Arg("EVENT", Choice(WAIT_EVENTS), optional=True),
        ),
        opts=(TIMEOUT,),
        calls=("Popen.wait",),
        examples=("wait p", "wait p data --timeout 2"),
        setup=("spawn p -- echo hello",),
    ),
    Command(
        "set",
        SESSION,
        "show or change a setting",
        _set,
        args=(
            Arg("KEY", SettingName(), optional=True),
            Arg("VALUE", SettingValue(), optional=True),
        ),
        examples=("set", "set display hex", "set timeout 2", "set events quiet"),
    ),
    Command(
        "echo",
        SESSION,
        "print text (for scripts and demos)",
        _echo,
        args=(Arg("TEXT", TEXT, optional=True, many=True),),
        examples=("echo hello",),
    ),
    Command(
        "sleep",
        SESSION,
        "pause for S seconds (events still show)",
        _sleep,
        args=(Arg("SECONDS", SECONDS),),
        calls=("time.sleep",),
        examples=("sleep 0.5",),
    ),
    Command(
        "py",
        SESSION,
        "run Python; every resource is a variable bound to its stdlib object",
        _py,
        args=(Arg("CODE", TEXT, many=True),),
        calls=("eval", "exec"),
        examples=("py p.pid", "py p.poll()", 'py "import os; print(os.getpid())"'),
        setup=("spawn p -- cat",),
        details="Names hold the real objects (a process is its subprocess.Popen); `res` maps "
        "every name, for names that are not identifiers; `session` is the shell itself.",
    ),
    Command(
        "source",
        SESSION,
        "run the commands in a script file",
        _source,
        args=(Arg("FILE", PATH),),
        examples=("source demo.psl",),
        setup=("record demo.psl", "echo hello", "record stop"),
        details="A transcript (.psl) runs too: its `psl> ` lines are the commands, and the "
        "output recorded under them is skipped.",
    ),
    Command(
        "exit",
        SESSION,
        "close everything cleanly and leave",
        _exit,
        args=(Arg("STATUS", Int(0, 255), optional=True),),
        aliases=("quit",),
        examples=("exit",),
    ),
)
