"""Exporters for sockets: tcp listen/connect, accept, udp, send, recv, shutdown."""

from __future__ import annotations

from pslrepl.export.common import address_of, data_of, fstring_text
from pslrepl.export.script import Unexportable, indented, wrapped_print

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord

EOF_LINE = "EOF: the peer closed its side (recv returned b'')"


def _family(record: CommandRecord, default: str = "AF_INET") -> str | None:
    family = record.values.get("family")
    if family in (None, "", "4", "ipv4", "inet"):
        return default
    if family in ("6", "ipv6", "inet6"):
        return "AF_INET6"
    return None


def _tcp_listen(script: Script, record: CommandRecord) -> None:
    from pslrepl.addresses import parse_addr

    values = record.values
    name = values["name"]
    v = script.var(name)
    family = _family(record)
    if family is None or values.get("reuseaddr"):
        script.not_exported(record, "tcp listen --family/--reuseaddr is not exported yet")
        return
    addr = parse_addr(str(values["addr"]), family=6 if family == "AF_INET6" else None)
    if family == "AF_INET" and ":" in addr.host:
        family = "AF_INET6"
    backlog = values.get("backlog")
    script.imp("socket")
    script.use("addr")
    script.add(f"{v} = socket.socket(socket.{family}, socket.SOCK_STREAM)")
    script.add(f"{v}.bind({addr.sockaddr!r})")
    script.add(f"{v}.listen({4096 if backlog is None else backlog})")
    script.add(f'print(f"{name}: listening on {{addr({v}.getsockname())}}")')
    script.kinds[name] = script.live[name] = "listener"


def _tcp_connect(script: Script, record: CommandRecord) -> None:
    values = record.values
    name = values["name"]
    v = script.var(name)
    if values.get("source") or values.get("family"):
        script.not_exported(record, "tcp connect --source/--family is not exported yet")
        return
    timeout = values.get("timeout")
    timeout = script.timeout if timeout is None else float(timeout)
    script.imp("socket")
    script.use("addr")
    script.add(f"{v} = socket.create_connection({address_of(script, values['addr'], record)}, "
               f"timeout={timeout:g})")  # fmt: skip
    script.add(f"{v}.settimeout(None)  # blocking from here on, as the shell's sockets are")
    script.add(f'print(f"{name}: connected {{addr({v}.getsockname())}} -> '
               f'{{addr({v}.getpeername())}}")')  # fmt: skip
    script.kinds[name] = script.live[name] = "tcp"


def _accept(script: Script, record: CommandRecord) -> None:
    name, listener = record.values["name"], record.values["listener"]
    if script.kinds.get(listener) == "unix-listener":
        return _accept_unix(script, record, listener)
    if not name:  # the shell named it (srv-1): the name its accept call's result took
        bound = [c.bound for c in record.calls if c.func.endswith("accept") and c.bound]
        if not bound:
            raise Unexportable("the name the shell gave the accepted socket is not known")
        name = bound[0].split(",")[0].strip()
    v = script.var(name)
    script.use("addr")
    script.add(f"{v}, _ = {script.var(listener)}.accept()")
    script.add(f'print(f"{name}: accepted from {{addr({v}.getpeername())}} on '
               f'{{addr({v}.getsockname())}}")')  # fmt: skip
    script.kinds[name] = script.live[name] = "tcp"


def _accept_unix(script: Script, record: CommandRecord, listener: str) -> None:
    name = record.values["name"]
    if not name:
        raise Unexportable("the name the shell gave the accepted socket is not known")
    v = script.var(name)
    script.add(f"{v}, _ = {script.var(listener)}.accept()")
    script.add(f'print(f"{name}: accepted from a peer on {{{v}.getsockname()}}")')
    script.kinds[name] = script.live[name] = "tcp"


def _udp_open(script: Script, record: CommandRecord) -> None:
    from pslrepl.addresses import parse_addr

    values = record.values
    name = values["name"]
    v = script.var(name)
    family = _family(record)
    if family is None:
        script.not_exported(record, "udp open --family is not exported yet")
        return
    script.imp("socket")
    script.use("addr")
    script.add(f"{v} = socket.socket(socket.{family}, socket.SOCK_DGRAM)")
    if values.get("bind") is not None:
        script.add(f"{v}.bind({parse_addr(str(values['bind'])).sockaddr!r})")
    said = f"{name}: udp socket {{addr({v}.getsockname())}}"
    if values.get("connect") is not None:
        script.add(f"{v}.connect({address_of(script, str(values['connect']), record)})")
        said += f" -> {{addr({v}.getpeername())}}"
    script.add(wrapped_print(said, f=True))
    script.kinds[name] = script.live[name] = "udp"


def _send(script: Script, record: CommandRecord, *, newline: bool) -> None:
    name = record.values["name"]
    v = script.var(name)
    # One send, as the shell makes: it may take fewer bytes than given (sendall loops).
    data = data_of(script, record, newline=newline)
    if not (record.values.get("timeout") or record.values.get("file")):
        if "\n" in data:  # a long literal, in parentheses of its own
            script.add(f"data = {data}")
            data = "data"
        script.add(f"n = {v}.send({data})")
        script.add(f'print(f"{name}: sent {script.bytes_said("n")}")')
        return
    # Much data, or a --timeout: bounded as the shell's send is, it takes what fits in
    # the kernel's buffer (a blocking send would wait until the peer read it all).
    timeout = record.values.get("timeout")
    timeout = script.timeout if timeout is None else float(timeout)
    sent = f"{name}: sent {script.bytes_said('n')}"
    script.add(f"data = {data}", f"{v}.settimeout({timeout:g})", f"n = {v}.send(data)",
               f"{v}.settimeout(None)", "if n == len(data):", f'    print(f"{sent}")',
               "else:", f'    print(f"{sent} of {{len(data)}} (send may send less: sendall '
               'loops)")')  # fmt: skip


def _sendto(script: Script, record: CommandRecord) -> None:
    name = record.values["name"]
    v = script.var(name)
    target = address_of(script, str(record.values["addr"]), record)
    script.use("addr")
    script.add(f"n = {v}.sendto({data_of(script, record)}, {target})")
    script.add(wrapped_print(f"{name}: sent {script.bytes_said('n')} to {{addr({target})}}",
                             f=True))  # fmt: skip


def _display(record: CommandRecord) -> str | None:
    values = record.values
    return "hex" if values.get("hex") is True else "repr" if values.get("repr") else None


def _recv(script: Script, record: CommandRecord) -> None:
    values = record.values
    name = values["name"]
    v = script.var(name)
    mode = _display(record)
    show = script.show("data", mode=mode)
    size = f'print(f"({script.bytes_said("len(data)")})")'
    if (mode or script.display) == "repr":  # the repr's line ends with its count
        size = "# (the repr's line says the count)"
    if values.get("until"):
        from pslrepl.parsing import unescape

        until = unescape(str(values["until"]))
        script.imp("re")
        reader = script.use("read_through")
        script.add(f"data, found = {reader}({v}.recv, re.escape({until!r}))", "if data:",
                   f"    {show}", f"    {size}", "if not found:",
                   f'    print("{EOF_LINE}")')  # fmt: skip
        return
    if not record.ok and values.get("line") and "waiting for a line;" in (record.error or ""):
        _recv_line_bounded(script, record)
        return
    if not record.ok and (values.get("all") or values.get("line")):
        raise Unexportable("this recv failed in the session; what it said is not in this "
                           "script")  # fmt: skip
    if values.get("all"):
        script.add("data = b''", f"while chunk := {v}.recv(65536):  # until the peer's EOF",
                   "    data += chunk", "if data:", f"    {show}", f"    {size}",
                   f'print("{EOF_LINE}")')  # fmt: skip
        return
    if values.get("line"):
        script.add(f"data = {script.use('recv_line')}({v})", "if data:", f"    {show}",
                   f"    {size}", "else:", f'    print("{EOF_LINE}")')  # fmt: skip
        return
    bufsize = values.get("bufsize") or 65536
    timeout = values.get("timeout")
    body = [f"data = {v}.recv({bufsize})", "if data:", f"    {show}", f"    {size}",
            "else:", f'    print("{EOF_LINE}")']  # fmt: skip
    if timeout is None and record.ok:
        script.add(*body)
        return
    timeout = script.timeout if timeout is None else timeout
    script.imp("select")
    script.add(f"ready, _, _ = select.select([{v}], [], [], {float(timeout):g})", "if ready:")
    script.add(*("    " + line for line in body))
    script.add("else:", wrapped_print(f"error: {name}: timeout after {float(timeout):g} s "
               "waiting for data; 0 bytes waiting; --timeout S waits longer",
               indent="    "))  # fmt: skip


def _recv_line_bounded(script: Script, record: CommandRecord) -> None:
    """recv --line that timed out in the session: bounded_read for a newline."""
    size = f'print(f"({script.bytes_said("len(data)")})")'
    if (_display(record) or script.display) == "repr":
        size = "# (the repr's line says the count)"
    show = script.show("data", mode=_display(record))
    v = script.var(record.values["name"])
    taken = [f"data = {script.use('recv_line')}({v})",
             f"if data:\n    {show}\n    {size}\nelse:", f'    print("{EOF_LINE}")']  # fmt: skip
    bounded_read(script, record, "b'\\n' in held", "a line", taken)


def bounded_read(script: Script, record: CommandRecord, found: str, what: str,
                 taken: list[str]) -> None:  # fmt: skip
    """A read on a socket that timed out in the session (recv --line, expect): the
    script waits as long for what ``found`` tests in ``held``, peeking (what came stays
    in the socket for the next recv, as the shell keeps it), then runs ``taken`` or says
    what the shell said (waiting for ``what``)."""
    import re

    name = record.values["name"]
    v = script.var(name)
    if any("SSL" in call.func for call in record.calls):  # no MSG_PEEK on TLS
        raise Unexportable(f"this {record.command} on TLS failed in the session; what it "
                           "said is not in this script")  # fmt: skip
    m = re.search(r"timeout after ([0-9.]+) s", record.error or "")
    seconds = m.group(1) if m else f"{script.timeout:g}"
    script.imp("select", "socket", "time")
    nb = script.use("nbytes")
    said = fstring_text(f"error: {name}: timeout after {seconds} s waiting for {what}; ")
    script.add(
        f"deadline = time.monotonic() + {seconds}  # the shell's wait",
        "held = b''",
        f"while not ({found}) and time.monotonic() < deadline:",
        f"    if not select.select([{v}], [], [], max(0, deadline - time.monotonic()))[0]:",
        "        break",
        f"    now = {v}.recv(65536, socket.MSG_PEEK)  # looked at, left in the socket",
        "    if now == held:  # EOF, or no more yet: a little later",
        "        if not now:",
        "            break",
        "        time.sleep(0.01)",
        "    held = now",
        f"if ({found}) or (held == b'' and time.monotonic() < deadline):",
        *(indented(line) for line in taken),
        "elif held:",
        wrapped_print(f"{said}{{{nb}(len(held))}} came, kept for the next recv: {{held!r}}; "
                      "--timeout S waits longer", f=True, indent="    "),
        "else:",
        wrapped_print(f"{said}0 bytes waiting; --timeout S waits longer", f=True,
                      indent="    "),
    )  # fmt: skip


def _recvfrom(script: Script, record: CommandRecord) -> None:
    import re

    from pslrepl.render import plural

    values = record.values
    name = values["name"]
    v = script.var(name)
    bufsize = values.get("bufsize")
    waited = re.match(r"[^:]+: timeout after ([0-9.]+) s waiting for a datagram; 0 bytes "
                      "waiting", record.error or "")  # fmt: skip
    if not record.ok and waited is None:  # refused before its wait: said as the shell did
        script.add("# the shell refused it before making any call; what it said:",
                   wrapped_print(f"error: {record.error}"))  # fmt: skip
        return
    script.imp("socket")
    script.use("addr")
    # recvmsg, not recvfrom: its flags say whether the datagram was cut (MSG_TRUNC).
    size = plural(bufsize or 65536, "byte")
    body = [f"data, _, flags, peer = {v}.recvmsg({bufsize or 65536})",
            f'print(f"from {{addr(peer)}}  ({script.bytes_said("len(data)")})")',
            "if data:", f"    {script.show('data', mode=_display(record))}",
            "if flags & socket.MSG_TRUNC:",
            wrapped_print(f"warning: the datagram was longer than {size}: the rest is lost "
                          "(MSG_TRUNC)", indent="    ")]  # fmt: skip
    if waited is None:
        script.add(*body)
        return
    # It waited the shell's timeout for a datagram that never came: the script waits as
    # long, then says what the shell said.
    script.imp("select")
    script.add(f"ready, _, _ = select.select([{v}], [], [], {waited.group(1)})", "if ready:",
               *(indented(line) for line in body), "else:",
               wrapped_print(f"error: {record.error}", indent="    "))  # fmt: skip


def _shutdown(script: Script, record: CommandRecord) -> None:
    name, how = record.values["name"], record.values["how"]
    v = script.var(name)
    what = {"rd": "no more receiving", "wr": "the peer will read EOF", "rdwr": "both ways"}[how]
    script.imp("socket")
    script.add(f"{v}.shutdown(socket.SHUT_{how.upper()})")
    script.add(f'print("{name}: shut down {how}: {what}")')


def _wait_eof(script: Script, record: CommandRecord) -> None:
    name = record.values["name"]
    v = script.var(name)
    timeout = record.values.get("timeout")
    timeout = script.timeout if timeout is None else float(timeout)
    script.imp("select", "socket")
    # EOF is a readable socket with nothing to read: a peek says which, taking nothing.
    script.add(f"ready, _, _ = select.select([{v}], [], [], {timeout:g})",
               f"if ready and {v}.recv(1, socket.MSG_PEEK) == b'':",
               f'    print("{name}: the peer closed its side: recv will return EOF")', "else:",
               wrapped_print(f"error: {name}: no EOF within {timeout:g} s (or data came "
                             "first: recv it)", indent="    "))  # fmt: skip


def _wait_data(script: Script, record: CommandRecord) -> None:
    name = record.values["name"]
    v = script.var(name)
    timeout = record.values.get("timeout")
    timeout = script.timeout if timeout is None else float(timeout)
    script.imp("select")
    script.add(f"ready, _, _ = select.select([{v}], [], [], {timeout:g})", "if ready:",
               f'    print("{name}: data waiting: recv {name}")', "else:",
               wrapped_print(f"error: {name}: timeout after {timeout:g} s waiting for data",
                             indent="    "))  # fmt: skip


EXPORTERS = {
    "tcp listen": _tcp_listen,
    "tcp connect": _tcp_connect,
    "accept": _accept,
    "udp open": _udp_open,
    "send": lambda script, record: _send(script, record, newline=False),
    "sendline": lambda script, record: _send(script, record, newline=True),
    "sendto": _sendto,
    "recv": _recv,
    "recvfrom": _recvfrom,
    "shutdown": _shutdown,
}
WAITS = {"tcp": _wait_data, "udp": _wait_data}
WAIT_EOF = _wait_eof
