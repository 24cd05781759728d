"""record: the session written to a transcript (.psl) as it goes."""

from __future__ import annotations

from pslrepl.commands.groups import SESSION
from pslrepl.commandspec import Arg, Commands
from pslrepl.errors import PslError
from pslrepl.kinds import PATH

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from pslrepl.invocation import Invocation
    from pslrepl.parsing import Token
    from pslrepl.session import Session

COMMANDS = Commands(SESSION)


def _place(ctx: Invocation) -> tuple[int, int] | None:
    """Where this command starts on its line and where the next one does (the line's
    length if none): ``a; record stop; b``. None for a line that is not the one being
    recorded (a sourced file's)."""
    from pslrepl.parsing import tokenize

    if ctx.dispatcher.source_depth or not ctx.arg_tokens:
        return None
    commands: list[list[Token]] = [c for c in tokenize(ctx.line).commands if c]
    start = ctx.arg_tokens[0].start
    for i, tokens in enumerate(commands):
        if any(t.start == start for t in tokens):
            after = commands[i + 1][0].start if i + 1 < len(commands) else len(ctx.line)
            return tokens[0].start, after
    return None


def _open(target: str) -> tuple[TextIO, bool]:
    """The transcript file, opened for writing: created 0600 (a session may hold what
    was typed: send lines, py lines); never through a symbolic link planted at the path;
    only a regular file. Also whether a file was there (it is replaced)."""
    import errno
    import os
    import stat

    from pslrepl.errors import describe_oserror

    if not target:
        raise PslError("record: give a file name, like `record demo.psl`")
    # O_NONBLOCK: opening a FIFO with no reader would block the shell; it fails instead.
    flags = os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    existed = False
    try:
        try:
            fd = os.open(target, flags | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            existed = True
            fd = os.open(target, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and os.path.islink(target):
            raise PslError(f"record: {target!r} is a symbolic link; record won't write "
                           "through one (it could point anywhere): give another path, or "
                           "remove the link first") from None  # fmt: skip
        if exc.errno == errno.EISDIR:
            raise PslError(f"record: {target!r} is a directory; give a file path in it, "
                           f"like {os.path.join(target, 'demo.psl')}") from None  # fmt: skip
        if exc.errno == errno.ENXIO:
            raise PslError(f"record: {target!r} is a FIFO with no reader; give a path for "
                           "a regular file") from None  # fmt: skip
        raise PslError(f"record: can't write {target!r}: {describe_oserror(exc)}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise PslError(f"record: {target!r} is not a regular file; give a path for a "
                           ".psl file")  # fmt: skip
        if existed:
            os.ftruncate(fd, 0)
            try:
                os.fchmod(fd, 0o600)
            except OSError:
                pass  # not ours to change (EPERM): it keeps the mode its owner gave it
        return os.fdopen(fd, "w", encoding="utf-8"), existed
    except OSError as exc:
        os.close(fd)
        raise PslError(f"record: can't write {target!r}: {describe_oserror(exc)}") from None
    except BaseException:
        os.close(fd)
        raise


@COMMANDS.command(
    "record",
    "write the session as a transcript (.psl) as it goes; `record stop` ends it",
    args=(Arg("FILE", PATH),),
    calls=("os.open",),
    examples=("record demo.psl", "record stop"),
    details="Values that change from run to run are written as placeholders: a "
    "child's pid as {p.pid}, a socket's port and addresses as {srv.port}, "
    "{srv.laddr}, clock times as {time}, the session's temporary directory "
    "(py session.tmp) as {tmp}. `pslrepl --check FILE` replays it. The file is "
    "made readable by you alone (what you type may be secret) and never written "
    "through a symbolic link.",
)
def _record(ctx: Invocation) -> None:
    from pslrepl.recorder import Recorder

    session = ctx.session
    target = ctx["file"]
    place = _place(ctx)
    if target == "stop":
        recorder = session.recorder
        if recorder is None:
            raise PslError("record: nothing is being recorded; `record FILE` starts")
        session.recorder = None
        # `echo hi; record stop`: the step so far is the part of its line before this
        # command (the line's tail the step began at: the whole line, or what came after
        # `record FILE` on it).
        command = None
        step = recorder.current
        if place is not None and step is not None and ctx.line.endswith(step):
            cut = len(ctx.line) - len(step)
            command = ctx.line[cut : max(cut, place[0])].rstrip().rstrip(";").rstrip()
        steps = recorder.close(command=command, partway=True)
        ctx.say(f"record: wrote {steps} command{'s' if steps != 1 else ''} to {recorder.path}")
        return
    if session.recorder is not None:
        raise PslError(f"record: already recording to {session.recorder.path}; "
                       "`record stop` first")  # fmt: skip
    fh, existed = _open(target)
    try:
        recorder = Recorder(session, target, fh)
    except OSError as exc:
        from pslrepl.errors import describe_oserror

        try:
            fh.close()
        except OSError:
            pass  # the same failure again, on the flush inside close
        raise PslError(f"record: can't write {target!r}: {describe_oserror(exc)}") from None
    session.recorder = recorder
    session.on_close("recorder", lambda: _stop_recording(session))
    rest = ctx.line[place[1] :] if place is not None else ""
    if rest.strip():
        recorder.start_rest(rest)  # `record demo.psl; spawn p -- cat`: that spawn too
    replaced = " (it replaces the file that was there)" if existed else ""
    ctx.say(f"record: writing the session to {target}{replaced}; `record stop` ends it")


def _stop_recording(session: Session) -> None:
    """The session ends while recording: the transcript is closed with what ran."""
    recorder, session.recorder = session.recorder, None
    if recorder is not None:
        recorder.close()
