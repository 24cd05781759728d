"""Exporters for the sh library and the session's end: sh PROGRAM ARGS in the foreground,
exit."""

from __future__ import annotations

from pslrepl.export.script import Unexportable, indented, wrapped_print

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord


def _sh(script: Script, record: CommandRecord) -> None:
    from pslrepl.parsing import unescape

    values = record.values
    argv = list(record.argv)
    if "|" in argv or values.get("bg") or values.get("iter") or values.get("tty"):
        raise Unexportable("sh with a pipeline, --bg, --iter or --tty is not exported yet")
    kwargs = []
    if values.get("in"):
        kwargs.append(f"_in={unescape(str(values['in']))!r}")
    if values.get("no_tty"):
        kwargs.append("_tty_out=False")
    if values.get("ok_code"):
        kwargs.append(f"_ok_code={list(values['ok_code'])!r}")
    if values.get("cwd"):
        kwargs.append(f"_cwd={values['cwd']!r}")
    pairs = [pair.partition("=") for pair in values.get("env") or []]
    if pairs:
        script.imp("os")
        kwargs.append("_env={**os.environ, " + ", ".join(f"{k!r}: {v!r}" for k, _, v in pairs)
                      + "}")  # fmt: skip
    timeout = values.get("timeout")
    kwargs.append(f"_timeout={script.timeout if timeout is None else float(timeout):g}")
    kwargs.append("_return_cmd=True")
    args = ", ".join([*(repr(a) for a in argv[1:]), *kwargs])
    program = argv[0]
    script.imp("sh")
    status = script.use("status")
    shown = [f"if {{0}}.stdout:\n    {script.show('{0}.stdout')}",
             f"if {{0}}.stderr:\n    {script.show('{0}.stderr')}"]  # fmt: skip
    script.add("try:")
    call = f"done = sh.Command({program!r})({args})"
    script.add(indented(call) if len(call) < 92 else indented(
        f"done = sh.Command({program!r})(\n" + "\n".join(
            f"    {part}," for part in args.split(", ")) + "\n)"))  # fmt: skip
    script.add("except sh.ErrorReturnCode as exc:")
    for part in shown:
        script.add(indented(part.format("exc")))
    script.add(wrapped_print(f"error: sh: {program} {{{status}(exc.exit_code)}} "
                             "({type(exc).__name__})", f=True, indent="    "))  # fmt: skip
    script.add("else:")
    for part in shown:
        script.add(indented(part.format("done")))
    accepted = ""
    if values.get("ok_code"):
        codes = ",".join(map(str, values["ok_code"]))
        accepted = f"{{' (accepted: --ok-code {codes})' if done.exit_code else ''}}"
    script.add(f'    print(f"{{{status}(done.exit_code)}}{accepted}")')


def _exit(script: Script, record: CommandRecord) -> None:
    status = record.values.get("status")
    script.imp("sys")
    script.add(f"sys.exit({status or 0})  # what is open is closed as the process ends")


EXPORTERS = {"sh": _sh, "exit": _exit}
