"""handle_request: a --manual server serves one request, at the prompt."""

from __future__ import annotations

from pslrepl.addresses import format_addr
from pslrepl.commands.groups import SERVERS
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import UsageError
from pslrepl.kinds import SECONDS, ResourceOf
from pslrepl.results import Styled

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import Invocation

COMMANDS = Commands(SERVERS)


@COMMANDS.command(
    "handle_request",
    "serve one request on a `serve --manual` server, waiting at the prompt",
    args=(Arg("NAME", ResourceOf("server")),),
    opts=(
        Opt(
            "--timeout",
            "wait at most S for a request, then handle_timeout (sets the "
            "server's timeout for this call)",
            "S",
            kind=SECONDS,
        ),  # fmt: skip
    ),
    calls=("BaseServer.handle_request", "BaseServer.handle_timeout"),
    examples=("handle_request one", "handle_request one --timeout 0.5"),
    setup=("serve one tcp 0 --manual --handler daytime", "tcp connect c one"),
    details="It accepts the first client in the listen queue (or takes one datagram) "
    "and runs the handler on it: a server with neither --threading nor --forking "
    "returns when the handler does, so the prompt waits for it; Ctrl-C cancels. "
    "Without --timeout it waits as long as the server's timeout (serve --manual "
    "--timeout S), and with none, until a request comes.",
)
def _handle_request(ctx: Invocation) -> None:
    from pslrepl.resources.servers import Server

    res = ctx["name"]
    assert isinstance(res, Server)
    name = res.name
    if not res.manual:
        raise UsageError(f"handle_request: {name} runs serve_forever in a thread already; "
                         f"serve a server with --manual to serve it one request at a "
                         "time")  # fmt: skip
    server = res.server
    given = ctx.values.get("timeout")
    saved = server.timeout
    timeouts = res.timeouts
    res.last_client = None
    if given is not None:
        server.timeout = float(given)  # this call's, as handle_request reads self.timeout
        ctx.record("BaseServer.timeout=", repr(float(given)), on=server)
    try:
        server.handle_request()
        ctx.record("BaseServer.handle_request", "", None, on=server)
    except BaseException as exc:
        ctx.record("BaseServer.handle_request", "", f"raised {type(exc).__name__}", on=server)
        raise
    finally:
        server.timeout = saved
        if given is not None:
            ctx.record("BaseServer.timeout=", repr(saved), on=server,
                       note="the server's own again")  # fmt: skip
    if res.timeouts > timeouts:
        waited = float(given) if given is not None else saved
        ctx.emit(Styled((("name", name), ("", f": no request came in {waited:g} s: "
                         "handle_request returned through handle_timeout()"))))  # fmt: skip
        return
    client = res.last_client
    if client is None:  # get_request failed, or verify_request said no
        ctx.emit(Styled((("name", name), ("", ": handle_request returned without serving "
                         "a request (`log` says why)"))))  # fmt: skip
        return
    res.handled += 1
    who = format_addr(client) or "a local client"
    what = "a datagram from" if res.dgram else "the request of"
    where = {"threading": "; its handler runs on in a thread",
             "forking": "; its handler runs on in a child process"}.get(res.mode, "")  # fmt: skip
    ctx.emit(Styled((("name", name), ("", f": handle_request served {what} {who}{where}"))))
