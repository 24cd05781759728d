"""The helpers an exported script may need, as their source: each is written once at
the script's top when a command uses it, and says in its docstring what it does."""

from __future__ import annotations

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
    terminal; a byte that isn't UTF-8 as \\xNN, and a backslash doubled (as repr does)."""
    control = {c: f"\\x{c:02x}" for c in (*range(0x09), *range(0x0B, 0x20), 0x7F)}
    control[0x0D] = "\\r"
    control[0x5C] = "\\\\"
    control.update({0xDC00 + b: f"\\x{b:02x}" for b in range(0x80, 0x100)})
    text = data.decode("utf-8", errors="surrogateescape").translate(control)
    print(text.removesuffix("\n"))
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
    "ends": (
        ("addr",),
        r'''
def ends(sock):
    """A socket's local end (and its peer, if connected) as the shell writes them: a UNIX
    socket's path, or (unbound)."""

    def said(sockaddr):
        return sockaddr if isinstance(sockaddr, str) else addr(sockaddr)

    local = said(sock.getsockname()) or "(unbound)"
    try:
        remote = said(sock.getpeername())
    except OSError:  # not connected
        remote = ""
    return f"{local} -> {remote}" if remote else local
''',
    ),
    "status": (
        (),
        r'''
def status(returncode):
    """How a child ended: a negative returncode is the signal that killed it."""
    if returncode >= 0:
        return f"exited with status {returncode}"
    signum = -returncode
    try:
        name = signal.Signals(signum).name
    except ValueError:  # a real-time signal: named as kill -l names it
        low, high = int(signal.SIGRTMIN), int(signal.SIGRTMAX)
        if not low < signum < high:
            return f"killed by signal {signum}"
        if signum - low <= (high - low) // 2:
            name = f"SIGRTMIN+{signum - low}"
        else:
            name = f"SIGRTMAX-{high - signum}"
    return f"killed by {name} (signal {signum})"
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
HELPERS["write_file"] = (
    (),
    r'''
def write_file(top, name, text):
    """Write a file under the directory ``top`` (0600; its folders made as needed)."""
    path = os.path.join(top, name)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
''',
)

HELPERS["sig_name"] = (
    (),
    r'''
def sig_name(signum):
    """A signal's name as the shell says it: the real-time ones as kill -l names them."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        low, high = int(signal.SIGRTMIN), int(signal.SIGRTMAX)
        if not low < signum < high:
            return f"signal {signum}"
        if signum - low <= (high - low) // 2:
            return f"SIGRTMIN+{signum - low}"
        return f"SIGRTMAX-{high - signum}"
''',
)

HELPER_IMPORTS: dict[str, tuple[str, ...]] = {
    "sig_name": ("signal",),
    "write_file": ("os",),
    "status": ("signal",),
    "clock": ("time",),
    "pem_file": ("contextlib", "tempfile"),
    "read_through": ("re",),
}
