"""What a `serve --tls` server's log says of each client's handshake: the certificate it
presented, or why the server refused it, as the handshake goes (from ssl's callback)."""

from __future__ import annotations

from pslrepl.tls_trace import ALERT, CERTIFICATE, FINISHED, HANDSHAKE, certificates, subject_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    from typing import Any

    from pslrepl.tls_trace import Entry, Trace


def watch_clients(context: ssl.SSLContext, server: Any) -> None:
    """Tell ``server``'s log (Server.note: silent in a --forking child) about each
    client's certificate, and each handshake the server refuses."""

    def watch(conn: Any, trace: Trace, entry: Entry) -> None:
        if not conn.server_side:
            return
        if entry.ctype == HANDSHAKE and not entry.out and entry.mtype == FINISHED:
            said = _presented(context, trace)
            if said:
                server.note(f"client {_who(conn)} {said}")
        elif entry.ctype == ALERT and entry.out and entry.mtype != 0 and not _finished(trace):
            from pslrepl.tls_refusals import refusal

            why = refusal(trace, Exception(), context, server_side=True)
            if why:
                server.note(f"client {_who(conn)} refused: {why}")

    context.psl_watch = watch  # type: ignore[attr-defined]


def _finished(trace: Trace) -> bool:
    """The client's Finished has come: the handshake is over (an alert now is no refusal)."""
    return trace.last(FINISHED, out=False) is not None


def _presented(context: ssl.SSLContext, trace: Trace) -> str:
    import ssl

    if context.verify_mode == ssl.CERT_NONE:
        return ""
    chain = certificates(trace.last(CERTIFICATE, out=False))
    if chain:
        trusted = getattr(context, "psl_trusted", "the CA it trusts")
        return f"presented {subject_of(chain[0])} (verified against {trusted})"
    if trace.last(CERTIFICATE, out=False) is None:
        return ""  # a resumed session: the certificate was checked the first time
    return "presented no certificate (--verify-client optional: served all the same)"


def _who(conn: Any) -> str:
    from pslrepl.addresses import format_addr

    try:
        return format_addr(conn.getpeername()) or "a local client"
    except OSError:
        return "a client"
