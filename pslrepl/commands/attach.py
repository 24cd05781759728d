"""attach: the terminal joined to a child or a socket, as nc would (Ctrl-] returns)."""

from __future__ import annotations

from pslrepl.commands.groups import SOCKETS
from pslrepl.commands.options import SHOW_HEX, SHOW_REPR
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import UsageError
from pslrepl.kinds import SECONDS, ResourceOf
from pslrepl.results import Output

COMMANDS = Commands(SOCKETS)
# Not the shared --timeout ("give up after S seconds"): at a terminal attach never gives
# up, it waits until you leave; in a pipe S is how long it waits for more after the EOF.
QUIET = Opt("--timeout", "in a pipe: end once S seconds pass with nothing new after the "
            "EOF (default: set timeout); at a terminal attach waits until you leave",
            "S", kind=SECONDS)  # fmt: skip

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.invocation import Invocation


@COMMANDS.command(
    "attach",
    "type to a child or socket and see what it sends, as nc does; Ctrl-] returns",
    args=(Arg("NAME", ResourceOf("process", "tcp", "unix", "tls")),),
    opts=(
        Opt("--raw", "pass Ctrl-C on as the byte 0x03 (not SIGINT)"),
        QUIET,
        SHOW_HEX,
        SHOW_REPR,
    ),
    calls=("socket.send", "socket.recv", "os.write"),
    examples=("attach c",),
    setup=("serve e tcp 0 --handler echo --threading; tcp connect c e",),
    details="Each line you type is sent as you press Enter (a bare Enter sends a newline); "
    "what arrives is shown as it comes. Ctrl-] returns to the shell's prompt, Ctrl-D "
    "sends EOF (closes the write side), Ctrl-C sends SIGINT to a child (--raw: the byte "
    "0x03) and never ends the shell. Both directions are in `log NAME`. Without a "
    "terminal it works as nc in a pipe: the lines of its standard input are sent, then "
    "EOF, and what comes back is shown as it comes (a whole line at a time) until the "
    "far side ends, or --timeout seconds pass with nothing new after the EOF (at a "
    "terminal, attach waits until you leave).",
)
def _attach(ctx: Invocation) -> None:
    from pslrepl.attach_screen import run
    from pslrepl.attaching import Attachment, run_piped

    res = ctx["name"]
    session = ctx.session
    if res.closed:
        raise UsageError(f"attach: {res.name} is closed")
    if not getattr(res, "byte_stream", True) or not getattr(res, "connected", True):
        raise UsageError(f"attach: {res.name} is not a connected stream socket; connect or "
                         "accept first")  # fmt: skip
    att = Attachment(session, res, raw=ctx["raw"])
    if not session.env.interactive and not _at_a_terminal(session):
        # a pipe, as nc in one: stdin's lines, then EOF
        att.kept = None  # shown through the printer: a recording has it from there
        lost = _dropped(res)
        live = Live(ctx) if ctx.display() is None and session.settings.display == "text" else None
        shown = run_piped(att, session.env.stdin, timeout=ctx.timeout,
                          show=live.show if live else None)  # fmt: skip
        rest = live.rest() if live else shown
        if rest:
            ctx.emit(Output(rest, "data", mode=ctx.display()))
        lost = _dropped(res) - lost
        if lost:
            ctx.say(f"warning: {lost:,} bytes of {res.name}'s output were dropped before "
                    "attach could show them: the buffer keeps the newest "
                    f"{res.stdout.cap:,}", "warning")  # fmt: skip
        ended = att.ended
    else:
        # The shell's own terminal, as its prompt has it (tests give a pipe and a
        # DummyOutput); a file run at a terminal has no prompt: the terminal itself.
        repl = getattr(session.waker, "__self__", None)
        app = getattr(getattr(repl, "prompt", None), "app", None)
        ended = run(session, att, input=getattr(app, "input", None),
                    output=getattr(app, "output", None), mode=ctx.display())  # fmt: skip
    if att.say is None:  # drawn as it happened at a terminal
        for problem in att.problems:
            ctx.say(f"error: {problem}", "error")
    said = f"{res.name}: detached ({att.sent:,} bytes sent, {att.received:,} received)"
    recorder = session.recorder
    if recorder is not None:
        # An interactive attach showed what came outside the printer: the recording is
        # given it as a replay will show it (the piped one's went through the printer).
        came = _as_replayed(ctx, bytes(att.kept or b"")) if att.kept is not None else []
        # Left with Ctrl-] before the far side ended: a replay sends EOF after the typed
        # lines, so why it ends there (or that it waits out --timeout) can't be known.
        recorder.attached(att.typed, came, loose=None if ended else said, keys=att.keys,
                          doubts=att.doubts())  # fmt: skip
    ctx.say(said + (f"; {ended}" if ended else ""))


def _as_replayed(ctx: Invocation, data: bytes) -> list[Any]:
    """``data`` as lines, as a piped attach (a replay's) shows it: whole lines as they
    come, then what is left of a last one; or all at once with --hex or --repr."""
    from pslrepl.render import render

    settings = ctx.session.settings
    mode = ctx.display()
    cut = data.rfind(b"\n") + 1 if mode is None and settings.display == "text" else 0
    lines: list[Any] = []
    for part in (data[:cut], data[cut:]):
        if part:
            lines += render(Output(part, "data", mode=mode), display=settings.display,
                            encoding=settings.encoding)  # fmt: skip
    return lines


def _dropped(res: Any) -> int:
    """How many bytes a child's buffers have dropped so far (0 for a socket)."""
    if getattr(res, "stdout", None) is None or not hasattr(res.stdout, "dropped"):
        return 0
    return int(res.stdout.dropped + res.stderr.dropped)


class Live:
    """A piped attach's output shown as it comes, a whole line at a time (a line cut
    in two by the reads is shown whole); what is left of a last line, at the end."""

    def __init__(self, ctx: Invocation) -> None:
        self.session = ctx.session
        self.held = b""

    def show(self, data: bytes) -> None:
        from pslrepl.render import render

        data = self.held + data
        cut = data.rfind(b"\n") + 1
        self.held = data[cut:]
        if cut:
            settings = self.session.settings
            lines = render(Output(data[:cut], "data"), display="text",
                           encoding=settings.encoding)  # fmt: skip
            self.session.printer.write(lines)

    def rest(self) -> bytes:
        held, self.held = self.held, b""
        return held


def _at_a_terminal(session: Any) -> bool:
    """A file or -c run from a terminal (stdin and stdout both one): attach there is the
    interactive one, as nc at a terminal (a replay's stdin is the typed lines, never)."""
    try:
        return bool(session.env.stdin.isatty() and session.env.stdout.isatty())
    except (AttributeError, ValueError):
        return False
