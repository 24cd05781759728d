"""serve: a socketserver server under a name, its handler and the class variables it sets."""

from __future__ import annotations

import errno
import socketserver

from pslrepl.addresses import format_addr, parse_addr
from pslrepl.commands.groups import SERVERS
from pslrepl.commands.socket_common import ADDRESS
from pslrepl.commands.tls_options import CERT, KEY, PINS, SERVER_SIDE
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import PslError, UsageError
from pslrepl.invocation import Shown
from pslrepl.kinds import NEW, PATH, SECONDS, Choice, Int, Kind
from pslrepl.results import Styled

COMMANDS = Commands(SERVERS)


class HandlerSpec(Kind):
    """A server's --handler: a name from `handlers`, forward:ADDR or python:FILE:CLASS."""

    name = "handler"

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        from pslrepl.handlers import DESCRIPTIONS

        if prefix.startswith("python:"):  # python:FILE:CLASS: the FILE part is a path
            for c in ask.paths(prefix[7:]):
                yield ask.completion("python:" + c.text, prefix, display=c.display)
            return
        if prefix.startswith("forward:"):
            targets = [f"forward:{n}" for n in ask.listening()]
            yield from ask.words([*targets, "forward:127.0.0.1:"], prefix,
                                 lambda _: DESCRIPTIONS["forward:ADDR"])  # fmt: skip
            return
        # forward:ADDR and python:FILE:CLASS complete to their first part, with the colon.
        described = {
            n.split(":")[0] + (":" if ":" in n else ""): d for n, d in DESCRIPTIONS.items()
        }
        yield from ask.words(described, prefix, described.get)


HANDLER = HandlerSpec()
TLS_OPTIONS = (*SERVER_SIDE, CERT, KEY, *PINS)  # serve --tls's, as tls wrap --server's


TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.kinds import Completing

HTTP_IDLE = 10.0  # seconds: an http client that sends no request that long is closed


def _handler_class(ctx: Invocation, spec: str, proto: str) -> type[Any]:
    from pslrepl import handlers

    if spec.startswith("python:"):
        from pslrepl.handlers.user import check_proto, lifecycle

        path, sep, cls = spec[7:].rpartition(":")
        if not sep or not path or not cls:
            raise UsageError("serve: write a handler of yours as python:FILE:CLASS")
        mine = handlers.load_user_handler(path, cls)
        check_proto(mine, proto)
        return lifecycle(mine)
    if spec.startswith("forward:"):
        if proto == "udp":
            raise UsageError("serve: forward: relays a stream: serve it on tcp or unix")
        target = parse_addr(spec[8:], ctx.session)
        if target.path:
            raise UsageError("serve: forward: goes to a TCP address; give HOST:PORT or a name")
        return type("Forward", (handlers.Forward,), {"target": (target.host, target.port)})
    table = handlers.DATAGRAM if proto == "udp" else handlers.STREAM
    if spec not in table:
        known = ", ".join(handlers.DESCRIPTIONS)
        if spec in handlers.STREAM:
            raise UsageError(f"serve: {spec} needs a stream: serve it on tcp or unix, not udp")
        raise UsageError(f"serve: no handler {spec!r}; `handlers` lists them: {known}")
    return table[spec]


@COMMANDS.command(
    "serve",
    "run a socketserver server in the background under NAME",
    args=(
        Arg("NAME", NEW),
        Arg("PROTO", Choice(("tcp", "udp", "unix"))),
        Arg("ADDR", ADDRESS),
    ),
    opts=(
        Opt("--handler", "what it does with each client (`handlers`)", "H", kind=HANDLER),
        Opt("--threading", "a thread per client (ThreadingMixIn)", exclusive="mode"),
        Opt("--forking", "a child process per client (ForkingMixIn)", exclusive="mode"),
        Opt(
            "--selectors",
            "one thread, a selectors loop (asyncore's way)",
            exclusive="mode",
        ),  # fmt: skip
        Opt("--dir", "for --handler http: the directory to serve", "DIR", kind=PATH),
        Opt("--tls", "TLS, with a certificate from the session's test CA (`ca show`)"),
        *TLS_OPTIONS,
        Opt(
            "--idle",
            f"close a client idle for S s (0, default: never; http {HTTP_IDLE:g})",
            "S",
            kind=SECONDS,
        ),
        Opt(
            "--max-clients",
            "at most N at once: --threading's threads (256), --forking's max_children (40)",
            "N",
            kind=Int(1, 100_000),
        ),
        Opt("--manual", "listen only: handle_request serves"),
        Opt("--timeout", "--manual: handle_request's wait", "S", kind=SECONDS),
        Opt("--queue-size", "listen backlog (request_queue_size)", "N", kind=Int(0, 65535)),
        Opt("--reuse-address", "SO_REUSEADDR (allow_reuse_address)"),
    ),
    calls=(
        "socketserver.TCPServer",
        "socketserver.UDPServer",
        "socketserver.UnixStreamServer",
        "serve_forever",
    ),
    examples=(
        "serve e tcp 0 --handler echo",
        "serve web tcp 0 --handler http --dir . --idle 30",
        "serve room tcp 0 --handler chat",
        "serve u udp 0 --handler upper",
        "serve p tcp 0 --handler forward:web --threading",
        "serve m tcp 0 --tls --verify-client required --max-version TLSv1.2",
    ),
    details="It binds 127.0.0.1 unless a host is given. Without --threading or "
    "--forking it serves one client at a time, as socketserver does; chat and http "
    "serve each client in a thread of its own. http serves only "
    "its directory (a symbolic link out of it is refused) and only requests whose Host "
    "is this server or a loopback name; without --dir it serves a fresh directory with "
    "an index page. With --tls each handshake gets --idle seconds (10 without it), and "
    "the log names each client's certificate, or why it was refused.",
)
def _serve(ctx: Invocation) -> None:
    from pslrepl.resources.servers import Server, server_class

    session = ctx.session
    name = ctx["name"]
    proto = ctx["proto"]
    mode = "threading" if ctx["threading"] else "forking" if ctx["forking"] else "sync"
    spec = ctx["handler"] or "echo"
    if ctx["selectors"]:
        mode = "selectors"
        _check_selectors(ctx, proto, spec)
    tls = None
    tls_note = ""
    if ctx["tls"]:
        if proto == "udp":
            raise UsageError(
                "serve: --tls needs a stream (DTLS is not in ssl): serve on tcp or unix"
            )
        from pslrepl.tls_contexts import server_context

        tls, tls_note = server_context(ctx, what="serve")
    else:
        given = [o.name for o in TLS_OPTIONS if ctx.values.get(o.key)]
        if given:
            raise UsageError(f"serve: {given[0]} is for a TLS server: add --tls")
    idle = ctx["idle"] or None  # --idle 0: no limit
    if ctx["idle"] is not None and proto == "udp":
        raise UsageError("serve: --idle is for a stream (tcp or unix): a udp server holds "
                         "no client to close")  # fmt: skip
    if spec == "http" and ctx["idle"] is None:
        idle = HTTP_IDLE
    if spec == "chat" and mode == "forking":
        raise UsageError("serve: chat's clients share one room: use --threading, not --forking")
    if spec in ("chat", "http") and mode == "sync":
        # A room serves every client at once; a web server must not wait on one client
        # that says nothing (a browser keeps spare connections open).
        mode = "threading"
        why = f"; a client idle for {idle:g} s is closed (--idle S)" if idle else ""
        if ctx.session.settings.notes:  # informational, as the pitfall notes: `set notes off`
            ctx.say(f"note: {spec} serves each client in its own thread (--threading){why}",
                    "notice")  # fmt: skip
    if ctx["max_clients"] is not None and mode == "sync":
        raise UsageError("serve: --max-clients is for --threading or --forking; without "
                         "either a server serves one client at a time")  # fmt: skip
    _check_class_options(ctx, proto)
    if ctx["dir"] and spec != "http":
        raise UsageError("serve: --dir is the directory --handler http serves; add --handler "
                         "http, or leave --dir out")  # fmt: skip
    directory = ""
    if spec == "http":
        if proto != "tcp":
            raise UsageError("serve: the http handler speaks over tcp: serve NAME tcp PORT")
        from pslrepl.handlers.web import Http, served_directory

        directory = served_directory(ctx["dir"], ctx.session.tmp, name)
        handler: Any = Http.bound(directory)
    else:
        handler = _handler_class(ctx, spec, proto)
    unix_path = ""
    if proto == "unix":
        from pslrepl.commands.socket_common import resolve_unix_path

        unix_path = resolve_unix_path(ctx, ctx["addr"])
        base: Any = socketserver.UnixStreamServer
        address: Any = unix_path
        if mode == "forking":
            raise UsageError("serve: --forking is for tcp and udp here; use --threading")
    else:
        addr = parse_addr(ctx["addr"])
        if addr.path:
            raise UsageError(f"serve {proto}: give HOST:PORT or a PORT; for a UNIX path, serve "
                             "NAME unix PATH")  # fmt: skip
        base = socketserver.UDPServer if proto == "udp" else socketserver.TCPServer
        address = (addr.host, addr.port)
    cls = server_class(base, mode, tls=tls, timeout=ctx["timeout"], queue_size=ctx["queue_size"],
                       reuse_address=ctx["reuse_address"])  # fmt: skip
    if proto != "unix" and ":" in address[0]:
        import socket

        cls.address_family = socket.AF_INET6
    handler_name = getattr(handler, "__name__", None) or getattr(
        getattr(handler, "func", None), "__name__", "handler"
    )
    for var, value in (("timeout", ctx["timeout"]), ("request_queue_size", ctx["queue_size"]),
                       ("allow_reuse_address", ctx["reuse_address"] or None)):  # fmt: skip
        if value is not None:
            ctx.record(f"socketserver.{base.__name__}.{var}=", repr(value), exact=False,
                       note="a class variable of serve's own subclass")  # fmt: skip
    # The handler class, as one line a reader can run (the shell's own, or the user's).
    handler_class = handler if isinstance(handler, type) else getattr(handler, "func", None)
    handler_base = next((k for k in getattr(handler_class, "__mro__", ())[1:]
                         if k.__module__ == "socketserver"), None)  # fmt: skip
    if handler_base is not None:
        ctx.record(f"class {handler_name}(socketserver.{handler_base.__name__})", "", None,
                   exact=False, note=f"the {spec} handler the server runs")  # fmt: skip
    try:
        server = cls(address, handler)
    except OSError as exc:
        ctx.record(f"socketserver.{cls.__name__}", f"{address!r}, {handler_name}", exc)
        from pslrepl.commands.socket_common import socket_error

        where = unix_path or format_addr(address)
        error = socket_error(name, exc, where, path=bool(unix_path))
        if exc.errno == errno.EADDRINUSE and not ctx["reuse_address"] and _reusable(cls, address):
            error = PslError(
                f"{error}; only old connections hold it (TIME_WAIT, after a "
                "server stopped): --reuse-address binds it (SO_REUSEADDR)"
            )
        raise error from None
    ctx.record(f"socketserver.{cls.__name__}", f"{address!r}, {handler_name}",
               Shown(f"<{cls.__name__} {server.server_address!r}>", server))  # fmt: skip
    label = spec + (" over TLS" if tls is not None else "")
    res = Server(session, name, server, proto=proto, handler=label, mode=mode,
                 unix_path=unix_path, idle=idle, max_clients=ctx["max_clients"],
                 manual=ctx["manual"])  # fmt: skip
    try:
        if spec == "http":
            res.directory = directory
            if not ctx["dir"]:
                from pslrepl.handlers.web import write_index

                write_index(directory, name, server.server_address[1])
                if ctx.session.settings.notes:
                    ctx.say(f"note: {name} serves {directory}, a fresh directory with an "
                            "index page; --dir DIR serves yours", "notice")  # fmt: skip
        if spec == "chat" and mode != "selectors":  # --selectors: the loop is the room
            from pslrepl.handlers import Room

            res.room = Room(res)
    except BaseException:
        server.server_close()  # never served: nothing else to stop
        raise
    if tls is not None:
        from pslrepl.tls_serving import watch_clients

        watch_clients(tls, res)
    res.start()
    session.registry.add(res)
    if ctx["manual"]:
        how = "bound to" if res.dgram else "listening on"  # a datagram socket can't listen
        ctx.emit(Styled((("name", name), ("", f": {cls.__name__} {how} {res.local} for "
                         f"{label}, not serving: handle_request {name} serves one "
                         "request"))))  # fmt: skip
    else:
        ctx.record("threading.Thread", f"target={name}.serve_forever, name='pslrepl:{name}',"
                   " daemon=True", Shown(f"<Thread(pslrepl:{name}, started daemon)>"))  # fmt: skip
        ctx.emit(Styled((("name", name),
                         ("", f": {cls.__name__} serving {label} on {res.local}"))))  # fmt: skip
    if ctx["verify_client"] or ctx["cert"]:
        ctx.say(f"{name}: TLS {tls_note.removeprefix('server side, ')}", "notice")
    if proto != "unix" and address[0] in ("", "0.0.0.0", "::"):
        ctx.say("warning: serving on every interface: other machines can connect", "warning")


def _reusable(cls: Any, address: Any) -> bool:
    """Whether SO_REUSEADDR would bind the address: it is held only by connections in
    TIME_WAIT (of a server that set it too), not by a listener. Tried on a socket of
    its own, closed at once."""
    import socket

    if cls.socket_type != socket.SOCK_STREAM or cls.address_family == socket.AF_UNIX:
        return False
    with socket.socket(cls.address_family, cls.socket_type) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError:
            return False
    return True


def _check_selectors(ctx: Invocation, proto: str, spec: str) -> None:
    """--selectors runs the built-in stream handlers as channels of one loop: a handler
    that blocks (a user's), a datagram server or TLS are for the other models."""
    from pslrepl.handlers.channels import CHANNELS

    if proto == "udp":
        raise UsageError("serve: --selectors serves streams (tcp or unix); a udp server "
                         "already serves every datagram in one thread")  # fmt: skip
    if spec.split(":")[0] not in CHANNELS:
        raise UsageError(f"serve: --selectors runs the built-in stream handlers "
                         f"({', '.join(CHANNELS)}); {spec} blocks in its own code: use "
                         "--threading")  # fmt: skip
    for option in ("tls", "manual", "max_clients"):
        if ctx[option]:
            flag = "--" + option.replace("_", "-")
            raise UsageError(f"serve: {flag} is not for --selectors yet: use --threading")


def _check_class_options(ctx: Invocation, proto: str) -> None:
    """--timeout, --queue-size: refused where socketserver would ignore them."""
    if ctx["timeout"] is not None and not ctx["manual"]:
        raise UsageError("serve: --timeout is what handle_request waits (serve_forever "
                         "does not use it): add --manual")  # fmt: skip
    if ctx["queue_size"] is not None and proto == "udp":
        raise UsageError("serve: --queue-size is listen()'s backlog, and a udp server does "
                         "not listen: serve on tcp or unix")  # fmt: skip
