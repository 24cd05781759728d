"""Exporters for call, check_call and check_output: the stdlib calls themselves."""

from __future__ import annotations

from pslrepl.export.common import data_of
from pslrepl.export.script import indented, literal, wrapped_print

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord

STDERR_NAMES = {"stdout": "STDOUT", "devnull": "DEVNULL", "pipe": "PIPE"}


def popen_args(record: CommandRecord, script: Script | None = None) -> tuple[str, str]:
    """(the program as Python, the keyword arguments beside the pipes)."""
    program, extra = popen_parts(record, script)
    return program, "".join(f", {e}" for e in extra)


def popen_parts(record: CommandRecord, script: Script | None = None) -> tuple[str, list[str]]:
    """(the program as Python, each keyword argument beside the pipes). With ``script``,
    an argument typed as a port of the script's own resource ({r.port}) is its own."""
    argv = list(record.argv)
    values = record.values
    extra = []
    ports = _ports(script, record) if script is not None else {}
    if values.get("shell"):
        program = literal(" ".join(argv))
        extra.append("shell=True")
    elif ports:
        parts = [ports.get(i) or repr(word) for i, word in enumerate(argv)]
        program = "[" + ", ".join(parts) + "]"
        if len(program) > 88:
            program = "[\n" + "".join(f"        {p},\n" for p in parts) + "    ]"
    else:
        program = literal(argv)
    if values.get("cwd"):
        extra.append(f"cwd={values['cwd']!r}")
    pairs = [pair.partition("=") for pair in values.get("env") or []]
    if pairs:
        extra.append("env={**os.environ, " + ", ".join(f"{k!r}: {v!r}" for k, _, v in pairs) + "}")
    return program, extra


def _ports(script: Script, record: CommandRecord) -> dict[int, str]:
    """The arguments (by index in argv) typed as a whole {NAME.port} of a resource the
    script has: str() of its own port, not the session's number."""
    import shlex

    from pslrepl.export.looking import live_expr
    from pslrepl.transcript.syntax import PLACEHOLDER

    try:
        words = shlex.split(record.line)
    except ValueError:
        return {}
    argv = list(record.argv)
    typed = words[len(words) - len(argv) :] if len(words) >= len(argv) else []
    found: dict[int, str] = {}
    for i, (word, value) in enumerate(zip(typed, argv, strict=False)):
        m = PLACEHOLDER.fullmatch(word)
        if m is None or not m.group(1).endswith(".port"):
            continue
        expr = live_expr(script, m.group(1), value)
        if expr is not None:
            found[i] = f"str({expr})"
    return found


def _call(script: Script, record: CommandRecord) -> str:
    """The call as Python, its arguments one a line, the keywords as the user gave them."""
    values = record.values
    script.imp("subprocess")
    if values.get("env"):
        script.imp("os")
    program, extra = popen_parts(record, script)
    parts = [program]
    if values.get("input") is not None:
        parts.append(f"input={data_of(script, record, 'input')}")
    else:
        parts.append("stdin=subprocess.DEVNULL")
    if values.get("stderr"):
        parts.append(f"stderr=subprocess.{STDERR_NAMES[values['stderr']]}")
    if values.get("text"):
        parts.append("text=True")
    timeout = values.get("timeout")
    timeout = script.timeout if timeout is None else float(timeout)
    parts += [f"timeout={timeout:g}", "start_new_session=True"]
    parts += extra
    inner = "".join(f"    {p},\n" for p in parts)
    return f"subprocess.{record.command}(\n{inner})"


def _guarded(script: Script, record: CommandRecord, body: list[str]) -> None:
    """``body`` in a try that says CalledProcessError and TimeoutExpired as the shell does."""
    who = record.command
    script.add("try:", *(indented(line) for line in body))
    if who != "call":
        held = ""
        if who == "check_output":
            script.add("except subprocess.CalledProcessError as exc:")
            text = bool(record.values.get("text"))
            show = 'print(exc.output, end="")' if text else script.show("exc.output")
            script.add(f"    if exc.output:\n        {show}")
            held = "; its output: {len(exc.output)} " + ("characters" if text else "bytes")
        else:
            script.add("except subprocess.CalledProcessError as exc:")
        script.add(wrapped_print(f"error: {who}: CalledProcessError: {{exc}} (returncode "
                                 f"{{exc.returncode}}){held}", f=True, indent="    "))  # fmt: skip
    script.add("except subprocess.TimeoutExpired as exc:")
    script.add(wrapped_print(f"error: {who}: TimeoutExpired: {{exc}}; the child was killed "
                             "and reaped; --timeout S waits longer", f=True,
                             indent="    "))  # fmt: skip


def in_order(script: Script) -> None:
    """Once: the script's prints flushed line by line, so a child that writes to the
    script's own stdout (call, check_call) comes after what was printed before it, as in
    the shell (a pipe's block buffering held the prints back, past the child's lines)."""
    line = "sys.stdout.reconfigure(line_buffering=True)  # prints and children in order"
    if line not in script.body:  # (the body, not a flag: a command taken back takes it too)
        script.imp("sys")
        script.add(line)


def _call_like(script: Script, record: CommandRecord) -> None:
    in_order(script)
    status = script.use("status")
    call = _call(script, record)
    _guarded(script, record, [f"returncode = {call}",
                              f'print(f"{record.command} returned {{returncode}} '
                              f'({{{status}(returncode)}})")'])  # fmt: skip


def _check_output(script: Script, record: CommandRecord) -> None:
    call = _call(script, record)
    if record.values.get("text"):
        shown = ['print(out, end="")', 'print(f"(check_output returned str of {len(out)} '
                 'characters)")']  # fmt: skip
    else:
        mode = "hex" if record.values.get("hex") else "repr" if record.values.get("repr") else None
        shown = [script.show("out", mode=mode),
                 'print(f"(check_output returned {len(out)} bytes)")']  # fmt: skip
    _guarded(script, record, [f"out = {call}", *shown])


EXPORTERS = {"call": _call_like, "check_call": _call_like, "check_output": _check_output}
