"""The `sh` command: programs run through the third-party `sh` library, in the foreground,
piped as sh pipes them, or in the background under a name."""

from __future__ import annotations

import signal

from pslrepl.callrecord import Call
from pslrepl.commands.groups import PROCESSES
from pslrepl.commands.options import TIMEOUT
from pslrepl.commands.sh_calls import (
    CHUNK,
    Keep,
    OkCodes,
    ShOptions,
    fork_reason,
    not_found,
    parent_death_signal,
    pipeline_python,
    program_expr,
    restoring_mask,
    split_pipeline,
)
from pslrepl.commandspec import Commands, Opt
from pslrepl.errors import PslError, Timeout, UsageError
from pslrepl.invocation import Shown
from pslrepl.kinds import NEW, PATH
from pslrepl.render import plural, preview
from pslrepl.results import Output, Styled
from pslrepl.signals_table import describe_status

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.invocation import Invocation

COMMANDS = Commands(PROCESSES)

# What the shell passes besides the user's options, said in explain's note.
KEPT = "_out/_err targets keeping the newest 1 MiB of each stream"


@COMMANDS.command(
    "sh",
    "run a program through the sh library: to its end, piped with |, or in the background",
    rest=True,
    rest_name="PROGRAM [ARGS] [| PROGRAM [ARGS]]",
    opts=(
        Opt("--bg", "run it in the background under NAME (_bg=True)", "NAME", kind=NEW),
        Opt("--iter", "with --bg: show each line it prints as it comes (_iter)"),
        Opt("--in", "give DATA to its stdin, then EOF (_in)", "DATA"),
        Opt("--ok-code", "exit statuses taken as success (_ok_code)", "N,M", kind=OkCodes()),
        Opt("--cwd", "its working directory (_cwd)", "DIR", kind=PATH),
        Opt("--env", "set an environment variable for it (_env)", "K=V", repeat=True),
        Opt(
            "--tty", "stdout on a pseudo-terminal (_tty_out=True, sh's default)", exclusive="tty"
        ),  # fmt: skip
        Opt("--no-tty", "stdout on a pipe (_tty_out=False)", exclusive="tty"),
        TIMEOUT,
    ),
    calls=("sh.Command", "sh.RunningCommand", "RunningCommand.wait"),
    examples=(
        "sh ls -l /",
        "sh git --version",
        "sh ls -1 / | wc -l",
        "sh --in 'b\\na\\n' sort",
        "sh --ok-code 0,1 grep nosuchword /etc/hostname",
        "sh --env GREETING=hi --no-tty printenv GREETING",
        "sh --bg job sleep 30",
        "sh --bg lines --iter sh -c 'echo one; echo two'",
    ),
    details="Without --bg, sh runs the program to its end and shows what it printed and "
    "how it ended. sh raises ErrorReturnCode_N for a status --ok-code doesn't accept "
    "(0 alone by default), SignalException_SIGNAME for a signal, TimeoutException after "
    "--timeout and CommandNotFound for a missing program: each is shown as an error, "
    "with what the program printed. A | between words pipes as sh does it: `sh ls -1 / | "
    "wc -l` is sh.wc('-l', _in=sh.ls('-1', '/', _piped=True)), and no system shell is "
    "involved ('|' quoted is a plain argument); --in goes to the first program, --tty "
    "to the last, the rest to each. --bg NAME keeps sh's RunningCommand under NAME (`py "
    "NAME` is it): wait, poll, read, expect, signal, kill, ps, ls and close take it, and "
    "its exit is an event; it runs until it ends unless --timeout is given, in a "
    "session of its own, and ignores SIGHUP as sh's _bg makes it. --iter shows each "
    "line as an event instead of keeping it for read. Output goes to targets that keep "
    "the newest 1 MiB of each stream (sh itself would keep everything).",
)
def _sh(ctx: Invocation) -> None:
    stages = split_pipeline(ctx)
    for words in stages:
        if not words or not words[0]:
            raise UsageError("sh: give a program, like: sh ls -l")
    if ctx["iter"] and ctx["bg"] is None:
        raise UsageError("sh: --iter shows the lines as they come while the prompt stays "
                         "usable, in the background: give it a name, like: sh --bg t --iter "
                         "PROGRAM ARGS")  # fmt: skip
    import sh  # imported here: it is slow to load and only this command needs it

    commands = []
    for program, *_ in stages:
        try:
            commands.append(sh.Command(program))
        except sh.CommandNotFound:
            raise PslError(f"sh: {not_found(program)} (sh.CommandNotFound)") from None
    if ctx["bg"] is not None:
        if len(stages) > 1:
            raise UsageError("sh: --bg runs one program; pipe in the foreground, or spawn "
                             "NAME --shell -- 'A | B' keeps a pipeline")  # fmt: skip
        _background(ctx, commands[0], stages[0])
    else:
        _foreground(ctx, commands, stages)


def _foreground(ctx: Invocation, commands: list[Any], stages: list[list[str]]) -> None:
    """Each command of the pipeline but the last with _piped=True, handed to the next as
    its _in; the last is waited for, as sh does when it is called."""
    import sh

    options = ShOptions(ctx, background=False)
    out, errs = Keep(), [Keep() for _ in stages]
    death = parent_death_signal()
    hup = signal.getsignal(signal.SIGHUP)
    keep_hup = signal.SIG_IGN if hup == signal.SIG_IGN else signal.SIG_DFL

    def preexec() -> None:
        signal.signal(signal.SIGHUP, keep_hup)
        if death is not None:
            death()

    python = pipeline_python(stages, options, [])
    func = program_expr(stages[-1][0])
    args_text = python[len(func) + 1 : -1]
    note = f"the shell also passes _new_session=True, {KEPT}, _return_cmd=True" + (
        "" if options.timeout_given else f" and _timeout={ctx.timeout:g}"
    )
    running: list[Any] = []

    def record(result: Any) -> None:
        ctx.record(func, args_text, result, exact=False, note=note)

    try:
        previous = None
        for index, command in enumerate(commands):
            last = index == len(commands) - 1
            kw = options.kwargs(index, last)
            # In a session (so a process group) of its own, as spawn's child: a program
            # that signals its group (kill 0) can't reach the shell, and what it starts
            # is ended with it. _timeout bounds it even if Ctrl-C leaves the wait early.
            kw.update(_err=errs[index], _err_bufsize=CHUNK, _bg_exc=False, _new_session=True)
            kw["_preexec_fn"] = preexec
            if last:
                # Started with _bg and waited for here, as sh's call does, so that the
                # command is known (its pid, its group) when the wait raises or Ctrl-C
                # cancels it; preexec gives SIGHUP back the disposition _bg takes away.
                kw.update(_return_cmd=True, _out=out, _out_bufsize=CHUNK, _no_pipe=True,
                          _bg=True)  # fmt: skip
            else:
                kw["_piped"] = True
            if previous is not None:
                kw["_in"] = previous  # sh 2 pipes through _in
            previous = command(*stages[index][1:], **kw)
            running.append(previous)
            ctx.session.guard_child(previous.pid)  # the watchdog ends its group if we die
        running[-1].wait()
    except sh.ForkException as exc:
        record(f"raised {type(exc).__name__}")
        program = stages[len(running)][0]
        raise PslError(f"sh: can't run {program!r}: {fork_reason(exc)}") from None
    except sh.TimeoutException as exc:
        record("raised TimeoutException")
        _show(ctx, out, errs)
        program = _who(stages, running, exc)
        got = bytes(out.buf.data[:64] + b"".join(e.buf.data[:64] for e in errs))
        total = out.buf.total + sum(e.buf.total for e in errs)
        raise Timeout(
            f"sh: timeout after {options.timeout:g} s; {program} was killed "
            f"(sh.TimeoutException); {plural(total, 'byte')} of output"
            + (f": {preview(got)}" if got else "")
            + "; --timeout S waits longer"
        ) from None
    except sh.ErrorReturnCode as exc:
        record(f"raised {type(exc).__name__}")
        _show(ctx, out, errs)
        program = _who(stages, running, exc)
        codes = ctx["ok_code"]
        each = ""
        if codes and len(stages) > 1:  # sh gives _ok_code to every program: say so
            each = (f"; --ok-code {','.join(map(str, codes))} applies to each program in the "
                    "pipeline, so this one's status is refused")  # fmt: skip
        raise PslError(
            f"sh: {program} {describe_status(exc.exit_code)} ({type(exc).__name__}){each}"
        ) from None
    finally:
        left = _reap(ctx, running)
    exit_code = running[-1].exit_code
    record(Shown(f"<RunningCommand: exit_code={exit_code}>"))
    _show(ctx, out, errs)
    style = "ok" if exit_code == 0 else "state.failed"
    accepted = ""
    if exit_code and ctx["ok_code"]:
        accepted = " (accepted: --ok-code " + ",".join(map(str, ctx["ok_code"])) + ")"
    ctx.emit(Styled(((style, describe_status(exit_code) + accepted),)))
    if left:
        ctx.say(
            f"warning: sh: ended {left} process{'es' if left != 1 else ''} it left running in "
            "its group (TERM, then KILL after the grace); sh alone would have left them; "
            "spawn NAME --shell -- '...' keeps a child whose jobs run on",
            "warning",
        )


def _who(stages: list[list[str]], running: list[Any], exc: Any) -> str:
    """The program of the pipeline that raised: sh's exception names the command it ran."""
    ran = getattr(exc, "full_cmd", None)
    for words, command in zip(stages, running, strict=False):
        if getattr(command, "ran", None) == ran:
            return words[0]
    return stages[min(len(running), len(stages) - 1)][0]


def _reap(ctx: Invocation, running: list[Any]) -> int:
    """A pipeline left behind by Ctrl-C, --timeout or a failing command: KILL the group of
    what still runs (what it started too) and reap it, so no child (and none of sh's
    threads) outlives the command; then what each left in its group or session: TERM,
    KILL after the grace. How many of those there were."""
    import os

    from pslrepl.resources.ending import end_group, end_leftovers

    for command in running:
        process = command.process
        if process.exit_code is None:
            try:
                if process.is_alive()[0]:
                    os.killpg(process.pid, signal.SIGKILL)  # it leads its group: _new_session
            except OSError:
                pass
        # Waited for even when it has exited: sh's background thread for a command run
        # with _timeout ends only once its RunningCommand is waited for (else it wakes
        # every 0.1 s for the rest of the session).
        try:
            command.wait()
        except Exception:  # noqa: BLE001 - reaping, whatever sh thinks of the status
            pass
    grace = ctx.session.settings.grace
    left = 0
    for command in running:
        left += end_group(command.pid, grace) + end_leftovers(command.pid, grace)
        ctx.session.release_child(command.pid)
    return left


def _show(ctx: Invocation, out: Keep, errs: list[Keep]) -> None:
    streams = [("stdout", out), *(("stderr", keep) for keep in errs)]
    for name, keep in streams:
        if keep.buf.data:
            ctx.emit(Output(bytes(keep.buf.data), name))
    for name, keep in streams:
        buf = keep.buf
        if buf.dropped:
            ctx.say(
                f"warning: {name}: {plural(buf.dropped, 'byte')} dropped: the oldest output; "
                f"sh keeps 1 MiB per stream here ({plural(buf.total, 'byte')} in all)",
                "warning",
            )


def _background(ctx: Invocation, command: Any, words: list[str]) -> None:
    """sh's _bg=True: the RunningCommand is kept under a name, in a session of its own
    (the watchdog ends it if the shell dies), and a thread of the job waits for it."""
    import sh

    from pslrepl.resources.commandline import command_text
    from pslrepl.resources.sh_job import ShJob
    from pslrepl.signals_table import BLOCKABLE

    session = ctx.session
    name = ctx["bg"]
    options = ShOptions(ctx, background=True)
    iterate = bool(ctx["iter"])
    given = len(options.data) if options.data is not None else None
    job = ShJob(session, name, command=command_text(words), argv=words, iterate=iterate,
                given=given)  # fmt: skip
    kw = options.kwargs(0, True)
    kw.update(
        _bg=True, _bg_exc=False, _return_cmd=True, _new_session=True, _no_pipe=True,
        # Line-buffered (sh reads 1 KiB at a time and hands on each line): `read` of a
        # running job sees a line as soon as it is printed, not when 64 KiB have come.
        # (sh's unbuffered mode reads one byte per system call.)
        _out=job.sink("stdout"), _err=job.sink("stderr"), _err_bufsize=1, _out_bufsize=1,
    )  # fmt: skip
    python = pipeline_python([words], options, ["_bg=True", *(["_iter=True"] if iterate else [])])
    func = program_expr(words[0])
    note = f"the shell also passes {KEPT}" + (
        ", and an _out callback showing each line" if iterate else ""
    )
    # sh's threads start in the call and inherit this thread's signal mask: blocked, so
    # none of them takes a signal meant for the shell (Python runs handlers only in the
    # main thread, and a default action there would end the shell). The child gets the
    # shell's mask back before it execs.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, BLOCKABLE)
    try:
        kw["_preexec_fn"] = restoring_mask(previous)
        try:
            running = command(*words[1:], **kw)
        except sh.ForkException as exc:
            ctx.record(func, python[len(func) + 1 : -1], "raised ForkException")
            raise PslError(f"sh: can't run {words[0]!r}: {fork_reason(exc)}") from None
        job.call_text = python
        job.start(running)
        session.registry.add(job)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    ctx.calls.append(Call(func, python[len(func) + 1 : -1], f"<RunningCommand pid={job.pid}>",
                          exact=False, note=note, value=running))  # fmt: skip
    ctx.emit(Styled((("name", name), ("", f": started pid {job.pid}: {job.command}"))))
