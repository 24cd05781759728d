"""TLS commands (ssl): connect, wrap an open connection, inspect, unwrap back to TCP."""

from __future__ import annotations

import socket

from pslrepl.addresses import parse_addr
from pslrepl.commands.groups import TLS
from pslrepl.commands.options import TIMEOUT
from pslrepl.commands.socket_common import ADDRESS
from pslrepl.commands.tls_options import CERT, KEY, PINS, SERVER_SIDE, SESSION
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import PslError, Timeout, UsageError
from pslrepl.kinds import NEW, PATH, ResourceOf
from pslrepl.results import Fields, Styled

COMMANDS = Commands(TLS)


TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.resources.sockets import Sock

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
    except BaseException:
        if res.sock.fileno() < 0:  # its socket is closed (or ssl took it): so is the resource
            ctx.session.registry.remove(res.name)
            res.closed = True
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


@COMMANDS.command(
    "tls unwrap",
    "end TLS (close_notify both ways) and go on in plain TCP: STARTTLS reversed",
    args=(Arg("NAME", ResourceOf("tls")),),
    opts=(TIMEOUT,),
    calls=("SSLSocket.unwrap", "socket.socket"),
    examples=("tls unwrap t --timeout 0.5",),
    setup=("serve web tcp 0 --handler echo --tls", "tls connect t web"),
    details="It sends close_notify and waits up to --timeout for the peer's. A peer that "
    "has not answered by then may unwrap its side later: `tls unwrap NAME` again "
    "finishes. Until then the connection is still TLS and can send nothing more.",
)
def _tls_unwrap(ctx: Invocation) -> None:
    from pslrepl.resources.sockets import Sock, traced

    res = ctx["name"]
    assert isinstance(res, Sock)
    tls = res.sock
    res.begin_read()  # the watcher keeps off the socket while it changes hands
    try:
        res.fill(ctx)  # what came over TLS before the peer's close_notify
        if res.held:
            raise PslError(f"{res.name}: {len(res.held)} bytes came over TLS and were not read "
                           f"yet: recv {res.name} first, then tls unwrap {res.name}")  # fmt: skip
        if (res.held_eof or res.held_error is not None) and not _peer_ended_tls(tls):
            raise PslError(f"{res.name}: {NO_CLOSE_NOTIFY}; no plain connection is left to go on "
                           f"with: close {res.name}")  # fmt: skip
        _unwrap(ctx, res, tls, traced)
    except BaseException:
        res.end_read()
        raise
    plain = socket.socket(tls.family, tls.type, tls.proto, fileno=tls.detach())
    plain.settimeout(None)
    with res.lock:  # its kind follows the socket: tcp (or unix) again
        res.sock = plain
        res.seen, res.eof_told, res.peer_eof = 0, False, False
        res.held_eof, res.held_error = False, None
    res.tls_note, res.tls_details = "", []
    res.tls_unwrapping = False  # type: ignore[attr-defined]
    res.end_read()
    ctx.emit(Styled((("name", res.name), ("", ": TLS ended (close_notify both ways): the "
                     f"connection goes on as plain {res.kind}"))))  # fmt: skip


NO_CLOSE_NOTIFY = "the peer closed the connection without ending TLS (no close_notify)"


def _peer_ended_tls(tls: Any) -> bool:
    """The peer's close_notify came (a read ahead met it): TLS ended cleanly on its side."""
    from pslrepl.tls_trace import ALERT, trace_of

    trace = trace_of(tls)
    return trace is not None and any(
        e.ctype == ALERT and not e.out and e.mtype == 0 for e in trace.entries
    )


class _Interrupts:
    """Ctrl-C while ssl runs Python inside a call (the handshake trace's callback): the
    KeyboardInterrupt raised there is swallowed by ssl, so the handler also notes it,
    and the loop raises it again once the call returns."""

    def __init__(self) -> None:
        self.hit = False
        self._old: Any = None

    def __enter__(self) -> _Interrupts:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._on_int)
        return self

    def _on_int(self, signum: int, frame: Any) -> None:
        self.hit = True
        raise KeyboardInterrupt

    def check(self) -> None:
        if self.hit:
            raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        import signal

        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def _unwrap(ctx: Invocation, res: Sock, tls: Any, traced: Any) -> None:
    """SSLSocket.unwrap, bounded: our close_notify, then the peer's. Non-blocking, retried
    in short waits: one blocking unwrap is a C call Ctrl-C can't interrupt until it ends."""
    import ssl
    import time

    from pslrepl.resources.polling import poll_ready

    deadline = time.monotonic() + ctx.timeout
    tls.setblocking(False)
    tries = 0
    try:
        with _Interrupts() as interrupts:
            while True:
                tries += 1
                try:
                    tls.unwrap()
                    break
                except ssl.SSLWantReadError:
                    want: tuple[tuple[Any, ...], tuple[Any, ...]] = ((tls,), ())
                except ssl.SSLWantWriteError:
                    want = ((), (tls,))
                finally:
                    interrupts.check()  # a Ctrl-C ssl swallowed
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                poll_ready(*want, timeout=min(left, 0.2))  # Ctrl-C is taken between waits
        ctx.record("SSLSocket.unwrap", "", None, on=tls, exact=tries == 1,
                   note=f"non-blocking, called {tries} times while the peer's "
                   "close_notify was awaited")  # fmt: skip
    except TimeoutError:
        ctx.record("SSLSocket.unwrap", "", "raised TimeoutError", on=tls)
        res.tls_unwrapping = True  # type: ignore[attr-defined]
        raise Timeout(f"{res.name}: sent close_notify; the peer has not answered with its own "
                      f"in {ctx.timeout:g} s: once it unwraps its side, `tls unwrap "
                      f"{res.name}` again finishes (until then the connection is TLS, and "
                      "sends nothing)") from None  # fmt: skip
    except (ssl.SSLError, OSError) as exc:
        ctx.record("SSLSocket.unwrap", "", f"raised {type(exc).__name__}", on=tls)
        reason = getattr(exc, "reason", None) or ""
        if reason == "APPLICATION_DATA_AFTER_CLOSE_NOTIFY":
            why = ("the peer sent data over TLS after our close_notify, and OpenSSL drops "
                   "the connection for it")  # fmt: skip
        elif isinstance(exc, ssl.SSLEOFError) or reason in ("UNEXPECTED_EOF_WHILE_READING",
                                                             "SHUTDOWN_WHILE_IN_INIT"):  # fmt: skip
            why = NO_CLOSE_NOTIFY
        else:
            from pslrepl.errors import describe_oserror

            why = f"TLS could not end cleanly: {reason or describe_oserror(exc)}"
        raise PslError(f"{res.name}: {why}; no plain connection is left to go on with: "
                       f"close {res.name}") from None  # fmt: skip
    finally:
        if tls.fileno() >= 0:
            tls.settimeout(None)
