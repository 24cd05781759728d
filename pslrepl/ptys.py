"""Pseudo-terminals for spawn --pty: a pair opened at a window size, and the child's
controlling terminal set, so it behaves as it would in a terminal window."""

from __future__ import annotations

import os

from pslrepl.errors import UsageError


def parse_size(text: str) -> tuple[int, int]:
    """--size WxH, as stty says columns and rows: (80, 24) from '80x24'."""
    cols, sep, rows = text.lower().partition("x")
    if not sep or not cols.isdigit() or not rows.isdigit():
        raise UsageError(f"spawn: --size takes COLUMNSxROWS, as 80x24, not {text!r}")
    size = int(cols), int(rows)
    if not all(1 <= n <= 9999 for n in size):
        raise UsageError(f"spawn: --size {text}: columns and rows go from 1 to 9999")
    return size


def open_pty(cols: int, rows: int) -> tuple[int, int]:
    """os.openpty, the window size set on it (TIOCSWINSZ, what stty cols/rows set):
    (master, slave), both close-on-exec here (Popen gives the child its own copies)."""
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    try:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    except OSError:
        os.close(master)
        os.close(slave)
        raise
    return master, slave


def take_terminal() -> None:
    """In the child, between fork and exec (Popen's preexec_fn, after start_new_session's
    setsid and the dup2 of the slave onto 0, 1 and 2): make the terminal its controlling
    one (TIOCSCTTY), so Ctrl-C written to it is SIGINT and /dev/tty opens."""
    import fcntl
    import termios

    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def eof_char(fd: int) -> bytes:
    """The terminal's end-of-file character (VEOF, ^D unless stty changed it)."""
    import termios

    value = termios.tcgetattr(fd)[6][termios.VEOF]
    return value if isinstance(value, bytes) else bytes([value])


def slave_name(slave: int) -> str:
    """/dev/pts/N: the terminal the child has."""
    try:
        return os.ttyname(slave)
    except OSError:
        return "a pseudo-terminal"
