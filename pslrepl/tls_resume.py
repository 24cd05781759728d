"""Sessions to resume (--session OTHER): a live TLS connection's, or the last one a client
connection held before it closed, kept by its name (a server that serves one client at a
time, like openssl s_server, takes the next only once the first has gone)."""

from __future__ import annotations

from pslrepl.errors import PslError
from pslrepl.kinds import Kind

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    from collections.abc import Iterable
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.kinds import Completing, Where
    from pslrepl.session import Session

KEPT = 64  # closed connections' sessions kept, newest last


class Remembered:
    """What resuming needs of a connection: its context (ssl resumes a session only with
    the context that made it), its session, and how it was verified."""

    __slots__ = ("name", "context", "session", "note", "version")

    def __init__(self, name: str, context: ssl.SSLContext, session: ssl.SSLSession,
                 note: str, version: str) -> None:  # fmt: skip
        self.name = name
        self.context = context
        self.session = session
        self.note = note
        self.version = version


class SessionOf(Kind):
    """--session OTHER: a live tls connection (the handler gets it), or the name of one
    since closed whose session was kept (the handler gets a Remembered)."""

    name = "resource"

    def convert(self, raw: str, where: Where) -> Any:
        session = where.session
        if session is None:
            return raw
        live = session.registry.find(raw)
        if live is not None and live.kind == "tls":
            return live
        kept = kept_sessions(session).get(raw)
        if kept is not None:
            return kept
        if live is not None:
            raise where.fail(f"{raw} is a {live.kind}; give a TLS connection's name, live or "
                             "closed, whose session to resume")  # fmt: skip
        raise where.fail(f"{raw} names no TLS connection, live or closed, with a session to "
                         "resume (`ls tls` lists the live ones)")  # fmt: skip

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        names = [*ask.session.registry.names(("tls",)), *kept_sessions(ask.session)]
        return ask.words(dict.fromkeys(names), prefix)


SESSION_OF = SessionOf()


def kept_sessions(session: Session) -> dict[str, Remembered]:
    """The session's kept sessions, by connection name (on its TLS state: the test CA's
    holder, made on first use)."""
    from pslrepl.testca import session_ca

    return session_ca(session).sessions


def watch(conn: Any, name: str, note: str) -> None:
    """Keep ``conn``'s session as its tickets come (see remember)."""
    conn.psl_name = name
    conn.psl_note = note
    conn.psl_kept = 0


def remember(conn: Any, trace: Any, *, closing: bool) -> None:
    """From ssl's callback, in the thread doing the I/O: keep the client connection's
    newest resumable session. A ticket's message is reported before ssl takes it in, so
    the session is asked for on the next record (or at close_notify)."""
    name = conn.__dict__.get("psl_name")
    if not name or conn.server_side:
        return
    tickets = trace.tickets()
    if not closing and tickets <= conn.psl_kept:
        return
    session = conn.session
    version = conn.version() or ""
    if session is None or (version == "TLSv1.3" and not session.has_ticket):
        return
    conn.psl_kept = tickets
    owner = getattr(conn.context, "psl_session", None)
    if owner is None:
        return
    kept = kept_sessions(owner)
    kept.pop(name, None)
    kept[name] = Remembered(name, conn.context, session, conn.psl_note, version)
    while len(kept) > KEPT:
        del kept[next(iter(kept))]


def resumable(ctx: Invocation, other: Any) -> Remembered:
    """OTHER's session, to resume: a kept one, or a live connection's. With TLS 1.3 a
    session is good only once the server's ticket has come, after the handshake: what has
    come is read (kept for OTHER's next recv), waiting up to --timeout for a ticket."""
    if isinstance(other, Remembered):
        return other
    import time

    from pslrepl.resources.polling import poll_ready
    from pslrepl.tls_trace import trace_of

    tls = other.sock
    command = ctx.command.name
    if tls.server_side:
        raise PslError(f"{command}: {other.name} is the server side of its connection; "
                       "--session resumes a client's session")  # fmt: skip
    deadline = time.monotonic() + ctx.timeout
    while True:
        other.fill(ctx)
        session = tls.session
        version = tls.version() or ""
        if session is not None and (version != "TLSv1.3" or session.has_ticket):
            return Remembered(other.name, tls.context, session, other.tls_note, version)
        if other.held_eof or other.held_error is not None:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not poll_ready(read=[tls], timeout=remaining):
            break
    trace = trace_of(tls)
    seen = trace.tickets() if trace is not None else 0
    why = ("its server has sent no session ticket (TLS 1.3 sends them after the handshake"
           + (f"; none in {ctx.timeout:g} s" if seen == 0 else "") + ")")  # fmt: skip
    if tls.version() != "TLSv1.3":
        why = "its server gave it no session to resume"
    raise PslError(f"{command}: {other.name} has no session to resume yet: {why}; "
                   f"recv {other.name} reads what came, then try again")  # fmt: skip
