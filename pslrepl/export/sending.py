"""The exporter for sendall: socket.sendall, or its loop bounded as the shell's where the
session's timeout cut it part-way."""

from __future__ import annotations

from pslrepl.export.common import data_of, fstring_text
from pslrepl.export.script import Unexportable, wrapped_print

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord


def _sendall(script: Script, record: CommandRecord) -> None:
    import re

    name = record.values["name"]
    v = script.var(name)
    said = re.match(r"(.*: timeout after ([0-9.]+) s: sent )\d+ of \d+ bytes?(;.*)$",
                    record.error or "", re.S)  # fmt: skip
    if said is not None:  # it sent part and gave up: the script sends as far and says so
        _sendall_bounded(script, record, said)
        return
    if not record.ok:
        from pslrepl.export import _raised_oserror

        if not _raised_oserror(record):
            raise Unexportable("this `sendall` failed in the session; what it said is not "
                               "in this script")  # fmt: skip
    script.add(
        f"data = {data_of(script, record)}", f"{v}.sendall(data)  # send() until all is sent"
    )
    script.add(f'print(f"{name}: sent all {script.bytes_said("len(data)")}")')


def _sendall_bounded(script: Script, record: CommandRecord, said: re.Match[str]) -> None:
    """A sendall the shell's timeout ended part-way: sendall's loop with that timeout on
    each send, as the shell makes it, so the bytes that went in the session go here too
    (the peer's next recv reads them) and the script says how much went."""
    name = record.values["name"]
    v = script.var(name)
    head, seconds, tail = said.group(1), said.group(2), said.group(3)
    script.imp("time")
    count = script.bytes_said("len(data)")
    error = f"error: {fstring_text(head)}{{sent}} of {count}{fstring_text(tail)}"
    script.add(
        f"data = memoryview({data_of(script, record)})",
        f"sent = 0  # sendall's loop, each send bounded as the shell's ({seconds} s in all)",
        f"deadline = time.monotonic() + {seconds}",
        "try:",
        "    while sent < len(data):",
        f"        {v}.settimeout(max(deadline - time.monotonic(), 0.001))",
        f"        sent += {v}.send(data[sent:])",
        "except TimeoutError:  # the send buffer is full: the peer is not reading",
        wrapped_print(error, f=True, indent="    "),
        "else:",
        f'    print(f"{name}: sent all {count}")',
        "finally:",
        f"    {v}.settimeout(None)",
    )


EXPORTERS = {"sendall": _sendall}
