"""The options TLS commands share: a certificate to present, version and cipher pins,
and what a server asks of its clients."""

from __future__ import annotations

from pslrepl.commandspec import Opt
from pslrepl.kinds import PATH, Choice
from pslrepl.tls_resume import SESSION_OF

VERSION = Choice(("TLSv1.2", "TLSv1.3"))

CERT = Opt("--cert", "this side's certificate (PEM: `ca issue`)", "F", kind=PATH)
KEY = Opt("--key", "its key, if not in --cert's file", "F", kind=PATH)
MIN_VERSION = Opt("--min-version", "the oldest TLS version to take", "V", kind=VERSION)
MAX_VERSION = Opt("--max-version", "the newest TLS version to take", "V", kind=VERSION)
CIPHERS = Opt("--ciphers", "OpenSSL's cipher list (TLS 1.2; 1.3's are fixed)", "SPEC")
PINS = (MIN_VERSION, MAX_VERSION, CIPHERS)
SESSION = Opt("--session", "resume OTHER's session (SSLSocket.session): a TLS connection's, "
              "live or closed", "OTHER", kind=SESSION_OF)  # fmt: skip
VERIFY_CLIENT = Opt("--verify-client", "ask clients for a certificate", "MODE",
                    kind=Choice(("required", "optional")))  # fmt: skip
CLIENT_CA = Opt("--client-ca", "trust clients' CA file, not the test CA", "F", kind=PATH)
SERVER_SIDE = (VERIFY_CLIENT, CLIENT_CA)
