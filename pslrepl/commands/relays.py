"""The relay command: two endpoints joined both ways, like socat."""

from __future__ import annotations

import re
import socket

from pslrepl.addresses import parse_addr
from pslrepl.commands.groups import SERVERS
from pslrepl.commands.options import TIMEOUT
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import PslError, UsageError
from pslrepl.kinds import INT, NEW, Kind
from pslrepl.results import Styled

COMMANDS = Commands(SERVERS)


TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.kinds import Completing
    from pslrepl.resources.relays import Endpoint

FORMS = (
    "the NAME of a socket (tcp, tls, unix), child, server or listener, tcp:HOST:PORT, "
    "tcp-listen:PORT, udp:HOST:PORT, udp-listen:PORT, unix:PATH, exec:COMMAND"
)

# What the menu says beside the forms a relay's endpoint takes.
ENDPOINT_FORMS = {
    "tcp:": "connect to HOST:PORT",
    "tcp-listen:": "listen on PORT and take one client",
    "udp:": "a UDP socket connected to HOST:PORT",
    "udp-listen:": "bind PORT; the first datagram's sender is the peer",
    "unix:": "connect to the UNIX socket at PATH",
    "exec:": "a program's stdin and stdout: exec:COMMAND",
}


class EndpointSpec(Kind):
    """A relay's A or B: a live socket, child or listener's NAME, or one of ENDPOINT_FORMS."""

    name = "endpoint"

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        joined = ask.session.registry.names(("tcp", "tls", "unix", "process"))
        yield from ask.words([*joined, *ask.listening()], prefix, ask.describe)
        yield from ask.words(ENDPOINT_FORMS, prefix, ENDPOINT_FORMS.get)


ENDPOINT = EndpointSpec()


def _name(ctx: Invocation | None, obj: object, var: str) -> None:
    if ctx is not None and var:
        ctx.name(obj, var)


def endpoint(ctx: Invocation, spec: str, relay_name: str, *, side: str = "",
             recorded: bool = True) -> Endpoint:  # fmt: skip
    """One side of a relay, made from SPEC; its calls recorded for explain unless it is
    made later, when a client comes (``recorded=False``). ``side`` (a or b) names it."""
    from pslrepl.commands.socket_common import socket_error
    from pslrepl.resources.calls import traced, traced_as
    from pslrepl.resources.relays import Endpoint
    from pslrepl.resources.sockets import Sock

    session = ctx.session
    rec = ctx if recorded else None
    var = re.sub(r"\W", "_", f"{relay_name}_{side}") if side else ""
    kind, sep, rest = spec.partition(":")
    if spec in session.registry:
        from pslrepl.resources.process import Process

        res = session.registry.get(spec)
        if isinstance(res, Process):
            if res.closed or res.stdin_closed:
                raise UsageError(f"relay: {spec}'s stdin is closed; spawn it again")
            return Endpoint.of_child(spec, res)
        if isinstance(res, Sock) and res.byte_stream:
            # The relay reads it now: the watcher keeps quiet, and notices not shown yet
            # are withdrawn (a TLS notice would decrypt, taking bytes from the relay).
            res.begin_read()
            if res.tls:  # read with recv: an SSLSocket's bytes can't be spliced
                return Endpoint(spec, sock=res.sock, owned=False, tls=res, lent=res)
            return Endpoint(spec, sock=res.sock, owned=False, lent=res)
        bound = res.bound_addr
        if res.listening and bound is not None:
            # Something that listens: the relay connects to it, as `tcp connect` would.
            if bound.path:
                return endpoint(ctx, f"unix:{bound.path}", relay_name, side=side,
                                recorded=recorded)  # fmt: skip
            proto = "udp" if bound.dgram else "tcp"
            return endpoint(ctx, f"{proto}:{bound}", relay_name, side=side, recorded=recorded)
        raise UsageError(f"relay: {spec} is a {res.kind}; a relay joins tcp, tls or unix "
                         "sockets, children, and what listens (servers, listeners)")  # fmt: skip
    if not sep:
        raise UsageError(f"relay: {spec!r} is no resource's name, nor one of: {FORMS}")
    try:
        if kind == "tcp":
            addr = parse_addr(rest, session)
            if not addr.path:
                _to_a_port(addr, spec)
            if addr.path:
                raise UsageError(f"relay: {rest} is a UNIX socket; give unix:{addr.path}")
            sock = traced(rec, "socket.create_connection", socket.create_connection,
                          (addr.host, addr.port), timeout=ctx.timeout)  # fmt: skip
            _name(rec, sock, var)
            traced(rec, "socket.settimeout", sock.settimeout, None)
            return Endpoint(spec, sock=sock)
        if kind == "tcp-listen":
            addr = parse_addr(rest)
            family = socket.AF_INET6 if ":" in addr.host else socket.AF_INET
            listener = traced(rec, "socket.socket", socket.socket, family, socket.SOCK_STREAM)
            _name(rec, listener, var)
            traced_as(rec, "socket.setsockopt", "socket.SOL_SOCKET, socket.SO_REUSEADDR, 1",
                      listener.setsockopt, socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # fmt: skip
            traced(rec, "socket.bind", listener.bind, (addr.host, addr.port))
            traced(rec, "socket.listen", listener.listen, 1)
            host, port = listener.getsockname()[:2]
            session.volatile[f"{relay_name}.port"] = str(port)
            end = Endpoint(f"tcp-listen:{host}:{port}")
            end.listener = listener
            return end
        if kind == "udp-listen":
            addr = parse_addr(rest)
            family = socket.AF_INET6 if ":" in addr.host else socket.AF_INET
            sock = traced(rec, "socket.socket", socket.socket, family, socket.SOCK_DGRAM)
            _name(rec, sock, var)
            traced(rec, "socket.bind", sock.bind, (addr.host, addr.port))
            host, port = sock.getsockname()[:2]
            session.volatile[f"{relay_name}.port"] = str(port)
            end = Endpoint(f"udp-listen:{host}:{port}", sock=sock, dgram=True)
            end.udp_listen = True
            end.ready.clear()  # ready once the first datagram says who the peer is
            return end
        if kind == "udp":
            addr = _to_a_port(parse_addr(rest, session), spec)
            family = socket.AF_INET6 if ":" in addr.host else socket.AF_INET
            sock = traced(rec, "socket.socket", socket.socket, family, socket.SOCK_DGRAM)
            _name(rec, sock, var)
            traced(rec, "socket.connect", sock.connect, (addr.host, addr.port))
            return Endpoint(spec, sock=sock, dgram=True)
        if kind == "unix":
            sock = traced(rec, "socket.socket", socket.socket, socket.AF_UNIX, socket.SOCK_STREAM)
            _name(rec, sock, var)
            traced(rec, "socket.settimeout", sock.settimeout, ctx.timeout)
            traced(rec, "socket.connect", sock.connect, rest)
            traced(rec, "socket.settimeout", sock.settimeout, None)
            return Endpoint(spec, sock=sock)
        if kind == "exec":
            import shlex
            import subprocess

            try:
                argv = shlex.split(rest)
            except ValueError as exc:  # shlex: "No closing quotation"
                raise UsageError(f"relay: can't split {spec!r}: {exc}; close the quote") from None
            if not argv:
                raise UsageError("relay: exec: needs a command, like exec:'sort -r'")
            try:
                proc = traced(rec, "subprocess.Popen", subprocess.Popen, argv,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
                              start_new_session=True)  # fmt: skip
            except OSError as exc:
                raise _exec_error(spec, argv[0], exc) from None
            _name(rec, proc, var)
            session.guard_child(proc.pid)  # its session ends with the shell, even kill -9
            return Endpoint(spec, proc=proc)
    except TimeoutError:
        raise PslError(f"relay: no answer from {rest} in {ctx.timeout:g} s (is it up, is "
                       "its listen queue full?); --timeout S waits longer") from None  # fmt: skip
    except OSError as exc:
        raise socket_error(relay_name, exc, rest, path=kind == "unix") from None
    raise UsageError(f"relay: unknown endpoint kind {kind!r}; give {FORMS}")


def _reach_later(ctx: Invocation, spec: str, relay_name: str) -> str | Endpoint:
    """The side of a tcp-listen relay that it connects to (or starts, exec:): checked
    now, connected once a client has come. A spec that is none of those (a socket or a
    child already there) is given back to be joined now."""
    import errno
    import os
    import shlex
    import shutil

    from pslrepl.resources.relays import Endpoint

    session = ctx.session
    if spec in session.registry:
        res = session.registry.get(spec)
        bound = res.bound_addr
        if bound is None or not res.listening:
            return spec
        proto = "unix" if bound.path else "udp" if bound.dgram else "tcp"
        spec = f"unix:{bound.path}" if bound.path else f"{proto}:{bound}"
    kind, sep, rest = spec.partition(":")
    if kind in ("tcp", "udp"):
        addr = _to_a_port(parse_addr(rest, session), spec)  # an error now, not later
        if addr.path:
            raise UsageError(f"relay: {rest} is a UNIX socket; give unix:{addr.path}")
    elif kind == "unix":
        if not rest:
            raise UsageError("give the UNIX socket a path, like unix:/tmp/demo.sock")
        if not os.path.exists(rest):  # said now: nothing could connect there later either
            from pslrepl.commands.socket_common import socket_error

            missing = FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
            raise socket_error(relay_name, missing, rest, path=True)
    elif kind == "exec":
        try:
            argv = shlex.split(rest)
        except ValueError as exc:
            raise UsageError(f"relay: can't split {spec!r}: {exc}; close the quote") from None
        if not argv:
            raise UsageError("relay: exec: needs a command, like exec:'sort -r'")
        found = shutil.which(argv[0])
        if found is None and "/" in argv[0] and os.path.exists(argv[0]):
            raise _exec_error(spec, argv[0], PermissionError(errno.EACCES, "not runnable"))
        if found is None:
            raise _exec_error(spec, argv[0], FileNotFoundError(errno.ENOENT, "no program"))
    else:
        return spec
    end = Endpoint(spec)
    end.opener = lambda: endpoint(ctx, spec, relay_name, recorded=False)
    opens = {"tcp": "socket.create_connection", "udp": "socket.socket",
             "unix": "socket.socket", "exec": "subprocess.Popen"}[kind]  # fmt: skip
    ctx.record(opens, "...", exact=False,
               note=f"{spec}, opened when the relay's first client connects")  # fmt: skip
    return end


def _to_a_port(addr: Any, spec: str) -> Any:
    """An address to reach: port 0 is none (a bind's "any free port"; an unbound
    socket's address says 0.0.0.0:0), and UDP would send into it without a word."""
    if not addr.path and addr.port == 0:
        raise UsageError(f"relay: {spec} has port 0, where nothing listens (0 asks for any "
                         "free port when binding; a socket not yet bound shows it); give "
                         "the port its server is bound to")  # fmt: skip
    return addr


def _exec_error(spec: str, program: str, exc: OSError) -> PslError:
    """Why exec:'s program would not start, and what to do."""
    import errno

    from pslrepl.errors import describe_oserror

    if exc.errno == errno.ENOENT:
        return PslError(f"relay: no such program in {spec!r} (ENOENT); check the name, or "
                        "give its path")  # fmt: skip
    if exc.errno == errno.EACCES:
        return PslError(f"relay: {program} can't be run (EACCES): a directory, or a file "
                        "without execute permission; give a program's path")  # fmt: skip
    return PslError(f"relay: can't run {program}: {describe_oserror(exc)}; is it a program "
                    "for this machine?")  # fmt: skip


@COMMANDS.command(
    "relay",
    "pump bytes both ways between two endpoints until both close",
    args=(Arg("NAME", NEW), Arg("A", ENDPOINT), Arg("B", ENDPOINT)),
    opts=(
        Opt("--hex", "show the traffic live, as hex", exclusive="show"),
        Opt("--text", "show the traffic live, as text", exclusive="show"),
        Opt(
            "--link",
            "a toxic, before any byte passes: 'TOXIC KEY=VALUE... [dir=up|down|"
            "both] [toxicity=P] [name=N]' (see link)",
            "TOXIC",
            repeat=True,
        ),
        Opt("--seed", "make every random choice of its toxics the same each run", "N", kind=INT),
        TIMEOUT,
    ),
    calls=("socket.create_connection", "os.splice", "socket.shutdown"),
    examples=(
        "relay r tcp-listen:0 web",
        "relay r2 c s",
        "relay r3 tcp-listen:0 exec:'tr a-z A-Z'",
        "relay r4 tcp-listen:0 t",
        "relay r5 tcp-listen:0 web --link 'latency delay=100ms' --link 'slicer size=10'",
        "relay r6 udp-listen:0 ue --link 'drop rate=0.3' --seed 1",
    ),
    setup=(
        "serve web tcp 0 --handler http",
        "tcp listen l 0; tcp connect c l; accept l s",
        "serve ts tcp 0 --handler echo --tls --threading; tls connect t ts",
        "serve ue udp 0 --handler echo",
    ),
    details=f"A and B are each {FORMS}. When one side finishes sending, the other "
    "gets a half-close (shutdown SHUT_WR); the relay is done when both have. A "
    "tcp-listen side takes one client, as socat without fork: its port closes as that "
    "client comes, so the next is refused (make a new relay for it). "
    "Closing it shuts down what it joined. --link adds toxics (a bad network: see link) "
    "before the first byte; udp-listen:PORT takes the first sender of a datagram as its peer.",
)
def _relay(ctx: Invocation) -> None:
    from pslrepl.resources.relays import Relay

    session = ctx.session
    name = ctx["name"]
    toxics = _toxics(ctx, ctx["link"], ctx["seed"])
    if ctx["a"] == ctx["b"] and ctx["a"] in session.registry:
        raise UsageError("relay: a socket can't be relayed to itself; give two endpoints")
    specs = [ctx["a"], ctx["b"]]
    listening = [spec.startswith("tcp-listen:") for spec in specs]
    if listening.count(True) == 1:  # the other side is reached once a client has come
        reached = listening.index(False)
        specs[reached] = _reach_later(ctx, specs[reached], name)
    a = specs[0] if not isinstance(specs[0], str) else endpoint(ctx, specs[0], name, side="a")
    try:
        b = specs[1] if not isinstance(specs[1], str) else endpoint(ctx, specs[1], name, side="b")
    except BaseException:
        a.interrupt()
        a.close()
        raise
    for end, other in ((a, b), (b, a)):
        if end.opener is not None:
            end.after = other
    show = "hex" if ctx["hex"] else "text" if ctx["text"] else None
    res = Relay(session, name, a, b, show=show, toxics=toxics, seed=ctx["seed"])
    session.registry.add(res)
    ctx.record("def copy()", "", None, exact=False, note="moves the bytes one way with "
               "os.splice (or recv and send) until EOF, then shuts the other side's "
               "writing")  # fmt: skip
    for way, (src, dst) in ((">", (a, b)), ("<", (b, a))):  # one thread each way
        ctx.record("threading.Thread", f"name='pslrepl:{name}{way}', daemon=True, target=copy",
                   exact=False, note=f"copy: {src.label} to {dst.label} with os.splice, "
                   "or recv and send")  # fmt: skip
    ctx.emit(Styled((("name", name), ("", f": relaying {a.label} <-> {b.label}"))))
    for toxic in toxics:
        ctx.say(f"{name}: linked {toxic.name}: {describe(toxic)}")


def _datagrams(ctx: Invocation, spec: str) -> bool:
    """Whether an endpoint's SPEC (not opened yet) carries datagrams."""
    if spec in ctx.session.registry:
        bound = ctx.session.registry.get(spec).bound_addr
        return bound is not None and bound.dgram
    return spec.startswith(("udp:", "udp-listen:"))


def _toxics(ctx: Invocation, specs: list[str], seed: int | None) -> tuple[Any, ...]:
    """--link's toxics, each checked (and fit for the relay's kind) before anything opens."""
    from pslrepl.resources.toxics import from_spec

    ends = (ctx["a"], ctx["b"])
    dgram = any(_datagrams(ctx, e) for e in ends)
    made: list[Any] = []
    for spec in specs:
        toxic = from_spec(spec, seed=seed, taken=tuple(t.name for t in made))
        check_fits(toxic, dgram=dgram,
                   listening=any(e.startswith("tcp-listen:") for e in ends))  # fmt: skip
        made.append(toxic)
    return tuple(made)


def check_fits(toxic: Any, *, dgram: bool, listening: bool) -> None:
    """A datagram toxic is for a relay of datagrams; delay_accept for one that accepts."""
    from pslrepl.resources.toxics import DATAGRAM, TIMED

    if toxic.kind in DATAGRAM and not dgram:
        raise UsageError(f"link: {toxic.kind} is for datagrams; relay udp-listen:PORT to "
                         "udp:HOST:PORT, or give a stream toxic (latency, slicer...)")  # fmt: skip
    if dgram and (toxic.kind in TIMED or toxic.kind in ("limit", "slow_close", "timeout",
                                                         "slicer")):  # fmt: skip
        raise UsageError(f"link: {toxic.kind} is for a TCP connection; a UDP relay takes "
                         "drop, duplicate, reorder, truncate, latency, bandwidth")  # fmt: skip
    if toxic.kind == "delay_accept" and not listening:
        raise UsageError("link: delay_accept is for a relay with a tcp-listen: side (it "
                         "delays the accept)")  # fmt: skip


def way_of(toxic: Any) -> str:
    """Which way a toxic acts, as it matters for its kind: a reset's direction is which
    end gets the RST; close_after and delay_accept act on the whole connection."""
    if toxic.kind == "reset":
        return {"up": "RST to B", "down": "RST to A", "both": "RST to A and B"}[toxic.way]
    if toxic.kind == "close_after":
        return "closes both ends; dir does not apply"
    if toxic.kind == "delay_accept":
        return "delays the accept; dir does not apply"
    return {"up": "A -> B", "down": "B -> A", "both": "both ways"}[str(toxic.way)]


def describe(toxic: Any) -> str:
    """What a toxic does, in one line: kind, settings, direction."""
    said = f"{toxic.kind} {toxic.settings()}".rstrip() + f" ({way_of(toxic)}"
    if toxic.toxicity < 1.0:
        said += f"; toxicity {toxic.toxicity:g}: " + ("acts" if toxic.active else "skipped")
    return said + ")"
