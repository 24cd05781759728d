"""TLS commands (ssl): connect, wrap an open connection, inspect it."""

from __future__ import annotations

import socket

from pslrepl.addresses import parse_addr
from pslrepl.commands.groups import TLS
from pslrepl.commands.options import TIMEOUT
from pslrepl.commands.socket_common import ADDRESS
from pslrepl.commands.tls_options import CERT, KEY, PINS, SERVER_SIDE, SESSION
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import PslError, UsageError
from pslrepl.kinds import NEW, PATH, ResourceOf
from pslrepl.results import Fields, Styled

COMMANDS = Commands(TLS)


TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    from typing import Any

    from pslrepl.invocation import Invocation

# Options that make a client's context: --session takes OTHER's context instead.
CONTEXT_OPTIONS = ("cafile", "insecure", "alpn", "cert", "key", "min_version", "max_version",
                   "ciphers")  # fmt: skip


def _resumed_context(ctx: Invocation) -> tuple[ssl.SSLContext, str, Any, str]:
    """--session OTHER: OTHER's context (ssl resumes a session only with the context that
    made it), its note, its session and name."""
    from pslrepl.tls_resume import resumable

    other = ctx["session"]
    given = [f"--{k.replace('_', '-')}" for k in CONTEXT_OPTIONS if ctx.values.get(k)]
    if given:
        raise UsageError(f"{ctx.command.name}: --session resumes with {other.name}'s "
                         "context (its CA, certificate and pins): leave out "
                         f"{', '.join(given)}")  # fmt: skip
    kept = resumable(ctx, other)
    return kept.context, kept.note, kept.session, kept.name


def _client_side(ctx: Invocation) -> tuple[ssl.SSLContext, str, dict[str, Any], str]:
    """The context, note, wrap_socket's keywords and the session's owner for a client."""
    from pslrepl.tls_contexts import client_context

    if ctx.values.get("session") is not None:
        context, note, session, owner = _resumed_context(ctx)
        return context, note, {"session": session}, owner
    context, note = client_context(ctx)
    return context, note, {}, ""


def _said(tls: ssl.SSLSocket, owner: str, context: ssl.SSLContext) -> tuple[str, str]:
    """What a handshake settled, said after its version and cipher (whether OTHER's
    session was resumed), and notes on what the user asked that it could not do."""
    settled = ""
    if owner:
        settled = (f"; resumed {owner}'s session" if tls.session_reused else
                   f"; the server did not take {owner}'s session: a full handshake")  # fmt: skip
    notes = []
    if getattr(context, "psl_ciphers", "") and tls.version() == "TLSv1.3":
        notes.append("note: --ciphers chooses among TLS 1.2's ciphers; TLS 1.3 used a suite "
                     "of its own (ssl can't choose those): add --max-version TLSv1.2 to use "
                     "yours")  # fmt: skip
    if getattr(tls, "psl_verdict", "") == "pending":
        notes.append("note: the server asked for a client certificate and has not said yet "
                     "whether it takes ours (TLS 1.3 says so after the handshake): a refusal "
                     "comes on the first read")  # fmt: skip
    return settled, "\n".join(notes)


@COMMANDS.command(
    "tls connect",
    "a TLS connection: TCP, then the handshake, verified",
    args=(Arg("NAME", NEW), Arg("ADDR", ADDRESS)),
    opts=(
        Opt("--server-hostname", "the name to verify and send as SNI", "H"),
        Opt("--cafile", "trust this CA file instead", "F", kind=PATH),
        Opt("--insecure", "do not verify (flagged in info)"),
        Opt("--alpn", "offer this ALPN protocol", "P", repeat=True),
        CERT,
        KEY,
        *PINS,
        SESSION,
        TIMEOUT,
    ),
    calls=(
        "ssl.create_default_context",
        "SSLContext.load_cert_chain",
        "socket.create_connection",
        "SSLContext.wrap_socket",
        "SSLSocket.session",
    ),  # fmt: skip
    examples=(
        "tls connect t web",
        "tls connect t2 web --server-hostname localhost --alpn http/1.1",
        "tls connect t3 web --max-version TLSv1.2 --ciphers ECDHE+AESGCM",
        "tls connect t4 web --session t",
        "tls connect me mtls --cert certs/alice.pem --key certs/alice.key",
    ),
    setup=(
        "serve web tcp 0 --handler echo --tls --threading",
        "ca issue alice --client certs",
        "serve mtls tcp 0 --tls --verify-client required --threading",
    ),
    details="The system's CAs and the session's test CA are trusted, so a `serve "
    "--tls` server verifies. A failure says which side refused and why, in the alert's "
    "words, and leaves no connection behind. --cert and --key present a client "
    "certificate; with TLS 1.3 a server says whether it takes it only after the "
    "handshake, so when one asks, the shell waits (up to --timeout) for its word. "
    "--session OTHER resumes OTHER's session with OTHER's context (TLS 1.3's ticket comes "
    "after the handshake: it is waited for). ADDR may be unix:PATH or a UNIX server's "
    "name too; its certificate is then checked for localhost unless --server-hostname "
    "says otherwise.",
)
def _tls_connect(ctx: Invocation) -> None:
    from pslrepl.commands.socket_common import connect_error, new_socket, refuse_port_zero
    from pslrepl.resources.sockets import traced
    from pslrepl.tls_details import keep_details
    from pslrepl.tls_handshake import handshake
    from pslrepl.tls_resume import watch

    name = ctx["name"]
    addr = parse_addr(ctx["addr"], ctx.session)
    refuse_port_zero("tls connect", addr)
    context, note, kwargs, owner = _client_side(ctx)
    try:
        if addr.path:  # TLS over a UNIX stream socket (serve NAME unix PATH --tls)
            raw = traced(ctx, "socket.socket", socket.socket, socket.AF_UNIX, socket.SOCK_STREAM)
            raw.settimeout(ctx.timeout)
            try:
                traced(ctx, "socket.connect", raw.connect, addr.path)
            except OSError:
                raw.close()
                raise
        else:
            raw = traced(ctx, "socket.create_connection", socket.create_connection,
                           (addr.host, addr.port), timeout=ctx.timeout)  # fmt: skip
    except OSError as exc:
        raise connect_error(ctx, name, exc, addr.path or str(addr), path=bool(addr.path)) from None
    # A UNIX path names no host: the certificate is checked for localhost unless told.
    hostname = ctx["server_hostname"] or addr.host or "localhost"
    tls = handshake(ctx, name, raw, context, session_of=owner, server_hostname=hostname,
                    **kwargs)  # fmt: skip
    watch(tls, name, note)
    res = new_socket(ctx, name, tls, kind="tls", origin="TLS connected")
    res.hold_back(getattr(tls, "psl_early", b""))
    keep_details(ctx.session, res, tls, note, resumed_from=owner)
    settled, notes = _said(tls, owner, context)
    ctx.say(f"{tls.version()}, {(tls.cipher() or ('?',))[0]}; {note}{settled}", "notice")
    if notes:
        ctx.say(notes, "notice")


@COMMANDS.command(
    "tls wrap",
    "upgrade an open TCP connection to TLS (STARTTLS)",
    args=(Arg("NAME", ResourceOf("tcp")),),
    opts=(
        Opt("--server", "be the server side (the session test CA's certificate, or --cert)"),
        Opt("--server-hostname", "the name to verify (client side)", "H"),
        Opt("--cafile", "trust this CA file instead (client side)", "F", kind=PATH),
        Opt("--insecure", "do not verify (client side)"),
        CERT,
        KEY,
        *PINS,
        SESSION,
        *SERVER_SIDE,
        TIMEOUT,
    ),
    calls=("SSLContext.wrap_socket",),
    examples=("tls wrap c --server-hostname localhost",),
    setup=("serve web tcp 0 --handler echo --tls", "tcp connect c web"),
    details="With --server this side answers the handshake: --verify-client asks the "
    "client for a certificate, trusting the session's test CA (or --client-ca). The "
    "version and cipher pins work on either side.",
)
def _tls_wrap(ctx: Invocation) -> None:
    from pslrepl.resources.sockets import Sock
    from pslrepl.tls_contexts import server_context
    from pslrepl.tls_details import keep_details
    from pslrepl.tls_handshake import handshake
    from pslrepl.tls_resume import watch

    res = ctx["name"]
    assert isinstance(res, Sock)
    side_options(ctx, server=bool(ctx["server"]))
    if res.held:
        # Plaintext a recv took and kept (it timed out): after the handshake it would be
        # taken for decrypted data.
        raise PslError(f"tls wrap: {res.name} holds {len(res.held)} bytes received before "
                       f"TLS: recv {res.name} first")  # fmt: skip
    owner = ""
    if ctx["server"]:
        context, note = server_context(ctx)
        kwargs: dict[str, Any] = {"server_side": True}
    else:
        context, note, kwargs, owner = _client_side(ctx)
        host = res.remote.rpartition(":")[0].strip("[]")
        kwargs["server_hostname"] = ctx["server_hostname"] or host
    # The watcher keeps off the socket (begin_read waits out a peek it is making): a
    # peek at the plaintext socket as ssl takes it over fails, EBADF, for the next recv.
    res.begin_read()
    try:
        tls = handshake(ctx, res.name, res.sock, context, session_of=owner, **kwargs)
    except BaseException as exc:
        if res.sock.fileno() < 0:  # its socket is closed (or ssl took it): so is the resource
            ctx.session.registry.remove(res.name)
            res.closed = True
            if isinstance(exc, KeyboardInterrupt):  # the other failures say it themselves
                ctx.say(f"{res.name}: closed: a TLS handshake cut short leaves no "
                        "connection to go on with", "notice")  # fmt: skip
        res.end_read()
        raise
    if not ctx["server"]:
        watch(tls, res.name, note)
    with res.lock:  # its kind follows the socket: tls from here on
        res.sock = tls
        res.seen, res.eof_told = 0, False  # the plaintext's state: TLS starts afresh
    res.hold_back(getattr(tls, "psl_early", b""))
    keep_details(ctx.session, res, tls, note, resumed_from=owner)
    res.end_read()
    settled, notes = _said(tls, owner, context)
    said = f": now TLS: {tls.version()}, {(tls.cipher() or ('?',))[0]}{settled}"
    ctx.emit(Styled((("name", res.name), ("", said))))
    if notes:
        ctx.say(notes, "notice")


def side_options(ctx: Invocation, *, server: bool) -> None:
    """A server-only option on a client, or the reverse, says so (it would do nothing)."""
    values = ctx.values
    if server:
        wrong = [o for o in ("server_hostname", "cafile", "insecure", "session", "alpn")
                 if values.get(o)]  # fmt: skip
        side, fix = "a client's", "leave it out, or drop --server"
    else:
        wrong = [o for o in ("verify_client", "client_ca") if values.get(o)]
        side, fix = "a server's", "add --server, or leave it out"
    if wrong:
        opt = "--" + wrong[0].replace("_", "-")
        raise UsageError(f"{ctx.command.name}: {opt} is {side} option: {fix}")


@COMMANDS.command(
    "tls info",
    "version, cipher, ALPN, SNI, both sides' certificates, the peer's chain, resumption",
    args=(Arg("NAME", ResourceOf("tls", "tls-bio")),),
    calls=(
        "SSLSocket.version",
        "SSLSocket.cipher",
        "SSLSocket.getpeercert",
        "SSLSocket.session_reused",
        "SSLSocket.shared_ciphers",
    ),  # fmt: skip
    examples=("tls info t",),
    setup=("serve web tcp 0 --handler echo --tls", "tls connect t web"),
    details="On the server side it names the client's certificate and the ciphers both "
    "sides share. The chain is the peer's as it sent it (chain 0 is its own), read from "
    "the handshake's Certificate message; a resumed session sends none.",
)
def _tls_info(ctx: Invocation) -> None:
    from pslrepl.resources.sockets import Sock

    res = ctx["name"]
    if not isinstance(res, Sock):
        ctx.emit(Fields(res.details()))
        return
    pairs: list[tuple[str, Any]] = list(res.tls_details)
    if getattr(res, "tls_unwrapping", False):
        pairs.append(("unwrap", f"close_notify sent; the peer's has not come: tls unwrap "
                      f"{res.name} finishes once it has"))  # fmt: skip
    ctx.emit(Fields(pairs))
