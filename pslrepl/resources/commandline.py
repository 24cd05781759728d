"""A command as the shell shows it, and why a program could not start, in words."""

from __future__ import annotations

import os
import re

from pslrepl.errors import describe_oserror


def exec_failure(args: list[str] | str, exc: OSError, *, cwd: str | None) -> str:
    """Why Popen could not start a program, in words: a missing --cwd directory, a
    missing program, a directory or a file without execute permission, not a program."""
    import errno

    prog = "/bin/sh" if isinstance(args, str) else args[0]
    if exc.errno == errno.ENOENT:
        if cwd and not os.path.isdir(cwd):
            return f"no such directory {cwd!r} for --cwd"
        import shutil

        found = os.path.join(cwd or "", prog) if "/" in prog else shutil.which(prog)
        if found and os.path.isfile(found):  # there, but exec said ENOENT: its #! line
            return f"{prog!r} names an interpreter in its #! line that isn't there (ENOENT)"
        return f"no such program {prog!r} (ENOENT): check the name or give a path"
    if exc.errno == errno.EACCES:
        if os.path.isdir(prog):
            return f"{prog!r} is a directory, not a program (EACCES)"
        return (
            f"{prog!r} can't be executed: no execute permission (EACCES); chmod +x it, "
            "or give it to its interpreter"
        )
    if exc.errno == errno.ENOEXEC:
        return f"{prog!r} is not a program this system can run (ENOEXEC): a script needs a #! line"
    return f"can't run {command_text(args)!r}: {describe_oserror(exc)}"


# What shlex.quote leaves bare; anything else is quoted.
_BARE = re.compile(r"[\w@%+=:,./-]+", re.ASCII)
# Control characters, shown escaped so a command stays on one line (a table row) and
# can't drive the terminal.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}
_CONTROL.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})


def quote_word(word: str) -> str:
    """One word as a user would type it: bare, in single quotes, or in double quotes
    when it holds a single quote (shlex.quote's '"'"' reads badly). Both this shell's
    parser and /bin/sh read it back as the same word, control characters aside."""
    if _BARE.fullmatch(word):
        return word
    if "'" not in word:
        return f"'{word}'".translate(_CONTROL)
    return ('"' + re.sub(r'(["\\$`])', r"\\\1", word) + '"').translate(_CONTROL)


def command_text(args: list[str] | str) -> str:
    """A command as spawn, ps, ls and info show it: the argv quoted as typed, or the
    --shell string as given; on one line."""
    if isinstance(args, str):
        return args.translate(_CONTROL)
    return " ".join(quote_word(w) for w in args)
