"""The session's SSLContexts: a client's or a server's, with the certificate, version and
cipher pins the options give, each one traced and writing the session's key log."""

from __future__ import annotations

import os

from pslrepl.callrecord import py_repr
from pslrepl.errors import PslError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.session import Session

VERSIONS = ("TLSv1.2", "TLSv1.3")  # what --min-version and --max-version take


class EncryptedKey(Exception):
    """load_cert_chain asked for a password: the key file is encrypted."""


def _no_password() -> str:
    # Without a callback OpenSSL would prompt on the terminal, behind the shell's back.
    raise EncryptedKey


# -- tracing and the key log ----------------------------------------------------------


def mark(context: Any, **marks: object) -> None:
    """Note on a context what the shell needs later (psl_ names: none of ssl's own)."""
    for key, value in marks.items():
        setattr(context, key, value)


def _installed(ctx: Invocation, context: ssl.SSLContext) -> ssl.SSLContext:
    """install, and the key log it set said for explain."""
    install(context, ctx.session)
    if context.keylog_filename:
        ctx.record("SSLContext.keylog_filename=", py_repr(context.keylog_filename),
                   on=context)  # fmt: skip
    return context


def install(context: ssl.SSLContext, session: Session) -> ssl.SSLContext:
    """Every context the session makes: its handshakes traced (tls_trace), and the key
    log written if `set tls-keylog FILE` says so."""
    mark(context, psl_session=session)
    refresh_keylog(context, session)
    if hasattr(context, "_msg_callback"):  # ssl's debugging hook, there since 3.8
        context._msg_callback = _callback
    return context


def _callback(conn: Any, direction: str, version: Any, content_type: Any, msg_type: Any,
              data: bytes) -> None:  # fmt: skip
    """ssl calls this for each record and message, in the thread doing the I/O. It must
    never raise: ssl would raise it from the read or write that was under way."""
    from pslrepl.tls_trace import Trace

    try:
        trace = conn.__dict__.get("psl_trace")
        context = conn.context
        if trace is None:  # a new connection: its context writes the key log set now
            trace = conn.psl_trace = Trace()
            session = getattr(context, "psl_session", None)
            if session is not None:
                refresh_keylog(context, session)
        entry = trace.add(direction == "write", int(content_type), int(msg_type), data)
        if "psl_name" in conn.__dict__ and entry is not None:  # a client to resume later
            from pslrepl.tls_resume import remember
            from pslrepl.tls_trace import ALERT

            remember(conn, trace, closing=entry.out and entry.ctype == ALERT)
        watcher = getattr(context, "psl_watch", None)
        if watcher is not None and entry is not None:
            watcher(conn, trace, entry)
    except Exception:  # noqa: S110 - a trace that can't be kept is no reason to fail TLS
        pass


def refresh_keylog(context: ssl.SSLContext, session: Session) -> None:
    """Point the context's key log at the session's file (or stop it), when they differ.
    The file is checked again first: never written through a link planted since."""
    path = session.settings.tls_keylog
    ours = getattr(context, "psl_keylog", "")
    if path == ours:
        return
    if not path:
        if ours and context.keylog_filename == ours:
            context.keylog_filename = None  # type: ignore[assignment]
        mark(context, psl_keylog="")
        return
    from pslrepl.tls_files import still_private

    if still_private(path):
        context.keylog_filename = path
        mark(context, psl_keylog=path)


# -- what the options set ---------------------------------------------------------------


def _check_pins(ctx: Invocation) -> None:
    low, high = ctx.values.get("min_version"), ctx.values.get("max_version")
    if low and high and VERSIONS.index(low) > VERSIONS.index(high):
        raise UsageError(f"{ctx.command.name}: --min-version {low} is above --max-version "
                         f"{high}: no version is left")  # fmt: skip


def apply_pins(ctx: Invocation, context: ssl.SSLContext) -> None:
    """--min-version, --max-version and --ciphers, as SSLContext sets them."""
    import ssl

    from pslrepl.resources.calls import traced

    _check_pins(ctx)
    for key, attr in (("min_version", "minimum_version"), ("max_version", "maximum_version")):
        value = ctx.values.get(key)
        if value:
            version = ssl.TLSVersion[value.replace(".", "_")]
            setattr(context, attr, version)
            ctx.record(f"SSLContext.{attr}=", f"ssl.TLSVersion.{version.name}", on=context)
    spec = ctx.values.get("ciphers")
    if spec is not None:
        try:
            traced(ctx, "SSLContext.set_ciphers", context.set_ciphers, spec)
        except ssl.SSLError:
            raise UsageError(f"{ctx.command.name}: --ciphers {spec!r} selects no cipher "
                             "OpenSSL knows; `openssl ciphers -v SPEC` lists what a spec "
                             "selects, like ECDHE+AESGCM") from None  # fmt: skip
        mark(context, psl_ciphers=spec)


def load_identity(ctx: Invocation, context: ssl.SSLContext) -> str:
    """--cert F and --key F: the certificate this side presents; its subject, or ''."""
    import ssl

    from pslrepl.resources.calls import traced_as

    cert, key = ctx.values.get("cert"), ctx.values.get("key")
    name = ctx.command.name
    if key and not cert:
        raise UsageError(f"{name}: --key goes with --cert F, the certificate it is the key of")
    if not cert:
        return ""
    try:
        # Shown without the password callback: it only keeps OpenSSL from prompting.
        shown = ", ".join(repr(p) for p in (cert, key) if p)
        traced_as(ctx, "SSLContext.load_cert_chain", shown, context.load_cert_chain, cert, key,
                  password=_no_password)  # fmt: skip
    except EncryptedKey:
        raise PslError(
            f"{name}: the key in {key or cert} is encrypted; give an unencrypted "
            "one (`openssl pkey -in KEY -out PLAIN` asks the password once)"
        ) from None
    except ssl.SSLError as exc:
        raise PslError(f"{name}: {_unusable(cert, key, exc)}") from None
    except OSError as exc:
        from pslrepl.errors import describe_oserror

        which = cert if not os.path.exists(cert) or not key else key
        raise PslError(f"{name}: can't read {which!r}: {describe_oserror(exc)}") from None
    from cryptography import x509

    try:
        with open(cert, "rb") as fh:
            return x509.load_pem_x509_certificate(fh.read()).subject.rfc4514_string()
    except (OSError, ValueError):
        return cert


def _unusable(cert: str, key: str | None, exc: ssl.SSLError) -> str:
    """Why load_cert_chain refused the files, as their contents tell (OpenSSL says only
    "PEM lib")."""
    if exc.reason == "KEY_VALUES_MISMATCH":
        return (f"the key in {key or cert} is not the key of the certificate in {cert}; give "
                "the pair `ca issue` wrote together")  # fmt: skip

    def holds(path: str, marker: bytes) -> bool:
        try:
            with open(path, "rb") as fh:
                return marker in fh.read(1 << 20)
        except OSError:
            return False

    if not holds(cert, b"-----BEGIN CERTIFICATE-----"):
        return (f"{cert} holds no PEM certificate: --cert takes one, like the NAME.pem `ca "
                "issue NAME DIR` writes")  # fmt: skip
    if not holds(key or cert, b"PRIVATE KEY-----"):
        if key:
            return f"{key} holds no PEM private key: --key takes one, like NAME.key"
        return f"{cert} holds no private key: give its key file with --key F"
    return (f"OpenSSL can't use {cert}" + (f" with {key}" if key else "")
            + f" ({exc.reason or exc.strerror or exc})")  # fmt: skip


# -- a client's context -----------------------------------------------------------------


def client_context(ctx: Invocation) -> tuple[ssl.SSLContext, str]:
    """create_default_context, trusting the system's CAs and the session's test CA, or
    --cafile's instead; --insecure turns verification off and says so; then the client
    certificate and the pins."""
    import ssl

    from pslrepl.resources.calls import traced
    from pslrepl.testca import trust_session_ca

    values = ctx.values
    if values.get("server_hostname") == "":
        raise UsageError("tls: --server-hostname needs a name to check the certificate "
                         "against (and send as SNI), like localhost; leave it out to use "
                         "the address's host")  # fmt: skip
    cafile = values.get("cafile")
    if values.get("insecure") and cafile:
        raise UsageError("tls: --cafile and --insecure contradict each other; pick one")
    _check_pins(ctx)
    try:
        context = traced(ctx, "ssl.create_default_context", ssl.create_default_context,
                         cafile=cafile)  # fmt: skip
        ctx.name(context, "context")
    except ssl.SSLError as exc:  # an SSLError is an OSError too: this one first
        raise PslError(f"tls: no CA certificate in --cafile {cafile!r} "
                       f"({exc.reason or exc}): give PEM certificates, like the ca.pem "
                       "`ca export DIR` writes") from None  # fmt: skip
    except OSError as exc:
        from pslrepl.errors import describe_oserror

        raise PslError(f"tls: can't read --cafile {cafile!r}: {describe_oserror(exc)}") from None
    note = f"verified against {cafile}" if cafile else (
        "verified against the system CAs and the session's test CA")  # fmt: skip
    if not cafile:
        trust_session_ca(ctx, context)  # `ca export DIR` writes its PEM
    if values.get("insecure"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        ctx.record("SSLContext.check_hostname=", "False", on=context)
        ctx.record("SSLContext.verify_mode=", "ssl.CERT_NONE", on=context)
        note = "INSECURE: the certificate was not verified (--insecure)"
    if values.get("alpn"):
        context.set_alpn_protocols(values["alpn"])
        ctx.record("SSLContext.set_alpn_protocols", py_repr(list(values["alpn"])), on=context)
    load_identity(ctx, context)
    apply_pins(ctx, context)
    return _installed(ctx, context), note


# -- a server's context -----------------------------------------------------------------


def server_context(ctx: Invocation, *, what: str = "") -> tuple[ssl.SSLContext, str]:
    """A server's context: the session test CA's certificate for localhost (or --cert
    and --key), --verify-client trusting the session CA (or --client-ca), the pins."""
    import ssl

    from pslrepl.resources.calls import traced, traced_as
    from pslrepl.testca import named_ca, trust_session_ca

    values = ctx.values
    name = what or ctx.command.name
    verify = values.get("verify_client")
    client_ca = values.get("client_ca")
    if client_ca and not verify:
        raise UsageError(f"{name}: --client-ca is the CA --verify-client trusts; add "
                         "--verify-client required (or optional)")  # fmt: skip
    _check_pins(ctx)
    context = traced_as(ctx, "ssl.SSLContext", "ssl.PROTOCOL_TLS_SERVER", ssl.SSLContext,
                        ssl.PROTOCOL_TLS_SERVER)  # fmt: skip
    ctx.name(context, "context")
    subject = load_identity(ctx, context)
    if subject:
        note = f"server side, with {values['cert']} ({subject})"
    else:
        leaf = named_ca(ctx).server_cert
        leaf.configure_cert(context)
        ctx.record("LeafCert.configure_cert", "context", on=leaf)
        note = "server side, with the session test CA's certificate"
    if verify:
        context.verify_mode = ssl.CERT_REQUIRED if verify == "required" else ssl.CERT_OPTIONAL
        ctx.record("SSLContext.verify_mode=", f"ssl.{context.verify_mode.name}", on=context)
        if client_ca:
            try:
                traced(ctx, "SSLContext.load_verify_locations", context.load_verify_locations,
                       client_ca)  # fmt: skip
            except ssl.SSLError as exc:
                raise PslError(
                    f"{name}: no CA certificate in --client-ca {client_ca!r} "
                    f"({exc.reason or exc}): give PEM certificates"
                ) from None
            except OSError as exc:
                from pslrepl.errors import describe_oserror

                raise PslError(f"{name}: can't read --client-ca {client_ca!r}: "
                               f"{describe_oserror(exc)}") from None  # fmt: skip
            trusted = client_ca
        else:
            trust_session_ca(ctx, context)
            trusted = "the session's test CA"
        note += f"; client certificates {verify}, trusting {trusted}"
        mark(context, psl_trusted=trusted)
    apply_pins(ctx, context)
    return _installed(ctx, context), note
