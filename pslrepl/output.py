"""The only module that writes to the terminal: styled lines to ANSI or plain text."""

from __future__ import annotations

import threading

from pslrepl.style import STYLES, sgr

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Mapping
    from typing import Any, TextIO

    from pslrepl.results import Line


class Screen:
    """The interactive shell's terminal, which the Printer fits its lines to (scripts and
    transcripts have none, and print as rendered). ``size`` gives (columns, rows) now;
    ``pager`` is the argv and environment of the program that shows output taller than
    the screen, or None to print it all."""

    def __init__(
        self,
        size: Callable[[], tuple[int, int]],
        *,
        pager: tuple[list[str], dict[str, str]] | None = None,
    ) -> None:
        self.size = size
        self.pager = pager

    def fit(self, lines: list[Line]) -> list[Line]:
        from pslrepl.render import fit_lines

        return fit_lines(lines, self.size()[0])

    def too_tall(self, lines: list[Line]) -> bool:
        """Taller than what is left under the prompt and the toolbar (a line wider than
        the screen, left whole because it is data, takes a row per screenful)."""
        from pslrepl.render import line_width

        columns, rows = self.size()
        height = 0
        for line in lines:
            height += max(1, -(-line_width(line) // max(columns, 1)))
            if height > rows - 2:
                return True
        return False


def pager_command(environ: Mapping[str, str]) -> tuple[list[str], dict[str, str]] | None:
    """The pager as git picks it: $PAGER, else ``less`` where it is installed; with LESS
    set to FRXK unless the user set it (F: quit when it all fits, R: keep colours, X:
    leave the text on screen, K: Ctrl-C quits). None: print instead."""
    import shlex
    import shutil

    env = dict(environ)
    env.setdefault("LESS", "FRXK")
    wanted = environ.get("PAGER", "").strip()
    if not wanted:
        return (["less"], env) if shutil.which("less", path=environ.get("PATH")) else None
    try:
        argv = shlex.split(wanted)
    except ValueError:  # an unclosed quote: not a command we can run
        return None
    return (argv, env) if argv else None


class Printer:
    """Writes styled lines to the output streams; colour only when asked for."""

    def __init__(self, out: TextIO, err: TextIO, *, color: bool) -> None:
        self.out = out
        self.err = err
        self.color = color
        self._lock = threading.Lock()
        self._codes: dict[str, str] = {}
        self.listeners: list[Callable[[list[Line]], None]] = []
        # The interactive shell's terminal, set by repl.py; None prints lines as rendered.
        self.screen: Screen | None = None
        # The cursor is not at the start of a line (a prompt was printed, or the terminal
        # echoed ^C there): the next write starts with a newline, so it has a line of its own.
        self.mid_line = False
        self._pager_failed = False

    def format(self, line: Line) -> str:
        if not self.color:
            return "".join(text for _, text in line)
        parts: list[str] = []
        for cls, text in line:
            code = self._code(cls)
            parts.append(f"\x1b[{code}m{text}\x1b[0m" if code else text)
        return "".join(parts)

    def _code(self, cls: str) -> str:
        code = self._codes.get(cls)
        if code is None:
            # "style@placeholder" marks a value that changes from run to run (see
            # results.volatile); the colour is the style's.
            code = self._codes[cls] = sgr(STYLES.get(cls.partition("@")[0], ""))
        return code

    def write(self, lines: list[Line], *, err: bool = False, event: bool = False) -> None:
        """Print lines; listeners (a transcript recorder) see all but live events. On the
        interactive shell's screen, lines are fitted to its width, and a command's output
        taller than the screen goes through the pager."""
        if not lines:
            return
        if not event:
            for listener in self.listeners:
                listener(lines)
        screen = self.screen
        if screen is not None:
            lines = screen.fit(lines)
            pager = None if event or err else screen.pager
            if pager is not None and screen.too_tall(lines) and self._page(pager, lines):
                return
        stream = self.err if err else self.out
        text = "".join(self.format(line) + "\n" for line in lines)
        with self._lock:
            if self.mid_line:
                self.mid_line = False
                text = "\n" + text
            if err:
                self.out.flush()
            stream.write(text)
            stream.flush()

    def echo(self, line: Line) -> None:
        """A line the shell shows but no command printed (a pasted command as it runs):
        like a live event, it is not part of any command's output."""
        self.write([line], event=True)

    def prompt(self, line: Line) -> None:
        """A prompt for a line-based terminal: no newline after it."""
        with self._lock:
            text = ("\n" if self.mid_line else "") + self.format(line)
            self.mid_line = True
            self.out.write(text)
            self.out.flush()

    def _page(self, pager: tuple[list[str], dict[str, str]], lines: list[Line]) -> bool:
        """Show lines through the pager; False if it can't run (the caller prints them).
        Ctrl-C while it runs is the pager's: less -K quits on it, and the shell waits."""
        import signal
        import subprocess

        argv, env = pager
        text = "".join(self.format(line) + "\n" for line in lines)
        if self.mid_line:
            self.mid_line = False
            text = "\n" + text
        with self._lock:
            self.out.flush()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, env=env)
        except OSError as exc:
            if not self._pager_failed:  # once a session is enough
                self._pager_failed = True
                self.warning(
                    f"can't run the pager {argv[0]!r}: {exc.strerror or exc}; printing "
                    "instead (set PAGER to a pager, or to cat)"
                )
            return False
        main = threading.current_thread() is threading.main_thread()
        previous: Any = None
        try:
            if main:
                previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
            assert proc.stdin is not None
            try:
                encoding = getattr(self.out, "encoding", None) or "utf-8"
                proc.stdin.write(text.encode(encoding, errors="replace"))
                proc.stdin.close()
            except OSError:  # BrokenPipeError: q before the pager read it all
                pass
            proc.wait()
        except KeyboardInterrupt:  # Ctrl-C came before the shell left it to the pager
            _end(proc)
        finally:
            if main:
                signal.signal(signal.SIGINT, previous or signal.default_int_handler)
            _end(proc)
        return True

    def error(self, message: str, *, where: str = "") -> None:
        """``where``: a script's "FILE:LINE: ", which a recorded transcript leaves out."""
        line = [("error", "error: "), ("location", where), ("", message)] if where else [
            ("error", "error: "), ("", message)]  # fmt: skip
        self.write([line], err=True)

    def warning(self, message: str) -> None:
        self.write([[("warning", "warning: "), ("", message)]], err=True)


def _end(proc: subprocess.Popen[bytes]) -> None:
    """The pager's pipe closed and the pager gone: it has a second to leave by itself."""
    import subprocess

    if proc.stdin is not None:
        try:
            proc.stdin.close()
        except OSError:
            pass
    try:
        proc.wait(timeout=1)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
