"""Exporters for relay: a listening side whose first client is joined to a child's pipes
(exec:) or to a TCP connection (tcp:), by two copying threads; wait NAME close."""

from __future__ import annotations

from pslrepl.export.script import wrapped_print

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord

HELPERS: dict[str, tuple[tuple[str, ...], str]] = {
    "Relay": (
        ("addr",),
        r'''
class Relay:
    """Bytes both ways between the first client of ``listener`` and another end (a
    child's pipes, or a TCP connection), a thread per direction. The end of one
    direction's input is passed on as the end of its output: a half-close (shutdown
    SHUT_WR), or the child's stdin closed."""

    def __init__(self, listener, name, connect_other):
        self.listener = listener
        self.where = f"tcp-listen:{addr(listener.getsockname())}"
        self.name = name  # the other end, as the relay was told it: exec:sort
        self.connect_other = connect_other
        self.moved = {">": 0, "<": 0}
        self.copiers = []
        self.started = threading.Thread(target=self.join_first_client, daemon=True)
        self.started.start()

    def join_first_client(self):
        client, _ = self.listener.accept()
        self.listener.close()  # one client: the relay is for it alone
        read_other, write_other, end_other = self.connect_other()

        def end_client():
            client.shutdown(socket.SHUT_WR)

        self.copiers = [
            threading.Thread(target=self.copy, args=(">", client.recv, write_other, end_other)),
            threading.Thread(target=self.copy, args=("<", read_other, client.sendall, end_client)),
        ]
        for thread in self.copiers:
            thread.start()

    def copy(self, way, read, write, end):
        while data := read(65536):
            write(data)
            self.moved[way] += len(data)
        end()

    def wait_closed(self, timeout):
        """True once both directions have ended."""
        self.started.join(timeout)
        for thread in self.copiers:
            thread.join(timeout)
        return not self.started.is_alive() and not any(t.is_alive() for t in self.copiers)

    def totals(self):
        return (
            f"{self.where} -> {self.name}: {plural(self.moved['>'], 'byte')}; "
            f"{self.name} -> {self.where}: {plural(self.moved['<'], 'byte')}"
        )
''',
    ),
}

HELPER_IMPORTS = {"Relay": ("socket", "threading")}


def _relay(script: Script, record: CommandRecord) -> None:
    import shlex

    from pslrepl.addresses import parse_addr

    values = record.values
    name, a, b = values["name"], str(values["a"]), str(values["b"])
    v = script.var(name)
    if (
        not a.startswith("tcp-listen:")
        or not b.startswith(("exec:", "tcp:"))
        or (values.get("hex") or values.get("text"))
    ):
        script.not_exported(record, "only relay NAME tcp-listen:ADDR exec:CMD|tcp:ADDR is "
                            "exported yet")  # fmt: skip
        return
    listen = parse_addr(a.removeprefix("tcp-listen:")).sockaddr
    script.imp("socket")
    script.use("Relay")
    script.use("plural")
    script.add(f"{v}_a = socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
               f"{v}_a.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
               f"{v}_a.bind({listen!r})", f"{v}_a.listen(1)", "")  # fmt: skip
    opener = f"open_{v}_b"
    script.add("", f"def {opener}():")
    if b.startswith("exec:"):
        script.imp("subprocess")
        argv = shlex.split(b.removeprefix("exec:"))
        script.add(f'    """{b}: a child, when the first client comes; its stdout and stdin."""',
                   "    child = subprocess.Popen(",
                   f"        {argv!r}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0",
                   "    )",
                   "    return child.stdout.read, child.stdin.write, "
                   "child.stdin.close")  # fmt: skip
    else:
        from pslrepl.export.common import address_of

        target = address_of(script, b.removeprefix("tcp:"), record)
        script.add(f'    """{b}: a connection, when the first client comes."""',
                   f"    other = socket.create_connection({target})",
                   "    return other.recv, other.sendall, "
                   "lambda: other.shutdown(socket.SHUT_WR)")  # fmt: skip
    script.add("", "")
    script.add(f"{v} = Relay({v}_a, {b!r}, {opener})")
    script.add(wrapped_print(f"{name}: relaying {{{v}.where}} <-> {b}", f=True))
    script.kinds[name] = "relay"


def _wait_close(script: Script, record: CommandRecord) -> None:
    name = record.values["name"]
    v = script.var(name)
    timeout = record.values.get("timeout")
    timeout = script.timeout if timeout is None else float(timeout)
    script.add(f"if {v}.wait_closed(timeout={timeout:g}):")
    script.add(f'    print(f"{name}: both directions closed ({{{v}.totals()}})")')
    script.add("else:", wrapped_print(f"error: {name}: timeout after {timeout:g} s waiting "
                                      "for both directions to close", indent="    "))  # fmt: skip


EXPORTERS = {"relay": _relay}
WAITS = {"relay": _wait_close}
