"""Labs: save the session as a declarative TOML file, load one, reset to it."""

from __future__ import annotations

from pslrepl.commands.groups import SESSION
from pslrepl.commandspec import Arg, Commands
from pslrepl.kinds import PATH

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import Invocation
    from pslrepl.labs.loading import Lab
    from pslrepl.session import Session

COMMANDS = Commands(SESSION)


def loaded_lab(session: Session) -> Lab | None:
    """The lab brought up last (session.lab), or None."""
    lab: Lab | None = session.lab
    return lab


@COMMANDS.command(
    "save",
    "write the live session as a lab (TOML) that `lab load` brings up again",
    args=(Arg("FILE", PATH),),
    calls=("os.open",),
    examples=("save lab.toml",),
    setup=("tcp listen srv 0", "spawn p -- sort"),
    details="Each child, listener, server, relay, UDP or UNIX socket and connection is "
    "written as what its command was asked (argv, cwd, env; a port given as 0 stays 0), "
    "with the settings changed and the signals trapped. What a lab can't make again (a "
    "connection accepted from outside) is a comment saying so. The file is readable by "
    "you alone (an env value may be secret) and never written through a symbolic link.",
)
def _save(ctx: Invocation) -> None:
    import os

    from pslrepl.errors import UsageError
    from pslrepl.labs.saving import copy_tmp_files, lab_text
    from pslrepl.render import plural
    from pslrepl.tls_files import write_private

    lab = loaded_lab(ctx.session)
    target = os.path.expanduser(str(ctx["file"]))
    folder, name = os.path.split(target)
    if not name or os.path.isdir(target):
        raise UsageError(f"save: {target or '.'} is a directory; give a file's name in it, "
                         "like lab.toml")  # fmt: skip
    files = os.path.splitext(name)[0] + ".files"  # {tmp} files the lab names: kept here
    text, names, needed = lab_text(ctx.session, ctx.dispatcher.table,
                                   carried=lab.unmade if lab is not None else (),
                                   folder=os.path.abspath(folder or "."),
                                   files=files, order=lab.order() if lab else None)  # fmt: skip
    if needed:
        copy_tmp_files(ctx.session.tmp, needed, folder or ".", files)
    path = write_private(folder or ".", name, text.encode("utf-8"), what="save")
    kept = f" (and {plural(len(needed), 'file')} of {{tmp}} in {files}/)" if needed else ""
    ctx.say(f"wrote {path}: {plural(len(names), 'resource')}{kept}; `lab load {path}` brings it up")


@COMMANDS.command(
    "lab load",
    "bring up a lab (TOML) written by `save`: its settings, traps and resources",
    args=(Arg("FILE", PATH),),
    examples=("lab load lab.toml",),
    setup=("tcp listen srv 0", "save lab.toml", "close srv"),
    details="Each resource is made by its own command, shown as it runs, in an order "
    "where what it names (the server a relay points to) is up first. `reset` returns "
    "to the lab loaded last. `pslrepl --lab FILE` starts the shell with one.",
)
def _load(ctx: Invocation) -> None:
    load_lab(ctx, str(ctx["file"]))


def load_lab(ctx: Invocation, path: str) -> None:
    """Bring up the lab in ``path`` (`lab load FILE`, and `load FILE` for a .toml)."""
    import os

    from pslrepl.labs.loading import bring_up, read_lab
    from pslrepl.render import plural

    path = os.path.expanduser(path)
    lab = read_lab(path, ctx.dispatcher.table)
    ctx.session.lab = lab
    made = bring_up(ctx.dispatcher, lab)
    ctx.say(f"{path}: {plural(len(made), 'resource')} up" +
            (f" ({', '.join(made)})" if made else ""))  # fmt: skip


@COMMANDS.command(
    "reset",
    "close everything and return to the lab loaded last (or to an empty session)",
    examples=("reset",),
    details="Every resource is closed, trapped signals are put back, settings return "
    "to their defaults and the pitfall notes are unsaid again; then the lab `lab load` "
    "brought up last comes up again.",
)
def _reset(ctx: Invocation) -> None:
    from pslrepl.commands.signals import remove_traps
    from pslrepl.labs import NOT_SAVED_SETTINGS
    from pslrepl.labs.loading import bring_up
    from pslrepl.pitfalls import Pitfalls
    from pslrepl.render import plural
    from pslrepl.settings import Settings

    session = ctx.session
    grace = session.settings.grace  # the settings go back to the lab's below
    killed = _end_children(session)
    closed = [name for name, _ in session.close_all()]
    # The lessons are unsaid again, as --present's step back has them: a demo run again
    # for the next group shows its notes again.
    session.pitfalls = Pitfalls(session.settings)
    remove_traps(session)
    defaults = Settings()
    for key in session.settings.names():
        if key not in NOT_SAVED_SETTINGS and session.settings.show(key) != defaults.show(key):
            session.settings.change(key, defaults.show(key))
    what = f"closed {plural(len(closed), 'resource')}" + (f" ({', '.join(closed)})"
                                                          if closed else "")  # fmt: skip
    if killed:
        what += (f"; {', '.join(killed)} ignored SIGTERM: killed after the "
                 f"{grace:g} s grace")  # fmt: skip
    lab = loaded_lab(session)
    if lab is None:
        ctx.say(f"reset: {what}; an empty session")
        return
    made = bring_up(ctx.dispatcher, lab)
    ctx.say(f"reset: {what}; back to {lab.path}: {plural(len(made), 'resource')} up")


def _end_children(session: Session) -> list[str]:
    """TERM every running child's group at once, wait one grace period for them all, then
    KILL those left: a reset with four children that ignore TERM takes one grace, not
    four (closing each in turn waits each out). The names that had to be killed."""
    import signal
    import subprocess
    import time

    from pslrepl.resources.ending import signal_group

    running = [(res.name, popen) for res in session.registry
               if isinstance(popen := getattr(res, "popen", None), subprocess.Popen)
               and getattr(res, "kind", "") == "process"
               and popen.poll() is None]  # fmt: skip
    if not running:
        return []
    for _, popen in running:
        signal_group(popen, signal.SIGTERM)
    deadline = time.monotonic() + session.settings.grace
    left = []
    for name, popen in running:
        try:
            popen.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            left.append((name, popen))
    for _, popen in left:
        signal_group(popen, signal.SIGKILL)
    return [name for name, _ in reversed(left)]
