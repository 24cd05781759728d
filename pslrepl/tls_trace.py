"""What a TLS connection's handshake said, record by record, as ssl's message callback
reports it: the records, the handshake messages and alerts inside them, in order."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

# Content types (RFC 8446 5.1), and the two ssl's callback adds for a record's header
# and for the true type hidden inside a TLS 1.3 encrypted record.
CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA = 20, 21, 22, 23
HEADER, INNER = 256, 257
RECORD_TYPES = {
    CHANGE_CIPHER_SPEC: "change_cipher_spec",
    ALERT: "alert",
    HANDSHAKE: "handshake",
    APPLICATION_DATA: "application_data",
}

# Handshake message types (RFC 8446 4, RFC 5246 7.4), by the names the RFCs give them.
MESSAGES = {
    0: "HelloRequest", 1: "ClientHello", 2: "ServerHello", 4: "NewSessionTicket",
    5: "EndOfEarlyData", 8: "EncryptedExtensions", 11: "Certificate",
    12: "ServerKeyExchange", 13: "CertificateRequest", 14: "ServerHelloDone",
    15: "CertificateVerify", 16: "ClientKeyExchange", 20: "Finished", 22: "CertificateStatus",
    24: "KeyUpdate", 254: "message_hash",
}  # fmt: skip
CLIENT_HELLO, SERVER_HELLO, NEW_SESSION_TICKET, CERTIFICATE = 1, 2, 4, 11
CERTIFICATE_REQUEST, FINISHED = 13, 20

# Alert descriptions (RFC 8446 6), in OpenSSL's words: "alert certificate required".
ALERTS = {
    0: "close notify", 10: "unexpected message", 20: "bad record mac", 22: "record overflow",
    40: "handshake failure", 42: "bad certificate", 43: "unsupported certificate",
    44: "certificate revoked", 45: "certificate expired", 46: "certificate unknown",
    47: "illegal parameter", 48: "unknown ca", 49: "access denied", 50: "decode error",
    51: "decrypt error", 70: "protocol version", 71: "insufficient security",
    80: "internal error", 86: "inappropriate fallback", 90: "user canceled",
    109: "missing extension", 110: "unsupported extension", 112: "unrecognized name",
    113: "bad certificate status response", 115: "unknown psk identity",
    116: "certificate required", 120: "no application protocol",
}  # fmt: skip
CERTIFICATE_ALERTS = frozenset({42, 43, 44, 45, 46, 48, 49})

# Protocol versions as they travel (two bytes), and as ssl names them.
WIRE_VERSIONS = {0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2",
                 0x0304: "TLSv1.3"}  # fmt: skip

MAX_ENTRIES = 2000  # a connection's trace past this keeps its alerts only
KEEP_WHOLE = frozenset({CLIENT_HELLO, SERVER_HELLO, CERTIFICATE, CERTIFICATE_REQUEST})
MAX_KEPT = 65536  # bytes kept of a message (a certificate chain)


def alert_words(code: int) -> str:
    return ALERTS.get(code, f"alert {code}")


def message_name(code: int) -> str:
    return MESSAGES.get(code, f"message {code}")


def wire_version(raw: bytes) -> str:
    """A record's or hello's two version bytes as a name: 03 03 is TLS 1.2's number."""
    if len(raw) < 2:
        return "?"
    return WIRE_VERSIONS.get(int.from_bytes(raw[:2], "big"), raw[:2].hex())


class Entry:
    """One thing the callback reported: a record header, a message, an alert."""

    __slots__ = ("out", "ctype", "mtype", "size", "data")

    def __init__(self, out: bool, ctype: int, mtype: int, size: int, data: bytes) -> None:
        self.out = out  # written by this side (else read from the peer)
        self.ctype = ctype
        self.mtype = mtype
        self.size = size
        self.data = data


class Record:
    """A TLS record as it traveled: its header, and what was inside it."""

    __slots__ = ("out", "rtype", "version", "length", "inner", "messages", "sealed")

    def __init__(self, out: bool, header: bytes) -> None:
        self.out = out
        self.rtype = header[0] if header else 0
        self.version = wire_version(header[1:3])
        self.length = int.from_bytes(header[3:5], "big") if len(header) >= 5 else 0
        self.inner = 0  # TLS 1.3: the content type hidden inside an encrypted record
        self.messages: list[Entry] = []
        # TLS 1.2: after this side's ChangeCipherSpec its records are encrypted, though
        # their header still says handshake (Finished) or alert.
        self.sealed = False

    @property
    def size(self) -> int:
        """On the wire: the 5-byte header and the body."""
        return 5 + self.length

    def contents(self) -> str:
        """What was inside, as a class reads it: ClientHello (512), or encrypted: ..."""
        parts = []
        for m in self.messages:
            if m.ctype == HANDSHAKE:
                parts.append(f"{message_name(m.mtype)} ({m.size})")
            elif m.ctype == ALERT:
                level = "fatal" if m.data[:1] == b"\x02" else "warning"
                parts.append(f"alert: {alert_words(m.mtype)} ({level})")
            elif m.ctype == CHANGE_CIPHER_SPEC:
                parts.append("ChangeCipherSpec (1)")
        if not parts:
            inner = self.inner or self.rtype
            if inner == APPLICATION_DATA:
                parts.append("application data")
            elif inner == CHANGE_CIPHER_SPEC:
                parts.append("ChangeCipherSpec (1)")
            else:
                parts.append(RECORD_TYPES.get(inner, f"type {inner}"))
        text = ", ".join(parts)
        if self.inner or self.sealed:  # TLS 1.3 hides all but the first hellos
            return f"encrypted: {text}"
        return text


class Trace:
    """Everything one connection's callback reported, in order (bounded)."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.dropped = 0

    def add(self, out: bool, ctype: int, mtype: int, data: bytes) -> Entry | None:
        if len(self.entries) >= MAX_ENTRIES and ctype != ALERT:
            self.dropped += 1
            return None
        keep = b""
        if ctype in (HEADER, INNER, ALERT):
            keep = bytes(data[:5])
        elif ctype == HANDSHAKE:
            keep = bytes(data[:MAX_KEPT] if mtype in KEEP_WHOLE else data[:8])
        entry = Entry(out, ctype, mtype, len(data), keep)
        self.entries.append(entry)
        return entry

    # -- reading it back ----------------------------------------------------------------

    def records(self, start: int = 0) -> list[Record]:
        """The records from entry ``start`` on, each with the messages inside it."""
        records: list[Record] = []
        current: dict[bool, Record] = {}
        # Whether each side had sent ChangeCipherSpec before ``start`` (TLS 1.2).
        ccs = {out: any(e.ctype == HEADER and e.out == out and e.data[:1] == b"\x14"
                        for e in self.entries[:start]) for out in (True, False)}  # fmt: skip
        for e in self.entries[start:]:
            if e.ctype == HEADER:
                rec = Record(e.out, e.data)
                rec.sealed = ccs[e.out] and rec.rtype in (HANDSHAKE, ALERT)
                if rec.rtype == CHANGE_CIPHER_SPEC:
                    ccs[e.out] = True
                current[e.out] = rec
                records.append(rec)
            elif e.out in current:
                rec = current[e.out]
                if e.ctype == INNER:
                    rec.inner = e.data[0] if e.data else 0
                else:
                    rec.messages.append(e)
        return records

    def messages(self, *, out: bool | None = None) -> Iterator[Entry]:
        for e in self.entries:
            if e.ctype == HANDSHAKE and (out is None or e.out == out):
                yield e

    def last(self, mtype: int, *, out: bool) -> Entry | None:
        found = None
        for e in self.messages(out=out):
            if e.mtype == mtype:
                found = e
        return found

    def alert(self) -> Entry | None:
        """The last alert either side sent that was not close_notify... or close_notify
        itself when it is the only one."""
        alerts = [e for e in self.entries if e.ctype == ALERT]
        serious = [e for e in alerts if e.mtype != 0]
        found = serious or alerts
        return found[-1] if found else None

    def summary(self) -> str:
        """The handshake in a line: who sent which messages, in turn."""
        turns: list[tuple[bool, list[str]]] = []
        for e in self.messages():
            if e.mtype in (NEW_SESSION_TICKET, 24):
                continue  # after the handshake: not part of its flights
            if not turns or turns[-1][0] != e.out:
                turns.append((e.out, []))
            turns[-1][1].append(message_name(e.mtype))
        return "; ".join(f"{'out' if out else 'in'} {', '.join(names)}" for out, names in turns)

    def tickets(self) -> int:
        return sum(1 for e in self.messages(out=False) if e.mtype == NEW_SESSION_TICKET)


def trace_of(conn: Any) -> Trace | None:
    """The trace an SSLSocket or SSLObject gathered (None if its context had no callback)."""
    trace = getattr(conn, "psl_trace", None)
    return trace if isinstance(trace, Trace) else None


# -- what the messages say ------------------------------------------------------------


def certificates(message: Entry | None) -> list[bytes]:
    """The DER certificates in a Certificate message, leaf first (TLS 1.2 or 1.3 layout;
    in 1.3 each certificate has extensions after it and the list a context before it)."""
    if message is None:
        return []
    data = message.data[4:]
    for tls13 in (True, False):
        pos = 0
        if tls13:
            if not data:
                continue
            pos = 1 + data[0]
        found = _certificate_list(data, pos, tls13)
        if found is not None:
            return found
    return []


def _certificate_list(data: bytes, pos: int, tls13: bool) -> list[bytes] | None:
    if len(data) < pos + 3:
        return None
    total = int.from_bytes(data[pos : pos + 3], "big")
    pos += 3
    end = pos + total
    if end != len(data):
        return None
    found = []
    while pos < end:
        if pos + 3 > end:
            return None
        size = int.from_bytes(data[pos : pos + 3], "big")
        pos += 3
        found.append(data[pos : pos + size])
        pos += size
        if tls13:
            if pos + 2 > end:
                return None
            pos += 2 + int.from_bytes(data[pos : pos + 2], "big")
    return found if pos == end else None


def offered_versions(hello: Entry | None) -> list[str]:
    """The versions a ClientHello offers: its supported_versions extension (TLS 1.3's
    way), else the one legacy_version names."""
    if hello is None or len(hello.data) < 6:
        return []
    data = hello.data[4:]
    legacy = [wire_version(data[0:2])]
    try:
        pos = 2 + 32  # version, random
        pos += 1 + data[pos]  # session id
        pos += 2 + int.from_bytes(data[pos : pos + 2], "big")  # cipher suites
        pos += 1 + data[pos]  # compression methods
        end = pos + 2 + int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        while pos + 4 <= end:
            kind = int.from_bytes(data[pos : pos + 2], "big")
            size = int.from_bytes(data[pos + 2 : pos + 4], "big")
            body = data[pos + 4 : pos + 4 + size]
            if kind == 43 and body:  # supported_versions (GREASE values left out)
                codes = [int.from_bytes(body[i : i + 2], "big") for i in range(1, 1 + body[0], 2)]
                return [WIRE_VERSIONS[c] for c in codes if c in WIRE_VERSIONS]
            pos += 4 + size
    except IndexError:
        pass
    return legacy


def client_random(hello: Entry | None) -> str:
    """A ClientHello's 32 random bytes, hex: what a key log names the connection by."""
    if hello is None or len(hello.data) < 4 + 2 + 32:
        return ""
    return hello.data[6:38].hex()


def subject_of(der: bytes) -> str:
    """A certificate's subject in RFC 4514 form (cryptography, which trustme brings)."""
    from cryptography import x509

    try:
        return x509.load_der_x509_certificate(der).subject.rfc4514_string()
    except ValueError:
        return "(a certificate that can't be decoded)"


def issuer_of(der: bytes) -> str:
    from cryptography import x509

    try:
        return x509.load_der_x509_certificate(der).issuer.rfc4514_string()
    except ValueError:
        return "?"
