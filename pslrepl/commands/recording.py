"""record: the session written to a transcript (.psl) as it goes."""

from __future__ import annotations

from pslrepl.commandspec import Arg, Command
from pslrepl.errors import PslError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import Invocation


def _record(ctx: Invocation) -> None:
    from pslrepl.recorder import Recorder

    session = ctx.session
    target = ctx["file"]
    if target == "stop":
        if session.recorder is None:
            raise PslError("record: nothing is being recorded; `record FILE` starts")
        recorder, session.recorder = session.recorder, None
        steps = recorder.close()
        ctx.say(f"record: wrote {steps} command{'s' if steps != 1 else ''} to {recorder.path}")
        return
    if session.recorder is not None:
        raise PslError(f"record: already recording to {session.recorder.path}; "
                       "`record stop` first")  # fmt: skip
    try:
        fh = open(target, "w", encoding="utf-8")  # noqa: SIM115 - the Recorder closes it
    except OSError as exc:
        raise PslError(f"record: can't write {target!r}: {exc.strerror or exc}") from None
    session.recorder = Recorder(session, target, fh)
    ctx.say(f"record: writing the session to {target}; `record stop` ends it")


COMMANDS = (
    Command(
        "record",
        "session",
        "write the session as a transcript (.psl) as it goes; `record stop` ends it",
        _record,
        args=(Arg("FILE", "file"),),
        calls=("open",),
        examples=("record demo.psl", "record stop"),
        details="Values that change from run to run are written as placeholders: a "
        "child's pid as {p.pid}, clock times as {time}, the session's temporary "
        "directory (py session.tmp) as {tmp}. `pslrepl --check FILE` replays it.",
    ),
)
