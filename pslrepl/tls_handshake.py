"""A TLS handshake over a connected socket, bounded by --timeout, and what it ended with:
a connection, or one line saying which side refused and why."""

from __future__ import annotations

import time

from pslrepl.errors import PslError, Timeout

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    import ssl
    from typing import Any

    from pslrepl.invocation import Invocation

# What OpenSSL's reasons mean to the side that started the handshake, where no alert
# says more (a peer that closed, or answered in something else than TLS).
HANDSHAKE_HINTS = {
    "WRONG_VERSION_NUMBER": " (the peer answered, but not in TLS: is it a TLS port?)",
    "UNEXPECTED_EOF_WHILE_READING": " (the peer closed without a word: is it a TLS port?)",
    "TLSV1_ALERT_UNKNOWN_CA": " (the peer does not trust our certificate)",
    "TLSV1_ALERT_PROTOCOL_VERSION": " (no TLS version both sides accept)",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": " (no cipher or parameters both sides accept)",
}


def verify_failure(name: str, exc: Exception) -> PslError:
    message = (getattr(exc, "verify_message", "") or str(exc)).rstrip(".")
    return PslError(f"{name}: certificate verification failed: {message}; the connection "
                    "is closed (--cafile FILE to trust another CA, or --insecure)")  # fmt: skip


def refused(name: str, exc: BaseException, context: Any, conn: Any, *,
            server_side: bool) -> PslError:  # fmt: skip
    """The handshake's failure as one line: the alert's story where there was one."""
    from pslrepl.tls_refusals import refusal
    from pslrepl.tls_trace import trace_of

    why = refusal(trace_of(conn), exc, context, server_side=server_side)
    if why is not None:
        return PslError(f"{name}: {why}; the connection is closed")
    reason = getattr(exc, "reason", None) or exc
    hint = HANDSHAKE_HINTS.get(str(reason), "")
    return PslError(f"{name}: TLS handshake failed: {reason}{hint}; the connection is closed")


def handshake(ctx: Invocation, name: str, sock: socket.socket, context: ssl.SSLContext, *,
              session_of: str = "", **kwargs: Any) -> ssl.SSLSocket:  # fmt: skip
    """wrap_socket, bounded by --timeout; on failure the socket is closed and the error
    says why. A TLS 1.3 client the server asked for a certificate also waits for the
    server's verdict on it (see verdict)."""
    import ssl

    from pslrepl.resources.calls import py_repr

    server_side = bool(kwargs.get("server_side"))
    # As the user would write it: the session resumed is OTHER's (session_of).
    shown = ", ".join(["sock"] + [f"{k}={f'{session_of}.session' if k == 'session' else py_repr(v)}"
                                  for k, v in kwargs.items()])  # fmt: skip
    sock.settimeout(ctx.timeout)
    # do_handshake_on_connect=False: the SSLSocket exists before the handshake, so a
    # failure still has its trace to tell the alert from.
    try:
        tls = context.wrap_socket(sock, do_handshake_on_connect=False, **kwargs)
    except BaseException:  # a host name ssl can't send: no socket left open
        sock.close()
        raise
    # Named for explain: context.wrap_socket(sock, ...), whatever the resources are called.
    ctx.name(context, "context")
    ctx.name(sock, "sock")
    try:
        try:
            _do_handshake(tls)
        except BaseException as exc:
            ctx.record("SSLContext.wrap_socket", shown, f"raised {type(exc).__name__}", on=context)
            raise
        ctx.record("SSLContext.wrap_socket", shown, tls, on=context)
        held = b""
        if not server_side:
            held = verdict(ctx, name, tls, context)
    except ssl.SSLCertVerificationError as exc:
        tls.close()
        if server_side:
            raise refused(name, exc, context, tls, server_side=True) from None
        raise verify_failure(name, exc) from None
    except TimeoutError:
        tls.close()
        raise Timeout(f"{name}: the TLS handshake took more than {ctx.timeout:g} s (does the "
                      "peer speak TLS, and has it started its side?); the connection is "
                      "closed; --timeout S waits longer") from None  # fmt: skip
    except (ssl.SSLError, OSError) as exc:
        tls.close()
        raise refused(name, exc, context, tls, server_side=server_side) from None
    except BaseException:  # Ctrl-C mid-handshake: nothing half-made stays open
        tls.close()
        raise
    tls.settimeout(None)
    tls.psl_early = held  # type: ignore[attr-defined]
    return tls


def _do_handshake(tls: ssl.SSLSocket) -> ssl.SSLSocket:
    """What wrap_socket does with do_handshake_on_connect (explain shows it as that)."""
    tls.do_handshake()
    return tls


def verdict(ctx: Invocation, name: str, tls: ssl.SSLSocket, context: ssl.SSLContext) -> bytes:
    """TLS 1.3 ends the client's handshake before the server has checked the client's
    certificate (or its absence): a refusal comes as an alert on the first read. When
    the server asked for one, wait (up to --timeout) for its first word: a session
    ticket or data means yes; an alert, no. Bytes of data that came are returned."""
    import ssl

    from pslrepl.resources.polling import poll_ready
    from pslrepl.tls_trace import CERTIFICATE_REQUEST, trace_of

    trace = trace_of(tls)
    if tls.version() != "TLSv1.3" or trace is None:
        return b""
    if trace.last(CERTIFICATE_REQUEST, out=False) is None:
        return b""
    deadline = time.monotonic() + ctx.timeout
    held = bytearray()
    tls.setblocking(False)
    try:
        while True:
            try:
                chunk = tls.recv(65536)
            except ssl.SSLWantReadError:
                if trace.tickets():
                    tls.psl_verdict = "accepted"  # type: ignore[attr-defined]
                    return bytes(held)  # a ticket: the server took us
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    tls.psl_verdict = "pending"  # type: ignore[attr-defined]
                    return bytes(held)  # no word yet: said under the connect
                poll_ready(read=[tls], timeout=remaining)
                continue
            except ssl.SSLZeroReturnError:
                raise PslError(f"{name}: the server ended TLS right after the handshake, "
                               "having asked for a client certificate; the connection is "
                               "closed") from None  # fmt: skip
            if not chunk:
                raise PslError(f"{name}: the server closed the connection right after the "
                               "handshake, having asked for a client certificate; the "
                               "connection is closed")  # fmt: skip
            held += chunk
            tls.psl_verdict = "accepted"  # type: ignore[attr-defined]
            return bytes(held)
    finally:
        tls.settimeout(ctx.timeout)
