"""Pitfall notes: when a classic lesson happens, one `note:` line says what and why, once
per session (``set notes off`` silences them). Byte-stream notes follow each send on a
connected stream to the recv at its other end, trusted only while the kernel agrees
(SIOCINQ unread plus SIOCOUTQNSD unsent): bytes moved out of the shell's sight, silence."""

from __future__ import annotations

import errno
import os
import signal
import socket
import sys
import time
from collections import deque

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from pslrepl.session import Session
    from pslrepl.settings import Settings

    Peer = tuple[str, socket.socket]  # the session's socket at the other end, and its name

# The commands that wait for a peer's bytes: a timeout there may be a pitfall's.
READS = frozenset({"read", "readline", "expect", "recv", "recvfrom", "recv_into"})
# Sends remembered per connection: past this the oldest are forgotten (and with them
# the right to say anything about that connection).
QUEUE_LIMIT = 256
TIME_WAIT = "06"  # the states' numbers in /proc/net/tcp
LISTEN = "0A"
ESTABLISHED = "01"
UNREAD = 0x541B  # FIONREAD (SIOCINQ): bytes a socket has received and not handed out
UNSENT = 0x894B  # SIOCOUTQNSD: bytes a socket holds that it has not sent yet

NOTES = {
    "coalesced": "TCP is a byte stream and keeps no message boundaries, so one recv "
    "returns whatever has arrived, several sends' bytes at once; frame messages yourself "
    "(a delimiter and recv --line, or a length prefix)",
    "split": "TCP is a byte stream, so a recv returns what has arrived (at most what it "
    "asks for) and one send can take several recvs; loop until you have all you expect "
    "(recv --all, recv --line, or a length prefix)",
    "partial-send": "send returns how many bytes the kernel took, which can be fewer "
    "than asked when its send buffer is full; sendall (or a loop over send) sends the rest",
    "time-wait": "the side that closes a TCP connection first keeps it in TIME_WAIT for "
    "a minute, and its port can't be bound meanwhile; on Linux a new socket binds it only "
    "when it and the socket those connections came from both set SO_REUSEADDR before bind "
    "(`tcp listen --reuseaddr`, `sockopt NAME SO_REUSEADDR on`; socketserver's "
    "allow_reuse_address): why a server sets it from the start",
    "epipe": "the peer has closed its socket: the first send after that still succeeds "
    "and draws an RST, the next fails with EPIPE (a program that leaves SIGPIPE at its "
    "default is killed by it instead; Python ignores SIGPIPE, so it gets the error)",
    "econnreset": "the peer reset the connection (RST): it closed its socket with data "
    "unread or with SO_LINGER 0, or its kernel had no socket for what arrived; the "
    "connection is gone, and what was in flight with it",
    "sigpipe": "a child that writes to a pipe or socket nobody reads any more is killed "
    "by SIGPIPE (the default action); a program that ignores SIGPIPE gets EPIPE instead",
    "msg-trunc": "one recv reads one whole datagram or what fits: the rest of it is "
    "discarded, not kept for the next recv (MSG_TRUNC says so); 65,535 bytes holds any "
    "UDP datagram",
    "stdio-buffer": "a program whose stdout is a pipe, not a terminal, usually holds "
    "what it prints in a buffer until the buffer fills or it exits (C stdio, Python); if "
    "it has printed, run it unbuffered (python3 -u, stdbuf -oL) or give it a terminal "
    "(spawn --pty)",
    "sync-server": "a server without --threading or --forking serves one client at a "
    "time: the next client's connect succeeds (the kernel queues it) but nothing "
    "answers it until the client before it is done",
    "zombie": "a child that has exited stays a zombie, holding its pid and exit "
    "status, until its parent waits for it (Popen.wait or poll, os.waitpid)",
}
# A UNIX socket's datagrams are not bounded by UDP's length.
UNIX_NOTES = {"msg-trunc": NOTES["msg-trunc"].replace("any UDP datagram", "any UDP datagram; "
              "a UNIX one may be longer (up to the sender's SO_SNDBUF)")}  # fmt: skip


def _kernel_count(sock: socket.socket, request: int) -> int | None:
    """A byte count the kernel keeps for a TCP socket (an ioctl); None where it can't
    say (not Linux, not a plain TCP socket: a TLS socket's are ciphertext)."""
    if sys.platform != "linux" or type(sock) is not socket.socket:
        return None
    import fcntl
    import struct

    try:
        raw = fcntl.ioctl(sock.fileno(), request, b"\0\0\0\0")
    except OSError:
        return None
    return int(struct.unpack("i", raw)[0])


def _ends(sock: socket.socket) -> tuple[Any, Any] | None:
    """(local, peer) addresses of a connected IP stream socket, else None."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
        return None
    try:
        return sock.getsockname(), sock.getpeername()
    except OSError:
        return None


def _fmt(n: int) -> str:
    return f"{n:,} byte{'' if n == 1 else 's'}"


class Pitfalls:
    """What the session has seen toward each pitfall, and which notes it has said."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings  # set notes off: say nothing
        self.said: set[str] = set()
        # (sender's local, sender's peer) -> sizes of its sends nobody has read yet.
        self.unread: dict[tuple[Any, Any], deque[list[int]]] = {}
        self.zombies: set[int] = set()  # seen once: said if seen again
        boot = getattr(time, "CLOCK_BOOTTIME", None)  # what /proc/PID/stat's start counts from
        self.started = time.clock_gettime(boot) if boot is not None else 0.0  # older: not its

    def note(self, key: str, what: str = "", *, unix: bool = False) -> str | None:
        """The line for ``key`` the first time it is asked for (of a UNIX socket: unix)."""
        if not self.settings.notes or key in self.said:
            return None
        self.said.add(key)
        text = UNIX_NOTES.get(key, NOTES[key]) if unix else NOTES[key]
        return f"note: {what}{': ' if what else ''}{text}"

    # -- the byte stream ---------------------------------------------------------------

    def sent(self, sock: socket.socket, count: int) -> None:
        """A command's send on ``sock`` took ``count`` bytes."""
        ends = _ends(sock)
        if ends is None or count <= 0:
            return
        queue = self.unread.setdefault(ends, deque())
        queue.append([count, count, 0])  # bytes left, bytes sent, recvs that read some
        if len(queue) > QUEUE_LIMIT:
            self.unread.pop(ends)  # too long to trust: start again

    def received(self, sock: socket.socket, name: str, count: int, peer: Peer | None, *,
                 quiet: bool = False) -> str | None:  # fmt: skip
        """A recv on ``sock`` (``name``) got ``count`` bytes of what ``peer`` (its name
        and socket, the session's other end) sent: a note if it read several sends, or
        the end of one that an earlier recv began. ``quiet``: a read of several recvs
        (--line, --all), which only takes its bytes off the queue."""
        ends = _ends(sock)
        if ends is None or count <= 0 or peer is None:
            return None
        key = (ends[1], ends[0])  # the sender's view of this connection
        queue = self.unread.get(key)
        if not queue:
            return None
        sends, left, split = 0, count, None
        while queue and left > 0:
            head = queue[0]
            head[2] += 1
            sends += 1
            if head[0] <= left:
                left -= head[0]
                queue.popleft()
                if head[2] > 1 and split is None:
                    split = head
            else:
                head[0] -= left
                left = 0
        unread, unsent = _kernel_count(sock, UNREAD), _kernel_count(peer[1], UNSENT)
        remaining = sum(item[0] for item in queue)
        if left or unread is None or unsent is None or remaining != unread + unsent:
            self.unread.pop(key, None)  # bytes the shell did not see moved: say nothing
            return None
        if quiet:
            return None
        if sends > 1:
            return self.note("coalesced", f"one recv on {name} read {_fmt(count)} that "
                             f"{peer[0]} sent in {sends} sends")  # fmt: skip
        if split is not None:
            return self.note("split", f"the {_fmt(split[1])} {peer[0]} sent in one send "
                             f"took {split[2]} recvs on {name}")  # fmt: skip
        return None

    def peer(self, session: Session, sock: socket.socket) -> Peer | None:
        """The session's resource at the other end of ``sock``'s connection (its name
        and socket), or None."""
        ends = _ends(sock)
        if ends is None:
            return None
        for res in session.registry:
            other = getattr(res, "sock", None)
            if not isinstance(other, socket.socket) or other is sock:
                continue
            if _ends(other) == (ends[1], ends[0]):
                return str(res.name), other
        return None

    # -- after a failed command ----------------------------------------------------------

    def failed(self, session: Session, command: str, values: dict[str, Any],
               exc: BaseException) -> str | None:  # fmt: skip
        """The note a failure of ``command`` teaches, if any: an errno under the error, a
        read that timed out on a child or on a busy sync server."""
        from pslrepl.errors import Timeout

        code = getattr(exc, "errno", None)  # an OSError's, or the one a PslError keeps
        if code is not None:
            if code == errno.EADDRINUSE and self._in_time_wait(session, values):
                return self.note("time-wait")
            if code == errno.EPIPE and not _shut_here(values.get("name")):
                return self.note("epipe")
            if code == errno.ECONNRESET:
                return self.note("econnreset")
        if isinstance(exc, Timeout) and command in READS:
            res = values.get("name")
            popen = getattr(res, "popen", None)
            pid = popen.pid if popen is not None and popen.poll() is None else None
            if pid is not None and _may_buffer(res, values, pid):
                return self.note("stdio-buffer", f"{getattr(res, 'name', '')} is still running and "
                                 "nothing came on its stdout")  # fmt: skip
            sock = getattr(res, "sock", None)
            if isinstance(sock, socket.socket):
                server = self._busy_sync_server(session, sock)
                if server:
                    return self.note("sync-server", f"{server} is serving another client")
        return None

    def _in_time_wait(self, session: Session, values: dict[str, Any]) -> bool:
        """Some port the command names is held by a connection in TIME_WAIT."""
        from pslrepl.addresses import parse_addr

        ports = set()
        for value in values.values():
            if isinstance(value, int) and not isinstance(value, bool):
                ports.add(value)
            elif isinstance(value, str) and value:
                try:
                    ports.add(parse_addr(value, session).port)
                except Exception:  # not an address: nothing to look for
                    continue
        ports.discard(0)
        states = _port_states()
        # Only TIME_WAIT holds it: a live listener there is another lesson (and no
        # SO_REUSEADDR helps against it).
        return any(states.get(port) == {TIME_WAIT} or (TIME_WAIT in states.get(port, ())
                   and LISTEN not in states[port] and ESTABLISHED not in states[port])
                   for port in ports)  # fmt: skip

    def _busy_sync_server(self, session: Session, sock: socket.socket) -> str:
        ends = _ends(sock)
        if ends is None:
            return ""
        for res in session.registry:
            if getattr(res, "mode", "") != "sync" or getattr(res, "dgram", None) is not False:
                continue
            bound = res.bound_addr
            if bound is None or (bound.host, bound.port) != tuple(ends[1][:2]):
                continue
            mine = f"{ends[0][0]}:{ends[0][1]}"
            others = [c for c in getattr(res, "connections", {}).values()
                      if getattr(c, "addr", "") != mine]  # fmt: skip
            if others:
                return str(res.name)
        return ""

    # -- after any command ---------------------------------------------------------------

    def after(self, session: Session) -> list[str]:
        """Notes on what the children did meanwhile: one killed by SIGPIPE, a zombie."""
        if not self.settings.notes:
            return []
        out = []
        if "sigpipe" not in self.said:
            for res in session.registry:
                popen = getattr(res, "popen", None)
                if popen is not None and popen.returncode == -signal.SIGPIPE:
                    line = self.note("sigpipe", f"{res.name} was killed by SIGPIPE")
                    if line:
                        out.append(line)
                    break
        if "zombie" not in self.said:
            line = self._zombie(session)
            if line:
                out.append(line)
        return out

    def _zombie(self, session: Session) -> str | None:
        """A child of the shell's no resource answers for, a zombie at two command ends
        in a row (a child the shell waits for is reaped by then). Every child the
        commands make is waited for: only `py` code can leave one, so nothing is looked
        for until py has run; nor older than the session (a test runs many)."""
        if not session.py_namespace:
            return None
        found = set(_zombie_children(self.started)) - set(_known_pids(session))
        again = found & self.zombies
        self.zombies = found
        if not again:
            return None
        try:  # its command name (comm)
            with open(f"/proc/{min(again)}/comm") as f:
                what = f.read().strip() or "a child"
        except OSError:
            what = "a child"
        return self.note("zombie", f"{what} has exited and nobody has waited for it")


def _shut_here(res: Any) -> bool:
    """This end sent its FIN (shutdown wr, maybe on a dup of it): the EPIPE is its own."""
    try:  # TCP_INFO's first byte, the state: FIN_WAIT1/2, TIME_WAIT, LAST_ACK, CLOSING
        state = res.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
    except (OSError, AttributeError, TypeError):  # not TCP, or gone: what the user shut
        state = 0
    return "wr" in getattr(res, "shut", ()) or state in (4, 5, 6, 9, 11)


def _port_states() -> dict[int, set[str]]:
    """The TCP states each local port is in, from /proc/net/tcp and tcp6 (Linux)."""
    states: dict[int, set[str]] = {}
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f, None)
                for row in f:
                    parts = row.split()
                    if len(parts) > 3:
                        port = int(parts[1].rsplit(":", 1)[1], 16)
                        states.setdefault(port, set()).add(parts[3])
        except OSError:
            continue
    return states


def _zombie_children(since: float) -> list[int]:
    """The shell's children started ``since`` (seconds after boot) that are zombies
    (Linux: /proc; elsewhere none)."""
    base = "/proc/self/task"
    try:
        tasks = os.listdir(base)
    except OSError:
        return []
    pids: list[int] = []
    for tid in tasks:
        try:
            with open(f"{base}/{tid}/children") as f:
                pids.extend(int(p) for p in f.read().split())
        except (OSError, ValueError):
            continue
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        # fields[0] is the state; fields[19] the start, in clock ticks since boot.
        if fields[:1] == [b"Z"] and int(fields[19]) / _TICKS >= since - 0.02:
            out.append(pid)
    return out


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _may_buffer(res: Any, values: dict[str, Any], pid: int) -> bool:
    """A read of a child's stdout timed out while the child may hold output in its stdio
    buffer: its stdout is a pipe (no --pty), nothing asked it not to buffer (python -u,
    PYTHONUNBUFFERED, stdbuf), and it waits on a timer or a poll rather than on input
    (sort before EOF) or a socket (accept)."""
    if getattr(res, "pty", False) or values.get("stderr"):
        return False
    argv = [str(a) for a in getattr(getattr(res, "popen", None), "args", None) or ()]
    if isinstance(getattr(res.popen, "args", None), str):
        argv = res.popen.args.split()
    if "-u" in argv or any("stdbuf" in a for a in argv[:2]):
        return False
    python = bool(argv) and os.path.basename(argv[0]).startswith("python")
    try:
        if python:  # the shell gives children PYTHONUNBUFFERED=1 unless told otherwise
            with open(f"/proc/{pid}/environ", "rb") as f:
                if b"\0PYTHONUNBUFFERED=1\0" in b"\0" + f.read():
                    return False
        with open(f"/proc/{pid}/wchan") as f:
            wchan = f.read().strip()
    except OSError:
        return False  # can't tell: say nothing
    return wchan.startswith(WAITING)


# Where a process that holds output but has nothing to read sleeps (its main thread).
# (3.10's time.sleep waits in select: poll_schedule_timeout; 3.11 on in clock_nanosleep.)
WAITING = ("hrtimer_nanosleep", "do_nanosleep", "do_select", "do_sys_poll", "ep_poll",
           "poll_schedule_timeout", "futex_wait", "do_wait")  # fmt: skip


def _known_pids(session: Session) -> Iterable[int]:
    """Children some resource answers for (and reaps): a spawned child, an sh job, a
    forking server's clients, a relay's program."""
    for res in session.registry:
        pid = getattr(res, "pid", None)
        if isinstance(pid, int):
            yield pid
        yield from getattr(res, "children", {}) or ()
        server = getattr(res, "server", None)
        yield from getattr(server, "active_children", None) or ()
