"""history and explain: the session's commands, numbered, and the stdlib calls each made."""

from __future__ import annotations

from pslrepl.commands.groups import SESSION
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import PslError
from pslrepl.kinds import Int
from pslrepl.results import Styled

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import CommandRecord, Invocation

COMMANDS = Commands(SESSION)

# Looking back is not a command to look back at: `explain` alone means the one before.
LOOKING_BACK = ("history", "explain")


def _header(record: CommandRecord) -> Styled:
    mark = () if record.ok else (("warning", "  (failed)"),)
    return Styled((("key", f"{record.number:>4}  "), ("command", record.line), *mark))


@COMMANDS.command(
    "history",
    "the commands run so far, numbered for `explain N`",
    opts=(Opt("--last", "only the last N commands", "N", kind=Int(0, 2**63 - 1)),),
    examples=("history", "history --last 5"),
    setup=("echo hello",),
    details="Every command is kept, each with the stdlib calls it made; past 8 MiB of "
    "calls the oldest commands' calls are let go (the line stays). Commands a script or "
    "`source` ran are listed too.",
)
def _history(ctx: Invocation) -> None:
    log = ctx.session.history
    records = list(log)
    last = ctx["last"]
    if last is not None:
        records = records[-last:] if last else []
    if log.forgotten and (last is None or last > len(records)):
        ctx.say(f"({log.forgotten} earlier commands forgotten: the history keeps 8 MiB)",
                "notice")  # fmt: skip
    if not records and last == 0 and len(log):  # asked for none: there were some
        ctx.say(f"(0 of {len(log)} commands shown: --last 0)", "notice")
    elif not records:
        ctx.say("(no commands yet)", "notice")
    for record in records:
        ctx.emit(_header(record))


@COMMANDS.command(
    "explain",
    "the stdlib calls a command made, as lines of Python (the last command, or number N)",
    args=(Arg("N", Int(1, 2**63 - 1), optional=True),),
    examples=("explain", "explain 1"),
    setup=("tcp listen srv 0",),
    details="`history` numbers the commands. `set explain on` shows each command's calls "
    "as it runs. Each line is Python: the resource's name is the variable, and what a "
    "call returned is a comment. A line marked `equivalent` stands for what the shell "
    "does another way (a loop, a thread).",
)
def _explain(ctx: Invocation) -> None:
    log = ctx.session.history
    number = ctx["n"]
    if number is None:
        record = log.last(skipping=LOOKING_BACK)
        if record is None:
            raise PslError("explain: no command has run yet; run one, then explain it")
    else:
        record = log.get(number)
        if record is None:
            first = log.first_number()
            newest = log.last()
            if newest is None or number > newest.number:
                raise PslError(f"explain: there is no command {number} yet; `history` "
                               "lists them")  # fmt: skip
            raise PslError(f"explain: command {number} was forgotten (the history keeps "
                           f"8 MiB; the oldest kept is {first}); `history` lists them")  # fmt: skip
    # A comment, so the whole answer pastes into Python as it stands.
    mark = "" if record.ok else "  (failed)"
    ctx.emit(Styled((("key", f"# {record.number}: "), ("command", record.line), ("warning", mark))))
    if record.dropped_calls:
        ctx.say(f"# its {record.dropped_calls} calls were let go: the history keeps 8 MiB "
                "of calls", "notice")  # fmt: skip
    elif not record.calls and record.error == _cancelled():  # it waited: no call returned
        ctx.say("# Ctrl-C ended it while it waited: the call it waited in never returned, "
                "so none is listed", "notice")  # fmt: skip
    elif not record.calls and record.command == "py":  # its calls are the user's own
        ctx.say("# py runs your own Python: the line is its own explain", "notice")
    elif not record.calls:
        ctx.say("# no stdlib calls", "notice")
    for call in record.calls:
        ctx.emit(Styled((("explain", f"  {call.python()}"),)))


def _cancelled() -> str:
    """The error line of a command Ctrl-C ended (the loop's, imported when asked)."""
    from pslrepl.loop import CANCELLED

    return CANCELLED
