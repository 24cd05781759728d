"""A socket as a file object: makefile, and read and write on what it makes."""

from __future__ import annotations

import contextlib
import io
import socket
import time

from pslrepl.commands.groups import SOCKETS
from pslrepl.commands.options import TIMEOUT_HINT
from pslrepl.commandspec import Arg, Commands
from pslrepl.errors import PslError, Timeout, UsageError
from pslrepl.kinds import NEW, Choice, ResourceOf
from pslrepl.render import plural, preview
from pslrepl.resources.polling import poll_ready
from pslrepl.resources.socket_file import SockFile
from pslrepl.resources.sockets import traced
from pslrepl.results import Output, Styled, Text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.resources.sockets import Sock

COMMANDS = Commands(SOCKETS)

MODES = ("r", "rb", "w", "wb", "rw", "rwb")
FILE_KINDS = SockFile.KINDS
# What a read through a file object may gather at most: --all on a peer that never ends.
MAX_READ = 1 << 26
NOTE = "non-blocking tries as bytes come, so --timeout and Ctrl-C can end it"


@COMMANDS.command(
    "makefile",
    "a file object over a socket (socket.makefile), kept as NEW",
    args=(
        Arg("NEW", NEW),
        Arg("SOCK", ResourceOf("tcp", "unix")),
        Arg("MODE", Choice(MODES), optional=True),
    ),
    calls=("socket.makefile",),
    examples=("makefile f c rb", "makefile w c wb"),
    setup=("serve e tcp 0 --handler echo", "tcp connect c e"),
    details="MODE as open's: r (the default) or rb to read, w or wb to write, rw or rwb "
    "both; b for bytes, else text. Then `read NEW --line|--all|N` calls its readline, "
    "read() or read(N), and `write NEW DATA` its write and flush. The pitfall it "
    "teaches: a read takes all that has come into the file's own buffer, and those "
    "bytes are gone for `recv` on the socket (`info NEW` says how many it holds). "
    "`close NEW` closes the file object; the socket stays open, as in the stdlib.",
)
def _makefile(ctx: Invocation) -> None:
    name: str = ctx["new"]
    res: Sock = ctx["sock"]
    mode: str = ctx["mode"] or "r"
    if res.held:
        raise PslError(f"makefile: {res.name} holds {plural(len(res.held), 'byte')} a recv "
                       f"took and kept, which a file object can't see: recv {res.name} "
                       "first")  # fmt: skip
    try:
        file = traced(ctx, "socket.makefile", res.sock.makefile, mode)
    except OSError as exc:
        raise PslError(f"makefile: {exc}") from None
    sock_file = SockFile(ctx.session, name, res, file, mode)
    ctx.session.registry.add(sock_file)
    ctx.emit(
        Styled(
            (
                ("name", name),
                (
                    "",
                    f": {type(file).__name__} over {res.name} "
                    f"(mode {mode!r}): {_what_next(name, mode)}",
                ),
            )
        )
    )


def _what_next(name: str, mode: str) -> str:
    how = []
    if "r" in mode:
        how.append(f"read {name} --line|--all|N")
    if "w" in mode:
        how.append(f"write {name} DATA")
    return ", ".join(how)


@contextlib.contextmanager
def _nonblocking(sock: socket.socket) -> Iterator[None]:
    """The socket non-blocking for one try: SocketIO then returns None where a read
    would wait, and the file object returns what it has (it raises nothing)."""
    old = sock.gettimeout()
    sock.settimeout(0.0)
    try:
        yield
    finally:
        sock.settimeout(old)


def _try(res: SockFile, how: str, want: int) -> Any:
    with _nonblocking(res.sock_res.sock):
        try:
            if how == "line":
                return res.file.readline()
            if how == "all":
                return res.file.read()
            return res.file.read(want)
        except TypeError:
            # Text mode: read() met a buffer that had nothing yet (its read returned None).
            return None


def _at_eof(sock: socket.socket) -> bool | None:
    """True at the peer's EOF, False if bytes wait, None if nothing has come yet."""
    try:
        return not sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return None
    except OSError:
        return True  # an error (a reset): the file object's next read raises it


def read_file(ctx: Invocation, res: SockFile) -> None:
    """`read NAME --line|--all|N` where NAME is a makefile object: readline(), read() or
    read(N), made of tries that never block, waiting between them as recv does."""
    count: int | None = ctx.values.get("n")
    how = "line" if ctx.values.get("line") else "all" if ctx.values.get("all") else "n"
    if ctx.values.get("until") is not None or ctx.values.get("stderr"):
        raise UsageError(f"read: {res.name} is a file object: it reads --line (readline), "
                         "--all (read) or N bytes (read(N))")  # fmt: skip
    if how == "n" and not count:
        raise UsageError(f"read: say how to read {res.name}: --line (readline), --all "
                         "(read to EOF) or N (read(N))")  # fmt: skip
    if "r" not in res.mode:
        raise PslError(f"read: {res.name} was made with mode {res.mode!r}: it only writes "
                       f"(makefile NEW {res.sock_res.name} rb reads)")  # fmt: skip
    if res.closed:
        raise PslError(f"{res.name} is closed")
    sock_res = res.sock_res
    got, res.pending = res.pending, res.pending[:0]
    eof = False
    deadline = time.monotonic() + ctx.timeout
    what = {"line": "a line", "all": "EOF", "n": plural(count or 0, "byte")}[how]
    sock_res.begin_read()
    before = res.from_socket
    try:
        while not _done(got, how, count):
            part = _try(res, how, (count or 0) - len(got))
            if part:
                got += part
                if len(got) > MAX_READ:
                    raise PslError(f"read: {res.name}: more than {plural(MAX_READ, 'byte')} "
                                   "without EOF; read it in parts (N)")  # fmt: skip
                continue
            state = _at_eof(sock_res.sock)
            if state:
                eof = True
                break
            if state is None and not _wait(ctx, res, deadline, what):
                raise Timeout(f"{res.name}: timeout after {ctx.timeout:g} s waiting for "
                              f"{what}; {_kept(got)}; {TIMEOUT_HINT}")  # fmt: skip
    except OSError as exc:
        from pslrepl.commands.socket_common import socket_error

        if isinstance(exc, io.UnsupportedOperation):
            raise PslError(f"read: {res.name}: {exc}") from None
        raise socket_error(res.name, exc, op="recv") from None
    except BaseException:
        res.pending = got  # what came before the timeout or Ctrl-C: the next read's
        raise
    finally:
        sock_res.end_read(taken=res.from_socket - before)
    data = got.encode(res.file.encoding, res.file.errors) if isinstance(got, str) else got
    res.returned += len(got)
    res.returned_bytes += len(data)
    call = {"line": ("readline", ""), "all": ("read", "")}.get(how, ("read", str(count)))
    ctx.record(f"file.{call[0]}", call[1], got, on=res.file, exact=False, note=NOTE)
    if data:
        ctx.emit(Output(data, "data", mode=ctx.display()))
        ctx.emit(Text(f"({plural(len(data), 'byte')})", "notice"))
    if eof:
        short = " before the newline" if how == "line" and data else ""
        ctx.emit(Text(f"EOF: the peer closed its side{short}", "notice"))


def _wait(ctx: Invocation, res: SockFile, deadline: float, what: str) -> bool:
    """Wait for the socket to turn readable, until ``deadline``; False if it did not."""
    from pslrepl.commands.socket_common import wait_readable

    sock_res = res.sock_res
    if sock_res.held:
        raise PslError(f"read: {sock_res.name} holds {plural(len(sock_res.held), 'byte')} "
                       f"a recv took and kept, which {res.name} can't see: recv "
                       f"{sock_res.name} takes them")  # fmt: skip
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return False
    if sock_res.sock.gettimeout() is not None:  # the user's own timeout: a plain poll
        return poll_ready([sock_res.sock], timeout=remaining)
    try:
        wait_readable(ctx, sock_res, deadline, what)
    except Timeout:
        return False
    return True


def _done(got: bytes | str, how: str, count: int | None) -> bool:
    if how == "line":
        return bool(got) and got[-1:] in ("\n", b"\n")
    if how == "n":
        return len(got) >= (count or 0)
    return False


def _kept(got: bytes | str) -> str:
    if not got:
        return "nothing came"
    data = got.encode() if isinstance(got, str) else got
    return f"{plural(len(data), 'byte')} came, kept for the next read: {preview(data)}"


def write_file(ctx: Invocation, res: SockFile, data: bytes) -> None:
    """`write NAME DATA` where NAME is a makefile object: write, then flush, bounded by
    the command's --timeout (a peer that does not read fills the socket's buffer)."""
    if "w" not in res.mode:
        raise PslError(f"write: {res.name} was made with mode {res.mode!r}: it only reads "
                       f"(makefile NEW {res.sock_res.name} wb writes)")  # fmt: skip
    if res.closed:
        raise PslError(f"{res.name} is closed")
    value: bytes | str = data
    if res.text:
        try:
            value = data.decode(res.file.encoding)
        except UnicodeDecodeError:
            raise UsageError(
                f"write: {res.name} is a text file ({res.file.encoding}): DATA "
                "must decode; make a binary one (mode wb) for any bytes"
            ) from None
    sock = res.sock_res.sock
    own = sock.gettimeout()
    if own is None:
        sock.settimeout(ctx.timeout)
    try:
        n = traced(ctx, "file.write", res.file.write, value)
        traced(ctx, "file.flush", res.file.flush)
    except TimeoutError as exc:
        if exc.errno is not None or own is not None:
            raise PslError(f"{res.name}: {exc}") from None
        raise Timeout(f"{res.name}: timeout after {ctx.timeout:g} s flushing: the peer is not "
                      f"reading, and what did not fit stays in {res.name}'s buffer; "
                      f"{TIMEOUT_HINT}") from None  # fmt: skip
    except OSError as exc:
        from pslrepl.commands.socket_common import socket_error

        raise socket_error(res.name, exc, op="send", kind=res.sock_res.kind) from None
    finally:
        if own is None and not res.sock_res.closed:
            sock.settimeout(None)
    res.written += n
    res.sock_res.traffic("send", "out", data)
    ctx.emit(Styled((("name", res.name),
                     ("notice", f": wrote {plural(len(data), 'byte')} and flushed"))))  # fmt: skip
