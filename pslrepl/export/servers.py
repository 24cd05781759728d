"""Exporters for socketserver servers: serve (its handler as a class in the script), wait
NAME connect, stop."""

from __future__ import annotations

from pslrepl.export.script import Unexportable, wrapped_print
from pslrepl.export.selectors_code import CHANNELS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord

# The built-in handlers a script can carry as plain socketserver request handlers:
# name -> (the class's name, the helper that defines it).
HANDLERS = {"echo": "Echo", "upper": "Upper", "discard": "Discard", "chat": "Chat",
            "daytime": "Daytime", "chargen": "Chargen"}  # fmt: skip

HELPERS: dict[str, tuple[tuple[str, ...], str]] = {
    "CountedServer": (
        (),
        r'''
class CountedServer:
    """What a server of the shell's adds to socketserver's: it counts its clients (wait
    for one to connect), keeps their sockets, and stop() ends every connection."""

    manual = False  # served one request at a time (handle_request), no serve_forever

    def __init__(self, *args, **kwargs):
        self.served = 0
        self.timeouts = 0  # handle_request calls that timed out
        self.last_client = None
        self.open = set()
        self.changed = threading.Condition()
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address):
        with self.changed:
            self.served += 1
            self.last_client = client_address
            self.open.add(request)
            self.changed.notify_all()
        super().process_request(request, client_address)

    def handle_timeout(self):
        self.timeouts += 1

    def handle_error(self, request, client_address):
        # A client's reset or broken connection: the shell logs it, shows no traceback
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def shutdown_request(self, request):
        with self.changed:
            self.open.discard(request)
        super().shutdown_request(request)

    def end_clients(self):
        with self.changed:
            for request in list(self.open):
                try:
                    request.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def wait_for_clients(self, count, timeout):
        with self.changed:
            return self.changed.wait_for(lambda: self.served >= count, timeout)

    def stop(self):
        """Each client's connection is shut down, so its handler returns; shutdown()
        ends serve_forever (it waits for the handler a plain TCPServer is in); then
        server_close() closes the listening socket (and joins the handler threads)."""
        self.end_clients()
        if not self.manual:  # shutdown() would wait for a serve_forever never started
            self.shutdown()
        self.end_clients()  # any that came in between
        self.server_close()
''',
    ),
    "ForkedChild": (
        (),
        r'''
class ForkedChild:
    """A forking server's child closes every other fd it inherited first: a socket of
    the script's own (a client it connected) held open here would keep that connection
    up after the script closes it, and this child waiting on it for ever."""

    def finish_request(self, request, client_address):
        keep = request.fileno()
        os.closerange(3, keep)
        os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))
        super().finish_request(request, client_address)
''',
    ),
    "TLSServer": (
        (),
        r'''
class TLSServer:
    """A server whose clients speak TLS: each accepted socket is wrapped, and the
    handshake is made in the client's own thread, so one that is no TLS client (or
    refuses the certificate) is closed without holding up the others."""

    tls_context = None  # set on the class, before it serves

    def get_request(self):
        sock, address = super().get_request()
        return (
            self.tls_context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            ),
            address,
        )

    def finish_request(self, request, client_address):
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError):
            return  # the handshake failed: the connection is closed
        super().finish_request(request, client_address)

    def shutdown_request(self, request):
        # A client that ended TLS with close_notify (tls unwrap) gets one back, as the
        # shell's servers answer it; for one that just closed, unwrap fails at once.
        try:
            request.settimeout(0.5)
            request.unwrap()
        except (ssl.SSLError, OSError, ValueError):
            pass
        super().shutdown_request(request)
''',
    ),
    "Echo": (
        (),
        r'''
class Echo(socketserver.BaseRequestHandler):
    """echo: sends back every byte it receives, until the client closes."""

    def handle(self):
        while data := self.request.recv(65536):
            self.request.sendall(data)
''',
    ),
    "Upper": (
        (),
        r'''
class Upper(socketserver.BaseRequestHandler):
    """upper: sends back what it receives in upper case."""

    def handle(self):
        while data := self.request.recv(65536):
            self.request.sendall(data.upper())
''',
    ),
    "Daytime": (
        (),
        r'''
class Daytime(socketserver.BaseRequestHandler):
    """daytime: sends the date and time as text, then closes (RFC 867)."""

    def handle(self):
        self.request.sendall(time.ctime().encode() + b"\r\n")
''',
    ),
    "Chargen": (
        (),
        r'''
class Chargen(socketserver.BaseRequestHandler):
    """chargen: RFC 864's rotating pattern of printable characters, 72 to a line, until
    the client closes."""

    def handle(self):
        printable = bytes(range(32, 127)) * 2
        n = 0
        try:
            while True:
                lines = (printable[i % 95 : i % 95 + 72] + b"\r\n" for i in range(n, n + 64))
                self.request.sendall(b"".join(lines))
                n += 64
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client closed: that is how chargen ends
''',
    ),
    "Discard": (
        (),
        r'''
class Discard(socketserver.BaseRequestHandler):
    """discard: reads and drops everything (RFC 863)."""

    def handle(self):
        while self.request.recv(65536):
            pass
''',
    ),
    "Chat": (
        ("addr",),
        r'''
class Chat(socketserver.StreamRequestHandler):
    """chat: a line-based room; each line a client sends goes to every other client,
    prefixed with the sender's address (the room's only way to tell them apart)."""

    room: typing.ClassVar[list] = []  # the sockets of the clients in the room
    lock = threading.Lock()

    def say(self, line):
        with self.lock:
            for other in self.room:
                if other is not self.request:
                    other.sendall(line)

    def handle(self):
        name = addr(self.client_address).encode()
        with self.lock:
            self.room.append(self.request)
        try:
            self.say(b"* " + name + b" joined\n")
            for line in self.rfile:  # readline() until the client closes
                if line.endswith(b"\n"):
                    self.say(name + b": " + line)
            self.say(b"* " + name + b" left\n")
        finally:
            with self.lock:
                self.room.remove(self.request)
''',
    ),
}

HELPER_IMPORTS = {
    "CountedServer": ("socket", "sys", "threading"),
    "TLSServer": ("ssl",),
    "ForkedChild": ("os",),
    "Echo": ("socketserver",),
    "Upper": ("socketserver",),
    "Discard": ("socketserver",),
    "Daytime": ("socketserver", "time"),
    "Chargen": ("socketserver",),
    "Chat": ("socketserver", "threading", "typing"),
}


def _own_handler(script: Script, v: str, handler: str) -> str:
    """A handler class from the user's own file (python:PATH:CLASS), loaded as the shell
    loads it: the file as a module of its own, the class taken from it."""
    path, _, name = handler.removeprefix("python:").rpartition(":")
    script.imp("importlib.util")
    stem = path.rsplit("/", 1)[-1].removesuffix(".py")
    script.add(f"spec = importlib.util.spec_from_file_location({stem!r}, {path!r})",
               "module = importlib.util.module_from_spec(spec)",
               "spec.loader.exec_module(module)",
               f"{v}_handler = module.{name}")  # fmt: skip
    return f"{v}_handler"


def _serve(script: Script, record: CommandRecord) -> None:
    from pslrepl.addresses import parse_addr

    values = record.values
    name, proto, handler = values["name"], values.get("proto"), values.get("handler") or "echo"
    v = script.var(name)
    given = [k for k in ("dir", "verify_client", "client_ca", "cert", "key",
                         "min_version", "max_version", "ciphers", "idle", "max_clients")
             if values.get(k)]  # fmt: skip
    own = handler.startswith("python:") and handler.count(":") >= 2
    selecting = bool(values.get("selectors"))
    if selecting and (handler not in CHANNELS or values.get("tls")):
        given.append("selectors")
    if proto != "tcp" or (handler not in HANDLERS and not own) or given:
        what = ", ".join(f"--{k.replace('_', '-')}" for k in given) or f"{proto} {handler}"
        script.not_exported(record, f"serve with {what} is not exported yet")
        return
    threading_ = bool(values.get("threading")) or handler == "chat"
    forking = bool(values.get("forking")) and not threading_
    base = "ThreadingTCPServer" if threading_ else "ForkingTCPServer" if forking else "TCPServer"
    shown = "SelectorsTCPServer" if selecting else base  # (the shell's own: socketserver's not)
    tls = bool(values.get("tls"))
    pems = script.tls or {}
    if tls and not pems:
        script.not_exported(record, "the session's test CA is gone: its certificates can't "
                            "be written")  # fmt: skip
        return
    address = parse_addr(str(values["addr"])).sockaddr
    script.imp("socketserver", "threading")
    script.use("addr")
    script.use("CountedServer")
    if selecting:  # the handler as a channel of the loop
        cls = CHANNELS[handler] if script.use("Channels") else ""
    else:
        cls = _own_handler(script, v, handler) if own else script.use(HANDLERS[handler])
    if handler == "chat" and not values.get("threading"):
        script.add(f'print("note: {handler} serves each client in its own thread (--threading)")')
    mixins = "CountedServer, TLSServer" if tls else "CountedServer"
    mixins += ", " + script.use("SelectorsServer") if selecting else ""
    if forking:
        mixins += ", " + script.use("ForkedChild")
    if tls:
        script.use("TLSServer")
        script.constant("SERVER_CERT_PEM", pems["cert"])
        script.constant("SERVER_KEY_PEM", pems["key"])
        script.use("pem_file")
    server_cls = f"{v[:1].upper()}{v[1:]}Server"
    script.add("", "", f"class {server_cls}({mixins}, socketserver.{base}):")
    body = _class_variables(values)
    if threading_:
        body.insert(0, "daemon_threads = True  # a client's thread does not keep the script up")
    script.add(*("    " + line for line in body or ["pass"]))
    script.add("", "")
    if tls:
        script.add("tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)")
        script.add("with pem_file(SERVER_CERT_PEM) as cert, pem_file(SERVER_KEY_PEM) as key:")
        script.add("    tls_context.load_cert_chain(cert, key)  # ssl reads them from files only")
        script.add(f"{server_cls}.tls_context = tls_context")
    script.add(f"{v} = {server_cls}({address!r}, {cls})")
    label = handler + (" over TLS" if tls else "")
    if values.get("manual"):
        script.add(wrapped_print(f"{name}: {shown} listening on {{addr({v}.server_address)}} "
                                 f"for {label}, not serving: handle_request {name} serves "
                                 "one request", f=True))  # fmt: skip
    else:
        script.add(f"threading.Thread(target={v}.serve_forever, daemon=True).start()")
        script.add(wrapped_print(f"{name}: {shown} serving {label} on "
                                 f"{{addr({v}.server_address)}}", f=True))  # fmt: skip
    script.modes[name] = ("threading" if threading_ else "forking" if forking else
                          "selectors" if selecting else "sync")  # fmt: skip
    script.kinds[name] = script.live[name] = "server"
    script.waited[name] = 0


def _class_variables(values: dict[str, object]) -> list[str]:
    """serve's options that are socketserver's class variables, set on its own class."""
    lines = []
    if values.get("manual"):
        lines.append("manual = True  # served by handle_request, one request at a time")
    if values.get("timeout") is not None and values.get("manual"):
        lines.append(f"timeout = {float(str(values['timeout'])):g}  # handle_request's wait")
    if values.get("queue_size") is not None:
        lines.append(f"request_queue_size = {values['queue_size']}  # listen()'s backlog")
    if values.get("reuse_address"):
        lines.append("allow_reuse_address = True  # SO_REUSEADDR before bind")
    return lines


def _handle_request(script: Script, record: CommandRecord) -> None:
    name = record.values["name"]
    if script.kinds.get(name) != "server" or not record.ok:
        raise Unexportable(f"this handle_request of {name} is not exported yet (or it failed)")
    v = script.var(name)
    given = record.values.get("timeout")
    script.add(f"timeouts, served = {v}.timeouts, {v}.served")
    if given is not None:
        script.add(f"saved = {v}.timeout", f"{v}.timeout = {float(str(given)):g}  # this call's")
    script.add(f"{v}.handle_request()")
    waited = f"{float(str(given)):g}" if given is not None else f"{{{v}.timeout:g}}"
    if given is not None:
        script.add(f"{v}.timeout = saved  # the server's own again")
    where = {"threading": "; its handler runs on in a thread",
             "forking": "; its handler runs on in a child process"}.get(
        script.modes.get(name, ""), "")  # fmt: skip
    script.add(f"if {v}.timeouts > timeouts:",
               wrapped_print(f"{name}: no request came in {waited} s: handle_request "
                             "returned through handle_timeout()", f="{" in waited,
                             indent="    "),
               f"elif {v}.served > served:",
               wrapped_print(f"{name}: handle_request served the request of "
                             f"{{addr({v}.last_client)}}{where}", f=True, indent="    "),
               "else:",
               wrapped_print(f"{name}: handle_request returned without serving a request "
                             "(`log` says why)", indent="    "))  # fmt: skip


def _wait_connect(script: Script, record: CommandRecord) -> None:
    name = record.values["name"]
    v = script.var(name)
    timeout = record.values.get("timeout")
    timeout = script.timeout if timeout is None else float(timeout)
    script.waited[name] = count = script.waited.get(name, 0) + 1
    script.add(f"if {v}.wait_for_clients({count}, timeout={timeout:g}):")
    script.add(f'    print(f"{name}: a client has connected ({{{v}.served}} so far)")')
    script.add("else:", wrapped_print(f"error: {name}: timeout after {timeout:g} s waiting "
                                      "for a client", indent="    "))  # fmt: skip


def _stop(script: Script, record: CommandRecord) -> None:
    name = record.values["name"]
    if script.kinds.get(name) != "server":
        script.not_exported(record, f"stop of {name} is not exported yet")
        return
    stop(script, name)


def stop(script: Script, name: str) -> None:
    """The server stopped as the shell stops it, and what it says."""
    v = script.var(name)
    plural = script.use("plural")
    script.add(f"{v}.stop()")
    script.add(f"print(f\"{name}: stopped after serving {{{plural}({v}.served, 'client')}}\")")
    script.live.pop(name, None)


EXPORTERS = {"serve": _serve, "stop": _stop, "handle_request": _handle_request}
WAITS = {"server": _wait_connect}
