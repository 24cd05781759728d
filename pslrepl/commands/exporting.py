"""export py: the session so far as one standalone Python script of the same stdlib calls."""

from __future__ import annotations

from pslrepl.commands.groups import SESSION
from pslrepl.commandspec import Arg, Commands
from pslrepl.kinds import PATH

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import Invocation

COMMANDS = Commands(SESSION)


@COMMANDS.command(
    "export py",
    "write the session so far as a standalone Python script (stdlib only)",
    args=(Arg("FILE", PATH),),
    calls=("os.open",),
    examples=("export py session.py",),
    details="Each command is a comment as typed, then the calls it made, then prints that "
    "show what the shell showed, computed from what the calls return: the script runs "
    "with `python3 FILE` where pslrepl is not installed. A command export can't write "
    "faithfully yet is a comment marked `# NOT EXPORTED:` saying why, never left out. "
    "The file is made readable by you alone (what you sent may be secret) and never "
    "written through a symbolic link. `pslrepl --export-py FILE.psl` does the same for "
    "a transcript.",
)
def _export_py(ctx: Invocation) -> None:
    import os

    from pslrepl.export import export_records, session_facts
    from pslrepl.render import plural
    from pslrepl.tls_files import write_private

    target = os.path.expanduser(str(ctx["file"]))
    script = export_records(ctx.session.history, **session_facts(ctx.session))
    folder, name = os.path.split(target)
    existed = os.path.lexists(target)
    path = write_private(folder or ".", name, script.text().encode("utf-8"), what="export py")
    said = f"exported the session to {path}"
    if existed:  # a hand-edited session.py is gone: said, as record says it
        said += " (it replaces the file that was there)"
    if script.missing:
        names = ", ".join(dict.fromkeys(script.missing))
        said += (f"; {plural(len(script.missing), 'command')} marked # NOT EXPORTED "
                 f"(not written yet: {names})")  # fmt: skip
    ctx.say(said)
