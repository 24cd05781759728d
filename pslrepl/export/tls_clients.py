"""Exporters for TLS clients: tls connect (trusting the session's test CA, carried as PEM
text) and tls info."""

from __future__ import annotations

from pslrepl.export.common import address_of
from pslrepl.export.script import Unexportable, indented, wrapped_print

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord

VERIFIED = "verified against the system CAs and the session's test CA"


def _tls_connect(script: Script, record: CommandRecord) -> None:
    values = record.values
    name = values["name"]
    v = script.var(name)
    given = [k for k in ("cafile", "cert", "key", "session") if values.get(k)]
    if given:
        what = ", ".join(f"--{k.replace('_', '-')}" for k in given)
        script.not_exported(record, f"tls connect with {what} is not exported yet")
        return
    if script.tls is None:
        script.not_exported(record, "the session's test CA is gone: it can't be written")
        return
    timeout = values.get("timeout")
    timeout = script.timeout if timeout is None else float(timeout)
    target = address_of(script, str(values["addr"]), record)
    hostname = values.get("server_hostname")
    script.imp("socket", "ssl")
    script.use("addr")
    context = _own_context(script, record) or _client_context(script)
    host = repr(hostname) if hostname else f"{target}[0]"
    script.add(f"sock = socket.create_connection({target}, timeout={timeout:g})")
    script.add("try:")
    script.add(f"    {v} = {context}.wrap_socket(sock, server_hostname={host})")
    script.add("except ssl.SSLCertVerificationError as exc:")
    script.add("    sock.close()")
    script.add('    message = exc.verify_message.rstrip(".")')
    script.add(wrapped_print(f"error: {name}: certificate verification failed: {{message}}; "
                             "the connection is closed (--cafile FILE to trust another CA, "
                             "or --insecure)", f=True, indent="    "))  # fmt: skip
    script.add("else:")
    script.add(f"    {v}.settimeout(None)")
    script.add(indented(wrapped_print(f"{name}: TLS connected {{addr({v}.getsockname())}} "
                                      f"-> {{addr({v}.getpeername())}}", f=True)))  # fmt: skip
    note = INSECURE if values.get("insecure") else VERIFIED
    script.add(indented(wrapped_print(f"{{{v}.version()}}, {{{v}.cipher()[0]}}; {note}",
                                      f=True)))  # fmt: skip
    if values.get("ciphers"):  # the shell's note where TLS 1.3 chose its own suite
        said = wrapped_print(CIPHERS_NOTE, indent="        ")
        script.add(f'    if {v}.version() == "TLSv1.3":', said)
    if record.ok:
        script.kinds[name] = script.live[name] = "tcp"


def _client_context(script: Script) -> str:
    """The shell's clients' TLS context, made once: the system's CAs and the session's
    test CA (carried as PEM text). Its name."""
    assert script.tls is not None
    ca = script.constant("TEST_CA_PEM", script.tls["ca"])
    if "tls_client" not in script.globals:
        script.globals.add("tls_client")
        script.add("# The system's CAs and the session's test CA, as the shell's clients trust",
                   "tls_client = ssl.create_default_context()",
                   f"tls_client.load_verify_locations(cadata={ca})")  # fmt: skip
    return "tls_client"


INSECURE = "INSECURE: the certificate was not verified (--insecure)"
CIPHERS_NOTE = (
    "note: --ciphers chooses among TLS 1.2's ciphers; TLS 1.3 used a suite of its "
    "own (ssl can't choose those): add --max-version TLSv1.2 to use yours"
)


def _own_context(script: Script, record: CommandRecord) -> str:
    """A context of the connection's own where tls connect set one up (--insecure,
    --alpn, --min-version, --max-version, --ciphers), as the shell's: its name; else ''."""
    values = record.values
    if not any(values.get(k) for k in ("insecure", "alpn", "min_version", "max_version",
                                       "ciphers")):  # fmt: skip
        return ""
    if not record.ok:  # a handshake these refused says its own error: not written yet
        raise Unexportable("a tls connect with these options that failed is not exported yet")
    assert script.tls is not None
    ca = script.constant("TEST_CA_PEM", script.tls["ca"])
    name = script.var(f"{values['name']}_context")
    lines = [f"{name} = ssl.create_default_context()  # {values['name']}'s own, as tls connect's",
             f"{name}.load_verify_locations(cadata={ca})"]  # fmt: skip
    if values.get("insecure"):
        lines += [f"{name}.check_hostname = False", f"{name}.verify_mode = ssl.CERT_NONE"]
    if values.get("alpn"):
        lines.append(f"{name}.set_alpn_protocols({list(values['alpn'])!r})")
    for key, attr in (("min_version", "minimum_version"), ("max_version", "maximum_version")):
        if values.get(key):
            lines.append(f"{name}.{attr} = ssl.TLSVersion.{values[key].replace('.', '_')}")
    if values.get("ciphers"):
        lines.append(f"{name}.set_ciphers({values['ciphers']!r})")
    script.add(*lines)
    return name


def _tls_wrap(script: Script, record: CommandRecord) -> None:
    """tls wrap NAME (the client side): the open TCP socket wrapped, its handshake made
    (STARTTLS); the server side and the options are not exported yet."""
    from pslrepl.export.script import Unexportable

    values = record.values
    name = values["name"]
    given = [k for k in ("server", "cafile", "insecure", "cert", "key", "min_version",
                         "max_version", "ciphers", "session", "alpn", "verify_client",
                         "client_ca") if values.get(k)]  # fmt: skip
    if given:
        what = ", ".join(f"--{k.replace('_', '-')}" for k in given)
        raise Unexportable(f"tls wrap with {what} is not exported yet")
    if script.tls is None:
        raise Unexportable("the session's test CA is gone: it can't be written")
    v = script.var(name)
    script.imp("ssl")
    _client_context(script)
    hostname = values.get("server_hostname")
    host = repr(hostname) if hostname else f"{v}.getpeername()[0]"
    timeout = values.get("timeout")
    timeout = script.timeout if timeout is None else float(timeout)
    script.add(f"{v}.settimeout({timeout:g})  # the handshake's bound, as the shell's",
               f"{v} = tls_client.wrap_socket({v}, server_hostname={host})",
               f"{v}.settimeout(None)")  # fmt: skip
    script.add(wrapped_print(f"{name}: now TLS: {{{v}.version()}}, {{{v}.cipher()[0]}}",
                             f=True))  # fmt: skip


def _tls_unwrap(script: Script, record: CommandRecord) -> None:
    """tls unwrap NAME: close_notify sent and the peer's awaited; the plain socket goes on."""
    from pslrepl.export.script import Unexportable

    name = record.values["name"]
    if not record.ok:
        raise Unexportable("this tls unwrap failed in the session; what it said is not in "
                           "this script")  # fmt: skip
    v = script.var(name)
    timeout = record.values.get("timeout")
    timeout = script.timeout if timeout is None else float(timeout)
    script.add(f"{v}.settimeout({timeout:g})  # the peer's close_notify, awaited so long",
               f"{v} = {v}.unwrap()", f"{v}.settimeout(None)")  # fmt: skip
    script.add(wrapped_print(f"{name}: TLS ended (close_notify both ways): the connection "
                             "goes on as plain tcp"))  # fmt: skip


def _tls_info(script: Script, record: CommandRecord) -> None:
    name = record.values["name"]
    v = script.var(name)
    script.imp("hashlib")
    script.add(f"cert = {v}.getpeercert()", f"cipher = {v}.cipher()")
    script.add("", "", "def name_of(field):", '    """A certificate name as ssl gives it, '
               'as text."""', '    return ", ".join(f"{k}={v}" for rdn in field for k, v in rdn)',
               "", "")  # fmt: skip
    script.add("fields = [")
    script.add(f'    ("version", {v}.version()),')
    script.add('    ("cipher", f"{cipher[0]} ({cipher[2]} bits)"),')
    script.add(f'    ("alpn", {v}.selected_alpn_protocol() or "(none)"),')
    script.add(f'    ("server hostname", {v}.server_hostname),')
    script.add(f'    ("verified", "{VERIFIED}"),')
    script.add('    ("subject", name_of(cert["subject"])),')
    script.add('    ("issuer", name_of(cert["issuer"])),')
    script.add('    ("alt names", ", ".join(v for _, v in cert["subjectAltName"])),')
    script.add("""    ("valid", f"{cert['notBefore']} to {cert['notAfter']}"),""")
    script.add(
        f'    ("sha256", hashlib.sha256({v}.getpeercert(binary_form=True)).digest().hex(":")),'
    )
    script.add("]")
    script.add("for key, value in fields:", "    print(f\"{key + ':':<16} {value}\")")
    _tls_info_rest(script, record)


def _tls_info_rest(script: Script, record: CommandRecord) -> None:
    """tls info's lines past sha256: whether the session was reused, asked of the socket;
    the client certificate, the chain and the handshake's messages as the shell's trace
    of the handshake saw them (ssl gives a script no such trace)."""
    from pslrepl.export.looking import CALL, reprint
    from pslrepl.results import Fields, Styled

    v = script.var(record.values["name"])
    fields = next((r for r in record.shown if isinstance(r, Fields)), None)
    if fields is None:
        return reprint(script, record)  # says why it can't
    keys = [key for key, _ in fields.pairs]
    rest = fields.pairs[keys.index("sha256") + 1 :] if "sha256" in keys else []
    if not rest:
        return
    width = max(len(key) for key in keys)
    lines = []
    for key, value in rest:
        if key == "session reused":
            value = ("@" + CALL, f'"yes" if {v}.session_reused else "no"')
        lines.append(Styled((("key", f"{key + ':':<{width + 1}} "),
                             (value if isinstance(value, tuple) else ("", value)))))  # fmt: skip
    script.add("# The rest as the shell's trace of the handshake saw it (ssl gives a script "
               "none)")  # fmt: skip
    reprint(script, record, results=tuple(lines))


def _ca_show(script: Script, record: CommandRecord) -> None:
    """ca show: the test CA as the shell showed it, its fingerprint computed again from
    the PEM text the script carries."""
    from pslrepl.export.looking import CALL, reprint
    from pslrepl.export.script import Unexportable
    from pslrepl.results import Fields

    if script.tls is None:
        raise Unexportable("the session's test CA is gone: it can't be written")
    ca = script.constant("TEST_CA_PEM", script.tls["ca"])
    script.imp("hashlib", "ssl")
    results = []
    for result in record.shown:
        if isinstance(result, Fields):
            der = f"ssl.PEM_cert_to_DER_cert({ca})"
            result = Fields([(k, ("@" + CALL, f"hashlib.sha256({der}).digest().hex(':')"))
                             if k == "sha256" else (k, v) for k, v in result.pairs])  # fmt: skip
        results.append(result)
    script.add("# the test CA as the shell showed it; its fingerprint from the PEM text here")
    reprint(script, record, results=tuple(results))


def _ca_export(script: Script, record: CommandRecord) -> None:
    """ca export DIR: the test CA's certificate (public: 0644) written to DIR/ca.pem,
    never through a link planted there; its key is never written."""
    from pslrepl.export.script import Unexportable

    if script.tls is None or not record.ok:
        raise Unexportable("this ca export failed in the session, or its CA is gone")
    ca = script.constant("TEST_CA_PEM", script.tls["ca"])
    directory = str(record.values["dir"])
    path = directory.rstrip("/") + "/ca.pem"
    script.imp("os")
    script.add(f"os.makedirs({directory!r}, exist_ok=True)",
               "flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW",
               f"with os.fdopen(os.open({path!r}, flags, 0o644), \"w\") as fh:",
               f"    fh.write({ca})")  # fmt: skip
    script.add(wrapped_print(f"wrote {path}: curl --cacert {path} https://localhost:PORT/"))


EXPORTERS = {
    "ca show": _ca_show,
    "ca export": _ca_export,
    "tls connect": _tls_connect,
    "tls info": _tls_info,
    "tls wrap": _tls_wrap,
    "tls unwrap": _tls_unwrap,
}
