"""Why a TLS handshake failed, said as which side refused and why, in the alert's words."""

from __future__ import annotations

from pslrepl.tls_trace import (
    ALERT,
    CERTIFICATE,
    CERTIFICATE_ALERTS,
    CERTIFICATE_REQUEST,
    CLIENT_HELLO,
    SERVER_HELLO,
    Trace,
    alert_words,
    certificates,
    offered_versions,
    wire_version,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PROTOCOL_VERSION, HANDSHAKE_FAILURE, INSUFFICIENT_SECURITY = 70, 40, 71
CERTIFICATE_REQUIRED, UNRECOGNIZED_NAME, NO_APPLICATION_PROTOCOL = 116, 112, 120
UNKNOWN_CA, CLOSE_NOTIFY = 48, 0


def version_range(context: Any) -> str:
    """What our side allows, as the pins set it: 'we allow up to TLSv1.2'."""
    import ssl

    low, high = context.minimum_version, context.maximum_version
    pinned_low = low not in (ssl.TLSVersion.MINIMUM_SUPPORTED, ssl.TLSVersion.TLSv1_2)
    pinned_high = high != ssl.TLSVersion.MAXIMUM_SUPPORTED
    name = {v: v.name.replace("_", ".") for v in ssl.TLSVersion}
    if pinned_high and pinned_low:
        if low == high:
            return f"we allow only {name[low]}"
        return f"we allow {name[low]} to {name[high]}"
    if pinned_high:
        return f"we allow up to {name[high]}"
    if pinned_low:
        return f"we require {name[low]}" + ("" if low == ssl.TLSVersion.TLSv1_3 else " or later")
    return "we allow TLSv1.2 and TLSv1.3"


def refusal(trace: Trace | None, exc: BaseException, context: Any, *,
            server_side: bool) -> str | None:  # fmt: skip
    """The reason a handshake ended, from the alert either side sent; None when no alert
    was seen (a peer that closed, or spoke no TLS: the caller says that)."""
    if trace is None:
        return None
    alert = trace.alert()
    if alert is None:
        return None
    code, words = alert.mtype, alert_words(alert.mtype)
    peer = "client" if server_side else "server"
    if not alert.out:
        return _they_refused(trace, code, words, peer, context, server_side)
    return _we_refused(trace, exc, code, words, peer, context, server_side)


def _they_refused(trace: Trace, code: int, words: str, peer: str, context: Any,
                  server_side: bool) -> str:  # fmt: skip
    said = f"alert: {words}"
    asked = trace.last(CERTIFICATE_REQUEST, out=False) is not None
    ours = certificates(trace.last(CERTIFICATE, out=True))
    if not server_side and asked and not ours and code in (CERTIFICATE_REQUIRED,
                                                           HANDSHAKE_FAILURE, 42):  # fmt: skip
        return (f"the server wants a client certificate ({said}); --cert F --key F gives it "
                "one (`ca issue NAME --client DIR` makes one)")  # fmt: skip
    if code == CERTIFICATE_REQUIRED:
        return f"the {peer} wants a certificate ({said})"
    if code == PROTOCOL_VERSION:
        theirs = _their_versions(trace, context, server_side)
        return f"no TLS version both sides accept ({version_range(context)}; {theirs}; {said})"
    if code in CERTIFICATE_ALERTS:
        whose = "our client certificate" if not server_side else "our certificate"
        why = ": it does not trust the CA that signed it" if code == UNKNOWN_CA else ""
        hint = ("; `ca export DIR` writes the session CA for it to trust"
                if server_side and code == UNKNOWN_CA else "")  # fmt: skip
        return f"the {peer} does not accept {whose} ({said}){why}{hint}"
    if code in (HANDSHAKE_FAILURE, INSUFFICIENT_SECURITY):
        hint = "; check --ciphers" if getattr(context, "psl_ciphers", "") else ""
        return f"no cipher or parameters both sides accept ({said}){hint}"
    if code == UNRECOGNIZED_NAME:
        return f"the server does not answer to the name we asked for (SNI; {said})"
    if code == NO_APPLICATION_PROTOCOL:
        return f"no ALPN protocol both sides speak ({said})"
    if code == CLOSE_NOTIFY:
        return f"the {peer} ended TLS before the handshake finished ({said})"
    return f"the {peer} refused the handshake ({said})"


def _we_refused(trace: Trace, exc: BaseException, code: int, words: str, peer: str,
                context: Any, server_side: bool) -> str:  # fmt: skip
    said = f"we sent alert: {words}"
    reason = str(getattr(exc, "reason", "") or "")
    verify = (getattr(exc, "verify_message", "") or "").rstrip(".")
    asked = trace.last(CERTIFICATE_REQUEST, out=True) is not None
    sent = trace.last(CERTIFICATE, out=False)
    none_sent = asked and (sent is None or not certificates(sent))
    no_certificate = (code == CERTIFICATE_REQUIRED or (none_sent and code == HANDSHAKE_FAILURE)
                      or reason == "PEER_DID_NOT_RETURN_A_CERTIFICATE")  # fmt: skip
    if server_side and no_certificate:
        return (f"the client sent no certificate, and --verify-client required wants one "
                f"({said})")  # fmt: skip
    if code in CERTIFICATE_ALERTS or verify:
        whose = "the client's certificate" if server_side else "the server's certificate"
        hint = ("; --client-ca F trusts another CA" if server_side else
                "; --cafile F trusts another CA")  # fmt: skip
        return f"{whose} failed verification: {verify or words} ({said}){hint}"
    if code == PROTOCOL_VERSION:
        if server_side:
            offered = offered_versions(trace.last(CLIENT_HELLO, out=False))
            theirs = (f"the client offers {' and '.join(offered)}" if offered
                      else "the client offers none of them")  # fmt: skip
        else:
            hello = trace.last(SERVER_HELLO, out=False)
            chose = wire_version(hello.data[4:6]) if hello is not None else "another"
            theirs = f"the server chose {chose}"
        return f"no TLS version both sides accept ({version_range(context)}; {theirs}; {said})"
    if code in (HANDSHAKE_FAILURE, INSUFFICIENT_SECURITY):
        what = "no cipher" if "CIPHER" in reason else "no cipher or parameters"
        hint = "; check --ciphers" if getattr(context, "psl_ciphers", "") else ""
        return f"{what} both sides accept ({reason or words}; {said}){hint}"
    return f"we refused the {peer}'s handshake ({reason or words}; {said})"


def _their_versions(trace: Trace, context: Any, server_side: bool) -> str:
    """What the peer takes, as far as its refusal tells."""
    import ssl

    if server_side:
        offered = offered_versions(trace.last(CLIENT_HELLO, out=False))
        return f"the client offers {' and '.join(offered)}" if offered else "the client refused"
    if context.maximum_version not in (ssl.TLSVersion.MAXIMUM_SUPPORTED, ssl.TLSVersion.TLSv1_3):
        return "the server requires TLSv1.3"
    if context.minimum_version == ssl.TLSVersion.TLSv1_3:
        return "the server does not take TLSv1.3"
    return "the server takes none of them"


def alerts_in(trace: Trace | None) -> list[tuple[bool, str]]:
    """Every alert in a trace: (sent by us, its words)."""
    if trace is None:
        return []
    return [(e.out, alert_words(e.mtype)) for e in trace.entries if e.ctype == ALERT]
