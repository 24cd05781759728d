"""expect: read from a stream until a regular expression matches, and show the match."""

from __future__ import annotations

from pslrepl.commands.groups import PROCESSES
from pslrepl.commands.options import SHOW_HEX, SHOW_REPR, TIMEOUT, TIMEOUT_HINT
from pslrepl.commands.process_common import PROC, STDERR, show_read
from pslrepl.commandspec import Arg, Commands
from pslrepl.errors import PslError, Timeout, UsageError
from pslrepl.kinds import ResourceOf
from pslrepl.render import plural, preview
from pslrepl.resources.sockets import STREAM_KINDS, Sock
from pslrepl.results import Output, Styled

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

    from pslrepl.invocation import Invocation
    from pslrepl.resources.process import Process

COMMANDS = Commands(PROCESSES)


def _came(data: bytes) -> str:
    return f"{plural(len(data), 'byte')} came: {preview(data)}" if data else "nothing came"


@COMMANDS.command(
    "expect",
    "read a child's output or a stream socket until a regular expression matches",
    args=(Arg("NAME", ResourceOf(*PROC, *STREAM_KINDS)), Arg("REGEX")),
    opts=(STDERR, TIMEOUT, SHOW_HEX, SHOW_REPR),
    calls=("re.search", "socket.recv"),
    examples=(
        "expect p '>>> '",
        "expect p 'pid (\\d+)'",
        "expect c '^220 .*\\r\\n'",
        "expect t 'HTTP/1\\.[01] (\\d+)'",
    ),
    setup=(
        "spawn p --shell -- 'printf \">>> \\npid 42\\n\"'",
        "serve web tcp 0 --handler echo",
        "tcp connect c web",
        "send c '220 ready\\r\\n'",
        "serve https tcp 0 --handler http --tls",
        "tls connect t https",
        "send t 'HEAD / HTTP/1.0\\r\\n\\r\\n'",
    ),
    details="NAME is a process (its stdout, or --stderr) or a tcp, tls or unix socket "
    "(socketpair's too). What came is shown with the match marked, then each group. "
    "A socket gives up only the bytes through the end of the match: the rest stays for "
    "the next recv (peeked at, left in the kernel; TLS can't peek, so its rest waits in "
    "the socket's own buffer). On timeout, or EOF before a match, the error says what "
    "came; after a timeout a socket keeps those bytes for the next recv or expect.",
)
def _expect(ctx: Invocation) -> None:
    import re

    from pslrepl.resources.process import Process

    res = ctx["name"]
    if res.closed:
        raise PslError(f"{res.name} is closed")
    enc = ctx.session.settings.encoding
    try:
        pattern = re.compile(ctx["regex"].encode(enc, errors="surrogateescape"))
    except re.error as exc:
        raise UsageError(f"expect: bad regular expression {ctx['regex']!r}: {exc}") from None
    if isinstance(res, Process):
        match = _expect_process(ctx, res, pattern)
    else:
        if ctx["stderr"]:
            raise UsageError(f"expect: --stderr is for a process's stderr; {res.name} is a "
                             f"{res.kind} socket, one stream both ways: leave it out")  # fmt: skip
        assert isinstance(res, Sock)
        match = _expect_socket(ctx, res, pattern)
    for i, group in enumerate(match.groups(), 1):
        shown = "None" if group is None else group.decode(enc, errors="backslashreplace")
        ctx.emit(Styled((("key", f"group {i}: "), ("match", shown))))


def _expect_process(ctx: Invocation, proc: Process, pattern: re.Pattern[bytes]) -> re.Match[bytes]:
    stream = "stderr" if ctx["stderr"] else "stdout"
    try:
        got = proc.read(stream, mode="expect", pattern=pattern, timeout=ctx.timeout)
    except Timeout as exc:
        text = str(exc)
        raise Timeout(text if TIMEOUT_HINT in text else f"{text}; {TIMEOUT_HINT}") from None
    ctx.record("re.search", repr(pattern.pattern), got.match)
    if got.match is None:
        show_read(ctx, proc, stream, got.data, got.eof, got.dropped, "expect")
        raise PslError(f"expect: {proc.name} closed its {stream} before {pattern.pattern!r} "
                       f"matched; {_came(got.data)}")  # fmt: skip
    if got.dropped:
        show_read(ctx, proc, stream, b"", False, got.dropped, "expect")
    m = got.match
    ctx.emit(Output(got.data, stream, mode=ctx.display(), highlight=(m.start(), m.end())))
    return m


def _expect_socket(ctx: Invocation, res: Sock, pattern: re.Pattern[bytes]) -> re.Match[bytes]:
    """Bytes are taken from the socket only through the end of the match: what follows
    stays for the next recv (in the kernel where it can be peeked; TLS can't peek, so
    there the rest waits in the socket's read-ahead buffer, which recv empties first)."""
    from pslrepl.commands.receiving import read_stream

    got = read_stream(ctx, res, mode="expect", pattern=pattern)
    ctx.record("re.search", repr(pattern.pattern), got.match)
    if got.match is None:
        if got.data:
            ctx.emit(Output(got.data, "data", mode=ctx.display()))
        raise PslError(f"expect: the peer closed {res.name} (EOF) before {pattern.pattern!r} "
                       f"matched; {_came(got.data)}")  # fmt: skip
    m = got.match
    ctx.emit(Output(got.data, "data", mode=ctx.display(), highlight=(m.start(), m.end())))
    return m
