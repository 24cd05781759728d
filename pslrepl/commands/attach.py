"""attach: the terminal joined to a child or a socket, as nc would (Ctrl-] returns)."""

from __future__ import annotations

from pslrepl.commands.groups import SOCKETS
from pslrepl.commands.options import SHOW_HEX, SHOW_REPR, TIMEOUT
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import UsageError
from pslrepl.kinds import ResourceOf
from pslrepl.results import Output

COMMANDS = Commands(SOCKETS)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import Invocation


@COMMANDS.command(
    "attach",
    "type to a child or socket and see what it sends, as nc does; Ctrl-] returns",
    args=(Arg("NAME", ResourceOf("process", "tcp", "unix", "tls")),),
    opts=(
        Opt("--raw", "pass Ctrl-C on as the byte 0x03 (not SIGINT)"),
        TIMEOUT,
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
    "EOF, and what comes back is shown until the far side ends.",
)
def _attach(ctx: Invocation) -> None:
    from pslrepl.attaching import Attachment, run, run_piped

    res = ctx["name"]
    session = ctx.session
    if res.closed:
        raise UsageError(f"attach: {res.name} is closed")
    if not getattr(res, "byte_stream", True) or not getattr(res, "connected", True):
        raise UsageError(f"attach: {res.name} is not a connected stream socket; connect or "
                         "accept first")  # fmt: skip
    att = Attachment(session, res, raw=ctx["raw"])
    if not session.env.interactive:  # a pipe, as nc in one: stdin's lines, then EOF
        shown = run_piped(att, session.env.stdin, timeout=ctx.timeout)
        if shown:
            ctx.emit(Output(shown, "data", mode=ctx.display()))
        ended = att.ended
    else:
        # The shell's own terminal, as its prompt has it (tests give a pipe and a
        # DummyOutput).
        repl = getattr(session.waker, "__self__", None)
        app = getattr(getattr(repl, "prompt", None), "app", None)
        ended = run(session, att, input=getattr(app, "input", None),
                    output=getattr(app, "output", None))  # fmt: skip
    said = f"{res.name}: detached ({att.sent:,} bytes sent, {att.received:,} received)"
    ctx.say(said + (f"; {ended}" if ended else ""))
