"""Exporters for the sh library and the session's end: sh in the foreground and piped,
sh --bg (and --iter) with wait, poll and signal on its job, exit."""

from __future__ import annotations

from pslrepl.export.script import Unexportable, indented, wrapped_print

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord

    Exporter = Callable[[Script, CommandRecord], None]


def _stages(record: CommandRecord) -> list[list[str]]:
    """The pipeline as the shell split it: at each | that was a word of its own. (A quoted
    '|' can't be told from the record's argv; such a line is refused below.)"""
    stages: list[list[str]] = [[]]
    for word in record.argv:
        if word == "|":
            stages.append([])
        else:
            stages[-1].append(word)
    return stages


def _kwargs(script: Script, record: CommandRecord, *, first: bool, last: bool,
            background: bool) -> list[str]:  # fmt: skip
    """The options as sh's keyword arguments, for one command of the pipeline: --in goes
    to the first, --tty to the last, the rest to each (as the shell passes them)."""
    from pslrepl.parsing import unescape

    values = record.values
    kwargs = []
    if first and values.get("in") is not None:
        kwargs.append(f"_in={unescape(str(values['in']))!r}")
    if values.get("ok_code"):
        kwargs.append(f"_ok_code={list(values['ok_code'])!r}")
    if values.get("cwd"):
        kwargs.append(f"_cwd={values['cwd']!r}")
    pairs = [pair.partition("=") for pair in values.get("env") or []]
    if pairs:
        script.imp("os")
        kwargs.append("_env={**os.environ, " + ", ".join(f"{k!r}: {v!r}" for k, _, v in pairs)
                      + "}")  # fmt: skip
    if last and values.get("no_tty"):
        kwargs.append("_tty_out=False")
    if last and values.get("tty"):
        kwargs.append("_tty_out=True")
    timeout = values.get("timeout")
    if timeout is not None or not background:  # in the foreground the session's bounds it
        kwargs.append(f"_timeout={script.timeout if timeout is None else float(timeout):g}")
    return kwargs


def _call(func: str, args: list[str], *, lead: str) -> str:
    """``lead + func(args)``, cut one argument a line when it would be too long."""
    one = f"{lead}{func}({', '.join(args)})"
    if len(one) < 92:
        return one
    return f"{lead}{func}(\n" + "\n".join(f"    {a}," for a in args) + "\n)"


def _sh(script: Script, record: CommandRecord) -> None:
    from pslrepl.commands.sh_calls import program_expr

    values = record.values
    stages = _stages(record)
    if "|" in record.line.replace(" | ", " ") or any(not words for words in stages):
        raise Unexportable("sh with a quoted '|' (a plain argument) is not exported yet")
    if values.get("bg") is not None:
        _background(script, record, stages[0])
        return
    from pslrepl.export.signal_timers import cancelled

    if cancelled(script, record):
        return
    script.imp("sh", "io")
    status = script.use("status")
    # Each stream to a buffer, as the shell's targets keep them: what the last command
    # printed is there even when an earlier one raised (sh raises it from the last's wait).
    script.add("out = io.BytesIO()", f"errs = [io.BytesIO() for _ in range({len(stages)})]",
               "failed = message = None", "try:")  # fmt: skip
    for index, (program, *args) in enumerate(stages):
        first, last = index == 0, index == len(stages) - 1
        parts = [repr(a) for a in args]
        if not first:
            parts.append("_in=piped")
        if last:
            parts.append("_out=out")
        parts.append(f"_err=errs[{index}]")
        parts += _kwargs(script, record, first=first, last=last, background=False)
        if last:
            parts.append("_return_cmd=True")
        else:  # the shell's: an error in the piped command is the last one's to raise
            parts += ["_piped=True", "_bg_exc=False"]
        lead = "done = " if last else "piped = "
        script.add(indented(_call(program_expr(program), parts, lead=lead)))
    script.add("except sh.ErrorReturnCode as exc:", "    failed = exc")
    # sh's other errors are not ErrorReturnCode's: the shell says each in a line and goes
    # on, and so does the script
    script.add("except sh.CommandNotFound as exc:", "    message = (",
               "        f\"error: sh: no such program {str(exc)!r} on PATH: check the name or \"",
               '        "give a path (sh.CommandNotFound)"', "    )")  # fmt: skip
    timeout = values.get("timeout")
    seconds = script.timeout if timeout is None else float(timeout)
    # (the exception names the program only where there are several to tell apart)
    script.add("except sh.TimeoutException" + (" as exc:" if len(stages) > 1 else ":"))
    if len(stages) > 1:
        programs = ", ".join(f"{p!r}" for p in dict.fromkeys(w[0] for w in stages))
        final = repr(stages[-1][0])
        script.add(f"    ran = {{str(sh.Command(p)): p for p in ({programs},)}}",
                   f"    program = ran.get(exc.full_cmd.split()[0], {final})")  # fmt: skip
        timed_out = "{program}"
    else:
        timed_out = stages[0][0].replace("{", "{{").replace("}", "}}")
    script.add("    total = len(out.getvalue()) + sum(len(e.getvalue()) for e in errs)",
               "    message = (",
               f'        f"error: sh: timeout after {seconds:g} s; {timed_out} was killed "',
               "        f\"(sh.TimeoutException); {total} byte{'s' if total != 1 else ''} of \"",
               '        "output; --timeout S waits longer"', "    )")  # fmt: skip
    script.add("for kept in (out, *errs):", "    if kept.getvalue():",
               f"        {script.show('kept.getvalue()')}", "if message is not None:",
               "    print(message)", "elif failed is not None:")  # fmt: skip
    if len(stages) > 1:  # which command raised: sh's exception names the one it ran
        programs = ", ".join(f"{p!r}" for p in dict.fromkeys(w[0] for w in stages))
        script.add(f"    ran = {{str(sh.Command(p)): p for p in ({programs},)}}")
        script.add(f"    program = ran.get(failed.full_cmd.split()[0], {stages[-1][0]!r})")
        who = "{program}"
    else:
        who = stages[0][0].replace("{", "{{").replace("}", "}}")
    each = ""
    if values.get("ok_code") and len(stages) > 1:  # as the shell says it
        each = (f"; --ok-code {','.join(map(str, values['ok_code']))} applies to each program "
                "in the pipeline, so this one's status is refused")  # fmt: skip
    script.add(wrapped_print(f"error: sh: {who} {{{status}(failed.exit_code)}} "
                             f"({{type(failed).__name__}}){each}", f=True,
                             indent="    "))  # fmt: skip
    script.add("else:")
    accepted = ""
    if values.get("ok_code"):
        codes = ",".join(map(str, values["ok_code"]))
        accepted = f"{{' (accepted: --ok-code {codes})' if done.exit_code else ''}}"
    script.add(f'    print(f"{{{status}(done.exit_code)}}{accepted}")')


def _background(script: Script, record: CommandRecord, words: list[str]) -> None:
    """sh --bg NAME: sh's RunningCommand, in a session of its own; --iter's lines go to a
    callback (the shell shows each as an event: in a script, events are not printed)."""
    from pslrepl.commands.sh_calls import program_expr
    from pslrepl.export.common import fstring_text
    from pslrepl.resources.commandline import command_text

    if not record.ok:
        raise Unexportable("this sh --bg failed in the session; what it said is not in this "
                           "script")  # fmt: skip
    name = str(record.values["bg"])
    v = script.var(name)
    script.imp("sh", "signal")
    parts = [repr(a) for a in words[1:]]
    parts += _kwargs(script, record, first=True, last=True, background=True)
    parts += ["_bg=True", "_bg_exc=False", "_new_session=True"]
    if record.values.get("iter"):
        script.add(f"{v}_lines = []  # each line it prints, as it comes (the shell's events)")
        parts.append(f"_out={v}_lines.append")
    script.add(_call(program_expr(words[0]), parts, lead=f"{v} = "))
    script.add(f'{v}_raised = ""  # what sh raised at its end, once waited for')
    script.kinds[name] = script.live[name] = "sh"  # (ps lists it; the end ends it below)
    script.commands[name] = command_text(words)
    shown = fstring_text(command_text(words))
    script.add(wrapped_print(f"{name}: started pid {{{v}.pid}}: {shown}", f=True))
    # The end of the session: the shell ends a job's process group (TERM, KILL after the
    # grace), and what it left there, and sh reaps it.
    script.cleanup.append(f"_ = {end_job(script)}({v})")


def _job(script: Script, record: CommandRecord) -> str | None:
    """The variable of the sh job the command names, or None for another resource."""
    name = record.values.get("name")
    if isinstance(name, str) and script.kinds.get(name) == "sh":
        return script.var(name)
    return None


def wait_job(script: Script, record: CommandRecord) -> None:
    """wait NAME on an sh job: RunningCommand.wait, which raises what sh raises for the
    status (the first time only: its name is kept for the next wait, as the shell keeps
    it); the status said as the shell says it."""
    v, name = _job(script, record), record.values["name"]
    if record.values.get("event") not in (None, "exit"):
        raise Unexportable(f"wait {record.values['event']} on an sh job is not exported yet")
    status = script.use("status")
    script.add("try:", f"    {v}.wait()",
               "except (sh.ErrorReturnCode, sh.TimeoutException) as exc:",
               f'    {v}_raised = f" ({{type(exc).__name__}})"',
               f'print(f"{name}: {{{status}({v}.process.exit_code)}}{{{v}_raised}}")')  # fmt: skip


def poll_job(script: Script, record: CommandRecord) -> None:
    v, name = _job(script, record), record.values["name"]
    status = script.use("status")
    script.add(f"if {v}.is_alive():", f'    print("{name}: running (is_alive() returned True)")',
               "else:", f'    print(f"{name}: {{{status}({v}.process.exit_code)}}")')  # fmt: skip


def signal_job(script: Script, record: CommandRecord, signum: int, *, group: bool) -> None:
    """signal NAME SIG [--group] on an sh job: RunningCommand.signal or signal_group."""
    from pslrepl.signals_table import signal_expr, signal_name

    v, name = _job(script, record), record.values["name"]
    status = script.use("status")
    script.imp("signal")
    expr = signal_expr(signum) if signum else "0"
    if group:  # signal_group: os.killpg to the group it leads (start_new_session)
        from pslrepl.export.enders import GROUP_MEMBERS

        script.imp("os")
        if "group_members" not in script.globals:
            script.globals.add("group_members")
            script.add(*GROUP_MEMBERS)
        count = "{members} process{'es' if members != 1 else ''}"
        said = (f"{name}: sent {signal_name(signum)} ({{{expr}:d}}) to process group "
                f"{{{v}.pid}} ({count})" if signum else
                f"{name}: process group {{{v}.pid}} exists ({count}) (signal 0 sends "
                "nothing)")  # fmt: skip
        script.add(f"members = len(group_members({v}.pid))", "if members:",
                   f"    {v}.signal_group({expr})", wrapped_print(said, f=True, indent="    "),
                   "else:",
                   wrapped_print(f"error: {name}: its process group {{{v}.pid}} is empty: "
                                 "everything in it has ended; there is nobody to signal",
                                 f=True, indent="    "))  # fmt: skip
        return
    said = (f"{name}: sent {signal_name(signum)} ({{{expr}:d}})" if signum else
            f"{name}: pid {{{v}.pid}} exists (signal 0 sends nothing: it checks the process "
            "is there)")  # fmt: skip
    script.add(f"if {v}.is_alive():", f"    {v}.signal({expr})",
               wrapped_print(said, f=True, indent="    "), "else:",
               wrapped_print(f"error: {name} has already ended ({{{status}({v}.process."
                             "exit_code)}); there is nobody to signal", f=True,
                             indent="    "))  # fmt: skip


def _earlier(command: str) -> Exporter:
    """The exporter of ``command`` for what is no sh job: the modules' before this one
    in export's MODULES (session_cmds' wait, socket_files' close and read, processes'
    poll), as they hand on to each other."""
    from pslrepl.export.common import before

    found = before("shlib", command)
    if found is None:
        raise Unexportable(f"{command} is not exported yet")
    return found


def _wait(script: Script, record: CommandRecord) -> None:
    (wait_job if _job(script, record) else _earlier("wait"))(script, record)


def _poll(script: Script, record: CommandRecord) -> None:
    (poll_job if _job(script, record) else _earlier("poll"))(script, record)


def _exit(script: Script, record: CommandRecord) -> None:
    status = record.values.get("status")
    script.imp("sys")
    script.add(f"sys.exit({status or 0})  # what is open is closed as the process ends")


def _end(signame: str) -> Exporter:
    """kill and terminate: an sh job is sent the signal (RunningCommand.signal); a child
    of spawn is processes' own."""
    import signal

    def end(script: Script, record: CommandRecord) -> None:
        if _job(script, record):
            signal_job(script, record, int(getattr(signal, signame)), group=False)
        else:
            _earlier(record.command)(script, record)

    return end


def _close(script: Script, record: CommandRecord) -> None:
    """close of sh jobs: TERM the job's process group, as the shell does, and say how it
    ended; close of anything else is the earlier modules' (a file object's is
    socket_files', the rest session_cmds')."""
    names = record.values.get("name") or []
    jobs = [n for n in names if script.kinds.get(n) == "sh"]
    if not jobs or record.values.get("all"):
        _earlier("close")(script, record)
        return
    if len(jobs) != len(names):
        raise Unexportable("close of sh jobs beside other resources is not exported yet")
    ending = end_job(script)
    for name in jobs:
        script.add(f'print(f"{name}: {{{ending}({script.var(name)})}}")')
        script.live.pop(name, None)


# The shell's close of an sh job: TERM to its process group, KILL after the grace (sh's
# wait with a timeout), then what it left in its group, TERM then KILL.
END_JOB = (
    "",
    "",
    "def end_job(job, grace=1.0):",
    '    """As the shell\'s close of an sh job: TERM to its process group, KILL after the',
    '    grace; then what it left running in its group, TERM then KILL. What happened."""',
    "    if job.is_alive():",
    "        job.signal_group(signal.SIGTERM)",
    '        said = "terminated"',
    "        try:",
    "            job.wait(timeout=grace)",
    "        except sh.TimeoutException:  # still running after the grace",
    "            job.signal_group(signal.SIGKILL)",
    '            said = f"killed after {grace:g} s grace"',
    "        except sh.ErrorReturnCode:  # how it ended: its exit code says",
    "            pass",
    "        try:",
    "            job.wait()",
    "        except (sh.ErrorReturnCode, sh.TimeoutException):",
    "            pass",
    '        said += f": {status(job.process.exit_code)}"',
    "    else:",
    '        said = f"closed ({status(job.process.exit_code)})"',
    "    left = group_members(job.pid)",
    "    for signum in (signal.SIGTERM, signal.SIGKILL) if left else ():",
    "        try:",
    "            os.killpg(job.pid, signum)",
    "        except OSError:  # gone meanwhile",
    "            break",
    "        deadline = time.monotonic() + grace",
    "        while group_members(job.pid) and time.monotonic() < deadline:",
    "            time.sleep(0.02)  # not our children: nothing to wait on but their going",
    "        if not group_members(job.pid):",
    "            break",
    "    if left:",
    '        es = "es" if len(left) != 1 else ""',
    '        said += f"; ended {len(left)} process{es} it left running"',
    "    return said",
    "",
    "",
)


def end_job(script: Script) -> str:
    """Have end_job (and group_members) defined in the script; its name."""
    from pslrepl.export.enders import define_ender

    return define_ender(script, "end_job", END_JOB, "sh")


def _child_only(command: str) -> Exporter:
    """A command on a child's pipes (read, expect, communicate): sh keeps a job's output
    itself, so on an sh job it is not written; on a child of spawn it is processes' own."""

    def only(script: Script, record: CommandRecord) -> None:
        if _job(script, record) and command == "read":
            from pslrepl.export.sh_jobs import read_job

            read_job(script, record)
        elif _job(script, record):
            raise Unexportable(f"{command} on an sh job (sh keeps its output) is not "
                               "exported yet")  # fmt: skip
        else:
            _earlier(command)(script, record)

    return only


# wait, poll, kill, terminate, close (and read, expect, communicate) take an sh job here
# and hand any other resource to the exporter the modules before this one declare: this
# module comes after processes, session_cmds and socket_files in export's MODULES.
EXPORTERS = {
    "sh": _sh,
    "exit": _exit,
    "wait": _wait,
    "poll": _poll,
    "kill": _end("SIGKILL"),
    "terminate": _end("SIGTERM"),
    "close": _close,
    **{name: _child_only(name) for name in ("read", "expect", "communicate")},
}
