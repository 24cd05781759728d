"""TLS commands (ssl): connect, wrap an open connection, inspect; the session's test CA."""

from __future__ import annotations

import errno
import os
import socket

from pslrepl.addresses import parse_addr
from pslrepl.commands.groups import TLS
from pslrepl.commands.options import TIMEOUT
from pslrepl.commands.socket_common import ADDRESS
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


def _client_context(ctx: Invocation) -> tuple[ssl.SSLContext, str]:
    """create_default_context, trusting the system's CAs and the session's test CA, or
    --cafile's instead; --insecure turns verification off and says so."""
    import ssl

    from pslrepl.resources.sockets import traced
    from pslrepl.testca import session_ca

    if ctx.values.get("server_hostname") == "":
        raise UsageError("tls: --server-hostname needs a name to check the certificate "
                         "against (and send as SNI), like localhost; leave it out to use "
                         "the address's host")  # fmt: skip

    if ctx["insecure"] and ctx["cafile"]:
        raise UsageError("tls: --cafile and --insecure contradict each other; pick one")
    try:
        context = traced(ctx, "ssl.create_default_context", ssl.create_default_context,
                           cafile=ctx["cafile"])  # fmt: skip
    except ssl.SSLError as exc:  # an SSLError is an OSError too: this one first
        raise PslError(f"tls: no CA certificate in --cafile {ctx['cafile']!r} "
                       f"({exc.reason or exc}): give PEM certificates, like the ca.pem "
                       "`ca export DIR` writes") from None  # fmt: skip
    except OSError as exc:
        from pslrepl.errors import describe_oserror

        raise PslError(f"tls: can't read --cafile {ctx['cafile']!r}: "
                       f"{describe_oserror(exc)}") from None  # fmt: skip
    note = f"verified against {ctx['cafile']}" if ctx["cafile"] else (
        "verified against the system CAs and the session's test CA")  # fmt: skip
    if not ctx["cafile"]:
        session_ca(ctx.session).trust(context)
    if ctx["insecure"]:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        note = "INSECURE: the certificate was not verified (--insecure)"
    if ctx.values.get("alpn"):
        context.set_alpn_protocols(ctx["alpn"])
    return context, note


def _verify_failure(name: str, exc: Exception) -> PslError:
    message = (getattr(exc, "verify_message", "") or str(exc)).rstrip(".")
    return PslError(f"{name}: certificate verification failed: {message}; the connection "
                    "is closed (--cafile FILE to trust another CA, or --insecure)")  # fmt: skip


# What OpenSSL's reasons mean to the side that started the handshake.
HANDSHAKE_HINTS = {
    "WRONG_VERSION_NUMBER": " (the peer answered, but not in TLS: is it a TLS port?)",
    "UNEXPECTED_EOF_WHILE_READING": " (the peer closed without a word: is it a TLS port?)",
    "TLSV1_ALERT_UNKNOWN_CA": " (the peer does not trust our certificate)",
    "TLSV1_ALERT_PROTOCOL_VERSION": " (no TLS version both sides accept)",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": " (no cipher or parameters both sides accept)",
}


def _handshake(ctx: Invocation, name: str, sock: socket.socket, context: ssl.SSLContext,
               **kwargs: Any) -> ssl.SSLSocket:  # fmt: skip
    import ssl

    from pslrepl.resources.sockets import traced

    sock.settimeout(ctx.timeout)
    try:
        tls = traced(ctx, "SSLContext.wrap_socket", context.wrap_socket, sock, **kwargs)
    except ssl.SSLCertVerificationError as exc:
        sock.close()
        raise _verify_failure(name, exc) from None
    except TimeoutError:
        sock.close()
        raise Timeout(f"{name}: the TLS handshake took more than {ctx.timeout:g} s (does the "
                      "peer speak TLS, and has it started its side?); the connection is "
                      "closed; --timeout S waits longer") from None  # fmt: skip
    except (ssl.SSLError, OSError) as exc:
        sock.close()
        reason = getattr(exc, "reason", None) or exc
        hint = HANDSHAKE_HINTS.get(str(reason), "")
        raise PslError(f"{name}: TLS handshake failed: {reason}{hint}; the connection is "
                       "closed") from None  # fmt: skip
    tls.settimeout(None)
    return tls


@COMMANDS.command(
    "tls connect",
    "a TLS connection: TCP, then the handshake, verified",
    args=(Arg("NAME", NEW), Arg("ADDR", ADDRESS)),
    opts=(
        Opt("--server-hostname", "the name to verify and send as SNI", "H"),
        Opt("--cafile", "trust this CA file instead", "F", kind=PATH),
        Opt("--insecure", "do not verify (flagged in info)"),
        Opt("--alpn", "offer this ALPN protocol", "P", repeat=True),
        TIMEOUT,
    ),
    calls=("ssl.create_default_context", "socket.create_connection", "SSLContext.wrap_socket"),
    examples=(
        "tls connect t web",
        "tls connect t2 web --server-hostname localhost --alpn http/1.1",
    ),
    setup=("serve web tcp 0 --handler echo --tls --threading",),
    details="The system's CAs and the session's test CA are trusted, so a `serve "
    "--tls` server verifies. A failure says why and leaves no connection behind. ADDR "
    "may be unix:PATH or a UNIX server's name too; its certificate is then checked for "
    "localhost unless --server-hostname says otherwise.",
)
def _tls_connect(ctx: Invocation) -> None:
    from pslrepl.commands.socket_common import connect_error, new_socket, refuse_port_zero
    from pslrepl.resources.sockets import traced

    name = ctx["name"]
    addr = parse_addr(ctx["addr"], ctx.session)
    refuse_port_zero("tls connect", addr)
    context, note = _client_context(ctx)
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
    tls = _handshake(ctx, name, raw, context, server_hostname=hostname)
    res = new_socket(ctx, name, tls, kind="tls", origin="TLS connected")
    keep_details(ctx.session, res, tls, note)
    ctx.say(f"{tls.version()}, {(tls.cipher() or ('?',))[0]}; {note}", "notice")


@COMMANDS.command(
    "tls wrap",
    "upgrade an open TCP connection to TLS (STARTTLS)",
    args=(Arg("NAME", ResourceOf("tcp")),),
    opts=(
        Opt("--server", "be the server side (the session test CA's certificate)"),
        Opt("--server-hostname", "the name to verify (client side)", "H"),
        Opt("--cafile", "trust this CA file instead", "F", kind=PATH),
        Opt("--insecure", "do not verify"),
        TIMEOUT,
    ),
    calls=("SSLContext.wrap_socket",),
    examples=("tls wrap c --server-hostname localhost",),
    setup=("serve web tcp 0 --handler echo --tls", "tcp connect c web"),
)
def _tls_wrap(ctx: Invocation) -> None:
    from pslrepl.resources.sockets import Sock, watcher
    from pslrepl.testca import session_ca

    res = ctx["name"]
    assert isinstance(res, Sock)
    if res.held:
        # Plaintext a recv took and kept (it timed out): after the handshake it would be
        # taken for decrypted data.
        raise PslError(f"tls wrap: {res.name} holds {len(res.held)} bytes received before "
                       f"TLS: recv {res.name} first")  # fmt: skip
    if ctx["server"]:
        context = session_ca(ctx.session).server_context()
        note = "server side, with the session test CA's certificate"
        kwargs: dict[str, Any] = {"server_side": True}
    else:
        context, note = _client_context(ctx)
        kwargs = {"server_hostname": ctx["server_hostname"] or res.remote.rpartition(":")[0]
                  .strip("[]")}  # fmt: skip
    watcher(ctx.session).disarm(res)
    try:
        tls = _handshake(ctx, res.name, res.sock, context, **kwargs)
    except PslError:
        ctx.session.registry.remove(res.name)  # its socket is closed: so is the resource
        res.closed = True
        raise
    res.sock = tls
    res.kind = "tls"  # type: ignore[misc]
    res.seen, res.eof_told = 0, False  # the plaintext's state: TLS starts afresh
    keep_details(ctx.session, res, tls, note)
    res.arm()
    ctx.emit(
        Styled(
            (("name", res.name), ("", f": now TLS: {tls.version()}, {(tls.cipher() or ('?',))[0]}"))
        )
    )


def keep_details(session: Any, res: Any, tls: Any, note: str) -> None:
    """What `tls info` shows, read once right after the handshake. The certificate's
    fingerprint and names differ from session to session (the test CA is new each time):
    transcripts write them as {NAME.sha256} and so on."""
    res.tls_note = note
    res.tls_details = describe_tls(tls, note)
    for key, value in res.tls_details:
        if key in ("sha256", "subject", "issuer") and value:
            session.volatile[f"{res.name}.{key}"] = value


def describe_tls(tls: Any, note: str) -> list[tuple[str, str]]:
    """What a TLS connection negotiated and whom it talks to, read right after the
    handshake (an SSLSocket can't tell once the peer has closed)."""
    import hashlib

    cert = tls.getpeercert() or {}
    binary = tls.getpeercert(binary_form=True)
    cipher = tls.cipher()
    pairs: list[tuple[str, str]] = [
        ("version", tls.version() or ""),
        ("cipher", f"{cipher[0]} ({cipher[2]} bits)" if cipher else ""),
        ("alpn", tls.selected_alpn_protocol() or "(none)"),
        ("server hostname", tls.server_hostname or "(none: server side)"),
        ("verified", note),
    ]

    def name_of(field: Any) -> str:
        return ", ".join(f"{k}={v}" for rdn in field for k, v in rdn)

    if cert:
        pairs += [
            ("subject", name_of(cert.get("subject", ()))),
            ("issuer", name_of(cert.get("issuer", ()))),
            ("alt names", ", ".join(v for _, v in cert.get("subjectAltName", ()))),
            ("valid", f"{cert.get('notBefore')} to {cert.get('notAfter')}"),
        ]
    elif binary:  # not verified (--insecure): ssl decodes nothing, cryptography can
        pairs += unverified_fields(binary)
    if binary:
        pairs.append(("sha256", hashlib.sha256(binary).digest().hex(":")))
    else:
        pairs.append(("peer certificate", "(none sent)"))
    return pairs


def unverified_fields(der: bytes) -> list[tuple[str, str]]:
    """A certificate's names and validity from its DER bytes (cryptography, which trustme
    brings), for a connection whose certificate ssl did not check."""
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        return [("certificate", f"can't be decoded: {exc}")]
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        alt = ", ".join(str(n.value) for n in sans)
    except x509.ExtensionNotFound:
        alt = "(none)"
    return [
        ("subject", cert.subject.rfc4514_string()),
        ("issuer", cert.issuer.rfc4514_string()),
        ("alt names", alt),
        (
            "valid",
            f"{cert.not_valid_before_utc:%b %d %H:%M:%S %Y} GMT to "
            f"{cert.not_valid_after_utc:%b %d %H:%M:%S %Y} GMT",
        ),  # fmt: skip
    ]


@COMMANDS.command(
    "tls info",
    "version, cipher, ALPN, SNI and the peer's certificate",
    args=(Arg("NAME", ResourceOf("tls")),),
    calls=("SSLSocket.version", "SSLSocket.cipher", "SSLSocket.getpeercert"),
    examples=("tls info t",),
    setup=("serve web tcp 0 --handler echo --tls", "tls connect t web"),
)
def _tls_info(ctx: Invocation) -> None:
    from pslrepl.resources.sockets import Sock

    res = ctx["name"]
    assert isinstance(res, Sock)
    ctx.emit(Fields(list(res.tls_details)))


@COMMANDS.command(
    "ca show",
    "the session's local test CA (trustme)",
    calls=("trustme.CA",),
    examples=("ca show",),
)
def _ca_show(ctx: Invocation) -> None:
    from pslrepl.testca import session_ca

    ctx.emit(Fields(session_ca(ctx.session).summary()))  # type: ignore[arg-type]
    ctx.say("`ca export DIR` writes DIR/ca.pem for curl --cacert and openssl -CAfile",
            "notice")  # fmt: skip


@COMMANDS.command(
    "ca export",
    "write the test CA to DIR/ca.pem, for curl and openssl",
    args=(Arg("DIR", PATH),),
    examples=("ca export ca",),
)
def _ca_export(ctx: Invocation) -> None:
    from pslrepl.testca import session_ca

    directory = ctx["dir"]
    if not directory:
        raise UsageError("ca export: give a directory, like /tmp/ca (it is made if need be)")
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise PslError(f"ca export: {directory!r} is a file, not a directory: give a "
                       "directory (it is made if need be); ca.pem is written in it")  # fmt: skip
    path = os.path.join(directory, "ca.pem")
    try:
        os.makedirs(directory, exist_ok=True)
        # Never through a symbolic link planted at the path (O_NOFOLLOW: ELOOP), so the
        # export can't be turned into a write to a file someone else chose. 0644: a CA
        # certificate is public; its key is never written.
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(session_ca(ctx.session).pem())
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(path):
            raise PslError(
                f"ca export: {path} is a symbolic link: not written through it; "
                "remove the link or export to another directory"
            ) from None
        from pslrepl.errors import describe_oserror

        raise PslError(f"ca export: can't write {path!r}: {describe_oserror(exc)}") from None
    ctx.say(f"wrote {path}: curl --cacert {path} https://localhost:PORT/")
