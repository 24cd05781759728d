"""Server commands: serve (socketserver in the background), stop, clients, handlers."""

from __future__ import annotations

import os
import socketserver

from pslrepl.addresses import format_addr, parse_addr
from pslrepl.commandspec import Arg, Command, Opt
from pslrepl.errors import PslError, UsageError
from pslrepl.results import Styled, Table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.resources.servers import Server


def _handler_class(ctx: Invocation, spec: str, proto: str) -> type[Any]:
    from pslrepl import handlers

    if spec.startswith("python:"):
        path, sep, cls = spec[7:].rpartition(":")
        if not sep or not path or not cls:
            raise UsageError("serve: write a handler of yours as python:FILE:CLASS")
        return handlers.load_user_handler(path, cls)
    if spec.startswith("forward:"):
        if proto == "udp":
            raise UsageError("serve: forward: relays a stream; use tcp or unix")
        target = parse_addr(spec[8:], ctx.session)
        if target.path:
            raise UsageError("serve: forward: goes to a TCP address")
        return type("Forward", (handlers.Forward,), {"target": (target.host, target.port)})
    if spec == "http":
        if proto != "tcp":
            raise UsageError("serve: the http handler speaks over tcp")
        return _http_handler(ctx)
    table = handlers.DATAGRAM if proto == "udp" else handlers.STREAM
    if spec not in table:
        known = ", ".join(handlers.DESCRIPTIONS)
        if spec in handlers.STREAM:
            raise UsageError(f"serve: {spec} needs a stream (tcp or unix), not udp")
        raise UsageError(f"serve: no handler {spec!r}; `handlers` lists them: {known}")
    return table[spec]


def _http_handler(ctx: Invocation) -> Any:
    import functools
    from http.server import SimpleHTTPRequestHandler

    directory = os.path.abspath(ctx["dir"] or os.getcwd())
    if not os.path.isdir(directory):
        raise PslError(f"serve: no such directory {ctx['dir']!r} for --dir")

    class Http(SimpleHTTPRequestHandler):
        """http.server's own handler; its request log becomes the server's events."""

        def log_message(self, format: str, *args: Any) -> None:  # the stdlib names it format
            from pslrepl.events import Event

            psl = self.server.psl  # type: ignore[attr-defined]
            psl.post(Event(psl.name, "http", format % args))

    return functools.partial(Http, directory=directory)


def _serve(ctx: Invocation) -> None:
    from pslrepl.resources.servers import Server, server_class

    session = ctx.session
    name = session.registry.check_free(ctx["name"])
    proto = ctx["proto"]
    mode = "threading" if ctx["threading"] else "forking" if ctx["forking"] else "sync"
    spec = ctx["handler"] or "echo"
    tls = None
    if ctx["tls"]:
        if proto == "udp":
            raise UsageError("serve: --tls needs a stream (tcp or unix); DTLS is not in ssl")
        from pslrepl.testca import session_ca

        tls = session_ca(session).server_context()
    if spec == "chat" and mode != "threading":
        mode = "threading"  # a room needs every client served at once
        ctx.say("note: chat serves each client in its own thread (--threading)", "notice")
    if ctx["dir"] and spec != "http":
        raise UsageError("serve: --dir is the directory --handler http serves")
    handler = _handler_class(ctx, spec, proto)
    unix_path = ""
    if proto == "unix":
        from pslrepl.commands.sockets import resolve_unix_path

        unix_path = resolve_unix_path(ctx, ctx["addr"])
        base: Any = socketserver.UnixStreamServer
        address: Any = unix_path
        if mode == "forking":
            raise UsageError("serve: --forking is for tcp and udp here")
    else:
        addr = parse_addr(ctx["addr"])
        if addr.path:
            raise UsageError(f"serve {proto}: give HOST:PORT or a PORT, not a UNIX path")
        base = socketserver.UDPServer if proto == "udp" else socketserver.TCPServer
        address = (addr.host, addr.port)
    cls = server_class(base, mode, tls=tls)
    if proto != "unix" and ":" in address[0]:
        import socket

        cls.address_family = socket.AF_INET6
    try:
        server = ctx.call(f"socketserver.{cls.__name__}", cls, address, handler)
    except OSError as exc:
        from pslrepl.commands.sockets import socket_error

        where = unix_path or format_addr(address)
        raise socket_error(name, exc, where, path=bool(unix_path)) from None
    label = spec + (" over TLS" if tls is not None else "")
    res = Server(session, name, server, proto=proto, handler=label, mode=mode,
                 unix_path=unix_path)  # fmt: skip
    if spec == "http":
        res.directory = handler.keywords["directory"]
    session.registry.add(res)
    ctx.record("threading.Thread(target=server.serve_forever)", name)
    ctx.emit(Styled((("name", name),
                     ("", f": {cls.__name__} serving {label} on {res.local}"))))  # fmt: skip
    if proto != "unix" and address[0] in ("", "0.0.0.0", "::"):
        ctx.say("warning: serving on every interface: other machines can connect", "warning")


def _server(ctx: Invocation) -> Server:
    from pslrepl.resources.servers import Server

    res = ctx.resource(ctx["name"], ("server",))
    assert isinstance(res, Server)
    return res


def _stop(ctx: Invocation) -> None:
    res = _server(ctx)
    outcome = ctx.session.close(res.name)
    ctx.record("server.shutdown; server.server_close", res.name)
    ctx.emit(Styled((("name", res.name), ("", f": {outcome}"))))


def _clients(ctx: Invocation) -> None:
    res = _server(ctx)
    ctx.emit(Table(("CLIENT", "FOR", "IN", "OUT", "SERVED BY"), res.client_rows(),
                   f"(no clients of {res.name} now; {res.served} served so far)"))  # fmt: skip


def _handlers(ctx: Invocation) -> None:
    from pslrepl.handlers import DESCRIPTIONS

    ctx.emit(Table(("HANDLER", "DOES"), [[("name", k), v] for k, v in DESCRIPTIONS.items()]))


COMMANDS = (
    Command(
        "serve",
        "servers",
        "run a socketserver server in the background under NAME",
        _serve,
        args=(
            Arg("NAME", "new"),
            Arg("PROTO", "choice", choices=("tcp", "udp", "unix")),
            Arg("ADDR", "address"),
        ),
        opts=(
            Opt("--handler", "what it does with each client (`handlers`)", "H", kind="handler"),
            Opt("--threading", "a thread per client (ThreadingMixIn)", exclusive="mode"),
            Opt("--forking", "a child process per client (ForkingMixIn)", exclusive="mode"),
            Opt("--dir", "for --handler http: the directory to serve", "DIR", kind="file"),
            Opt("--tls", "TLS, with a certificate from the session's test CA (`ca show`)"),
        ),
        calls=(
            "socketserver.TCPServer",
            "socketserver.UDPServer",
            "socketserver.UnixStreamServer",
            "serve_forever",
        ),
        examples=(
            "serve e tcp 0 --handler echo",
            "serve web tcp 8080 --handler http",
            "serve room tcp 0 --handler chat",
            "serve u udp 0 --handler upper",
            "serve p tcp 0 --handler forward:web --threading",
        ),
        details="It binds 127.0.0.1 unless a host is given. Without --threading or "
        "--forking it serves one client at a time, as socketserver does.",
    ),  # fmt: skip
    Command(
        "stop",
        "servers",
        "stop a server: shutdown() then server_close()",
        _stop,
        args=(Arg("NAME", "resource", kinds=("server",)),),
        calls=("BaseServer.shutdown", "BaseServer.server_close"),
        examples=("stop web",),
    ),
    Command(
        "clients",
        "servers",
        "a server's live connections",
        _clients,
        args=(Arg("NAME", "resource", kinds=("server",)),),
        examples=("clients web",),
    ),
    Command(
        "handlers",
        "servers",
        "the built-in handlers and what each does",
        _handlers,
        examples=("handlers",),
    ),
)
