"""What several exporters share: a command's DATA as bytes, an address as Python."""

from __future__ import annotations

from pslrepl.export.script import Unexportable, literal
from pslrepl.parsing import parse_hex, unescape

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord


def data_of(script: Script, record: CommandRecord, key: str = "data", *,
            newline: bool = False) -> str:  # fmt: skip
    """The command's DATA as a Python expression: a bytes literal (escapes applied, or
    from --hex), or the read of --file's file."""
    values = record.values
    hexed = values.get("hex") if key == "data" else None
    path = values.get("file") if key == "data" else None
    words = values.get(key)
    if isinstance(path, str) and path:
        script.imp("pathlib")
        text = f"pathlib.Path({path!r}).read_bytes()"
        return text + (" + b'\\n'" if newline else "")
    if isinstance(hexed, str) and hexed:
        data = parse_hex(hexed)
    elif words:
        data = unescape(" ".join(words) if isinstance(words, list) else str(words))
    else:
        data = b""
    return literal(data + b"\n" if newline else data, indent=0, width=72)


def address_of(script: Script, text: str, record: CommandRecord | None = None) -> str:
    """An ADDR as Python: a resource's address taken from its object (never the port the
    session saw, even where the command was typed with {NAME.port}), or the (host, port)
    the user typed."""
    from pslrepl.addresses import parse_addr

    if record is not None:
        typed = _typed(script, record, text)
        if typed is not None:
            return typed
    kind = script.kinds.get(text)
    if kind in ("listener", "udp", "tcp"):
        return f"{script.var(text)}.getsockname()"
    if kind == "server":
        return f"{script.var(text)}.server_address"
    if kind == "relay":
        return f"{script.var(text)}_a.getsockname()"
    from pslrepl.errors import PslError

    try:
        addr = parse_addr(text)
    except PslError:
        raise Unexportable(f"it uses {text}, which this script does not make (its command "
                           "above is not exported)") from None  # fmt: skip
    return repr(addr.sockaddr)


def fstring_text(text: str) -> str:
    """Literal text for an f-string: its braces doubled."""
    return text.replace("{", "{{").replace("}", "}}")


def _typed(script: Script, record: CommandRecord, text: str) -> str | None:
    """The address as Python where the command wrote it with a placeholder of a resource
    the script made ({srv.laddr}, 127.0.0.1:{srv.port}, tcp:{srv.addr}): from that
    resource's object."""
    import re

    from pslrepl.transcript.syntax import PLACEHOLDER

    for word in record.line.split():
        for scheme in ("tcp:", "udp:", "tcp-listen:"):
            word = word.removeprefix(scheme)
        parts = PLACEHOLDER.split(word)
        if len(parts) != 3 or parts[2]:  # one placeholder, at the word's end
            continue
        head, ref, _ = parts
        name, _, field = ref.partition(".")
        if name not in script.kinds or not re.fullmatch(re.escape(head) + ".+", text):
            continue
        if field in ("addr", "laddr") and not head:
            return address_of(script, name)
        if field == "port" and head.endswith(":") and text.startswith(head):
            host = head[:-1].strip("[]")
            return f"({host!r}, {address_of(script, name)}[1])"
    return None


def before(module: str, command: str) -> Callable[[Script, CommandRecord], None] | None:
    """The exporter of ``command`` that the modules before ``module`` in export's MODULES
    declare (the last of them wins, as in exporters()): where a module that takes some
    resources of a command (an sh job's wait, a file object's close) hands the rest on."""
    import importlib

    from pslrepl.export import MODULES

    found: Callable[[Script, CommandRecord], None] | None = None
    for name in MODULES[: MODULES.index(module)]:
        found = importlib.import_module(f"pslrepl.export.{name}").EXPORTERS.get(command, found)
    return found
