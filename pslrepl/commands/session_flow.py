"""The session's pace and settings: wait for an event, set, echo and sleep."""

from __future__ import annotations

from pslrepl.commands.groups import SESSION
from pslrepl.commands.options import TIMEOUT
from pslrepl.commandspec import Arg, Commands
from pslrepl.errors import Timeout, UsageError
from pslrepl.kinds import ANY_RESOURCE, SECONDS, TEXT, Choice, Kind
from pslrepl.resources.catalog import wait_events
from pslrepl.results import Fields, Styled
from pslrepl.settings import Settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.kinds import Completing

COMMANDS = Commands(SESSION)


@COMMANDS.command(
    "wait",
    "block until an event on NAME: a process's exit, data or eof; a socket's data, eof "
    "or accept; a server's connect; a relay's close",
    args=(
        Arg("NAME", ANY_RESOURCE),
        # Every event some resource class declares (each resource says which it has),
        # asked when first needed.
        Arg("EVENT", Choice(wait_events), optional=True),
    ),
    opts=(TIMEOUT,),
    calls=("Popen.wait",),
    examples=("wait p", "wait p data --timeout 2"),
    setup=("spawn p -- echo hello",),
)
def _wait(ctx: Invocation) -> None:
    res = ctx["name"]
    event = ctx["event"] or res.wait_events[0]
    if event not in res.wait_events:
        raise UsageError(
            f"wait: a {res.kind} has no event {event!r}; it has {', '.join(res.wait_events)}"
        )
    timeout = ctx.timeout
    # No stdlib call to record while waiting: the shell watches for the event itself
    # (a child's exit below is Popen.wait's answer).
    if not ctx.session.wait_for(lambda: res.ready(event), timeout):
        raise Timeout(
            f"{res.name}: timeout after {timeout:g} s waiting for {event}; it is {res.state}; "
            "--timeout S waits longer"
        )
    if event == "exit":  # only a process has it: the parser handed us the Process
        from pslrepl.signals_table import describe_status

        rc = res.returncode
        assert rc is not None
        # An sh job says its end as sh does (ErrorReturnCode_N) and waits with sh's call.
        text = res.exit_text() if hasattr(res, "exit_text") else describe_status(rc)
        ctx.record(getattr(res, "WAIT_CALL", "Popen.wait"), "", rc, on=res.obj)
        ctx.emit(Styled((("name", res.name), ("", f": {text}"))))
    else:
        ctx.emit(Styled((("name", res.name), ("", f": {res.waited(event)}"))))


class SettingName(Kind):
    """A setting's name, for `set`."""

    name = "setting"

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        return ask.words(Settings.HELP, prefix, Settings.HELP.get)

    def listing(self) -> dict[str, str]:
        choices = Settings.CHOICES
        return {key: text + (f" ({', '.join(choices[key])})" if key in choices else "")
                for key, text in Settings.HELP.items()}  # fmt: skip


class SettingValue(Kind):
    """A setting's value: the words it takes, where it has a fixed set."""

    name = "text"

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        key = ask.args[0] if ask.args else ""
        return ask.words(Settings.CHOICES.get(key, ()), prefix)


@COMMANDS.command(
    "set",
    "show or change a setting",
    args=(
        Arg("KEY", SettingName(), optional=True),
        Arg("VALUE", SettingValue(), optional=True),
    ),
    examples=("set", "set display hex", "set timeout 2", "set events quiet"),
)
def _set(ctx: Invocation) -> None:
    settings = ctx.session.settings
    key, value = ctx["key"], ctx["value"]
    if key is None:
        ctx.emit(Fields([(k, settings.show(k)) for k in settings.names()]))
        return
    if value is None:
        if key not in settings.HELP:
            raise UsageError(f"no setting {key!r}; settings: {', '.join(settings.HELP)}")
        ctx.emit(Fields([(key, settings.show(key))]))
        return
    settings.change(key, value)
    if key == "color":
        ctx.session.printer.color = settings.color
    ctx.emit(Fields([(key, settings.show(key))]))


@COMMANDS.command(
    "echo",
    "print text (for scripts and demos)",
    args=(Arg("TEXT", TEXT, optional=True, many=True),),
    examples=("echo hello",),
)
def _echo(ctx: Invocation) -> None:
    ctx.say(" ".join(ctx["text"]))


@COMMANDS.command(
    "sleep",
    "pause for S seconds (events still show)",
    args=(Arg("SECONDS", SECONDS),),
    calls=("time.sleep",),
    examples=("sleep 0.5",),
)
def _sleep(ctx: Invocation) -> None:
    ctx.record("time.sleep", str(ctx["seconds"]))
    ctx.session.sleep(ctx["seconds"])
