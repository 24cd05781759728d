"""The session's local test CA (trustme): it signs the certificate `serve --tls` uses."""

from __future__ import annotations

import ssl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.tls_resume import Remembered

SERVER_NAMES = ("localhost", "127.0.0.1", "::1")


class TestCA:
    """A certificate authority made for this session, and a server certificate from it
    for localhost, 127.0.0.1 and ::1. Nothing is written to disk unless exported. It
    holds the session's TLS state besides: the sessions of client connections, kept by
    name to be resumed (--session) after they close."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self) -> None:
        import trustme  # imported here: only TLS needs it

        self.ca: Any = trustme.CA(organization_name="pslrepl session test CA")
        self.server_cert: Any = self.ca.issue_cert(*SERVER_NAMES)
        self.sessions: dict[str, Remembered] = {}  # tls_resume's, oldest first

    def trust(self, context: ssl.SSLContext) -> None:
        self.ca.configure_trust(context)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_cert.configure_cert(context)
        return context

    def issue(self, name: str, names: tuple[str, ...]) -> tuple[bytes, bytes]:
        """A certificate for CN=NAME (and the host names, addresses or emails in
        ``names``) and its private key, both PEM. trustme's certificates serve either
        side: their extended key usage names client and server authentication."""
        leaf = self.ca.issue_cert(*names, common_name=name)
        return leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes()

    def pem(self) -> bytes:
        return bytes(self.ca.cert_pem.bytes())

    def summary(self) -> list[tuple[str, str]]:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes

        cert = x509.load_pem_x509_certificate(self.pem())
        leaf = x509.load_pem_x509_certificate(self.server_cert.cert_chain_pems[0].bytes())
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return [
            ("subject", cert.subject.rfc4514_string()),
            (
                "valid",
                f"{cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d}",
            ),
            ("sha256", cert.fingerprint(hashes.SHA256()).hex(":")),
            ("server cert for", ", ".join(str(n.value) for n in names)),
        ]


def session_ca(session: Any) -> TestCA:
    if session.test_ca is None:
        session.test_ca = TestCA()
    ca = session.test_ca
    assert isinstance(ca, TestCA)
    return ca


def named_ca(ctx: Invocation) -> TestCA:
    """The session's test CA for a command that calls it: its trustme objects are named
    ``ca`` and ``server_cert`` in the command's explain lines, and the command that made
    them shows the calls that did (so every later line that names them has them bound)."""
    from pslrepl.invocation import Shown

    made = ctx.session.test_ca is None
    ca = session_ca(ctx.session)
    ctx.name(ca.ca, "ca")
    ctx.name(ca.server_cert, "server_cert")
    if made:
        ctx.record("trustme.CA", "organization_name='pslrepl session test CA'",
                   Shown("<trustme.CA>", ca.ca))  # fmt: skip
        ctx.record("CA.issue_cert", ", ".join(repr(n) for n in SERVER_NAMES),
                   Shown("<trustme.LeafCert>", ca.server_cert), on=ca.ca)  # fmt: skip
    return ca


def trust_session_ca(ctx: Invocation, context: ssl.SSLContext) -> None:
    """``context`` trusts the session's test CA: trustme's CA.configure_trust, recorded."""
    ca = named_ca(ctx)
    ca.trust(context)
    ctx.record("CA.configure_trust", "context", on=ca.ca)
