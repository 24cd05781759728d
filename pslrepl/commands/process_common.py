"""What the process commands share: the child they name, and its status, output and reads shown."""

from __future__ import annotations

from pslrepl.commandspec import Arg, Opt
from pslrepl.errors import PslError
from pslrepl.kinds import DATA, ResourceOf, Where
from pslrepl.render import plural
from pslrepl.results import Output, Styled, Text
from pslrepl.signals_table import describe_status

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.kinds import Completing
    from pslrepl.resources.process import Process

# A spawned child, or a command sh runs in the background (sh --bg): both are Processes.
PROC = ("process", "sh")
CHILD = Arg("NAME", ResourceOf(*PROC))


class Shell:
    """The shell itself, as `signal shell SIG` names it."""

    name = "shell"

    def __repr__(self) -> str:
        return "SHELL"


SHELL = Shell()


class ChildOrShell(ResourceOf):
    """A child's NAME, or ``shell`` for the shell itself (unless a resource is named so:
    the user's own name wins, and `raise SIG` is always the shell)."""

    name = "resource"

    def convert(self, raw: str, where: Where) -> Any:
        if raw == "shell" and (where.session is None or raw not in where.session.registry):
            return SHELL
        return super().convert(raw, where)

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        yield from super().complete(ask, prefix)
        if "shell".startswith(prefix) and "shell" not in ask.session.registry:
            yield from ask.words(["shell"], prefix, lambda _: "the shell itself")


DATA_ARG = Arg("DATA", DATA, optional=True, many=True)
STDERR = Opt("--stderr", "read the child's stderr instead of stdout")


def live_process(ctx: Invocation) -> Process:
    """The child the command names (the parser resolved NAME to it), refused once closed."""
    res: Process = ctx["name"]
    if res.closed:
        raise PslError(f"{res.name} is closed")
    return res


def show_status(ctx: Invocation, name: str, returncode: int) -> None:
    style = "ok" if returncode == 0 else "state.failed"
    prefix = (("name", name), ("", ": ")) if name else ()
    ctx.emit(Styled((*prefix, (style, describe_status(returncode)))))


def show_output(ctx: Invocation, stdout: bytes | None, stderr: bytes | None) -> None:
    if stdout:
        ctx.emit(Output(stdout, "stdout"))
    if stderr:
        ctx.emit(Output(stderr, "stderr"))


def show_dropped(ctx: Invocation, who: str, buffers: dict[str, tuple[int, int, int]]) -> None:
    """One warning per stream that lost bytes: {stream: (dropped, total, cap)}."""
    for stream, (dropped, total, cap) in buffers.items():
        if dropped:
            in_all = f" ({plural(total, 'byte')} in all)" if total else ""
            ctx.say(
                f"warning: {stream}: {plural(dropped, 'byte')} dropped: the oldest output; "
                f"{who} keeps {size_text(cap)} per stream{in_all}",
                "warning",
            )


def size_text(n: int) -> str:
    """1 MiB, 64 KiB, or 100 bytes."""
    if n and n % (1 << 20) == 0:
        return f"{n >> 20} MiB"
    if n and n % 1024 == 0:
        return f"{n >> 10} KiB"
    return plural(n, "byte")


def show_read(
    ctx: Invocation, proc: Process, stream: str, data: bytes, eof: bool, dropped: int, mode: str
) -> None:
    """What a read (or expect) took from a child's stream, and what it lost or met."""
    if dropped:
        ctx.say(
            f"warning: {plural(dropped, 'byte')} of {stream} were dropped before this "
            f"read: the buffer keeps {plural(proc.buffer(stream).cap, 'byte')}",
            "warning",
        )
    if data:
        ctx.emit(Output(data, stream, mode=ctx.display()))
    if eof and not data:
        ctx.emit(Text(f"EOF: {proc.name} closed its {stream} and nothing is left", "notice"))
    elif eof and mode in ("line", "until", "expect") and data:
        ctx.emit(Text(f"(EOF before the {'newline' if mode == 'line' else 'match'})", "notice"))
