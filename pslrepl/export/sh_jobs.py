"""Exporter for read on an sh job (sh --bg): sh keeps all that the job prints
(RunningCommand.process.stdout and .stderr), and a read takes what is new past what the
reads before it took, as the shell takes it from its buffer."""

from __future__ import annotations

from pslrepl.export.script import Unexportable, wrapped_print

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord

HELPERS: dict[str, tuple[tuple[str, ...], str]] = {
    "job_read": (
        (),
        r'''
def job_read(job, stream, taken, mode, timeout):
    """What an sh job printed on ``stream`` past the ``taken`` bytes read before (sh
    keeps it all: job.process.stdout, .stderr), once there is what ``mode`` asks for
    ("any": some, "line": a whole line, "all": the job's end) or the job has ended,
    waiting at most ``timeout`` seconds. (the bytes, whether that is all it will print),
    or (None, False) on a timeout."""
    deadline = time.monotonic() + timeout
    while True:
        ended = not job.is_alive()
        if ended:
            job.process.wait()  # its reader threads have the rest (this raises nothing)
        new = getattr(job.process, stream)[taken:]
        if mode == "line" and b"\n" in new:
            return new[: new.index(b"\n") + 1], False
        if ended or (mode == "any" and new):
            return new, ended
        if time.monotonic() >= deadline:
            return None, False
        time.sleep(0.02)  # sh's own threads gather the output: nothing here to wait on
''',
    ),
}
HELPER_IMPORTS = {"job_read": ("time",)}

WHAT = {"any": "data", "line": "a line", "all": "EOF"}


def read_job(script: Script, record: CommandRecord) -> None:
    """read NAME [--line|--all] [--stderr] on an sh job."""
    values = record.values
    name = str(values["name"])
    if values.get("until") or values.get("n") or values.get("nbytes"):
        raise Unexportable("read --until or of a count on an sh job is not exported yet")
    v = script.var(name)
    stream = "stderr" if values.get("stderr") else "stdout"
    other = "stdout" if stream == "stderr" else "stderr"
    mode = "line" if values.get("line") else "all" if values.get("all") else "any"
    timeout = values.get("timeout")
    timeout = script.timeout if timeout is None else float(timeout)
    shown = "hex" if values.get("hex") else "repr" if values.get("repr") else None
    taken = f"{v}_taken"
    if taken not in script.globals:
        script.globals.add(taken)
        script.add(f'{taken} = {{"stdout": 0, "stderr": 0}}  # what reads of {name} took')
    reader, plural = script.use("job_read"), script.use("plural")
    how = f"read {name}" + (" --stderr" if other == "stderr" else "")
    script.add(f"data, eof = {reader}({v}, {stream!r}, {taken}[{stream!r}], {mode!r}, "
               f"{timeout:g})",
               "if data is None:",
               f"    held = len({v}.process.{stream}) - {taken}[{stream!r}]",
               f"    waiting = len({v}.process.{other}) - {taken}[{other!r}]",
               "    if waiting:",
               f'        hint = f"; {{{plural}(waiting, \'byte\')}} wait on {other}: {how}"',
               f"    elif not {v}.process.{stream}:",
               wrapped_print(f"; it has printed nothing on {stream} yet (a program writing "
                             "to a pipe may be holding its output in a buffer: python3 -u, "
                             "stdbuf -oL)", indent="        ").replace("print(", "hint = (", 1),
               "    else:",
               '        hint = ""',
               wrapped_print(f"error: {name}: timeout after {timeout:g} s waiting for "
                             f"{WHAT[mode]}; {{{plural}(held, 'byte')}} buffered{{hint}}; "
                             "--timeout S waits longer", f=True, indent="    "),
               "else:",
               f"    {taken}[{stream!r}] += len(data)",
               "    if data:",
               f"        {script.show('data', mode=shown)}",
               "    if eof and not data:",
               wrapped_print(f"EOF: {name} closed its {stream} and nothing is left",
                             indent="        "))  # fmt: skip
    if mode == "line":
        script.add('    elif eof and not data.endswith(b"\\n"):',
                   '        print("(EOF before the newline)")')  # fmt: skip
