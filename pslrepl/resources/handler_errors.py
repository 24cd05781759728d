"""What went wrong while a server served a client: the client's doing in one line, or the
handler's own traceback."""

from __future__ import annotations

import os
import socketserver
import ssl
import traceback

TROUBLE = "client trouble: "  # a forked child's note that is no traceback

# TLS failures a client causes, by OpenSSL's reason: what they mean and what to do.
TLS_REASONS = {
    "TLSV1_ALERT_UNKNOWN_CA": "does not trust the certificate: give it the CA that "
    "`ca export DIR` writes (DIR/ca.pem)",
    "SSLV3_ALERT_BAD_CERTIFICATE": "rejected the certificate",
    "WRONG_VERSION_NUMBER": "did not speak TLS (plain text to a --tls server?)",
    "HTTP_REQUEST": "sent plain HTTP to a --tls server: use https://",
    "UNEXPECTED_EOF_WHILE_READING": "closed the connection in the middle of TLS",
    "NO_SHARED_CIPHER": "offered no cipher the server accepts",
    "UNSUPPORTED_PROTOCOL": "offered only a TLS version the server refuses",
    "PEER_DID_NOT_RETURN_A_CERTIFICATE": "sent no certificate, and --verify-client "
    "required wants one: tls connect --cert F --key F gives it one",
    "CERTIFICATE_VERIFY_FAILED": "sent a certificate the server does not trust (issued "
    "by a CA --client-ca does not name, or expired)",
}


class HandshakeTimeout(TimeoutError):
    """A --tls client that did not finish its handshake in time."""


def client_trouble(exc: BaseException | None, idle: float | None = None) -> str:
    """One line for what a client did to a handler (vanished, failed TLS, idled), or ""
    for a real error in the handler's code, which deserves its traceback."""
    if isinstance(exc, HandshakeTimeout):
        return f"{exc}: closed it (--idle S sets how long)"
    if isinstance(exc, TimeoutError) and idle:  # socket.timeout is TimeoutError (3.10)
        return (f"did nothing for {idle:g} s (sent nothing, or read nothing): closed it "
                "(--idle S sets how long)")  # fmt: skip
    if isinstance(exc, ConnectionResetError):
        return "reset the connection"
    if isinstance(exc, BrokenPipeError):
        return "stopped reading (EPIPE)"
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None) or ""
        what = TLS_REASONS.get(reason) or f"failed TLS: {reason or exc}"
        return f"{what} ({reason})" if reason in TLS_REASONS else what
    return ""


def handler_traceback() -> str:
    """The exception being handled, as a traceback that starts in the handler's own code:
    socketserver's frames and the shell's above it are left out, unless the handler is
    the shell's own (then its frames are the story)."""
    import sys

    exc = sys.exc_info()[1]
    if exc is None:
        return ""
    te = traceback.TracebackException.from_exception(exc)
    ours = (os.path.dirname(socketserver.__file__), os.path.dirname(os.path.dirname(__file__)))
    frames = list(te.stack)
    first = next((i for i, f in enumerate(frames)
                  if not f.filename.startswith(ours)), None)  # fmt: skip
    if first:
        te.stack = traceback.StackSummary.from_list(frames[first:])
    return "".join(te.format())
