"""A live child's pipes: write, writeline, eof, read, poll and communicate."""

from __future__ import annotations

from pslrepl.callrecord import py_repr
from pslrepl.commands.groups import PROCESSES
from pslrepl.commands.options import FILE_IN, HEX_IN, SHOW_HEX, SHOW_REPR, TIMEOUT
from pslrepl.commands.process_common import (
    CHILD,
    DATA_ARG,
    PROC,
    STDERR,
    live_process,
    show_dropped,
    show_output,
    show_read,
    show_status,
)
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import Timeout, UsageError
from pslrepl.kinds import Int, ResourceOf
from pslrepl.render import plural
from pslrepl.results import Styled

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import Invocation

COMMANDS = Commands(PROCESSES)
WRITE_OPTS = (HEX_IN, FILE_IN, TIMEOUT)
# read, write and writeline take a socket's file object (makefile) too.
STREAM = Arg("NAME", ResourceOf(*PROC, "file"))


@COMMANDS.command(
    "write",
    "write DATA to a child's stdin (or a socket's file object, then flush)",
    args=(STREAM, DATA_ARG),
    opts=WRITE_OPTS,
    calls=("Popen.stdin.write",),
    examples=("write p 'hello\\n'", "write p --hex '68 69 0a'"),
    setup=("spawn p -- cat",),
)
def _write(ctx: Invocation) -> None:
    _write_data(ctx, newline=False)


@COMMANDS.command(
    "writeline",
    "write DATA and a newline to a child's stdin (or a socket's file object)",
    args=(STREAM, DATA_ARG),
    opts=WRITE_OPTS,
    calls=("Popen.stdin.write",),
    examples=("writeline p banana",),
    setup=("spawn p -- sort",),
)
def _writeline(ctx: Invocation) -> None:
    _write_data(ctx, newline=True)


def _write_data(ctx: Invocation, *, newline: bool) -> None:
    if ctx["name"].kind == "file":
        from pslrepl.commands.socket_files import write_file

        return write_file(ctx, ctx["name"], ctx.data(newline=newline))
    proc = live_process(ctx)
    data = ctx.data(newline=newline)
    n = proc.write(data, timeout=ctx.timeout)
    ctx.record("os.write", f"{proc.name}.stdin.fileno(), {py_repr(data)}", n, exact=False,
               note="os.write until all of it is written, waiting for room (select)")  # fmt: skip
    ctx.emit(Styled((("name", proc.name), ("notice", f": wrote {plural(n, 'byte')}"))))


@COMMANDS.command(
    "eof",
    "close a child's stdin, so it sees end of input (on a --pty terminal: send ^D)",
    args=(CHILD,),
    calls=("Popen.stdin.close",),
    examples=("eof p",),
    setup=("spawn p -- cat",),
)
def _eof(ctx: Invocation) -> None:
    proc = live_process(ctx)
    proc.close_stdin()
    if proc.terminal:  # a terminal stays open: its end of input is a character
        ctx.record("os.write", "master, b'\\x04'", 1, note="VEOF, ^D unless stty changed it")
        ctx.emit(Styled((("name", proc.name), ("notice", ": sent ^D (the terminal's EOF "
                                                         "character, VEOF)"))))  # fmt: skip
        return
    ctx.record("Popen.stdin.close", "", on=proc.popen)
    ctx.emit(Styled((("name", proc.name), ("notice", ": stdin closed"))))


@COMMANDS.command(
    "read",
    "read what a child printed (stdout, or --stderr), or from a socket's file object",
    args=(STREAM, Arg("N", Int(1, 1 << 26), optional=True)),
    opts=(
        STDERR,
        Opt("--line", "read one line", exclusive="mode"),
        Opt("--until", "read through TEXT", "TEXT", exclusive="mode"),
        Opt("--all", "read until the child closes the stream (EOF)", exclusive="mode"),
        TIMEOUT,
        SHOW_HEX,
        SHOW_REPR,
    ),
    calls=("Popen.stdout.read", "Popen.stderr.read"),
    examples=("read p --line", "read p --until '> '", "read p", "read p --stderr --all"),
    setup=("spawn p --shell -- \"printf 'one\\n> rest'; printf oops >&2\"", "wait p"),
    details="Without a mode it returns what is buffered, waiting for the first bytes if "
    "there are none yet. N reads at most N bytes from a socket's file object (`makefile`): "
    "read(N); --line is readline(), --all read().",
)
def _read(ctx: Invocation) -> None:
    if ctx["name"].kind == "file":
        from pslrepl.commands.socket_files import read_file

        return read_file(ctx, ctx["name"])
    if ctx["n"] is not None:
        raise UsageError("read: N is for a socket's file object; a child's read takes "
                         "--line, --until TEXT or --all")  # fmt: skip
    proc = live_process(ctx)
    stream = "stderr" if ctx["stderr"] else "stdout"
    mode, until = "any", b""
    if ctx["line"]:
        mode = "line"
    elif ctx["all"]:
        mode = "all"
    elif ctx["until"] is not None:
        mode = "until"
        until = ctx.data("until")
        if not until:
            raise UsageError("read: --until needs some text to wait for")
    got = proc.read(stream, mode=mode, until=until, timeout=ctx.timeout)
    # What a script would call for the same bytes: the drain thread already read them
    # (os.read as they came), and this takes them from its buffer.
    call, args = {"line": ("readline", ""), "all": ("read", "")}.get(
        mode, ("read", str(len(got.data)) if mode == "until" else "65536")
    )
    value: bytes | str = got.data
    if getattr(proc.popen, "text_mode", False):  # spawn --text: its files give str
        # As TextIOWrapper reads it: decoded, universal newlines (CR LF and CR are LF).
        text = got.data.decode(ctx.session.settings.encoding, "replace")
        value = text.replace("\r\n", "\n").replace("\r", "\n")
    ctx.record(f"Popen.{stream}.{call}", args, value, on=proc.popen, exact=False,
               note="a thread reads the pipe as bytes come; this takes them from its "
               "buffer")  # fmt: skip
    show_read(ctx, proc, stream, got.data, got.eof, got.dropped, mode, until)


@COMMANDS.command(
    "poll",
    "has the child exited? (Popen.poll)",
    args=(CHILD,),
    calls=("Popen.poll",),
    examples=("poll p",),
    setup=("spawn p -- sleep 30",),
)
def _poll(ctx: Invocation) -> None:
    from pslrepl.resources.sh_job import ShJob

    proc = live_process(ctx)
    said = "poll() returned None"
    if isinstance(proc, ShJob):  # as a sh user polls: RunningCommand.is_alive()
        rc, said = proc.poll_recorded(ctx), "is_alive() returned True"
    else:
        rc = ctx.call("Popen.poll", proc.popen.poll)
    if rc is None:
        ctx.emit(
            Styled(
                (
                    ("name", proc.name),
                    ("state.running", f": {proc.running_text()}"),
                    ("notice", f" ({said})"),
                )
            )
        )
    else:
        show_status(ctx, proc.name, rc)


@COMMANDS.command(
    "communicate",
    "send DATA, close stdin, read everything until exit (Popen.communicate)",
    args=(CHILD, DATA_ARG),
    opts=(HEX_IN, FILE_IN, TIMEOUT),
    calls=("Popen.communicate",),
    examples=("communicate p 'b\\na\\n'",),
    setup=("spawn p -- sort",),
    details="The output comes from the buffers spawn drains into: the newest 1 MiB of "
    "each stream, the older bytes counted and said so.",
)
def _communicate(ctx: Invocation) -> None:
    proc = live_process(ctx)
    data = ctx.data(required=False)
    if data:
        proc.write(data, timeout=ctx.timeout)
    # A stdin that is no pipe of the shell's (a file, /dev/null, another child) is not
    # the shell's to close: communicate only waits, as Popen's does with stdin=None.
    if not proc.stdin_closed and (proc.stdin_from == "pipe" or proc.terminal):
        proc.close_stdin()
    session = ctx.session
    done = session.wait_for(
        lambda: proc.exit_reported and proc.stdout.eof and proc.stderr.eof, ctx.timeout
    )
    if not done:
        with session.cond:
            held = len(proc.stdout.data) + len(proc.stderr.data)
        raise Timeout(
            f"{proc.name}: timeout after {ctx.timeout:g} s waiting for the child to "
            f"exit; {plural(held, 'byte')} buffered; it is still running; "
            "--timeout S waits longer"
        )
    with session.cond:
        out, err = proc.stdout.take(), proc.stderr.take()
        dropped = {
            stream: (buf.take_dropped(), 0, buf.cap)
            for stream, buf in (("stdout", proc.stdout), ("stderr", proc.stderr))
        }
    rc = proc.returncode
    assert rc is not None
    ctx.record("Popen.communicate", py_repr(data), (out, err), on=proc.popen, exact=False,
               note="stdin written and closed, then what the drain thread read, at "
               "exit")  # fmt: skip
    show_output(ctx, out, err)
    show_dropped(ctx, "communicate", dropped)
    show_status(ctx, proc.name, rc)
