"""The watchdog: a tiny process that ends what the shell started when the shell dies
without closing it (kill -9, a crash), and cleans up after sessions that died before.

The shell holds the write end of a pipe; the watchdog reads the other. While the shell
lives it tells the watchdog what to end and remove (``sid 4242``, ``path /tmp/x.sock``)
and what it closed itself (``-sid 4242``). When the shell is gone, however it went, the
pipe reads EOF: the watchdog TERMs every process in the sessions and groups it was told
of (children start in their own session, so a child's children are found too), KILLs
what is left after a second, and removes the files and the temporary directory. It is a
separate interpreter (``python -I -S``, no pslrepl import) in a session of its own, so
Ctrl-C and a hangup at the terminal don't reach it.
"""

from __future__ import annotations

import os
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess

GRACE = 1.0  # seconds between TERM and KILL once the shell is gone

# Runs as `python -I -S -c CODE`; its standard input is the pipe.
CODE = r"""
import os, shutil, signal, stat, time

owned = {"sid": set(), "pgid": set(), "pid": set(), "path": set(), "tree": set()}
born = {}  # pid -> its start time when told: a number the kernel gave to another since
           # (the child ended, its session with it, and the pid was reused) is left alone

def started(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    return data[data.rindex(b")") + 2 :].split()[19]

buf = b""
while True:
    try:
        chunk = os.read(0, 65536)
    except InterruptedError:
        continue
    if not chunk:
        break
    buf += chunk
    *lines, buf = buf.split(b"\n")
    for line in lines:
        what, _, arg = line.decode("utf-8", "surrogateescape").partition(" ")
        drop = what.startswith("-")
        kind = what.lstrip("-")
        if kind not in owned:
            continue
        value = int(arg) if kind in ("sid", "pgid", "pid") else arg
        (owned[kind].discard if drop else owned[kind].add)(value)
        if kind in ("sid", "pgid", "pid") and not drop:
            born[value] = started(value)

def ours(number):
    # The process or group told of is still the one it was (or gone, with no heir).
    now = started(number)
    return now is None or now == born.get(number)

def members():
    found = {pid for pid in owned["pid"] if ours(pid) and started(pid) is not None}
    sids = {sid for sid in owned["sid"] if ours(sid)}
    pgids = {pgid for pgid in owned["pgid"] if ours(pgid)}
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open("/proc/" + name + "/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        fields = data[data.rindex(b")") + 2 :].split()
        if fields[0] == b"Z":
            continue
        if int(fields[3]) in sids or int(fields[2]) in pgids:
            found.add(int(name))
    return found

def signal_all(signum):
    left = False
    for pid in members():
        try:
            os.kill(pid, signum)
            left = True
        except OSError:
            pass
    if not os.path.isdir("/proc"):  # no /proc to search: the groups, by number
        for group in owned["sid"] | owned["pgid"]:  # (leaders start their groups)
            try:
                os.killpg(group, signum)
                left = True
            except OSError:
                pass
    return left

if signal_all(signal.SIGTERM):
    deadline = time.monotonic() + GRACE
    while time.monotonic() < deadline and members():
        time.sleep(0.02)
    signal_all(signal.SIGKILL)
for path in owned["path"]:
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except OSError:
        pass
for tree in owned["tree"]:
    shutil.rmtree(tree, ignore_errors=True)
""".replace("GRACE", repr(GRACE))


class Watchdog:
    """The shell's side: started on first use, told about children, paths and the
    temporary directory; ``close`` ends it once the shell has closed everything."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._failed = False
        self._later: list[str] = []  # lines for a watchdog not started yet

    def _start(self) -> None:
        import subprocess
        import sys

        r, w = os.pipe()  # both ends close on exec: no child of the shell holds them
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", CODE],
                stdin=r, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, close_fds=True,
            )  # fmt: skip
        except OSError:
            os.close(w)
            self._failed = True  # the shell still closes what it can itself
            return
        finally:
            os.close(r)
        self._fd = w

    def start(self) -> None:
        """Start it now rather than at the first child (a test's baseline of descriptors
        and children then holds it)."""
        with self._lock:
            if self._fd is None and not self._failed:
                self._start()
                self._write([])

    def _send(self, line: str, *, start: bool = True) -> None:
        """Tell the watchdog; ``start=False`` for what is cleaned up at the next start
        anyway (files, the temp dir): kept until a child starts the watchdog."""
        with self._lock:
            if self._fd is None and not self._failed and start:
                self._start()
            if self._fd is None:
                if not self._failed:
                    self._later.append(line)
                return
            self._write([line])

    def _write(self, lines: list[str]) -> None:
        """What waited for the start, then ``lines``: one write (the lock is held)."""
        lines, self._later = [*self._later, *lines], []
        if self._fd is None or not lines:
            return
        try:
            os.write(self._fd, "".join(f"{x}\n" for x in lines).encode("utf-8", "surrogateescape"))
        except OSError:
            pass

    # What to end and remove if the shell dies; the "-" forms when it did so itself.
    def guard_session(self, sid: int) -> None:
        """A child started in its own session: it, and whatever it started."""
        self._send(f"sid {sid}")

    def release_session(self, sid: int) -> None:
        self._send(f"-sid {sid}", start=False)

    def guard_pid(self, pid: int) -> None:
        self._send(f"pid {pid}")

    def release_pid(self, pid: int) -> None:
        self._send(f"-pid {pid}", start=False)

    def guard_path(self, path: str) -> None:
        self._send(f"path {os.path.abspath(path)}", start=False)

    def release_path(self, path: str) -> None:
        self._send(f"-path {os.path.abspath(path)}", start=False)

    def guard_tree(self, path: str) -> None:
        self._send(f"tree {path}", start=False)

    def release_tree(self, path: str) -> None:
        self._send(f"-tree {path}", start=False)

    def close(self) -> None:
        """The shell closed everything itself: the watchdog reads EOF, finds nothing
        left to do, and ends; reaped here so it leaves no zombie."""
        with self._lock:
            fd, self._fd = self._fd, None
            proc, self._proc = self._proc, None
        if fd is not None:
            os.close(fd)
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except Exception:  # noqa: BLE001 - it is ours and small: never hang the exit
                proc.kill()
                proc.wait()


def session_members(sid: int) -> list[int]:
    """The live processes of a session (Linux's /proc; [] where there is none): what a
    child started in its own session left running after it ended."""
    found: list[int] = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        fields = data[data.rindex(b")") + 2 :].split()
        if fields[0] != b"Z" and int(fields[3]) == sid:
            found.append(int(name))
    return found


# -- after a session that died ------------------------------------------------------------

TMP_PREFIX = "pslrepl-"


def session_tmp_prefix() -> str:
    """The temporary directory's name says whose it is: pslrepl-PID-..."""
    return f"{TMP_PREFIX}{os.getpid()}-"


def leftovers() -> list[str]:
    """Remove what sessions that died without closing left in the temp directory (their
    own directory, and the UNIX socket files it lists); what was removed, one line each."""
    import stat

    base = _tempdir()
    said: list[str] = []
    try:
        names = os.listdir(base)
    except OSError:
        return said
    uid = os.getuid()
    for name in names:
        if not name.startswith(TMP_PREFIX):
            continue
        pid_text = name[len(TMP_PREFIX) :].partition("-")[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        path = os.path.join(base, name)
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid:
            continue  # someone else's, or not a directory we made: leave it
        removed = []
        for sock in _listed_sockets(path):
            try:
                if stat.S_ISSOCK(os.lstat(sock).st_mode):
                    os.unlink(sock)
                    removed.append(sock)
            except OSError:
                pass
        import shutil  # only when there is something to remove: start-up stays quick

        shutil.rmtree(path, ignore_errors=True)
        extra = f" and its socket files {', '.join(removed)}" if removed else ""
        said.append(f"removed {path}{extra}, left by a pslrepl (pid {pid_text}) that ended "
                    "without closing")  # fmt: skip
    return said


SOCKETS_LIST = "sockets"  # in the session's temp dir: the UNIX socket files it made


def _listed_sockets(tmp: str) -> list[str]:
    try:
        with open(os.path.join(tmp, SOCKETS_LIST), encoding="utf-8",
                  errors="surrogateescape") as fh:  # fmt: skip
            return [line.rstrip("\n") for line in fh if line.strip()]
    except OSError:
        return []


def _tempdir() -> str:
    """Where tempfile.mkdtemp puts the session's directory, found the way tempfile does
    it for the usual cases, without importing tempfile (and random) at every start."""
    for key in ("TMPDIR", "TEMP", "TMP"):
        value = os.environ.get(key)
        if value and os.path.isdir(value):
            return value
    return "/tmp" if os.path.isdir("/tmp") else os.getcwd()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
