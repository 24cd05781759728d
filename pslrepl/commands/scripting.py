"""Running code: py (Python in the shell), source (a script file) and exit."""

from __future__ import annotations

import io
import os

from pslrepl.commands.groups import SESSION
from pslrepl.commandspec import Arg, Commands
from pslrepl.errors import PslError, Terminated, UsageError
from pslrepl.kinds import PATH, TEXT, Int

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.invocation import Invocation

COMMANDS = Commands(SESSION)


@COMMANDS.command(
    "py",
    "run Python; every resource is a variable bound to its stdlib object",
    args=(Arg("CODE", TEXT, many=True),),
    calls=("eval", "exec"),
    examples=("py p.pid", "py p.poll()", 'py "import os; print(os.getpid())"'),
    setup=("spawn p -- cat",),
    details="Names hold the real objects (a process is its subprocess.Popen); `res` maps "
    "every name, for names that are not identifiers; `session` is the shell itself.",
)
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
        if out.getvalue():  # what it printed before the cancel is shown, not lost
            ctx.say(out.getvalue().rstrip("\n"))
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


@COMMANDS.command(
    "source",
    "run the commands in a script file",
    args=(Arg("FILE", PATH),),
    examples=("source demo.psl",),
    setup=("record demo.psl", "echo hello", "record stop"),
    details="A transcript (.psl) runs too: its `psl> ` lines are the commands, and the "
    "output recorded under them is skipped.",
)
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


@COMMANDS.command(
    "exit",
    "close everything cleanly and leave",
    args=(Arg("STATUS", Int(0, 255), optional=True),),
    aliases=("quit",),
    examples=("exit",),
)
def _exit(ctx: Invocation) -> None:
    code = ctx["status"]
    ctx.session.exit_requested = 0 if code is None else code
