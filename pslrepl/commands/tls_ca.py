"""The session's test CA (trustme): show it, export it, issue certificates from it."""

from __future__ import annotations

import errno
import os
import re

from pslrepl.commands.groups import TLS
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import PslError, UsageError
from pslrepl.invocation import Shown
from pslrepl.kinds import PATH
from pslrepl.results import Fields

COMMANDS = Commands(TLS)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import Invocation

# A certificate's NAME is its subject's CN, its files' names and, for a client, its DNS
# name: so letters, digits, '-' and '.' (no '/', no '_', which DNS names can't hold).
CERT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,62}")


@COMMANDS.command(
    "ca show",
    "the session's local test CA (trustme)",
    calls=("trustme.CA",),
    examples=("ca show",),
)
def _ca_show(ctx: Invocation) -> None:
    from pslrepl.testca import session_ca

    ctx.emit(Fields(session_ca(ctx.session).summary()))  # type: ignore[arg-type]
    ctx.say("`ca export DIR` writes DIR/ca.pem for curl --cacert and openssl -CAfile; "
            "`ca issue NAME DIR` a certificate and key", "notice")  # fmt: skip


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


@COMMANDS.command(
    "ca issue",
    "a certificate and key from the test CA: DIR/NAME.pem and DIR/NAME.key (0600)",
    args=(Arg("NAME"), Arg("DIR", PATH)),
    opts=(
        Opt("--client", "for a client (its name: NAME), to present with --cert and --key"),
        Opt(
            "--san",
            "a host name, address or email it is for (default: NAME for a "
            "client; localhost, 127.0.0.1 and ::1 for a server)",
            "HOST",
            repeat=True,
        ),
    ),
    calls=("trustme.CA.issue_cert",),
    examples=("ca issue alice --client certs", "ca issue web certs --san localhost --san ::1"),
    details="The subject is CN=NAME. Both files are written 0600, never through a "
    "symbolic link. `tls connect ... --cert DIR/NAME.pem --key DIR/NAME.key` presents a "
    "client certificate, and so does `openssl s_client -cert ... -key ...`; `serve --tls "
    "--cert ... --key ...` serves a server certificate. Anything that trusts the session's "
    "CA (`ca export DIR`) trusts them.",
)
def _ca_issue(ctx: Invocation) -> None:
    from pslrepl.testca import SERVER_NAMES, session_ca
    from pslrepl.tls_files import check_writable, write_private

    name, directory = ctx["name"], ctx["dir"]
    if not CERT_NAME.fullmatch(name):
        raise UsageError(f"ca issue: {name!r} can't name a certificate: NAME is its CN and its "
                         "files' name, so letters, digits, '-' and '.', like alice")  # fmt: skip
    if not directory:
        raise UsageError("ca issue: give a directory, like certs (it is made if need be)")
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise PslError(
            f"ca issue: {directory!r} is a file, not a directory: give a directory "
            f"(it is made if need be); {name}.pem and {name}.key are written in it"
        )
    client = bool(ctx["client"])
    names = tuple(ctx["san"]) or ((name,) if client else SERVER_NAMES)
    try:
        cert, key = session_ca(ctx.session).issue(name, names)
    except (ValueError, UnicodeError) as exc:
        raise UsageError(
            f"ca issue: a --san is a host name, an IP address or an email; "
            f"{', '.join(names)} has one that is none of those ({exc})"
        ) from None
    # Recorded by hand: the call's result holds the private key, never shown.
    ctx.record("trustme.CA.issue_cert", ", ".join(map(repr, (*names,)))
               + f", common_name={name!r}", Shown("<trustme.LeafCert>"))  # fmt: skip
    # Both paths checked before either is written: a refusal leaves no half pair.
    replaced = [f for f in (f"{name}.pem", f"{name}.key")
                if check_writable(directory, f, what="ca issue")]  # fmt: skip
    # The key first: a certificate without its key is no use, a key alone harms nothing.
    key_path = write_private(directory, f"{name}.key", key, what="ca issue", make=True)
    cert_path = write_private(directory, f"{name}.pem", cert, what="ca issue", make=True)
    side = "a client" if client else "a server"
    ctx.say(f"wrote {cert_path} and {key_path} (0600): CN={name}, for {side}: "
            f"{', '.join(names)}")  # fmt: skip
    if replaced:
        ctx.say(f"replaced what was there: {', '.join(replaced)}", "warning")
    if client:
        use = f"tls connect NAME ADDR --cert {cert_path} --key {key_path}"
    else:
        use = f"serve NAME tcp PORT --tls --cert {cert_path} --key {key_path}"
    ctx.say(f"use: {use}", "notice")
