"""What a child is and how it is wired, as info, ps and the toolbar show it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pslrepl.render import clock, plural
from pslrepl.resources.base import Resource
from pslrepl.signals_table import describe_status

if TYPE_CHECKING:
    import subprocess
    import threading

    from pslrepl.resources.buffers import StreamBuffer
    from pslrepl.results import Cell


class ProcessInfo(Resource):
    """The part of a Process that describes it (see process.Process, which sets it up).

    Where each standard stream goes is said in words: ``pipe`` for the shell's own pipes,
    else what spawn was told (``/dev/null``, a file, another child, the terminal)."""

    popen: subprocess.Popen[bytes]
    command: str
    merged: bool
    stdout: StreamBuffer
    stderr: StreamBuffer
    stdin_closed: bool
    exited_at: float | None
    thread: threading.Thread
    # Class defaults, so that sh's jobs (which have pipes only) need not set them.
    stdin_from = "pipe"
    stdout_to = "pipe"
    stderr_to = "pipe"
    terminal = ""  # the pseudo-terminal it runs on (spawn --pty): "/dev/pts/3, 80x24"
    extras: tuple[tuple[str, str], ...] = ()  # what else spawn passed: text, bufsize, fds

    returncode: Any
    pid: Any
    pgid: Any

    def group_left(self) -> list[int] | None:
        raise NotImplementedError

    def stopped(self) -> bool:
        """Stopped by a signal (SIGSTOP, SIGTSTP...) and not yet continued: Linux's /proc
        says so (state T); Popen only knows running or ended."""
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            return False
        return data[data.rindex(b")") + 2 : data.rindex(b")") + 3] in (b"T", b"t")

    def running_text(self) -> str:
        """What a live child is doing, for ps, info and the toolbar."""
        return "stopped (SIGCONT continues it)" if self.stopped() else "running"

    def info(self) -> list[tuple[str, Cell]]:
        pairs = super().info()
        rc = self.returncode
        argv = self.popen.args
        pairs[3:3] = [
            ("pid", str(self.pid)),
            ("command", self.command),
            ("argv", repr(argv)),
            ("status", self.running_text() if rc is None else describe_status(rc)),
            ("ended", "not yet" if self.exited_at is None else clock(self.exited_at)),
            ("returncode", "None" if rc is None else str(rc)),
            ("pgid", self._group_text()),
            *self._masks(),
            *((("terminal", self.terminal),) if self.terminal else ()),
            ("stdin", self._stdin_text()),
            ("stdout", self._stream_text("stdout")),
            ("stderr", self._stream_text("stderr")),
            *self.extras,
            ("thread", self.thread.name),
        ]
        return pairs

    def _stdin_text(self) -> str:
        if self.stdin_from != "pipe":
            return self.stdin_from
        return "closed" if self.stdin_closed else "open (pipe)"

    def _stream_text(self, stream: str) -> str:
        if stream == "stderr" and self.merged:
            return "merged into stdout"
        where = self.stdout_to if stream == "stdout" else self.stderr_to
        buf = self.stdout if stream == "stdout" else self.stderr
        if where == "pipe":
            return self._describe(buf)
        return f"{where}; {self._describe(buf)}" if buf.total else where

    def _group_text(self) -> str:
        left = self.group_left()
        if left is None:
            return str(self.pgid)
        if not left:
            return f"{self.pgid}, empty now"
        n = len(left)
        return f"{self.pgid}, {n} process{'es' if n != 1 else ''} in it: {' '.join(map(str, left))}"

    def _masks(self) -> list[tuple[str, Cell]]:
        """What it ignores and blocks now, as Linux's /proc says (inherited across exec:
        --ignore, nohup, sh's _bg), while it runs."""
        from pslrepl.signals_table import names_text, proc_masks

        if self.returncode is not None:
            return []
        masks = proc_masks(self.pid)
        if masks is None:
            return [("signals", "unknown: no /proc/PID/status here")]
        return [(what, names_text(masks.get(what, []))) for what in ("ignored", "blocked")]

    @staticmethod
    def _describe(buf: StreamBuffer) -> str:
        text = f"{plural(len(buf.data), 'byte')} unread of {buf.total}"
        if buf.dropped:
            text += f", {buf.dropped} dropped"
        return text + (", EOF" if buf.eof else "")
