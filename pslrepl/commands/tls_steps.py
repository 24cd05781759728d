"""The TLS handshake one flight at a time, with no socket: `tls bio` makes an SSLObject over
two MemoryBIOs, `tls step` runs it until it needs the peer, `tls pass` carries the
records over; `tls write` and `tls read` carry data once it is done."""

from __future__ import annotations

import re

from pslrepl.commands.groups import TLS
from pslrepl.commands.options import FILE_IN, HEX_IN, SHOW_HEX, SHOW_REPR
from pslrepl.commands.tls_options import CERT, KEY, PINS, SERVER_SIDE
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import PslError, UsageError
from pslrepl.kinds import DATA, NEW, ResourceOf
from pslrepl.results import Output, Styled, Table, volatile

COMMANDS = Commands(TLS)
BIO = ResourceOf("tls-bio")
HEAD = 16  # bytes of each record the hexdump shows, unless --full: its header and more

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import Invocation
    from pslrepl.results import Cell
    from pslrepl.tls_bio import TlsBio
    from pslrepl.tls_trace import Record

PAIR = ("tls bio c", "tls bio s --server")


def _bio(ctx: Invocation, key: str = "name") -> TlsBio:
    from pslrepl.tls_bio import TlsBio

    res = ctx[key]
    assert isinstance(res, TlsBio)
    return res


def _peer(res: TlsBio) -> str:
    """The other side, when the session has exactly one of the other side: for hints."""
    from pslrepl.tls_bio import TlsBio

    others = [r.name for r in res.session.registry if isinstance(r, TlsBio)
              and r.server_side != res.server_side and not r.closed]  # fmt: skip
    return others[0] if len(others) == 1 else "PEER"


@COMMANDS.command(
    "tls bio",
    "a TLS endpoint with no socket: an SSLObject over two MemoryBIOs, to step by hand",
    args=(Arg("NAME", NEW),),
    opts=(
        Opt("--server", "be the server side (the session test CA's certificate, or --cert)"),
        Opt("--server-hostname", "the name the client verifies (default: localhost)", "H"),
        CERT,
        KEY,
        *PINS,
        *SERVER_SIDE,
    ),
    calls=("ssl.MemoryBIO", "SSLContext.wrap_bio"),
    examples=PAIR,
    details="Nothing is sent anywhere: `tls step NAME` runs the handshake until it needs "
    "the peer and shows the records it wrote, `tls pass FROM TO` hands them over. The "
    "client trusts the session's test CA; the server presents its certificate.",
)
def _tls_bio(ctx: Invocation) -> None:
    from pslrepl.commands.tls import side_options
    from pslrepl.tls_bio import TlsBio
    from pslrepl.tls_contexts import client_context, server_context

    server = bool(ctx["server"])
    side_options(ctx, server=server)
    if server:
        context, note = server_context(ctx)
        hostname = None
    else:
        context, note = client_context(ctx)
        hostname = ctx["server_hostname"] or "localhost"
    res = TlsBio(ctx.session, ctx["name"], context, note, server_side=server, hostname=hostname)
    ctx.record("SSLContext.wrap_bio", f"ssl.MemoryBIO(), ssl.MemoryBIO(), server_side={server}"
               + ("" if server else f", server_hostname={hostname!r}"), res.tls)  # fmt: skip
    ctx.session.registry.add(res)
    first = f"tls step {res.name}" if not server else f"tls step {_peer(res)}, then tls pass"
    ctx.emit(Styled((("name", res.name), ("", f": SSLObject over two MemoryBIOs, {res.side}; "
                     f"nothing sent yet ({first})"))))  # fmt: skip


def _records_table(records: list[Record]) -> Table:
    rows: list[list[Cell]] = [
        ["out" if r.out else "in", _record_name(r), r.version,
         volatile(str(r.length), "size"), volatile(r.contents(), "inside")]
        for r in records
    ]  # fmt: skip
    return Table(("DIR", "RECORD", "VERSION", "LENGTH", "INSIDE"), rows)


def _sized(text: str) -> tuple[tuple[str, str], ...]:
    """Text whose byte and record counts are written to a recording as {size}: key
    shares, certificates and signatures differ in length from run to run."""
    parts: list[tuple[str, str]] = []
    last = 0
    for m in re.finditer(r"\d+(?= bytes| records?\b)|(?<=\()\d+(?=\))", text):
        parts.append(("", text[last : m.start()]))
        parts.append(volatile(m.group(), "size"))
        last = m.end()
    parts.append(("", text[last:]))
    return tuple(p for p in parts if p[1])


def _record_name(record: Record) -> str:
    from pslrepl.tls_trace import RECORD_TYPES

    return RECORD_TYPES.get(record.rtype, str(record.rtype))


def _hexdump(records: list[Record], written: bytes, *, full: bool) -> list[Styled]:
    """The bytes written, record by record: each one's first HEAD bytes (its 5-byte
    header and the start of what it holds), or all of it with --full."""
    from pslrepl.render import hexdump

    lines: list[str] = []
    pos = 0
    for record in (r for r in records if r.out):
        chunk = written[pos : pos + record.size]
        shown = chunk if full else chunk[:HEAD]
        for line in hexdump(shown)[:-1]:
            if line == "*":
                lines.append(line)
                continue
            offset = int(line[:8], 16) + pos
            lines.append(f"{offset:08x}{line[8:]}")
        pos += record.size
    if lines:
        lines.append(f"{len(written):08x}")
    # Randoms, key shares and ciphertext differ on every run: a recording writes each
    # row as the shape of a hexdump row ({hexrow}), so `--check` replays it.
    return [Styled((volatile(line, "hexrow"),)) for line in lines]


def _show(ctx: Invocation, records: list[Record], written: bytes, *, full: bool) -> None:
    if records:
        ctx.emit(_records_table(records))
    for text in _hexdump(records, written, full=full):
        ctx.emit(text)


def _failed(ctx: Invocation, res: TlsBio, exc: Exception) -> PslError:
    from pslrepl.tls_handshake import refused

    error = refused(res.name, exc, res.tls.context, res.tls, server_side=res.server_side)
    res.failed = str(error).partition(": ")[2].removesuffix("; the connection is closed")
    hint = f"; its alert waits to be passed: tls pass {res.name} {_peer(res)}" if res.outbox else ""
    return PslError(f"{res.name}: {res.failed}{hint}")


@COMMANDS.command(
    "tls step",
    "run a tls bio's handshake until it needs the peer; show the records it read and wrote",
    args=(Arg("NAME", BIO),),
    opts=(Opt("--full", "hexdump every byte written, not each record's first 16"),),
    calls=("SSLObject.do_handshake", "MemoryBIO.read"),
    examples=("tls step c",),
    setup=PAIR,
    details="A TLS 1.3 handshake takes four steps: the client's ClientHello, the server's "
    "whole flight (ServerHello, then encrypted: EncryptedExtensions, Certificate, "
    "CertificateVerify, Finished), the client's Finished, and the server reading it (and "
    "writing its session tickets).",
)
def _tls_step(ctx: Invocation) -> None:
    import ssl

    from pslrepl.resources.calls import traced

    res = _bio(ctx)
    if res.failed:
        raise PslError(f"{res.name}: its handshake failed ({res.failed}): `tls bio` makes a "
                       "new one")  # fmt: skip
    if res.done:
        waiting = res.incoming.pending
        ctx.emit(
            Styled(
                (
                    ("name", res.name),
                    (
                        "",
                        f": the handshake is done ({res.tls.version()}): "
                        f"tls write {res.name} DATA and tls read {res.name} carry data now"
                        + (f"; {waiting} bytes came: tls read {res.name}" if waiting else ""),
                    ),
                )
            )
        )
        return
    res.steps += 1
    error = None
    try:
        traced(ctx, "SSLObject.do_handshake", res.tls.do_handshake)
        res.done = True
    except ssl.SSLWantReadError:
        pass  # it needs the peer's records
    except ssl.SSLError as exc:
        error = exc
    written = res.take_written()
    ctx.record("MemoryBIO.read", "", written)  # the outgoing BIO: what to pass
    records = res.new_records()
    _show(ctx, records, written, full=ctx["full"])
    if error is not None:
        raise _failed(ctx, res, error)
    peer = _peer(res)
    out = [r for r in records if r.out]
    wrote = f"wrote {len(out)} record{'s' if len(out) != 1 else ''} ({len(written)} bytes)"
    if res.done:
        said = f"handshake done: {res.tls.version()}, {(res.tls.cipher() or ('?',))[0]}"
        tickets = sum(1 for r in out for m in r.messages if m.mtype == 4 and m.ctype == 22)
        if tickets and tickets == len(out):
            said += (f"; it wrote {tickets} session ticket{'s' if tickets != 1 else ''} "
                     f"({len(written)} bytes) that the client's first read meets")  # fmt: skip
        elif written:
            said += f"; it {wrote}"
        if res.outbox:
            said += f": tls pass {res.name} {peer}"
    elif not records:
        said = f"nothing to do: it waits for the peer's records (tls pass {peer} {res.name})"
    else:
        said = f"{wrote}; the handshake waits for the peer: tls pass {res.name} {peer}"
    ctx.emit(Styled((("name", res.name), *_sized(f": {said}"))))


@COMMANDS.command(
    "tls pass",
    "hand the records a tls bio wrote to its peer (what a network would do)",
    args=(Arg("FROM", BIO), Arg("TO", BIO)),
    calls=("MemoryBIO.write",),
    examples=("tls pass c s",),
    setup=(*PAIR, "tls step c"),
)
def _tls_pass(ctx: Invocation) -> None:
    from pslrepl.tls_trace import RECORD_TYPES

    source, target = _bio(ctx, "from"), _bio(ctx, "to")
    if source is target:
        raise UsageError(f"tls pass: {source.name} can't pass to itself; give its peer")
    if not source.outbox:
        step = "tls write" if source.done else "tls step"
        raise PslError(f"tls pass: {source.name} has written nothing to pass: {step} "
                       f"{source.name} first")  # fmt: skip
    data = bytes(source.outbox)
    source.outbox.clear()
    ctx.record("MemoryBIO.write", "data", len(data), exact=False,
               note=f"data: the {len(data)} bytes {source.name}'s outgoing BIO gave")  # fmt: skip
    target.give(data)
    kinds, pos = [], 0
    while pos + 5 <= len(data):
        kinds.append(RECORD_TYPES.get(data[pos], str(data[pos])))
        pos += 5 + int.from_bytes(data[pos + 3 : pos + 5], "big")
    what = ", ".join(dict.fromkeys(kinds))
    next_step = f"tls read {target.name}" if target.done else f"tls step {target.name}"
    ctx.emit(Styled((("name", source.name), *_sized(
        f" -> {target.name}: {len(data)} bytes, "
        f"{len(kinds)} record{'s' if len(kinds) != 1 else ''} ({what}): {next_step} reads them"
    ))))  # fmt: skip


@COMMANDS.command(
    "tls write",
    "encrypt DATA with a tls bio whose handshake is done (SSLObject.write)",
    args=(Arg("NAME", BIO), Arg("DATA", DATA, optional=True, many=True)),
    opts=(HEX_IN, FILE_IN, Opt("--full", "hexdump every byte written")),
    calls=("SSLObject.write", "MemoryBIO.read"),
    examples=("tls write c hello",),
    setup=(*PAIR, "tls step c", "tls pass c s", "tls step s", "tls pass s c", "tls step c"),
)
def _tls_write(ctx: Invocation) -> None:
    import ssl

    from pslrepl.resources.calls import traced

    res = _bio(ctx)
    data = ctx.data()
    if not res.done:
        raise PslError(f"tls write: {res.name}'s handshake is not done: tls step {res.name} "
                       "(and tls pass) until it is")  # fmt: skip
    try:
        traced(ctx, "SSLObject.write", res.tls.write, data)
    except ssl.SSLError as exc:
        raise PslError(f"tls write: {res.name}: {exc.reason or exc}") from None
    written = res.take_written()
    ctx.record("MemoryBIO.read", "", written)  # the outgoing BIO: what to pass
    records = res.new_records()
    _show(ctx, records, written, full=ctx["full"])
    said = (f": encrypted {len(data)} bytes into {len(written)} bytes of TLS: tls pass "
            f"{res.name} {_peer(res)}")  # fmt: skip
    ctx.emit(Styled((("name", res.name), ("", said))))


@COMMANDS.command(
    "tls read",
    "decrypt what was passed to a tls bio (SSLObject.read); TLS's own records are shown",
    args=(Arg("NAME", BIO),),
    opts=(SHOW_HEX, SHOW_REPR),
    calls=("SSLObject.read",),
    examples=("tls read s",),
    setup=(
        *PAIR,
        "tls step c",
        "tls pass c s",
        "tls step s",
        "tls pass s c",
        "tls step c",
        "tls pass c s",
        "tls step s",
        "tls write c hello",
        "tls pass c s",
    ),  # fmt: skip
)
def _tls_read(ctx: Invocation) -> None:
    import ssl

    from pslrepl.resources.calls import traced

    res = _bio(ctx)
    if not res.done:
        raise PslError(f"tls read: {res.name}'s handshake is not done: tls step {res.name} "
                       "(and tls pass) until it is")  # fmt: skip
    data = bytearray()
    ended = ""
    try:
        while True:  # each turn takes bytes or stops: the incoming BIO is finite
            chunk = traced(ctx, "SSLObject.read", res.tls.read, 65536)
            if not chunk:
                break
            data += chunk
    except ssl.SSLWantReadError:
        pass  # all that came is read
    except ssl.SSLZeroReturnError:
        ended = "the peer ended TLS (close_notify)"
    except ssl.SSLError as exc:
        # A fatal alert after the handshake looked done to us (TLS 1.3: the server's
        # verdict on our certificate comes after our Finished): the handshake failed.
        failure = _failed(ctx, res, exc)
        written = res.take_written()
        ctx.record("MemoryBIO.read", "", written)
        _show(ctx, res.new_records(), written, full=False)
        raise failure from None
    written = res.take_written()
    ctx.record("MemoryBIO.read", "", written)  # the outgoing BIO: what to pass
    records = res.new_records()
    _show(ctx, records, written, full=False)
    if data:
        ctx.emit(Output(bytes(data), mode=ctx.display()))
    own = [m for r in records if not r.out for m in r.messages]
    if data:
        said = f"read {len(data)} bytes of data"
    elif own:
        names = ", ".join(dict.fromkeys(_message(m) for m in own))
        said = (
            f"no data: the {len(own)} record{'s' if len(own) != 1 else ''} that came "
            f"{'were' if len(own) != 1 else 'was'} TLS's own ({names}); a socket's "
            "first read after a TLS 1.3 handshake meets its session tickets the same way"
        )
    else:
        said = f"nothing came: tls pass {_peer(res)} {res.name} first"
    if ended:
        said += f"; {ended}"
    ctx.emit(Styled((("name", res.name), *_sized(f": {said}"))))


def _message(entry: object) -> str:
    from pslrepl.tls_trace import ALERT, Entry, alert_words, message_name

    assert isinstance(entry, Entry)
    if entry.ctype == ALERT:
        return f"alert: {alert_words(entry.mtype)}"
    return message_name(entry.mtype)
