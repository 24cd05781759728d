"""The show: a transcript's commands run one per key press in a live session, with the
presenter's notes above each, drift from the recorded output marked, and the keys to go
live, step back and quit."""

from __future__ import annotations

import io
import re
import sys

from pslrepl.app import build, shutdown
from pslrepl.environment import Environment, wants_color
from pslrepl.history import open_history
from pslrepl.loop import PROMPT
from pslrepl.present.keys import BACK, INTERRUPT, LIVE, NEXT, QUIT, WAKE, KeyReader
from pslrepl.present.live import LiveRepl
from pslrepl.present.notes import note_lines, notes_before
from pslrepl.present.typist import QuitTyping, Untyped, type_out
from pslrepl.repl import echo_line
from pslrepl.replay import write_embedded
from pslrepl.transcript import diff, expand, match_output
from pslrepl.transcript.syntax import TYPED

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.dispatch import Dispatcher
    from pslrepl.results import Line
    from pslrepl.session import Session
    from pslrepl.transcript import Bindings, Step, Transcript

KEYS_HELP = "Space or Enter runs the next command; l goes live (Ctrl-] comes back); " \
    "b steps back; q quits"  # fmt: skip
END_PROMPT = "(the end: q quits, b steps back, l goes live) "
TIMED_OUT = re.compile(r": timeout after [0-9.,]+ s\b")
CANCELLED = "cancelled by Ctrl-C"


class Show:
    """One presentation of one transcript, in the terminal the shell was started in."""

    def __init__(self, path: str, transcript: Transcript, *, instant: bool, no_color: bool):
        self.path = path
        self.transcript = transcript
        self.steps = transcript.steps
        self.notes = notes_before(transcript)
        self.instant = instant
        self.color = wants_color(sys.stdout) and not no_color
        self.keys = KeyReader(sys.stdin.fileno())
        self.history = open_history()
        self.index = 0  # the next step to run
        self.noted = -1  # the step whose notes were shown last
        self.drifted: dict[int, int] = {}  # step index -> its line in the file
        # Steps that timed out or were cancelled when this show ran them: a step back
        # doesn't wait them out again (a wait that ended so changed nothing).
        self.waited: set[int] = set()
        self.summarized = False
        self.stopping = False  # q stopped a running command: the show ends
        self.captured: list[str] | None = None
        self._start()

    # -- the session ----------------------------------------------------------------

    def _start(self) -> None:
        env = Environment.from_system(interactive=True)
        env.color = self.color
        self.session: Session
        self.dispatcher: Dispatcher
        self.session, self.dispatcher = build(env)
        self.live_numbers: set[int] = set()  # the session's commands typed live
        # Placeholders and captures are filled into each word after a command is split,
        # as a replay does: a captured value never runs as a command of its own.
        from pslrepl.transcript.words import expand_in_words

        self.now: list[dict[str, str]] = [{}]
        expand_in_words(self.dispatcher, self.session, self.now)
        self.repl = LiveRepl(self.session, self.dispatcher, color=self.color,
                             history=self.history)  # fmt: skip
        screen = self.session.printer.screen
        # A tall output is shown whole in the show (a pager would stop it); live, paged.
        self.pager = screen.pager if screen is not None else None
        if screen is not None:
            screen.pager = None
        self.session.printer.listeners.append(self._capture)
        self.session.waker = self.keys.wake
        # {python}: this interpreter, as a replay binds it.
        self.bindings: Bindings = {"tmp": self.session.tmp, "python": sys.executable}
        self.seen: dict[str, str] = {}
        self.problems: list[str] = []
        for file in self.transcript.files:  # written to the fresh {tmp}, as a replay does
            problem = write_embedded(self.session.tmp, file)
            if problem:
                self.problems.append(f"{self.path}:{file.line}: {problem}")

    def _capture(self, lines: list[Line]) -> None:
        if self.captured is not None:
            for line in lines:
                self.captured.extend("".join(text for _, text in line).split("\n"))

    def _learn(self) -> None:
        """Bind each run-to-run value the session learned ({p.pid}, {srv.port}) to its
        live value, as a replay does: a command may use one no output has shown."""
        for name, value in list(self.session.volatile.items()):
            if self.seen.get(name) != value:
                self.seen[name] = value
                self.bindings[name] = value

    # -- what the audience sees -----------------------------------------------------

    def _say(self, lines: list[Line]) -> None:
        self.session.printer.write(lines, event=True)

    def _notice(self, text: str) -> None:
        self._say([[("notice", text)]])

    def _clear_prompt(self) -> None:
        printer = self.session.printer
        if printer.mid_line:
            printer.out.write("\r\x1b[K")
            printer.out.flush()
            printer.mid_line = False

    def _wait_key(self, prompt: str) -> str:
        """The next key press, with ``prompt`` up; events are shown above it as they come."""
        printer = self.session.printer
        with self.keys.raw():
            while True:
                self.session.flush_events()
                printer.prompt([("prompt", prompt)])
                key = self.keys.read()
                if key == WAKE:
                    self._clear_prompt()
                    continue
                if key is None:
                    continue
                if key not in NEXT or self.index >= len(self.steps):
                    self._clear_prompt()
                return key

    def _type(self, line: str) -> None:
        """The command after the prompt, typed out at a readable pace (a key press shows
        the rest at once); then the line ends, as when Enter is pressed."""
        pieces = echo_line(self.session, self.dispatcher, line)[1:]
        type_out(self.session.printer, self.keys, pieces, len(line), instant=self.instant)

    def _type_lines(self, lines: list[str]) -> None:
        """An attach step's typed lines (`|>` in the transcript), each typed out under it
        as the transcript shows them: what the show sends it."""
        for text in lines:
            self.session.printer.out.write(self.session.printer.format([("prompt", TYPED)]))
            type_out(self.session.printer, self.keys, [("", text)], len(text),
                     instant=self.instant)  # fmt: skip

    # -- the steps ------------------------------------------------------------------

    def _run_step(self, index: int, *, shown: bool) -> None:
        step = self.steps[index]
        self._learn()
        line = expand(step.command, self.bindings)
        typed = [expand(text, self.bindings) for text in step.typed]
        if shown:
            try:
                self._type(line)
                self._type_lines(typed)
            except QuitTyping:
                self.index = index
                self.stopping = True
                self._notice(f"q: {step.command} was not run, and the show ends")
                return
            except (Untyped, KeyboardInterrupt):  # Ctrl-C while it was typed out
                self.index = index
                self._clear_prompt()
                self._notice("Ctrl-C: not run; Space runs it, b steps back, q quits")
                return
        self.captured = []
        env = self.session.env
        interactive, stdin = env.interactive, env.stdin
        if step.takes_typing:
            # As a replay does: the recorded lines are the attach's input, then EOF; the
            # keyboard stays the show's (Space and Enter are not sent to the child).
            env.interactive = False
            env.stdin = io.StringIO("".join(text + "\n" for text in typed))
        # A `timeline` here draws as a replay does (steady), so a recorded one matches.
        # The commands typed live are no part of the transcript: timeline leaves them out.
        self.session.presenting = frozenset(self.live_numbers)
        try:
            # Keys pressed while it runs are not echoed into its output, and dropped at
            # its end; Ctrl-C still cancels it, and so does q, which ends the show too.
            try:
                with self.keys.unechoed():
                    self.now[0] = dict(self.bindings)
                    done = self.repl.run_step(step.command)
            except KeyboardInterrupt:  # q's interrupt came as the command ended
                done = False
            self.keys.discard()
        finally:
            self.session.presenting = False
            env.interactive, env.stdin = interactive, stdin
            actual, self.captured = self.captured, None
        if self.keys.quit_asked:
            self.index = index  # not run to its end
            self.stopping = True
            if shown:
                self.session.flush_events()
                self._clear_prompt()
                self._notice(f"q: {step.command} was stopped (as Ctrl-C stops it) and the "
                             "show ends")  # fmt: skip
            return
        if not done or _waited(actual):
            self.waited.add(index)
        if shown:
            self.session.flush_events()
        self._learn()
        matched = match_output(step.expected, actual, self.bindings)
        if matched is not None:
            self.bindings = matched
            self.drifted.pop(index, None)
            return
        self.drifted[index] = step.line
        if shown:
            self._mark(step, actual)

    def _mark(self, step: Step, actual: list[str]) -> None:
        """Where the output is not what the transcript recorded: the lines that differ,
        right under it; the show goes on."""
        lines: list[Line] = [[("warning", f"~ not as recorded at {self.path}:{step.line} "
                                          "(- recorded, + now):")]]  # fmt: skip
        for text in diff(step, actual, self.bindings, where=self.path)[1:]:
            if text.startswith(("---", "+++", "@@")):
                continue
            if text.startswith("-"):
                lines.append([("warning", "~ "), ("stderr", text)])
            elif text.startswith("+"):
                lines.append([("warning", "~ "), ("ok", text)])
            elif text.startswith("note: "):
                lines.append([("warning", "~ "), ("notice", text)])
        self._say(lines)

    def _newest(self) -> int:
        newest = self.session.history.last()
        return newest.number if newest is not None else 0

    def _live(self) -> bool:
        """Going live: the ordinary prompt until Ctrl-]; False if the show ended there."""
        where = (f"line {self.steps[self.index].line}" if self.index < len(self.steps)
                 else "its end")  # fmt: skip
        self._notice(f"live: type any command; Ctrl-] or Ctrl-D resumes the show at "
                     f"{where}; `exit` ends the show")  # fmt: skip
        screen = self.session.printer.screen
        if screen is not None:
            screen.pager = self.pager
        before = self._newest()
        try:
            resumed = self.repl.live()
        finally:
            self.live_numbers.update(range(before + 1, self._newest() + 1))
            if screen is not None:
                screen.pager = None
            self.session.waker = self.keys.wake
        if not resumed or self.session.exit_requested is not None:
            return False
        self._notice(f"back to the show at {where}")
        self.noted = -1
        return True

    def _back(self) -> None:
        """Step back: a fresh session, the steps before the previous one replayed
        quietly; the previous step is next again."""
        if self.index == 0:
            self._notice("already at the first command: there is nothing to step back to")
            return
        target = self.index - 1
        skipped = [i for i in range(target) if i in self.waited]
        self._notice(f"stepping back: a fresh session, {_commands(target - len(skipped))} "
                     "replayed quietly...")  # fmt: skip
        old = self.session
        quiet = io.StringIO()
        old.printer.out = old.printer.err = quiet  # a reset is silent
        shutdown(old)
        self._start()
        printer = self.session.printer
        printer.out = printer.err = quiet
        self.session.settings.events = "quiet"
        try:
            for index in range(target):
                if index not in skipped:  # a wait that timed out changed nothing
                    self._run_step(index, shown=False)
                if self.stopping:
                    break
        finally:
            printer.out, printer.err = self.session.env.stdout, self.session.env.stderr
            self.session.settings.events = "live"
            with self.session.cond:
                self.session.pending.take()
        if self.stopping:
            self._notice(f"q: stepping back was stopped at {self.steps[self.index].command} "
                         "(as Ctrl-C stops it) and the show ends")  # fmt: skip
            return
        for index in [i for i in self.drifted if i >= target]:
            del self.drifted[index]
        self.index = target
        self.noted = -1
        self.summarized = False
        lines = ", ".join(str(self.steps[i].line) for i in skipped)
        left = (
            f" ({len(skipped)} that timed out or was cancelled before not waited out "
            f"again: line{'s' if len(skipped) > 1 else ''} {lines})"
            if skipped
            else ""
        )
        self._notice(f"stepped back: the session was reset and "
                     f"{_commands(target - len(skipped))} replayed quietly{left}; next: "
                     f"{self.steps[target].command}")  # fmt: skip

    def _summary(self) -> None:
        self.summarized = True
        total = len(self.steps)
        if self.index >= total:
            head = f"end of {self.path}: {_commands(total)}"
        else:
            head = (f"left {self.path} at line {self.steps[self.index].line}: "
                    f"{self.index} of {_commands(total)} run")  # fmt: skip
        if not self.drifted:
            self._say([[("ok", f"{head}, all as recorded")]])
            return
        lines = ", ".join(str(line) for _, line in sorted(self.drifted.items()))
        word = "line" if len(self.drifted) == 1 else "lines"
        self._say([[("warning", f"{head}; {len(self.drifted)} not as recorded ({word} {lines})")]])

    # -- the show -------------------------------------------------------------------

    def run(self) -> int:
        try:
            self._notice(f"presenting {self.path}: {_commands(len(self.steps))}. {KEYS_HELP}")
            for problem in self.problems:
                self.session.printer.warning(problem)
            while self.session.exit_requested is None and not self.stopping:
                try:
                    if not self._turn():
                        break
                except KeyboardInterrupt:  # between a command's end and the next key
                    self.session.printer.mid_line = True
            return self.session.exit_requested or 0
        finally:
            try:
                self._clear_prompt()
                if not self.summarized:
                    self._summary()
            except OSError:  # the terminal is gone (SIGHUP): nothing to say it on
                pass
            shutdown(self.session)
            self.keys.close()

    def _turn(self) -> bool:
        """One key press and what it does; False when the show is over."""
        at_end = self.index >= len(self.steps)
        if at_end:
            if not self.summarized:
                self._summary()
            key = self._wait_key(END_PROMPT)
        else:
            if self.noted != self.index:
                self.noted = self.index
                self._say(note_lines(self.notes[self.index]))
            key = self._wait_key(PROMPT)
        if key in QUIT:
            return False
        if key in NEXT:
            if at_end:  # one Space too many must not close the demo
                self._notice("the show is over: q quits (everything is closed), b steps "
                             "back, l goes live")  # fmt: skip
                return True
            self.index += 1
            self._run_step(self.index - 1, shown=True)
            return not self.stopping
        elif key in LIVE:
            return self._live()
        elif key in BACK:
            self._back()
        elif key == INTERRUPT:
            self._notice("(q quits the show; Ctrl-C cancels a command while it runs)")
        elif key in ("?", "h"):
            self._notice(KEYS_HELP)
        return True


def _waited(lines: list[str]) -> bool:
    """Output saying its command timed out or was cancelled (waited, and changed nothing)."""
    return any(line.startswith("error: ") and (TIMED_OUT.search(line) or CANCELLED in line)
               for line in lines)  # fmt: skip


def _commands(n: int) -> str:
    return "1 command" if n == 1 else f"{n} commands"
