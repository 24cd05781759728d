"""The exported script being written: its imports, the helpers it uses, and its body."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import CommandRecord

# The helpers a script may need, each written once at its top when a command uses it:
# name -> (the modules it needs, its source). They repeat what the shell's renderer
# does, so the script prints what the shell showed.
HELPERS: dict[str, tuple[tuple[str, ...], str]] = {
    "nbytes": (
        (),
        r'''
def nbytes(n):
    """'1 byte', '7 bytes': a count as the shell says it."""
    return f"{n} byte" if n == 1 else f"{n} bytes"
''',
    ),
    "plural": (
        (),
        r'''
def plural(n, word):
    """'1 client', '2 clients'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
''',
    ),
    "pem_file": (
        (),
        r'''
@contextlib.contextmanager
def pem_file(text):
    """PEM text as a file for as long as ssl reads it (ssl loads a certificate and key
    from files only): made 0600 by tempfile, removed after."""
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as fh:
        fh.write(text)
        fh.flush()
        yield fh.name
''',
    ),
    "table": (
        (),
        r'''
def table(headers, rows, min_widths):
    """Print rows under their headers as the shell's tables: each column as wide as
    its widest cell (or its minimum), two spaces apart; a row's last cell not padded."""
    widths = [max(len(h), min_widths.get(i, 0)) for i, h in enumerate(headers)]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in rows:
        print("".join(c.ljust(w + 2) for c, w in zip(row[:-1], widths, strict=False)) + row[-1])
''',
    ),
    "read_through": (
        (),
        r'''
def read_through(read, pattern):
    """Call ``read`` (a pipe's read, a socket's recv) until ``pattern`` (a regular
    expression of bytes) is found: (what was read, whether it was found). One byte at a
    time, so nothing past the match is taken: the first time it is found, it ends at the
    last byte read."""
    data = b""
    while not re.search(pattern, data):
        byte = read(1)
        if not byte:
            return data, False
        data += byte
    return data, True
''',
    ),
    "show": (
        (),
        r'''
def show(data):
    """Print bytes as text, as the shell shows them: UTF-8, and control characters but
    tab and newline as \\xNN (CR as \\r), so what a program sends can't drive the
    terminal."""
    control = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F)}
    control[0x0D] = "\\r"
    text = data.decode("utf-8", errors="backslashreplace").translate(control)
    print(text[:-1] if text.endswith("\n") else text)
''',
    ),
    "show_hex": (
        (),
        r'''
def show_hex(data):
    """Print bytes as `hexdump -C` does: offset, 16 bytes in hex, the printable ones;
    a row repeated is one '*'."""
    previous, starred = None, False
    for offset in range(0, len(data), 16):
        chunk = data[offset : offset + 16]
        if chunk == previous and len(chunk) == 16:
            if not starred:
                print("*")
                starred = True
            continue
        previous, starred = chunk, False
        hexes = " ".join(f"{b:02x}" for b in chunk)
        hexes = hexes[:23] + " " + hexes[23:]
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        print(f"{offset:08x}  {hexes:<48} |{text}|")
    print(f"{len(data):08x}")
''',
    ),
    "show_repr": (
        ("nbytes",),
        r'''
def show_repr(data):
    """Print bytes as a bytes literal, with its size."""
    print(f"{data!r}  ({nbytes(len(data))})")
''',
    ),
    "addr": (
        (),
        r'''
def addr(sockaddr):
    """A socket address as the shell writes it: 127.0.0.1:80, [::1]:80."""
    host, port = sockaddr[0], sockaddr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
''',
    ),
    "status": (
        (),
        r'''
def status(returncode):
    """How a child ended: a negative returncode is the signal that killed it."""
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name} (signal {-returncode})"
    return f"exited with status {returncode}"
''',
    ),
    "recv_line": (
        (),
        r'''
def recv_line(sock):
    """One line from a stream socket, b'\\n' included (shorter at EOF): one byte per
    recv, so nothing past the line is taken from the socket."""
    line = b""
    while not line.endswith(b"\n"):
        byte = sock.recv(1)
        if not byte:
            break
        line += byte
    return line
''',
    ),
    "clock": (
        (),
        r'''
def clock(t):
    """Wall-clock time with milliseconds, as the shell's log shows it."""
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t % 1 * 1000):03d}"
''',
    ),
}

# The module each helper imports (at the script's top, with the rest).
HELPER_IMPORTS: dict[str, tuple[str, ...]] = {
    "status": ("signal",),
    "clock": ("time",),
    "pem_file": ("contextlib", "tempfile"),
    "read_through": ("re",),
}


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
HELPER_MODULES = ("servers", "relays")

NOT_EXPORTED = "# NOT EXPORTED:"

# Names a resource's variable must not take: the modules a script imports, its helpers,
# and the names its own code binds (a resource called `data` is the variable `data_`).
RESERVED = frozenset({
    "contextlib", "hashlib", "os", "select", "signal", "socket", "socketserver", "ssl",
    "subprocess", "sys", "tempfile", "threading", "time",
    "addr", "clock", "nbytes", "pem_file", "plural", "recv_line", "show", "show_hex",
    "show_repr", "status", "table", "read_through", "re", "getpass", "secret", "found",
    "out", "CountedServer", "TLSServer", "Echo", "Upper",
    "Discard", "Chat", "Relay", "TEST_CA_PEM", "SERVER_CERT_PEM", "SERVER_KEY_PEM",
    "errno", "n", "err", "packed", "timeout", "data", "chunk", "ready", "flags", "peer",
    "returncode", "done", "exc", "sock",
    "rows", "name", "child", "command", "rc", "rc_text", "state", "cert", "cipher",
    "fields", "key", "value", "name_of", "received", "report", "when", "signum",
    "message", "tls_client", "tls_context", "_",
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
        self.printed: set[str] = set()  # processes that have printed something
        self.display = "text"
        self.timeout = 5.0
        self.missing: list[str] = []  # commands not exported, as marked comments
        self.globals: set[str] = set()  # module-level names the script has defined
        self.constants: dict[str, str] = {}  # NAME -> text: PEM, written below the imports
        self.vars: dict[str, str] = {}  # resource name -> its Python variable
        self.commands: dict[str, str] = {}  # a child's command line, as ps shows it
        self.waited: dict[str, int] = {}  # a server's clients waited for so far
        # The session's test CA and server certificate, PEM text ("ca", "cert", "key"),
        # when it made them: a script that serves or trusts them carries them.
        self.tls: dict[str, str] | None = None

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
        head = [
            "#!/usr/bin/env python3",
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
        head.append("")
        lines = head + self.body + self._ending()
        # no run of blank lines longer than two, none at the end
        out: list[str] = []
        for line in lines:
            if line == "" and len(out) >= 2 and out[-1] == "" and out[-2] == "":
                continue
            out.append(line.rstrip())
        while out and out[-1] == "":
            out.pop()
        return "\n".join(out) + "\n"

    def _ending(self) -> list[str]:
        """What the shell does on exit: each child still running ended, each socket closed."""
        if not self.live:
            return []
        lines = ["", "# The end of the session: what is still open is closed, as the shell does."]
        order = {"process": 2, "server": 1}  # sockets first: a server waits for its handlers
        for name, kind in sorted(self.live.items(), key=lambda item: order.get(item[1], 0)):
            v = self.var(name)
            if kind == "process":
                lines.append(f"if {v}.poll() is None:")
                lines.append(f"    {v}.terminate()")
                lines.append(f"{v}.wait()")
            elif kind == "server":
                lines.append(f"{v}.stop()")
            else:
                lines.append(f"{v}.close()")
        return lines


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
