"""Exporters for child processes: spawn, write, read, eof, wait, run and signals."""

from __future__ import annotations

from pslrepl.export.common import data_of, fstring_text
from pslrepl.export.process_calls import EXPORTERS as CALLS
from pslrepl.export.process_calls import popen_args
from pslrepl.export.script import Unexportable, indented, literal, wrapped_print
from pslrepl.export.spawning import spawn
from pslrepl.parsing import unescape

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord


def _write(script: Script, record: CommandRecord, *, newline: bool) -> None:
    name = record.values["name"]
    v = script.var(name)
    script.add(f"n = {v}.stdin.write({data_of(script, record, newline=newline)})")
    script.add(f'print(f"{name}: wrote {script.bytes_said("n")}")')


def _eof(script: Script, record: CommandRecord) -> None:
    name = record.values["name"]
    v = script.var(name)
    script.add(f"{v}.stdin.close()", f'print("{name}: stdin closed")')


def _read(script: Script, record: CommandRecord) -> None:
    values = record.values
    name = values["name"]
    v = script.var(name)
    stream = "stderr" if values.get("stderr") else "stdout"
    pipe = f"{v}.{stream}"
    mode = "hex" if values.get("hex") else "repr" if values.get("repr") else None
    eof = wrapped_print(f"EOF: {name} closed its {stream} and nothing is left")
    if values.get("until"):
        until = unescape(str(values["until"]))
        _read_through(script, record, f"{pipe}.read", f"re.escape({until!r})",
                      mode)  # fmt: skip
        script.printed.add(f"{name} {stream}")
        return
    if values.get("all"):
        script.add(f"data = {pipe}.read()  # until the child closes its {stream}")
        script.add("if data:", f"    {script.show('data', mode=mode)}", "else:",
                   indented(eof))  # fmt: skip
        script.printed.add(f"{name} {stream}")
        return
    if values.get("line"):
        script.add(f"data = {pipe}.readline()  # one byte at a time up to b'\\n' (unbuffered)")
        script.add(f"{script.show('data', mode=mode)}")
        script.printed.add(f"{name} {stream}")
        return
    timeout = values.get("timeout")
    timeout = script.timeout if timeout is None else float(timeout)
    script.imp("select")
    hint = "" if f"{name} {stream}" in script.printed else (
        f"; it has printed nothing on {stream} yet (a program writing to a pipe may be "
        "holding its output in a buffer: python3 -u, stdbuf -oL)")  # fmt: skip
    script.add(f"ready, _, _ = select.select([{pipe}], [], [], {timeout:g})")
    script.add("if ready:")
    script.add(f"    data = {pipe}.read(65536)  # what has come, up to 64 KiB")
    script.add("    if data:", f"        {script.show('data', mode=mode)}", "    else:",
               indented(eof, 8))  # fmt: skip
    script.add("else:")
    script.add(wrapped_print(f"error: {name}: timeout after {timeout:g} s waiting for data; "
                             f"0 bytes buffered{hint}; --timeout S waits longer",
                             indent="    "))  # fmt: skip
    if record.ok:
        script.printed.add(f"{name} {stream}")


def _read_through(
    script: Script, record: CommandRecord, pipe: str, pattern: str, mode: str | None
) -> None:
    """expect and read --until: read until the pattern is found, then show what was read."""
    script.imp("re")
    reader = script.use("read_through")
    script.add(f"data, found = {reader}({pipe}, {pattern})")
    script.add(script.show("data", mode=mode))
    script.add("if not found:", '    print("(EOF before the match)")')


def _expect(script: Script, record: CommandRecord) -> None:
    values = record.values
    v = script.var(values["name"])
    stream = "stderr" if values.get("stderr") else "stdout"
    mode = "hex" if values.get("hex") else "repr" if values.get("repr") else None
    pattern = str(values["regex"]).encode()
    tcp = script.kinds.get(values["name"]) == "tcp"
    if not record.ok and tcp and "waiting for a match for" in (record.error or ""):
        from pslrepl.export.sockets import bounded_read

        script.imp("re")
        reader = script.use("read_through")
        taken = [f"data, found = {reader}({v}.recv, {pattern!r})", script.show("data", mode=mode),
                 "if not found:", '    print("(EOF before the match)")']  # fmt: skip
        bounded_read(script, record, f"re.search({pattern!r}, held)",
                     f"a match for {pattern!r}", taken)  # fmt: skip
        return
    if not record.ok:
        raise Unexportable("this expect failed in the session; what it said is not in this "
                           "script")  # fmt: skip
    reader = f"{v}.recv" if script.kinds.get(values["name"]) == "tcp" else f"{v}.{stream}.read"
    _read_through(script, record, reader, repr(pattern), mode)
    script.printed.add(f"{values['name']} {stream}")


def _communicate(script: Script, record: CommandRecord) -> None:
    name = record.values["name"]
    v = script.var(name)
    status = script.use("status")
    script.add(f"out, err = {v}.communicate({data_of(script, record)})  # stdin closed after it")
    script.add("if out:", f"    {script.show('out')}", "if err:", f"    {script.show('err')}")
    script.add(f'print(f"{name}: {{{status}({v}.returncode)}}")')
    script.live.pop(name, None)


def _sudo(script: Script, record: CommandRecord) -> None:
    from pslrepl.resources.commandline import command_text

    user = record.values.get("user")
    argv = ["sudo", "-S", "-p", "", *(["-u", user] if user else []), "--", *record.argv]
    script.imp("getpass", "subprocess")
    status = script.use("status")
    script.add("# The password is asked here, without echo: the session never kept it.")
    script.add('secret = getpass.getpass(f"[sudo] password for {getpass.getuser()}: ")')
    script.add("done = subprocess.run(", f"    {literal(argv, indent=4)},",
               '    input=secret.encode() + b"\\n",', "    capture_output=True,",
               "    check=False,",
               f"    timeout={script.timeout:g},", "    start_new_session=True,", ")",
               "out, err = done.stdout, done.stderr",
               "if secret:  # where the output holds the password, it is shown as ********",
               '    out = out.replace(secret.encode(), b"********")',
               '    err = err.replace(secret.encode(), b"********")',
               "del secret")  # fmt: skip
    script.add("if out:", f"    {script.show('out')}", "if err:",
               f"    {script.show('err')}")  # fmt: skip
    script.add(f"print({status}(done.returncode))")
    shown = fstring_text(command_text(list(record.argv)))
    script.add("if done.returncode != 0:",
               wrapped_print(f"error: sudo: {shown} {{{status}(done.returncode)}}", f=True,
                             indent="    "))  # fmt: skip


def _wait(script: Script, record: CommandRecord) -> None:
    name = record.values["name"]
    v = script.var(name)
    script.add(f"returncode = {v}.wait()")
    script.add(f'print(f"{name}: {{{script.use("status")}(returncode)}}")')


def _poll(script: Script, record: CommandRecord) -> None:
    name = record.values["name"]
    v = script.var(name)
    script.use("status")
    script.add(f"returncode = {v}.poll()", "if returncode is None:",
               f'    print("{name}: running (poll() returned None)")', "else:",
               f'    print(f"{name}: {{status(returncode)}}")')  # fmt: skip


def _signal_to(script: Script, record: CommandRecord, signame: str, how: str) -> None:
    """Send a signal, or say the child has ended, as the shell does. ``signame`` is
    SIGTERM or SIGRTMIN+1; ``how`` the call on the Popen."""
    name = record.values["name"]
    v = script.var(name)
    script.imp("signal")
    script.use("status")
    number = _number_of(signame)
    script.add(f"if {v}.poll() is None:")
    script.add(f"    {v}.{how}")
    script.add(f'    print(f"{name}: sent {signame} ({{{number}:d}})")')
    script.add("else:")
    script.add(wrapped_print(f"error: {name} has already ended ({{status({v}.returncode)}}); "
                             "there is nobody to signal", f=True, indent="    "))  # fmt: skip


def _number_of(signame: str) -> str:
    """A signal's number as Python: signal.SIGTERM, signal.SIGRTMIN + 1."""
    base, plus, minus = signame.partition("+")[0], "+" in signame, "-" in signame
    if plus:
        return f"signal.{base} + {signame.partition('+')[2]}"
    if minus:
        head, _, n = signame.partition("-")
        return f"signal.{head} - {n}"
    return f"signal.{base}"


def _signal(script: Script, record: CommandRecord) -> None:
    import signal

    from pslrepl.signals_table import signal_name

    if not isinstance(record.values.get("name"), str):
        raise Unexportable("signal shell (to the shell itself) is not exported yet")
    if record.values.get("group") or record.values.get("force"):
        raise Unexportable("signal --group/--force is not exported yet")
    raw = str(record.values["sig"]).upper()
    signum: int | None
    try:
        signum = int(raw)
    except ValueError:
        full = raw if raw.startswith("SIG") else "SIG" + raw
        head = full.replace("-", "+").partition("+")[0]
        if not hasattr(signal, head) or head.startswith("SIG_"):
            raise Unexportable(f"the shell refused the signal {raw!r}") from None
        signame = full
    else:
        if signum == 0:
            _signal_zero(script, record)
            return
        signame = signal_name(signum)
        if not signame.startswith("SIG"):
            raise Unexportable(f"signal {signum} has no name to export")
    _signal_to(script, record, signame, f"send_signal({_number_of(signame)})")


def _signal_zero(script: Script, record: CommandRecord) -> None:
    """Signal 0 sends nothing: os.kill says whether the process is there."""
    name = record.values["name"]
    v = script.var(name)
    script.imp("os")
    script.add(f"os.kill({v}.pid, 0)  # raises ProcessLookupError if it is gone")
    script.add(wrapped_print(f"{name}: pid {{{v}.pid}} exists (signal 0 sends nothing: it "
                             "checks the process is there)", f=True))  # fmt: skip


def _terminate(script: Script, record: CommandRecord) -> None:
    _signal_to(script, record, "SIGTERM", "terminate()")


def _kill(script: Script, record: CommandRecord) -> None:
    _signal_to(script, record, "SIGKILL", "kill()")


def _run(script: Script, record: CommandRecord) -> None:
    values = record.values
    script.imp("subprocess")
    if values.get("env"):
        script.imp("os")
    program, extra = popen_args(record, script)
    if values.get("input"):
        stdin = f"input={data_of(script, record, 'input')}"
    else:
        stdin = "stdin=subprocess.DEVNULL"
    timeout = values.get("timeout")
    timeout = script.timeout if timeout is None else float(timeout)
    check = ", check=True" if values.get("check") else ""
    checked = check or ",\n    check=False"  # the status is shown, not raised (ruff's PLW1510)
    call = (f"done = subprocess.run(\n    {program},\n    {stdin},\n    capture_output=True,\n"
            f"    timeout={timeout:g},\n    start_new_session=True{extra}{checked},\n"
            ")")  # fmt: skip
    status = script.use("status")
    out = [f"if {{0}}.stdout:\n    {script.show('{0}.stdout')}",
           f"if {{0}}.stderr:\n    {script.show('{0}.stderr')}"]  # fmt: skip
    if check:
        script.add("try:", indented(call))
        script.add("except subprocess.CalledProcessError as exc:")
        for part in out:
            script.add(indented(part.format("exc")))
        script.add(wrapped_print(f"error: run: {{{status}(exc.returncode)}} "
                                 "(CalledProcessError, from --check)", f=True,
                                 indent="    "))  # fmt: skip
        script.add("else:")
        for part in out:
            script.add(indented(part.format("done")))
        script.add(f"    print({status}(done.returncode))")
        return
    script.add(call)
    for part in out:
        script.add(part.format("done"))
    script.add(f"print({status}(done.returncode))")


def _ps(script: Script, record: CommandRecord) -> None:
    names = [name for name, kind in script.live.items() if kind in ("process", "sh")]
    if not names:
        script.add('print("(no child processes: `spawn NAME -- PROGRAM` starts one)")')
        return
    status = script.use("status")
    table = script.use("table")
    at = len(script.body)
    script.add("rows = []")
    script.add("# (a child's poll(); an sh job's is_alive(), then its exit code)")
    script.add("for name, pid, rc, command in [")
    for name in names:
        v = script.var(name)
        rc = (f"{v}.poll()" if script.live[name] == "process" else
              f"None if {v}.is_alive() else {v}.process.exit_code")  # fmt: skip
        row = f"    ({name!r}, {v}.pid, {rc}, {script.commands[name]!r}),"
        if len(row) > 96:  # a long command line: its literal cut over lines (ruff's E501)
            command = literal(script.commands[name], indent=8)
            parts = (repr(name), f"{v}.pid", rc, command)
            row = "\n".join(["    (", *(f"        {part}," for part in parts), "    ),"])
        script.add(row)
    script.add("]:")
    from pslrepl.export.enders import GROUP_MEMBERS

    script.imp("os")
    if "group_members" not in script.globals:
        script.globals.add("group_members")
        script.body[at:at] = list(GROUP_MEMBERS)
    script.add(f'    state = "running" if rc is None else {status}(rc)')
    script.add("    members = [] if rc is None else group_members(pid)")
    script.add("    if members:  # what it started lives on in its group: a pipeline's others")
    script.add('        state += f"; {len(members)} left in its group"')
    script.add('    rc_text = "" if rc is None else str(rc)')
    script.add("    # start_new_session: each child leads its own process group (PGID = PID)")
    script.add("    rows.append([name, str(pid), str(pid), state, rc_text, command])")
    script.add("# PID and PGID at least 7 wide: Linux's largest pid has 7 digits",
               f'{table}(["NAME", "PID", "PGID", "STATE", "RC", "COMMAND"], rows, '
               "{1: 7, 2: 7})")  # fmt: skip


EXPORTERS = {
    "ps": _ps,
    "expect": _expect,
    "communicate": _communicate,
    "sudo": _sudo,
    "write": lambda script, record: _write(script, record, newline=False),
    "writeline": lambda script, record: _write(script, record, newline=True),
    "eof": _eof,
    "read": _read,
    "poll": _poll,
    "signal": _signal,
    "terminate": _terminate,
    "kill": _kill,
    "run": _run,
}
# call, check_call and check_output have a module of their own, and so has spawn.
EXPORTERS.update(CALLS)
EXPORTERS["spawn"] = spawn
WAITS = {"process": _wait}


def _wait_output(script: Script, record: CommandRecord, *, eof: bool) -> None:
    name = record.values["name"]
    v = script.var(name)
    timeout = record.values.get("timeout")
    timeout = script.timeout if timeout is None else float(timeout)
    script.imp("select")
    if not eof:
        script.add(f"ready, _, _ = select.select([{v}.stdout, {v}.stderr], [], [], {timeout:g})",
                   "if ready:", f'    print("{name}: output waiting: read {name}")', "else:",
                   wrapped_print(f"error: {name}: timeout after {timeout:g} s waiting for "
                                 "output", indent="    "))  # fmt: skip
        return
    raise Unexportable("wait NAME eof on a child is not exported yet (the shell's drain "
                       "threads read both pipes to their end)")  # fmt: skip


WAIT_OUTPUT = {
    "data": lambda script, record: _wait_output(script, record, eof=False),
    "eof": lambda script, record: _wait_output(script, record, eof=True),
}
