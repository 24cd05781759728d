"""``record FILE``: the session written as a transcript as it goes, with placeholders."""

from __future__ import annotations

import os

from pslrepl import __version__
from pslrepl.transcript import PROMPT, Namer, escape_unsafe, expected_line, name_values
from pslrepl.transcript import unsafe as holds_unsafe
from pslrepl.transcript.syntax import TYPED

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from pslrepl.results import Line
    from pslrepl.session import Session


class Recorder:
    """Collects what each command printed (never live events) and writes it as a step.

    Nothing here may raise into the shell: run_line calls end() outside any handler, so a
    write that fails (a full disk, a file removed) stops the recording with one warning
    and the session goes on."""

    def __init__(self, session: Session, path: str, fh: TextIO) -> None:
        self.session = session
        self.path = path
        self.fh = fh
        self.steps = 0
        self.closed = False
        self.current: str | None = None
        self.lines: list[Line] = []
        # The values known before the current command ran: only these may stand for a
        # value in the command itself (a replay can expand only what it has bound).
        self.known: dict[str, str] = {}
        self.skip_show = False  # the record command's own answer, once (see start_rest)
        # An attach in the current step: the lines typed to it (its ``|>`` lines), and
        # its "detached" line when a replay may end it otherwise (see attached).
        self.typed: list[str] = []
        self.loose: str | None = None
        self.doubts: list[str] = []  # why that attach's replay may differ (said in it)
        fh.write(f"# Recorded with pslrepl {__version__}; replay: pslrepl --check FILE\n")
        fh.flush()
        session.printer.listeners.append(self.capture)

    def begin(self, line: str) -> None:
        if self.current is not None:
            self.end()  # the rest of the line `record FILE` started, now complete
        self.current, self.lines = line, []
        self.known = dict(self.session.volatile)
        self.typed, self.loose, self.doubts = [], None, []

    def start_rest(self, rest: str) -> None:
        """`record FILE; CMD...`: the commands after ``record`` on its line are the first
        step. The record command's own answer comes next and is not part of it."""
        self.begin(rest)
        self.skip_show = True

    def capture(self, lines: list[Line]) -> None:
        if self.skip_show:
            self.skip_show = False
            return
        if self.current is not None:
            self.lines.extend(lines)

    def attached(self, typed: list[str], shown: list[Line], *, loose: str | None,
                 keys: list[str], doubts: tuple[str, ...] = ()) -> None:  # fmt: skip
        """An attach ran in the current step: the lines typed to it, what it showed that
        the printer did not see, and (``loose``) its "detached" line when the replay's
        end can differ, written to match whatever follows it there. ``doubts``: why a
        replay may show something else, said now and written above the step."""
        if self.current is None or self.closed:
            return
        if typed and (self.current.split(None, 1)[:1] != ["attach"] or self.typed):
            self.session.printer.warning("record: the lines typed to attach are not in the "
                                         "transcript: a replay gives typed lines only to a "
                                         "line that is one attach command")  # fmt: skip
            return
        self.typed = list(typed)
        self.lines.extend(shown)
        self.loose = loose
        self.doubts = list(doubts)
        for doubt in doubts:
            self.session.printer.warning(f"record: this attach may not replay: {doubt}")
        if keys:
            self.session.printer.warning(f"record: the {' and '.join(sorted(set(keys)))} "
                                         "pressed while attached is not in the transcript "
                                         "(a replay types only the lines): its output may "
                                         "differ there")  # fmt: skip

    def end(self, *, command: str | None = None) -> None:
        """Write the step the current line made; ``command``: only the part of the line
        that ran while recording (a line that went on to `record stop`)."""
        if self.current is None or self.closed:
            return
        line = self.current if command is None else command
        self.current = None
        try:
            text = self._step(line)
        except Exception as exc:  # a bug of ours: the session must not pay for it
            self.stop(f"internal error writing the transcript ({type(exc).__name__}: "
                      f"{exc}); please report it")  # fmt: skip
            return
        if text is None:
            bad = [typed for typed in self.typed if holds_unsafe(typed)]
            why = _unrecordable(bad[0] if bad else line)
            if bad:
                why = why.replace("the line", "the line typed to attach", 1)
            self._write(f"# not recorded: {why}\n")
            self.session.printer.warning(f"record: not recorded: {why}; a transcript is UTF-8 "
                                         "text, one command a line")  # fmt: skip
            return
        if text and self.doubts:
            text = "".join(f"# may not replay: {doubt}\n" for doubt in self.doubts) + text
        if text and self._write(text):
            self.steps += 1

    def _step(self, line: str) -> str | None:
        """The step as transcript text; None for a line no transcript can replay."""
        if holds_unsafe(line) or any(holds_unsafe(typed) for typed in self.typed):
            return None
        if not line.strip():
            return ""
        command = name_values(line, self.known, times=False, command=True)
        out = [PROMPT + command]
        out += [TYPED + typed if typed else TYPED.rstrip() for typed in self.typed]
        namer = Namer(self.session.volatile)
        for shown in self.lines:
            text = "".join(text for style, text in shown if style != "location")
            if self.loose is not None and text == self.loose and not set("*?[") & set(text):
                out.append(f"{text}* (glob)")  # "; the peer closed ..." or nothing
            else:
                out.append(self.format_line(shown, command, namer))
        return "\n".join(out) + "\n"

    def comment(self, line: str) -> None:
        if self.current is not None:
            self.end()  # `record FILE; CMD` on the line before: CMD's step comes first
        self._write(escape_unsafe(line.strip()) + "\n")

    def format_line(self, line: Line, command: str, namer: Namer) -> str:
        return expected_line(namer.line_segments(line, command))

    def _write(self, text: str) -> bool:
        """Write and flush; on failure stop the recording with a warning (False)."""
        if self.closed:
            return False
        try:
            self.fh.write(text)
            self.fh.flush()
            # A file removed while recording takes every later step with it, unseen.
            if os.fstat(self.fh.fileno()).st_nlink == 0:
                self.stop(f"{self.path} was removed while recording")
                return False
        except OSError as exc:
            from pslrepl.errors import describe_oserror

            self.stop(f"can't write {self.path}: {describe_oserror(exc)}")
            return False
        except ValueError as exc:  # text we failed to escape, a file closed under us
            self.stop(f"internal error writing {self.path} ({type(exc).__name__}: {exc}); "
                      "please report it")  # fmt: skip
            return False
        return True

    def stop(self, why: str) -> None:
        """End the recording because of ``why``: one warning, and the shell goes on."""
        steps = self.steps
        self.close()
        if self.session.recorder is self:
            self.session.recorder = None
        done = f"{steps} command{'s' if steps != 1 else ''}"
        self.session.printer.warning(f"record: {why}; the recording stopped after {done}")

    def close(self, *, command: str | None = None, partway: bool = False) -> int:
        """Close the file, safe to call again; the number of commands written. A step in
        progress is written first; ``partway``: its line went on to `record stop`, and
        ``command`` is the part of it that ran before (None: unknown, so the step is
        written as a comment saying it was left out)."""
        if self.closed:
            return self.steps
        if self.current is not None:
            if not partway:
                self.end()
            elif command is None:
                line, self.current = self.current, None
                self._write(f"# not recorded: {escape_unsafe(line)} (it ended the recording "
                            "partway)\n")  # fmt: skip
            elif command.strip():
                self.end(command=command)
            self.current = None
        self.closed = True
        if self.capture in self.session.printer.listeners:
            self.session.printer.listeners.remove(self.capture)
        try:
            self.fh.close()
        except OSError:
            pass  # the flush inside failed: the write before it said so already
        return self.steps


def _unrecordable(line: str) -> str:
    """Why a line can't be a transcript's command, showing it escaped."""
    try:
        raw = line.encode("utf-8", "surrogateescape")  # the bytes as they were read
    except UnicodeEncodeError:
        raw = None
    if raw is not None and any(0xDC80 <= ord(ch) <= 0xDCFF for ch in line):
        return f"the line {raw!r} holds a byte that is not UTF-8 text"
    return f"the line {line!r} holds a control character or a lone surrogate"
