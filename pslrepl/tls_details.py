"""What `tls info` shows of a TLS connection: what the handshake settled, whom each side
is, the peer's whole chain, and whether a session was resumed."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SHARED_SHOWN = 5  # shared ciphers named before the rest are counted
VOLATILE_KEYS = ("sha256", "subject", "issuer", "client cert")


def keep_details(session: Any, res: Any, tls: Any, note: str, *, resumed_from: str = "") -> None:
    """What `tls info` shows, read once right after the handshake. The certificate's
    fingerprint and names differ from session to session (the test CA is new each time):
    transcripts write them as {NAME.sha256} and so on."""
    res.tls_note = note
    res.tls_details = describe_tls(tls, note, resumed_from=resumed_from)
    for key, value in res.tls_details:
        changes = key in VOLATILE_KEYS or key.startswith("chain")
        if changes and value and not value.startswith("("):
            session.volatile[f"{res.name}.{key.replace(' ', '_')}"] = value


def describe_tls(tls: Any, note: str, *, resumed_from: str = "") -> list[tuple[str, str]]:
    """What a TLS connection negotiated and whom it talks to, read right after the
    handshake (an SSLSocket can't tell once the peer has closed). ``tls`` is an SSLSocket
    or an SSLObject."""
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
    return pairs + handshake_fields(tls, resumed_from=resumed_from)


def handshake_fields(tls: Any, *, resumed_from: str = "") -> list[tuple[str, str]]:
    """What the trace of the handshake adds: resumption, the client certificate, the
    peer's chain as sent, the ciphers both sides share, the messages each side sent."""
    from pslrepl.tls_trace import CERTIFICATE, CERTIFICATE_REQUEST, certificates, trace_of

    pairs: list[tuple[str, str]] = []
    reused = bool(tls.session_reused)
    if reused:
        pairs.append(("session reused", f"yes ({resumed_from}'s session)" if resumed_from
                      else "yes"))  # fmt: skip
    elif resumed_from:
        pairs.append(("session reused", f"no: the server did not take {resumed_from}'s "
                      "session (a full handshake)"))  # fmt: skip
    else:
        pairs.append(("session reused", "no"))
    trace = trace_of(tls)
    if trace is None:
        return pairs
    theirs = certificates(trace.last(CERTIFICATE, out=False))
    server_side = tls.server_side
    asked = trace.last(CERTIFICATE_REQUEST, out=server_side) is not None
    if server_side:
        if theirs:
            verified = "verified" if tls.getpeercert() else "not verified"
            pairs.append(("client cert", f"{_subject(theirs[0])} ({verified})"))
        else:
            pairs.append(("client cert", "(none sent)" if asked else
                          "(none asked for: --verify-client asks)"))  # fmt: skip
    else:
        ours = certificates(trace.last(CERTIFICATE, out=True))
        if ours:
            pairs.append(("client cert", f"sent {_subject(ours[0])}"))
        elif asked:
            pairs.append(("client cert", "(the server asked; we had none: --cert F --key F)"))
        elif reused:
            pairs.append(("client cert", "(none asked for: a resumed session)"))
        else:
            pairs.append(("client cert", "(none: the server asked for none)"))
    for i, der in enumerate(theirs):
        pairs.append((f"chain {i}", f"{_subject(der)} (issuer {_issuer(der)})"))
    if not theirs and reused:
        pairs.append(("chain", "(none sent: a resumed session)"))
    if server_side:
        shared = [c[0] for c in tls.shared_ciphers() or ()]
        shown = ", ".join(shared[:SHARED_SHOWN])
        more = len(shared) - SHARED_SHOWN
        pairs.append(("shared ciphers", f"{len(shared)}: {shown}" +
                      (f" and {more} more" if more > 0 else "")))  # fmt: skip
    summary = trace.summary()
    if summary:
        pairs.append(("handshake", summary))
    return pairs


def _subject(der: bytes) -> str:
    from pslrepl.tls_trace import subject_of

    return subject_of(der)


def _issuer(der: bytes) -> str:
    from pslrepl.tls_trace import issuer_of

    return issuer_of(der)


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
