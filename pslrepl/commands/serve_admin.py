"""What is done to a running server: stop, clients, and the handlers serve can run."""

from __future__ import annotations

from pslrepl.commands.groups import SERVERS
from pslrepl.commandspec import Arg, Commands
from pslrepl.kinds import ResourceOf
from pslrepl.results import Styled, Table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import Invocation
    from pslrepl.resources.servers import Server

COMMANDS = Commands(SERVERS)


def _server(ctx: Invocation) -> Server:
    from pslrepl.resources.servers import Server

    res = ctx["name"]
    assert isinstance(res, Server)
    return res


@COMMANDS.command(
    "stop",
    "stop a server: shutdown() then server_close()",
    args=(Arg("NAME", ResourceOf("server")),),
    calls=("BaseServer.shutdown", "BaseServer.server_close"),
    examples=("stop web",),
    setup=("serve web tcp 0 --handler http",),
)
def _stop(ctx: Invocation) -> None:
    res = _server(ctx)
    outcome = ctx.session.close(res.name)
    if not res.manual:  # serve_forever never ran: nothing to shut down
        ctx.record(f"{res.name}.shutdown", "", None)
    ctx.record(f"{res.name}.server_close", "", None)
    ctx.emit(Styled((("name", res.name), ("", f": {outcome}"))))


@COMMANDS.command(
    "clients",
    "a server's live connections",
    args=(Arg("NAME", ResourceOf("server")),),
    examples=("clients web",),
    setup=("serve web tcp 0 --handler echo --threading", "tcp connect c web"),
)
def _clients(ctx: Invocation) -> None:
    res = _server(ctx)
    # FOR is an age, 0.4s to 1m05s: as wide as its widest, so the columns after it stay put.
    ctx.emit(Table(("CLIENT", "FOR", "IN", "OUT", "SERVED BY"), res.client_rows(),
                   f"(no clients of {res.name} now; {res.served} served so far)",
                   min_widths={1: len("59m59s")}))  # fmt: skip


@COMMANDS.command(
    "handlers",
    "the built-in handlers and what each does",
    examples=("handlers",),
)
def _handlers(ctx: Invocation) -> None:
    from pslrepl.handlers import DESCRIPTIONS

    ctx.emit(Table(("HANDLER", "DOES"), [[("name", k), v] for k, v in DESCRIPTIONS.items()]))
