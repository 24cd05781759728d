"""What the sh command is made of: its pipeline split at |, its options as sh's keyword
arguments, the call written as Python, and why sh refused a program."""

from __future__ import annotations

import keyword
import os

from pslrepl.callrecord import py_repr
from pslrepl.errors import PslError, UsageError
from pslrepl.kinds import Kind, Where

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.invocation import Invocation

# sh reads a stream in reads of this size (its default, line buffering, reads 1 KiB at a
# time and its unbuffered mode a byte at a time: `sh yes` would crawl).
CHUNK = 65536


class OkCodes(Kind):
    """--ok-code 0,1: the exit statuses sh takes as success (negative: death by a signal)."""

    name = "codes"

    def convert(self, raw: str, where: Where) -> Any:
        codes = []
        for part in raw.split(","):
            try:
                code = int(part.strip())
            except ValueError:
                raise where.fail(f"takes statuses like 0,1 or 0,-13, not {raw!r}") from None
            if not -64 <= code <= 255:
                raise where.fail(f"{code} is no exit status: they are 0 to 255, or -1 to -64 "
                                 "for a signal")  # fmt: skip
            codes.append(code)
        return sorted(set(codes))


class Keep:
    """Where sh writes a stream (its ``_out``/``_err``): the newest bytes are kept, the
    older ones counted. Left to itself sh keeps every byte in memory (`sh yes`)."""

    def __init__(self) -> None:
        from pslrepl.resources.buffers import StreamBuffer

        self.buf = StreamBuffer()

    def write(self, chunk: bytes) -> None:  # sh passes bytes to a file-like with no encoding
        self.buf.feed(chunk)

    def __repr__(self) -> str:
        return f"<the newest {self.buf.cap >> 20} MiB>"


def split_pipeline(ctx: Invocation) -> list[list[str]]:
    """ARGV split at each unquoted ``|``: one list of words per command. The | is sh's
    piping (_piped=True), never a system shell's; a quoted '|' is a plain argument."""
    argv = ctx.argv
    tokens = ctx.arg_tokens[len(ctx.arg_tokens) - len(argv) :] if argv else []
    stages: list[list[str]] = [[]]
    for tok in tokens:
        if tok.text == "|" and not tok.quoted:
            if not stages[-1]:
                raise UsageError("sh: a | with no command before it; like: sh ls -1 / | wc -l")
            stages.append([])
            continue
        if "|" in tok.text and not tok.quoted:
            raise UsageError(f"sh: put spaces around | to pipe ({tok.text!r} is one word), or "
                             "quote it to pass it on as it is")  # fmt: skip
        stages[-1].append(tok.text)
    if len(stages) > 1 and not stages[-1]:
        raise UsageError("sh: a | with no command after it; like: sh ls -1 / | wc -l")
    return stages


def program_expr(program: str) -> str:
    """How Python names the program: sh.ls, or sh.Command('/bin/ls') for a path or a name
    that is no identifier."""
    if program.isidentifier() and not keyword.iskeyword(program):
        return f"sh.{program}"
    return f"sh.Command({program!r})"


class ShOptions:
    """The sh command's options as sh's keyword arguments, for each command of a pipeline
    (--in goes to the first, --tty to the last, the rest to all), and as Python."""

    def __init__(self, ctx: Invocation, *, background: bool) -> None:
        # --in '' is empty input, as _in='' is: not a missing DATA.
        self.data: bytes | None = ctx.data("in", required=False) if ctx["in"] is not None else None
        self.ok_codes: list[int] | None = ctx["ok_code"]
        self.cwd: str | None = ctx["cwd"]
        if self.cwd is not None and not os.path.isdir(self.cwd):
            # Said as spawn and run say it: sh's ENOENT from the chdir reads like a
            # missing interpreter.
            what = "not a directory" if os.path.exists(self.cwd) else "no such directory"
            raise PslError(f"sh: {what} {self.cwd!r} for --cwd")
        self.pairs = [_pair(p) for p in ctx["env"] or []]
        self.env = {**os.environ, **dict(self.pairs)} if self.pairs else None
        self.tty: bool | None = True if ctx["tty"] else (False if ctx["no_tty"] else None)
        # In the foreground the session's timeout bounds it, given or not; a background
        # command runs until it ends unless --timeout is given.
        self.timeout: float | None = ctx.timeout if not background else ctx["timeout"]
        self.timeout_given = ctx["timeout"] is not None

    def kwargs(self, index: int, last: bool) -> dict[str, Any]:
        kw: dict[str, Any] = {}
        if index == 0 and self.data is not None:
            kw["_in"] = self.data
        if self.ok_codes is not None:
            kw["_ok_code"] = self.ok_codes
        if self.cwd is not None:
            kw["_cwd"] = self.cwd
        if self.env is not None:
            kw["_env"] = self.env
        if last and self.tty is not None:
            kw["_tty_out"] = self.tty
        if self.timeout is not None:
            kw["_timeout"] = self.timeout
        return kw

    def shown(self, index: int, last: bool) -> list[str]:
        """The keyword arguments the user's options gave, as Python source (the whole
        environment is not shown: it may hold secrets)."""
        kw = self.kwargs(index, last)
        if not self.timeout_given:
            kw.pop("_timeout", None)
        text = []
        for key, value in kw.items():
            if key == "_env":
                inner = ", ".join(f"{k!r}: {v!r}" for k, v in self.pairs)
                text.append(f"_env={{**os.environ, {inner}}}")
            else:
                text.append(f"{key}={py_repr(value)}")
        return text


def _pair(text: str) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    if not eq or not key:
        raise UsageError(f"sh: --env takes K=V, not {text!r}")
    return key, value


def pipeline_python(stages: list[list[str]], options: ShOptions, extra: list[str]) -> str:
    """The sh calls as one line of Python, each command's output the next one's input:
    sh.wc('-l', _in=sh.ls('-1', '/', _piped=True)) (sh 2 pipes through _in)."""
    inner = ""
    for index, (program, *args) in enumerate(stages):
        last = index == len(stages) - 1
        parts = [repr(a) for a in args]
        if inner:
            parts.append(f"_in={inner}")
        if not last:
            parts.append("_piped=True")
        parts += options.shown(index, last)
        if last:
            parts += extra
        inner = f"{program_expr(program)}({', '.join(parts)})"
    return inner


def not_found(program: str) -> str:
    """Why sh.Command refused: sh says CommandNotFound for a directory or a file that
    can't be executed as much as for a missing one; say which it is."""
    if "/" in program:
        candidates = [program]
    else:
        path = os.environ.get("PATH", os.defpath).split(os.pathsep)
        candidates = [os.path.join(d or ".", program) for d in path]
    for candidate in candidates:
        if os.path.isdir(candidate):
            if candidate == program:
                return f"{program!r} is a directory, not a program"
            continue  # a directory named like it on PATH doesn't stop the search
        if os.path.exists(candidate) and not os.access(candidate, os.X_OK):
            return (
                f"{candidate!r} can't be executed: no execute permission (EACCES); "
                f"chmod +x it, or give it to its interpreter"
            )
    if "/" in program:
        return f"no such program {program!r}: check the path"
    return f"no such program {program!r} on PATH: check the name or give a path"


def fork_reason(exc: Exception) -> str:
    """sh's ForkException carries the child's traceback as text; its last OSError line
    (FileNotFoundError, PermissionError...) says why exec failed: ENOEXEC for a file
    with no #! line, ENOENT for a #! interpreter that isn't there."""
    import errno
    import re

    found = re.findall(r"\w*Error: \[Errno (\d+)\] ([^\n]*)", str(exc))
    if not found:
        return "the child failed before it could exec (sh.ForkException)"
    code, reason = int(found[-1][0]), found[-1][1].strip()
    name = errno.errorcode.get(code, str(code))
    hint = {
        errno.ENOEXEC: ": it is not a program this system can run (a script needs a #! line)",
        errno.ENOENT: ": its #! line names an interpreter that isn't there",
        errno.EACCES: ": no permission to execute it",
    }.get(code, "")
    return f"{reason} ({name}){hint} (sh.ForkException)"


def parent_death_signal() -> Any:
    """A preexec function asking Linux to KILL the child if the shell dies before it
    (prctl PR_SET_PDEATHSIG), besides the watchdog that ends its session's group then.
    None where there is no prctl."""
    import ctypes
    import signal

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def die_with_the_shell() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)

    return die_with_the_shell


def restoring_mask(mask: set[Any]) -> Any:
    """A preexec function giving the child the signal mask the shell had: a background
    command is started with signals blocked (so sh's threads, which inherit the mask,
    never take one meant for the shell), and the child must not keep that."""
    import signal

    def unblock() -> None:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    return unblock
