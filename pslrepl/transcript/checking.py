"""Checking many transcripts: in parallel (--jobs) or asking (-i); junit.py writes the report."""

from __future__ import annotations

import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

# Verdicts: pass and skip exit 0, fail exits 1, error (no transcript, no replay) exits 2.
STATUS = {"pass": 0, "skip": 0, "fail": 1, "error": 2}


class Result:
    """One transcript's verdict, what --check printed for it and how long it took."""

    def __init__(self, path: str, verdict: str, out: str, err: str, seconds: float) -> None:
        self.path = path
        self.verdict = verdict
        self.out = out  # the report on standard output ("FILE: pass (N commands)", a diff)
        self.err = err  # a file that is no transcript: its one line on standard error
        self.seconds = seconds
        self.quit = False  # -i: answered [q]uit: the files after it are not checked

    def show(self) -> None:
        if self.out:
            sys.stdout.write(self.out)
            sys.stdout.flush()
        if self.err:
            sys.stderr.write(self.err)
            sys.stderr.flush()


def check_one(path: str, *, keep_going: bool, time_limit: float, note: str) -> Result:
    """Check one transcript in this process (the serial --check)."""
    from pslrepl.replay import TranscriptFileError, check_file

    started = time.monotonic()
    try:
        outcome = check_file(path, keep_going=keep_going, time_limit=time_limit, limit_note=note)
    except TranscriptFileError as exc:  # it says what is wrong with the file
        return Result(path, "error", "", f"pslrepl: {path}: {exc.strerror}\n",
                      time.monotonic() - started)  # fmt: skip
    except OSError as exc:
        return Result(path, "error", "", f"pslrepl: can't read {path}: {exc.strerror or exc}\n",
                      time.monotonic() - started)  # fmt: skip
    verdict = "skip" if outcome.skipped else "pass" if outcome.ok else "fail"
    return Result(path, verdict, outcome.report() + "\n", "", time.monotonic() - started)


def check_parallel(
    paths: list[str],
    *,
    jobs: int,
    keep_going: bool,
    time_limit: float,
    note: str,
    unfinished: list[str] | None = None,
    held: list[Result] | None = None,
) -> Iterator[Result]:
    """Each transcript checked in a process of its own (its own session, {tmp} and ports),
    ``jobs`` at a time; the results come in the order of ``paths``, each as soon as it
    and those before it are done. The processes are forked from this one once the shell's
    modules are loaded, so a check costs no start-up of its own. Ctrl-C (or SIGTERM)
    here ends them all; ``unfinished`` is then given the paths not checked to the end,
    and ``held`` the results of those checked but not yet given (a file before them was
    still running), so a failure already known is not lost."""
    import json
    import os
    import selectors
    import signal

    import pslrepl.dispatch  # noqa: F401  (loaded once here, not in every check)
    import pslrepl.replay  # noqa: F401
    from pslrepl.commands import all_commands

    all_commands()  # imports every command's module
    _warm()

    done: dict[int, Result] = {}
    running_ended: list[int] = []  # ended at a Ctrl-C before it said how it went
    running: dict[int, tuple[int, int, bytearray]] = {}  # pid -> (index, fd, what it sent)
    controls: dict[int, int] = {}  # pid -> the pipe whose closing tells that check to stop
    waiting = list(enumerate(paths))
    shown = 0
    selector = selectors.DefaultSelector()
    try:
        while shown < len(paths):
            while waiting and len(running) < jobs:
                index, path = waiting.pop(0)
                read_end, write_end = os.pipe()
                stop_read, stop_write = os.pipe()
                pid = os.fork()
                if pid == 0:  # the check: its result as JSON down the pipe, then out
                    status = 1
                    try:
                        # A process group of its own: the terminal's Ctrl-C comes to the
                        # parent alone, which stops each check through its main thread.
                        os.setpgid(0, 0)
                        for fd in (read_end, stop_write, *controls.values()):
                            os.close(fd)
                        selector.close()
                        _stop_when_told(stop_read)
                        result = check_one(path, keep_going=keep_going, time_limit=time_limit,
                                           note=note)  # fmt: skip
                        data = json.dumps([result.verdict, result.out, result.err,
                                           result.seconds]).encode()  # fmt: skip
                        view = memoryview(data)
                        while view:
                            view = view[os.write(write_end, view) :]
                        status = 0
                    except Exception:  # a bug: shown as a serial check would show it
                        import traceback

                        traceback.print_exc()
                    finally:
                        os._exit(status)  # never the parent's clean-up, nor its buffers
                try:
                    os.setpgid(pid, pid)  # as the child does: whichever comes first
                except OSError:  # it has already made it, or it has ended
                    pass
                os.close(write_end)
                os.close(stop_read)
                controls[pid] = stop_write
                running[pid] = (index, read_end, bytearray())
                selector.register(read_end, selectors.EVENT_READ, pid)
            for key, _ in selector.select():
                pid = key.data
                index, fd, got = running[pid]
                chunk = os.read(fd, 65536)
                if chunk:
                    got += chunk
                    continue
                selector.unregister(fd)
                os.close(fd)
                running[pid] = (index, -1, got)  # closed: a Ctrl-C now must not read it
                _, code = os.waitpid(pid, 0)
                del running[pid]
                os.close(controls.pop(pid))
                done[index] = _result(paths[index], bytes(got), code)
            while shown in done:
                yield done.pop(shown)
                shown += 1
    finally:
        # Ctrl-C, SIGTERM, a broken pipe: the checks still running are told to stop (their
        # pipe closes) and end as a shell does, each closing what its transcript started.
        for pid, (index, fd, got) in list(running.items()):  # ended, not yet read
            try:
                ended = os.waitpid(pid, os.WNOHANG)[0] == pid
            except ChildProcessError:  # reaped just as the Ctrl-C came
                ended = True
            if not ended:
                continue
            if fd >= 0:
                _drain(fd, got)
                os.close(fd)
            del running[pid]
            os.close(controls.pop(pid))
            if _complete(got):  # all it said is here (its watchdog may hold the pipe)
                done[index] = _result(paths[index], bytes(got), 0)
            else:
                running_ended.append(index)
        if unfinished is not None:
            unfinished[:] = [paths[i] for i in sorted(
                [index for index, _, _ in running.values()] + [i for i, _ in waiting]
                + running_ended)]  # fmt: skip
        if held is not None:
            held[:] = [done[i] for i in sorted(done)]
        for fd in controls.values():
            os.close(fd)
        # Its main thread may be matching a pattern that backtracks: re holds the GIL, so
        # the check's own watcher can't run to stop it, but a signal to the process is
        # seen as re checks for signals (the watcher's own still ends a blocking call).
        for pid in running:
            try:
                os.kill(pid, signal.SIGINT)
            except OSError:  # it has just ended
                pass
        for _, fd, _ in running.values():
            if fd >= 0:
                os.close(fd)
        _reap(list(running))
        selector.close()


def _drain(fd: int, got: bytearray) -> None:
    """Read what an ended check left in its pipe, never waiting (its session's watchdog
    may hold the pipe open a while)."""
    import os

    os.set_blocking(fd, False)
    try:
        while chunk := os.read(fd, 65536):
            got += chunk
    except BlockingIOError:
        pass


def _complete(got: bytearray) -> bool:
    import json

    try:
        json.loads(got)
    except ValueError:
        return False
    return True


def _stop_when_told(fd: int) -> None:
    """In a check: once ``fd`` (a pipe from the parent) closes, cancel the command running
    as Ctrl-C does, by a signal to the main thread itself (one sent to the process may
    wake another thread and leave the command's call waiting); again each grace after,
    which gives up on a command that swallowed it. The parent closing it, or dying, ends
    the check."""
    import os
    import signal
    import threading

    from pslrepl.transcript.timelimit import GRACE

    main = threading.main_thread().ident

    def watch() -> None:
        try:
            while os.read(fd, 512):
                pass
        except OSError:
            pass
        for _ in range(10):  # bounded: a check that ends at none of them is killed
            if main is not None:
                signal.pthread_kill(main, signal.SIGINT)
            time.sleep(GRACE)

    threading.Thread(target=watch, name="pslrepl:check-stop", daemon=True).start()


# Modules most transcripts load as they run (a process, a socket, TLS, a diff): loaded
# once before the checks are forked, as a serial check loads them once for every file.
WARM = ("subprocess", "tempfile", "difflib", "shlex", "ssl", "pslrepl.testca",
        "pslrepl.tls_contexts", "pslrepl.resources.process", "pslrepl.resources.servers",
        "pslrepl.resources.relays", "pslrepl.handlers")  # fmt: skip


def _warm() -> None:
    import importlib

    for name in WARM:
        try:
            importlib.import_module(name)
        except ImportError:  # a module renamed or an extra not installed: it loads later
            pass


def _result(path: str, data: bytes, code: int) -> Result:
    import json
    import os

    try:
        verdict, out, err, seconds = json.loads(data)
        return Result(path, verdict, out, err, seconds)
    except ValueError:
        how = (f"signal {os.WTERMSIG(code)}" if os.WIFSIGNALED(code)
               else f"status {os.waitstatus_to_exitcode(code)}")  # fmt: skip
        return Result(path, "error", "", f"pslrepl: {path}: its check ended ({how}) before "
                      "it said how it went\n", 0.0)  # fmt: skip


def _reap(pids: list[int]) -> None:
    """Wait for the checks told to stop, all at once; those still there after REAP_WAIT
    seconds are killed (a session's watchdog then ends what they had started)."""
    import os
    import signal

    end = time.monotonic() + REAP_WAIT
    left = set(pids)
    while left and time.monotonic() < end:
        left -= {pid for pid in left if os.waitpid(pid, os.WNOHANG)[0] == pid}
        if left:
            time.sleep(0.02)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


REAP_WAIT = 5.0  # a stopped check ends in a grace (timelimit.GRACE), or two: or is killed


def check_interactive(
    path: str, *, time_limit: float, note: str, ask: Callable[[str], str]
) -> Result:
    """Replay, then for each step whose output differs show its diff and ask whether to
    take the new output (as cram -i does); the file is rewritten with the changes taken.
    ``ask`` shows a question and returns the answer ('' at the end of input)."""
    from pslrepl.replay import Outcome, _replace, read_transcript, replay, rewrite
    from pslrepl.transcript import diff, parse

    started = time.monotonic()
    original = read_transcript(path, writing=True)
    transcript = parse(original)
    outcome: Outcome = replay(transcript, path=path, keep_going=True, time_limit=time_limit,
                              limit_note=note, in_tmp=True)  # fmt: skip
    if outcome.skipped or outcome.ok:
        verdict = "skip" if outcome.skipped else "pass"
        return Result(path, verdict, outcome.report() + "\n", "", time.monotonic() - started)
    bindings = outcome.bindings
    differing = sorted(index for index in outcome.differs if outcome.takes(index))
    taken: dict[int, list[str]] = {}
    answer = ""
    quit = False
    for index in differing:
        step = transcript.steps[index]
        sys.stdout.write("\n".join(diff(step, outcome.actual[index], bindings, where=path)) + "\n")
        if answer != "a":
            question = "take the new output? [y]es, [n]o, [a]ll the rest, [q]uit: "
            answer = ""
            while answer not in ("y", "n", "a", "q"):
                reply = ask(question)
                if not reply:  # end of input: nothing more is taken
                    answer = "eof"
                    break
                answer = reply.strip().lower()[:1]
                question = "answer y, n, a or q: "
        if answer == "q":
            quit = True
        if answer in ("q", "eof"):
            break
        if answer in ("y", "a"):
            taken[index] = outcome.actual[index]
    if taken:
        _replace(path, rewrite(transcript, taken, bindings))
    left = len(differing) - len(taken) + (len(outcome.failures) - len(differing))
    differ = "differs" if left == 1 else "differ"
    text = (f"{path}: took {len(taken)} of {len(differing)} changes"
            + (f"; {left} still {differ}" if left > 0 else "") + "\n")  # fmt: skip
    if outcome.timed_out:  # what the time limit stopped still fails, whatever was taken
        left = max(left, 1)
        fix = (
            "write its pattern so that a line can match it one way only"
            if outcome.slow_step is not None
            else "raise #! timeout or find why it hangs"
        )
        text += f"{outcome.stopped()}; the steps after it were not checked: {fix}\n"
    verdict = "fail" if left > 0 else "pass"
    result = Result(path, verdict, text, "", time.monotonic() - started)
    result.quit = quit
    return result
