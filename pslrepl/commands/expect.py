"""expect: read from a stream until a regular expression matches, and show the match."""

from __future__ import annotations

from pslrepl.commands.options import SHOW_HEX, SHOW_REPR, TIMEOUT
from pslrepl.commands.processes import PROC, STDERR, _proc, _show_read
from pslrepl.commandspec import Arg, Command
from pslrepl.errors import PslError, UsageError
from pslrepl.results import Output, Styled

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import Invocation


def _expect(ctx: Invocation) -> None:
    import re

    proc = _proc(ctx)
    stream = "stderr" if ctx["stderr"] else "stdout"
    enc = ctx.session.settings.encoding
    try:
        pattern = re.compile(ctx["regex"].encode(enc, errors="surrogateescape"))
    except re.error as exc:
        raise UsageError(f"expect: bad regular expression {ctx['regex']!r}: {exc}") from None
    got = proc.read(stream, mode="expect", pattern=pattern, timeout=ctx.timeout)
    ctx.record("re.search", repr(pattern.pattern), got.match)
    if got.match is None:
        _show_read(ctx, proc, stream, got.data, got.eof, got.dropped, "expect")
        raise PslError(
            f"expect: {proc.name} closed its {stream} before {pattern.pattern!r} matched"
        )
    m = got.match
    if got.dropped:
        _show_read(ctx, proc, stream, b"", False, got.dropped, "expect")
    ctx.emit(Output(got.data, stream, mode=ctx.display(), highlight=(m.start(), m.end())))
    for i, group in enumerate(m.groups(), 1):
        shown = "None" if group is None else group.decode(enc, errors="backslashreplace")
        ctx.emit(Styled((("key", f"group {i}: "), ("match", shown))))


COMMANDS = (
    Command(
        "expect",
        "processes",
        "read until a regular expression matches; show the match",
        _expect,
        args=(Arg("NAME", "resource", kinds=PROC), Arg("REGEX", "text")),
        opts=(STDERR, TIMEOUT, SHOW_HEX, SHOW_REPR),
        calls=("re.search",),
        examples=("expect p '>>> '", "expect p 'pid (\\d+)'"),
    ),
)
