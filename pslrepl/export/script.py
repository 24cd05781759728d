"""The exported script being written: its imports, the helpers it uses, and its body."""

from __future__ import annotations

import re

from pslrepl.export.helpers import HELPER_IMPORTS, HELPERS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import CommandRecord


def _helper(name: str) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """A helper's (helpers it needs, source, modules it imports), from here or from the
    exporter module that declares it."""
    if name in HELPERS:
        needs, source = HELPERS[name]
        return needs, source, HELPER_IMPORTS.get(name, ())
    import importlib

    for module in HELPER_MODULES:
        found = importlib.import_module(f"pslrepl.export.{module}")
        if name in found.HELPERS:
            needs, source = found.HELPERS[name]
            return needs, source, found.HELPER_IMPORTS.get(name, ())
    raise KeyError(name)


# Exporter modules that declare helpers of their own (a HELPERS and a HELPER_IMPORTS).
HELPER_MODULES = (
    "servers",
    "relay_code",
    "socket_buffers",
    "attaching",
    "sh_jobs",
    "selectors_code",
)

NOT_EXPORTED = "# NOT EXPORTED:"

# Names a resource's variable must not take: the modules a script imports, its helpers,
# and the names its own code binds (a resource called `data` is the variable `data_`).
RESERVED = frozenset({
    "contextlib", "hashlib", "os", "select", "signal", "socket", "socketserver", "ssl",
    "subprocess", "sys", "tempfile", "threading", "time",
    "addr", "ends", "clock", "nbytes", "pem_file", "plural", "recv_line", "show", "show_hex",
    "show_repr", "status", "table", "read_through", "re", "getpass", "secret", "found",
    "out", "CountedServer", "TLSServer", "Echo", "Upper",
    "Discard", "Chat", "Relay", "Cut", "Toxic", "Latency", "Slicer", "BlackHole", "Bandwidth",
    "Limit", "SlowClose", "DelayAccept", "Timed", "Reset", "CloseAfter", "struct", "random",
    "TEST_CA_PEM", "SERVER_CERT_PEM", "SERVER_KEY_PEM",
    "errno", "n", "err", "packed", "timeout", "data", "chunk", "ready", "flags", "peer",
    "returncode", "done", "exc", "sock", "family", "kind", "proto", "sockaddr",
    "path", "deadline", "host", "service", "where", "attach_piped", "sent", "got", "why", "rest",
    "job_read", "held", "waiting", "hint", "eof", "selectors", "SelectorsServer", "Channel",
    "EchoChannel", "UpperChannel", "DiscardChannel", "DaytimeChannel", "said", "killed",
    "io",
    "importlib", "spec", "module",
    # signals' and sh's exporters bind these at the top level
    "previous", "was", "now", "members", "group_members", "timer_left", "handlers", "mask",
    "info", "codes", "who", "children", "code", "job", "line", "piped", "sig_name",
    "write_file", "show_buf", "buf", "SHOWN", "timeouts", "served", "saved", "fh",
    "ForkedChild", "Daytime", "Chargen",
    "rows", "name", "child", "command", "rc", "rc_text", "state", "cert", "cipher",
    "fields", "key", "value", "name_of", "received", "report", "when", "signum",
    "message", "typing", "tls_client", "tls_context", "_", "l", "I", "O", "pathlib", "tmp",
    "shutil",
})  # fmt: skip


class Unexportable(Exception):
    """A command an exporter can't write faithfully: its message says why, and the
    script carries it as a marked comment."""


class Script:
    """What an exporter writes to: code lines, imports and helpers as they are needed,
    and what it knows of the session so far (each resource's kind, the display mode)."""

    def __init__(self, *, source: str = "") -> None:
        self.source = source  # where the session came from, for the docstring
        self.imports: set[str] = set()
        self.helpers: list[str] = []
        self.body: list[str] = []
        self.kinds: dict[str, str] = {}  # resource name -> process, tcp, listener, udp
        self.live: dict[str, str] = {}  # what is open now: closed at the script's end
        self.printed: set[str] = set()  # "NAME STREAM" of processes that printed on it
        self.display = "text"
        self.explain = False  # set explain on: each command's calls are printed after it
        self.timeout = 5.0
        self.missing: list[str] = []  # commands not exported, as marked comments
        self.globals: set[str] = set()  # module-level names the script has defined
        self.constants: dict[str, str] = {}  # NAME -> text: PEM, written below the imports
        self.vars: dict[str, str] = {}  # resource name -> its Python variable
        self.commands: dict[str, str] = {}  # a child's command line, as ps shows it
        self.waited: dict[str, int] = {}  # a server's clients waited for so far
        self.modes: dict[str, str] = {}  # a server's: sync or threading
        self.over: dict[str, str] = {}  # a makefile object's socket
        # A UNIX socket's file the script made by bind (name -> its path as Python): the
        # socket's close removes it, as the shell's does, and so does the script's end.
        self.paths: dict[str, str] = {}
        # The session's test CA and server certificate, PEM text ("ca", "cert", "key"),
        # when it made them: a script that serves or trusts them carries them.
        self.tls: dict[str, str] | None = None
        self.session_tmp = ""  # the session's temporary directory, whose paths are {tmp}
        self.cleanup: list[str] = []  # statements the script's end runs (remove its tmp)
        # The transcript's embedded files (name under {tmp} -> text): the script writes
        # them in its own temporary directory first, as replay does in the session's.
        self.files: dict[str, str] = {}
        # (when, name) of each resource a command made, in order: what a lab load made
        self.made_at: list[tuple[float, str]] = []
        self.lab = ""  # the lab loaded last (lab load FILE), as reset returns to it
        self.unmade: set[str] = set()  # the session's resources the script does not make
        # A transcript's captures: name -> (the script's variable, the session's value)
        self.captured: dict[str, tuple[str, str]] = {}

    # -- building ---------------------------------------------------------------------

    def imp(self, *modules: str) -> None:
        self.imports.update(modules)

    def use(self, helper: str) -> str:
        """Have ``helper`` written at the top (with what it needs); its name."""
        needs, _, modules = _helper(helper)
        for need in needs:
            self.use(need)
        self.imp(*modules)
        if helper not in self.helpers:
            self.helpers.append(helper)
        return helper

    def var(self, name: str) -> str:
        """The Python variable for the resource ``name``: the name itself where it can be
        one (a resource's name is its variable, as in explain), else made one: '-' as
        '_', and a trailing '_' where it would hide a module, a helper, a builtin or a
        name the script's own code uses (data, n, ready...)."""
        if name in self.vars:
            return self.vars[name]
        import builtins
        import keyword

        taken = set(self.vars.values())
        var = name.replace("-", "_")
        while (keyword.iskeyword(var) or var in RESERVED or hasattr(builtins, var)
               or var in taken or not var.isidentifier()):  # fmt: skip
            var += "_"
        self.vars[name] = var
        return var

    def constant(self, name: str, text: str) -> str:
        """A text constant (PEM) written once below the imports; its name."""
        self.constants[name] = text
        return name

    def add(self, *lines: str) -> None:
        """Code lines (several in one string allowed), at the top level."""
        for text in lines:
            self.body.extend(text.split("\n"))

    def comment(self, record: CommandRecord) -> None:
        """The command as typed, above its code."""
        self.body.append("")
        first = True
        for part in record.line.split("\n"):
            while True:  # a long line goes on in comment lines of its own
                lead = "# psl> " if first else "#      "
                first = False
                cut = part.rfind(" ", 0, 96 - len(lead)) if len(lead + part) > 96 else -1
                if cut <= 0:
                    self.body.append(lead + part)
                    break
                self.body.append(lead + part[:cut])
                part = part[cut + 1 :]

    def not_exported(self, record: CommandRecord, why: str) -> None:
        """A command the script can't make: said where it stood, never dropped."""
        self.missing.append(record.command)
        import textwrap

        self.body.extend(textwrap.wrap(f"{NOT_EXPORTED} {why}", 96,
                                       subsequent_indent="#   "))  # fmt: skip

    def show(self, data: str, *, mode: str | None = None) -> str:
        """The line that prints the bytes in ``data`` as the display mode shows them."""
        mode = mode or self.display
        helper = {"hex": "show_hex", "repr": "show_repr"}.get(mode, "show")
        return f"{self.use(helper)}({data})"

    def bytes_said(self, count: str) -> str:
        """An f-string part for a count of bytes: '{nbytes(n)}'."""
        return "{" + self.use("nbytes") + f"({count})" + "}"

    # -- the whole script ---------------------------------------------------------------

    def text(self) -> str:
        top = self.session_tmp.rstrip("/")
        if top and (self.files or any(top in line for line in self.body)):
            self.tmp_setup()
        # The ending before the head: what it uses (end_child) is defined in the body,
        # above it, and its imports and helpers are in the head.
        ending = self._ending()
        import sys

        python = repr(sys.executable)  # the interpreter ({python}): the script's own
        if any(python in line for line in self.body if not line.lstrip().startswith("#")):
            self.imp("sys")
            self.body = [line if line.lstrip().startswith("#") else
                         line.replace(python, "sys.executable") for line in self.body]  # fmt: skip
        # No #! line: the file is 0600 (it may hold a session's data), so it is run as
        # `python3 FILE`, and ruff's EXE001 would flag a #! on a file that is not executable.
        head = [
            '"""A pslrepl session as a script that makes the same stdlib calls.',
            "",
            "Each command as it was typed is a comment, then the calls it made, then the",
            "prints that show what the shell showed, computed from what the calls return.",
        ]
        if self.source:
            head += ["", _literal(f"Exported from {self.source}.")[1:-1]]
        head += ['"""', ""]
        for module in sorted(self.imports - {"sh"}):
            head.append(f"import {module}")
        if "sh" in self.imports:  # not the stdlib's: a section of its own
            head.extend(["", "import sh"])
        for name, text in self.constants.items():
            head.extend(["", f'{name} = """\\'] + text.rstrip("\n").split("\n") + ['"""'])
        for name in self.helpers:
            head.extend(["", ""])
            head.extend(_helper(name)[1].strip("\n").split("\n"))
        if self.helpers or self.constants:
            head.append("")  # two blank lines after a definition, one after the imports
        lines = head + self.body + ending
        if top and "tmp" in self.globals:
            lines = own_tmp(lines, top)
        # no run of blank lines longer than two, none at the end
        out: list[str] = []
        for line in lines:
            if line == "" and len(out) >= 2 and out[-1] == "" and out[-2] == "":
                continue
            out.append(line.rstrip())
        while out and out[-1] == "":
            out.pop()
        return "\n".join(out) + "\n"

    def tmp_setup(self) -> None:
        """The script's own temporary directory (``tmp``), made once, removed at the end;
        the transcript's embedded files written in it (0600, as replay writes them)."""
        if "tmp" not in self.globals:
            self.globals.add("tmp")
            self.imp("tempfile", "shutil")
            self.body.insert(0, "tmp = tempfile.mkdtemp()  # the script's own directory, "
                             "as the shell has its {tmp}")  # fmt: skip
            self.cleanup.append("shutil.rmtree(tmp)")
        if self.files:
            helper = self.use("write_file")
            at = self.body.index(next(line for line in self.body if line.startswith("tmp = ")))
            lines = ["# The transcript's embedded files, in the script's own directory"]
            for name, text in self.files.items():
                parts = [literal(part, indent=4) for part in text.splitlines(keepends=True)]
                if len(parts) == 1 and len(f"{helper}(tmp, {name!r}, {parts[0]})") <= 96:
                    lines.append(f"{helper}(tmp, {name!r}, {parts[0]})")
                    continue
                lines.append(f"{helper}(")
                lines.append(f"    tmp,\n    {name!r},")
                lines.extend(["    " + part for part in parts] or ["    ''"])
                lines.append(")")
            self.body[at + 1 : at + 1] = "\n".join(lines).split("\n")
            self.files = {}

    def _ending(self) -> list[str]:
        """What the shell does on exit: each child still running ended, each socket closed."""
        if not self.live:
            return ["", *self.cleanup] if self.cleanup else []
        lines = ["", "# The end of the session: what is still open is closed, as the shell does."]
        # file objects first (a writer flushes to its socket), then sockets (a server
        # waits for its handlers)
        order = {"file": -1, "process": 2, "server": 1}
        for name, kind in sorted(self.live.items(), key=lambda item: order.get(item[1], 0)):
            v = self.var(name)
            if kind == "sh":
                continue  # an sh job: the cleanup below ends it, as the shell does
            if kind == "process":  # its whole group, as the shell's close (a --shell child's)
                from pslrepl.export.enders import end_child

                lines.append(f"{end_child(self)}({v})")
            elif kind == "server":
                lines.append(f"{v}.stop()")
            else:
                lines.append(f"{v}.close()")
                if name in self.paths:  # its socket file goes with it, as at the shell's exit
                    self.imp("os")
                    lines.append(f"os.unlink({self.paths[name]})")
        lines.extend(self.cleanup)
        return lines


# A one-line string literal as exporters write them: an optional prefix, then quotes.
_STRING = re.compile(r"""(?<![\w])([rRbBfF]{0,2})('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")


def own_tmp(lines: list[str], top: str) -> list[str]:
    """The lines with the session's temporary directory ``top`` written as the script's
    own ``tmp``: a literal holding it becomes an f-string, a comment says {tmp}."""

    def rewrite(m: re.Match[str]) -> str:
        prefix, body = m.group(1), m.group(2)
        if top not in body or "b" in prefix.lower() or "r" in prefix.lower():
            return m.group(0)
        if "f" not in prefix.lower():
            body = body.replace("{", "{{").replace("}", "}}")
            prefix += "f"
        return prefix + body.replace(top, "{tmp}")

    out = []
    for line in lines:
        if top in line:
            comment = line.lstrip().startswith("#")
            line = line.replace(top, "{tmp}") if comment else _STRING.sub(rewrite, line)
        out.append(line)
    return out


def literal(value: object, *, indent: int = 4, width: int = 96) -> str:
    """A str, bytes or list of them as Python source no line of which is wider than
    ``width`` at ``indent``: long ones as adjacent literals, one per line."""
    if isinstance(value, list):
        one = repr(value)
        if indent + len(one) <= width:
            return one
        inner = [" " * (indent + 4) + literal(v, indent=indent + 4, width=width) + ","
                 for v in value]  # fmt: skip
        return "\n".join(["[", *inner, " " * indent + "]"])
    assert isinstance(value, (str, bytes))
    one = repr(value)
    if indent + len(one) <= width:
        return one
    pieces: list[str] = []
    start = 0
    while start < len(value):
        end = start + 1
        while end < len(value) and len(repr(value[start : end + 1])) + indent + 4 <= width:
            end += 1
        pieces.append(repr(value[start:end]))
        start = end
    pad = " " * (indent + 4)
    return "(\n" + "\n".join(pad + p for p in pieces) + "\n" + " " * indent + ")"


def indented(text: str, spaces: int = 4) -> str:
    """Code lines moved right, into a block."""
    return "\n".join(" " * spaces + line if line else line for line in text.split("\n"))


def wrapped_print(text: str, *, f: bool = False, indent: str = "", width: int = 96) -> str:
    """A print() of one string literal, cut at spaces into adjacent literals so no line is
    longer than ``width`` (never inside an f-string's {expression})."""
    prefix = "f" if f else ""
    one = f"{indent}print({prefix}{_literal(text)})"
    if len(one) <= width:
        return one
    room = width - len(indent) - 8
    pieces: list[str] = []
    start = depth = 0
    last_space = -1
    for i, ch in enumerate(text):
        if f and ch == "{":
            depth += 1
        elif f and ch == "}":
            depth -= 1
        elif ch == " " and depth == 0:
            last_space = i
        if i - start >= room and last_space > start:
            pieces.append(text[start : last_space + 1])
            start = last_space + 1
    pieces.append(text[start:])
    inner = [f"{indent}    {prefix}{_literal(p)}" for p in pieces if p]
    return "\n".join([f"{indent}print(", *inner, f"{indent})"])


def _literal(text: str) -> str:
    """A string literal in double quotes (the style ruff's formatter keeps)."""
    body = repr(text)
    if body.startswith("'") and '"' not in text:
        body = '"' + body[1:-1].replace("\\'", "'") + '"'
    return body
