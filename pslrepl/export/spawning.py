"""The exporter for spawn: Popen with pipes, or as told (files, /dev/null, another child's
stdout, a pseudo-terminal, passed sockets)."""

from __future__ import annotations

from pslrepl.export.common import fstring_text
from pslrepl.export.process_calls import popen_args
from pslrepl.export.script import Unexportable, indented, wrapped_print
from pslrepl.resources.plumbing import env_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord


def spawn(script: Script, record: CommandRecord) -> None:
    from pslrepl.resources.commandline import command_text

    name = record.values["name"]
    v = script.var(name)
    values = record.values
    for opt, what in (("ignore", "--ignore (signals ignored in the child)"),
                      ("text", "--text")):  # fmt: skip
        if values.get(opt):
            script.not_exported(record, f"spawn {what} is not exported yet")
            return
    if not record.ok and any(values.get(k) for k in ("stdin", "stdout", "stderr", "pass")):
        raise Unexportable("this spawn failed in the session; what it said is not in this script")
    script.imp("subprocess")
    if values.get("env") or values.get("pass"):
        script.imp("os")
    program, extra = popen_args(record, script)
    streams, before, after, suffix = _streams(script, record)
    if values.get("pty"):
        streams, before, after = _pty(script, record, v)
    # a --shell string as given, as the shell shows it (not quoted as one word)
    text = command_text(" ".join(record.argv) if values.get("shell") else list(record.argv))
    shown = fstring_text(text + suffix)
    bufsize = values.get("bufsize") or 0
    passing = ""
    if values.get("pass"):
        socks = [script.var(n) for n in values["pass"]]
        fds = ", ".join(f"{s}.fileno()" for s in socks)
        if len(socks) == 1:
            env = f'"PSL_FD": str({socks[0]}.fileno())'
        else:
            env = ", ".join(f'"PSL_FD_{env_name(n)}": str({s}.fileno())'
                            for n, s in zip(values["pass"], socks, strict=True))  # fmt: skip
        passing = f",\n    pass_fds=({fds},),\n    env={{**os.environ, {env}}}"
    call = (f"{v} = subprocess.Popen(\n    {program},\n    stdin={streams['stdin']},\n"
            f"    stdout={streams['stdout']},\n    stderr={streams['stderr']},\n"
            f"    bufsize={bufsize},\n    start_new_session=True{extra}{passing},\n)")  # fmt: skip
    call = call.replace(f"{TAKE_TTY},\n", f"{TAKE_TTY},  # noqa: PLW1509\n")
    if not record.ok:  # the program was not there: the shell said so
        script.add("try:")
        script.add(indented(call))
        script.add("except FileNotFoundError as exc:")
        script.add(wrapped_print(
            "error: no such program {exc.filename!r} (ENOENT): check the name or give a path",
            f=True, indent="    "))  # fmt: skip
        return
    # bufsize=0: the pipes are unbuffered files, so select() sees every byte not yet read
    # and a read takes what has come (the shell drains them in a thread instead).
    script.add("# bufsize=0: unbuffered pipes, so select() sees every byte not yet read")
    script.add(*before, call, *after)
    script.add(wrapped_print(f"{name}: started pid {{{v}.pid}}: {shown}", f=True))
    if values.get("pass"):
        told = ", ".join(f"{k}={{{s}.fileno()}}" for k, s in sorted(
            ("PSL_FD" if len(values["pass"]) == 1 else f"PSL_FD_{env_name(n)}", script.var(n))
            for n in values["pass"]))  # fmt: skip
        script.add(wrapped_print(f"{name}: passed fd {told} (pass_fds)", f=True))
    script.kinds[name] = "process"
    script.live[name] = "process"
    script.commands[name] = text + suffix


# A pty child's preexec_fn: it takes the terminal as its controlling one.
TAKE_TTY = "lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0)"


def _pty(script: Script, record: CommandRecord, v: str) -> tuple[dict[str, str], list[str],
                                                               list[str]]:  # fmt: skip
    """spawn --pty: the child on a pseudo-terminal, its controlling one; the master side
    as its Popen's stdout and stdin, as the shell keeps it."""
    from pslrepl.ptys import parse_size

    script.imp("fcntl", "os", "struct", "termios")
    cols, rows = parse_size(record.values.get("size") or "80x24")
    size = f'struct.pack("HHHH", {rows}, {cols}, 0, 0)'
    before = ["master, slave = os.openpty()",
              f"fcntl.ioctl(slave, termios.TIOCSWINSZ, {size})  # as stty cols/rows"]  # fmt: skip
    after = ["os.close(slave)  # the child has its own copies",
             f'{v}.stdout = os.fdopen(master, "rb", buffering=0)  # what it prints, and the echo',
             f'{v}.stdin = os.fdopen(os.dup(master), "wb", buffering=0)',
             f"{v}.stderr = {v}.stdout  # one terminal: its stderr comes there too"]  # fmt: skip
    streams = dict.fromkeys(("stdin", "stdout", "stderr"), "slave")
    # preexec_fn runs between fork and exec: the one way to take the terminal as the
    # child's controlling one (PLW1509 warns that a lock another thread held at the fork
    # stays held in the child: this lambda takes none)
    streams["stderr"] += f",\n    preexec_fn={TAKE_TTY}"
    return streams, before, after


def _streams(script: Script, record: CommandRecord) -> tuple[dict[str, str], list[str],
                                                             list[str], str]:  # fmt: skip
    """Popen's stdin, stdout and stderr as Python; the lines before the call (files
    opened) and after it (the shell's copies closed); what ps adds to the command."""
    values = record.values
    streams = dict.fromkeys(("stdin", "stdout", "stderr"), "subprocess.PIPE")
    before: list[str] = []
    after: list[str] = []
    suffix = ""
    if values.get("merge_stderr"):
        streams["stderr"] = "subprocess.STDOUT"
    for stream in ("stdin", "stdout", "stderr"):
        where = values.get(stream)
        if where is None:
            continue
        if where == "devnull":
            streams[stream] = "subprocess.DEVNULL"
        elif stream == "stderr" and where == "stdout":
            streams[stream] = "subprocess.STDOUT"
        elif stream == "stdout" and where == "pipe":
            pass  # a pipe the shell leaves alone: as any pipe a script does not read
        elif stream == "stdin" and script.kinds.get(where) == "process":
            feeder = script.var(where)
            streams[stream] = f"{feeder}.stdout"
            after.append(f"{feeder}.stdout.close()  # the child has the reading end now")
            suffix = f" (stdin: {where}'s stdout)"
            if where in script.commands:  # ps shows who feeds whom, both ways
                script.commands[where] += f" (stdout: {record.values['name']}'s stdin)"
        else:
            script.imp("os")
            fd = script.var(f"{record.values['name']}_{stream}_file")
            flags = ("os.O_RDONLY" if stream == "stdin" else
                     "os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW")  # fmt: skip
            before.append(f"{fd} = os.open({where!r}, {flags}, 0o600)")
            streams[stream] = fd
            after.append(f"os.close({fd})  # the child has its own copy")
    return streams, before, after, suffix
