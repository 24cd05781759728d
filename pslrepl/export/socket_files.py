"""Exporters for makefile and the file objects it makes: read, write and close on them
(other resources' read, write and close go to the exporters before this module's)."""

from __future__ import annotations

from pslrepl.export.script import Unexportable, wrapped_print

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord

EOF_LINE = "EOF: the peer closed its side"


def _before(command: str) -> Callable[[Script, CommandRecord], None] | None:
    """The exporter of ``command`` that the modules before this one declare."""
    import importlib

    from pslrepl.export import MODULES

    found: Callable[[Script, CommandRecord], None] | None = None
    for name in MODULES[: MODULES.index("socket_files")]:
        found = importlib.import_module(f"pslrepl.export.{name}").EXPORTERS.get(command, found)
    return found


def _makefile(script: Script, record: CommandRecord) -> None:
    from pslrepl.export.looking import reprint

    values = record.values
    new, sock, mode = values["new"], values["sock"], values.get("mode") or "r"
    if "b" not in mode:
        raise Unexportable(f"makefile in text mode ({mode!r}) is not exported yet")
    if not record.ok:
        raise Unexportable("this makefile failed in the session; what it said is not in "
                           "this script")  # fmt: skip
    if sock not in script.kinds:
        raise Unexportable(f"it uses {sock}, which this script does not make (its command "
                           "above is not exported)")  # fmt: skip
    v, s = script.var(new), script.var(sock)
    script.add(f"{v} = {s}.makefile({mode!r})")
    script.kinds[new] = script.live[new] = "file"
    script.over[new] = sock
    reprint(script, record)


def _read(script: Script, record: CommandRecord) -> None:
    values = record.values
    name = values["name"]
    if script.kinds.get(name) != "file":
        previous = _before("read")
        if previous is None:
            raise Unexportable(f"read of {name} is not exported yet")
        return previous(script, record)
    if not record.ok:
        raise Unexportable("this read failed in the session; what it said is not in this "
                           "script")  # fmt: skip
    v = script.var(name)
    count = values.get("n") or values.get("nbytes")
    show = script.show("data")
    size = f'print(f"({script.bytes_said("len(data)")})")'
    if values.get("line"):
        call, eof = f"{v}.readline()", "not data.endswith(b'\\n')"
    elif values.get("all"):
        call, eof = f"{v}.read()", "True"
    elif count:
        call, eof = f"{v}.read({int(count)})", f"len(data) < {int(count)}"
    else:
        raise Unexportable("this read says neither --line, --all nor N")
    short = ' + (" before the newline" if data else "")' if values.get("line") else ""
    script.add(f"data = {call}  # blocks until it has it, or the peer's EOF",
               "if data:", f"    {show}", f"    {size}", f"if {eof}:",
               f'    print("{EOF_LINE}"{short})')  # fmt: skip


def _write(script: Script, record: CommandRecord) -> None:
    from pslrepl.export.common import data_of

    name = record.values["name"]
    if script.kinds.get(name) != "file":
        previous = _before("write")
        if previous is None:
            raise Unexportable(f"write to {name} is not exported yet")
        return previous(script, record)
    v = script.var(name)
    script.add(f"data = {data_of(script, record)}", f"{v}.write(data)", f"{v}.flush()")
    script.add(f'print(f"{name}: wrote {script.bytes_said("len(data)")} and flushed")')


def _close(script: Script, record: CommandRecord) -> None:
    names = record.values.get("name") or []
    files = [n for n in names if script.kinds.get(n) == "file"]
    if not files:
        previous = _before("close")
        if previous is None:
            raise Unexportable("close is not exported yet")
        return previous(script, record)
    if len(files) != len(names):
        raise Unexportable("close of a file object beside other resources is not exported yet")
    for name in files:
        v = script.var(name)
        script.add(f"{v}.close()  # the file object only: its socket stays open")
        script.live.pop(name, None)
        script.add(wrapped_print(f"{name}: closed; {script.over.get(name, 'its socket')} "
                                 "stays open"))  # fmt: skip


EXPORTERS = {"makefile": _makefile, "read": _read, "write": _write, "close": _close}
