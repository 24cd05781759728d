"""What the process commands share: the child they name, its status, output and reads shown,
and where spawn's options send its streams."""

from __future__ import annotations

import os

from pslrepl.commandspec import Arg, Opt
from pslrepl.errors import PslError, UsageError
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
    from pslrepl.resources.plumbing import Stdio
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
    ctx: Invocation,
    proc: Process,
    stream: str,
    data: bytes,
    eof: bool,
    dropped: int,
    mode: str,
    until: bytes = b"",
) -> None:
    """What a read (or expect) took from a child's stream, and what it lost or met.
    ``until``: what --until waited for, where the caller has it."""
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
    elif eof and mode in ("line", "until", "expect") and data and not _complete(data, mode, until):
        ctx.emit(Text(f"(EOF before the {'newline' if mode == 'line' else 'match'})", "notice"))


def _complete(data: bytes, mode: str, until: bytes) -> bool:
    """The read got what it waited for, EOF or not: a line that ends in its newline (the
    child printed it, then ended), the --until text at the end."""
    if mode == "line":
        return data.endswith(b"\n")
    return mode == "until" and bool(until) and data.endswith(until)


def stdio_of(ctx: Invocation) -> Stdio:
    """Where the child's streams go, from --stdin, --stdout, --stderr, --pass and --pty."""
    from pslrepl.resources import plumbing

    stdio = plumbing.Stdio()
    try:
        if ctx["pty"]:
            _on_pty(ctx, stdio)
        elif ctx["size"] is not None:
            raise UsageError("spawn: --size is the terminal's, for --pty")
        if ctx["pass"]:
            plumbing.pass_sockets(stdio, ctx["pass"])
        if ctx["stdin"] is not None:
            _stdin(ctx, stdio, ctx["stdin"])
        for stream in ("stdout", "stderr"):
            where = ctx[stream]
            if where is None:
                continue
            if where == "devnull":
                plumbing.devnull(stdio, stream)
            elif where == "pipe" and stream == "stdout":
                plumbing.held_pipe(stdio)
            elif where == "stdout" and stream == "stderr":
                plumbing.merge_stderr(stdio)
            else:
                plumbing.open_output(stdio, stream, where)
        if ctx["merge_stderr"] and ctx["stderr"] not in (None, "stdout"):
            raise UsageError("spawn: --merge-stderr is --stderr stdout; give one of them")
        if ctx["bufsize"] == 1 and not ctx["text"]:
            raise UsageError("spawn: --bufsize 1 means line buffered, which only text mode "
                             "has (Popen warns and ignores it for bytes); add --text")  # fmt: skip
        if ctx["text"] or ctx["bufsize"] is not None:
            stdio.extras.append(("files", _files_text(ctx)))
    except BaseException:
        stdio.close_opened()
        if stdio.pty is not None:
            os.close(stdio.pty[0])
        raise
    return stdio


def _files_text(ctx: Invocation) -> str:
    mode = "text (text=True: TextIOWrapper)" if ctx["text"] else "bytes"
    size = ctx["bufsize"]
    buffering = "bufsize 0: unbuffered" if not size else f"bufsize {size}"
    return (f"Popen's stdin and stdout files: {mode}, {buffering}; the shell itself reads "
            "and writes their descriptors (`py NAME.stdout` is the file)")  # fmt: skip


def _stdin(ctx: Invocation, stdio: Stdio, where: str) -> None:
    from pslrepl.resources import plumbing

    if where == "devnull":
        plumbing.devnull(stdio, "stdin")
        return
    registry = ctx.session.registry
    if where in registry:
        res = registry.get(where)
        if res.kind not in PROC:
            raise PslError(f"spawn: --stdin {where}: that is a {res.kind}, not a child; "
                           f"give ./{where} for a file of that name")  # fmt: skip
        plumbing.fed_by(stdio, res)  # type: ignore[arg-type]
        return
    plumbing.open_input(stdio, where)


def _on_pty(ctx: Invocation, stdio: Stdio) -> None:
    from pslrepl.ptys import open_pty, parse_size, slave_name

    mixed = [o for o in ("stdin", "stdout", "stderr", "text", "bufsize", "merge_stderr")
             if ctx[o] not in (None, False)]  # fmt: skip
    if mixed:
        opt = "--" + mixed[0].replace("_", "-")
        raise UsageError(f"spawn: {opt} and --pty: --pty makes the terminal the child's "
                         "stdin, stdout and stderr")  # fmt: skip
    cols, rows = parse_size(ctx["size"] or "80x24")
    try:
        master, slave = open_pty(cols, rows)
    except OSError as exc:
        ctx.record("os.openpty", "", f"raised {type(exc).__name__}")
        raise PslError(f"spawn: can't open a pseudo-terminal: {exc.strerror or exc}") from None
    ctx.record("os.openpty", "", (master, slave), exact=False, note="master, slave = ...")
    ctx.record("fcntl.ioctl", f"slave, termios.TIOCSWINSZ, struct.pack('HHHH', {rows}, "
               f"{cols}, 0, 0)", exact=False, note="the window size, as stty sets it")  # fmt: skip
    stdio.pty = (master, slave)
    stdio.opened.append(slave)
    stdio.stdin = stdio.stdout = stdio.stderr = slave
    stdio.said = dict.fromkeys(("stdin", "stdout", "stderr"), "the terminal")
    stdio.python = dict.fromkeys(("stdin", "stdout", "stderr"), "slave")
    stdio.terminal = f"{slave_name(slave)}, {cols}x{rows} (the shell has its master side)"
