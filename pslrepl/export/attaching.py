"""Exporter for attach where the lines typed to it are known (a transcript's ``|>``
lines): the script does what a piped attach does, as nc in a pipe would."""

from __future__ import annotations

from pslrepl.export.script import Unexportable, literal, wrapped_print

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord

HELPERS: dict[str, tuple[tuple[str, ...], str]] = {
    "attach_piped": (
        ("show",),
        r'''
def attach_piped(lines, send, eof, sources, timeout, live=True):
    """What attach does without a terminal (as nc in a pipe): each line sent, then EOF;
    what comes back from ``sources`` (sockets or pipes, read as they are ready) shown a
    whole line at a time as it comes (``live``), until each has ended or nothing more
    comes in ``timeout`` seconds. (bytes sent, bytes received, why it stopped if not at
    EOF, what came and was not shown)."""
    sent = received = 0
    for line in lines:
        send(line)
        sent += len(line)
    eof()
    held, why, sources = b"", "", list(sources)
    while sources:
        ready, _, _ = select.select(sources, [], [], timeout)
        if not ready:
            why = f"nothing more came in {timeout:g} s"
            break
        for source in ready:
            data = source.recv(65536) if hasattr(source, "recv") else source.read(65536)
            if not data:
                sources.remove(source)
                continue
            received += len(data)
            held += data
            cut = held.rfind(b"\n") + 1 if live else 0
            if cut:
                show(held[:cut])
                held = held[cut:]
    if held and live:
        show(held)
        held = b""
    return sent, received, why, held
''',
    ),
}
HELPER_IMPORTS = {"attach_piped": ("select",)}


def _attach(script: Script, record: CommandRecord) -> None:
    values = record.values
    name = str(values["name"])
    typed = values.get("typed")
    if not isinstance(typed, list):
        raise Unexportable("what was typed to attach is the user's (at a terminal, perhaps a "
                           "password): it is not written into the script")  # fmt: skip
    kind = script.kinds.get(name)
    if kind not in ("tcp", "process"):
        raise Unexportable(f"attach to a {kind or 'resource'} is not exported yet")
    v = script.var(name)
    if any(line.lstrip().startswith(f"{v} = tls_client.wrap_socket(") for line in script.body):
        # (SSLSocket.shutdown drops the TLS layer, and select can't see its buffered bytes)
        raise Unexportable("attach to a TLS connection is not exported yet")
    timeout = values.get("timeout")
    timeout = script.timeout if timeout is None else float(timeout)
    mode = "hex" if values.get("hex") else "repr" if values.get("repr") else None
    live = mode is None and script.display == "text"
    lines = [(str(line) + "\n").encode("utf-8", "surrogateescape") for line in typed]
    helper = script.use("attach_piped")
    if kind == "tcp":
        script.imp("socket")
        comment = (
            "# attach, as in a pipe: each line typed is sent, then EOF (shutdown "
            "SHUT_WR);\n# what comes back is shown as it comes, until the peer's EOF"
        )
        how = f"{v}.sendall, lambda: {v}.shutdown(socket.SHUT_WR), [{v}]"
        eof = "the peer closed its side (EOF)"
    else:
        comment = (
            "# attach, as in a pipe: each line typed is written to the child's stdin, "
            "then\n# stdin is closed; its stdout and stderr are shown as they come, "
            "until both end"
        )
        how = f"{v}.stdin.write, {v}.stdin.close, [{v}.stdout, {v}.stderr]"
        eof = "its output ended (EOF)"
        script.printed.update((f"{name} stdout", f"{name} stderr"))
    tail = "" if live else ", live=False"
    script.add(comment, f"sent, got, why, rest = {helper}(",
               f"    {literal(lines, indent=4)},",
               f"    {how},", f"    {timeout:g}{tail},", ")")  # fmt: skip
    if not live:
        script.add("if rest:", f"    {script.show('rest', mode=mode)}")
    script.add(wrapped_print(f"{name}: detached ({{sent:,}} bytes sent, {{got:,}} received); "
                             f"{{why or {eof!r}}}", f=True))  # fmt: skip


EXPORTERS = {"attach": _attach}
