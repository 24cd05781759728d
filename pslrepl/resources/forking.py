"""A --forking server's children: noted after each fork, reaped, their counts read back."""

from __future__ import annotations

import os
import signal
import socket
import time

from pslrepl.addresses import format_addr
from pslrepl.events import Event
from pslrepl.resources.base import Resource
from pslrepl.resources.handler_errors import TROUBLE

TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading
    from typing import Any

    from pslrepl.resources.counting import Connection

FINISH_GRACE = 1.0  # --forking: of stop's grace, how long children may finish before TERM


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class ForkedChildren(Resource):
    """The part of a Server that keeps its --forking children (see servers.Server, which
    sets this state up). A child can't post events (see ServerClients): it leaves its
    byte counts and any error in files the parent reads when it reaps the child."""

    server: Any
    dgram: bool
    lock: threading.Lock
    served: int
    peers: dict[str, int]
    children: dict[int, tuple[str, float]]
    child_socks: dict[int, socket.socket]
    child_dir: str
    gone_in: int  # counted by ServerClients; a child's are added once it is reaped
    gone_out: int

    if TYPE_CHECKING:

        def _raised(self, addr: str, text: str) -> None: ...

        def _client_event(self, event: Event, which: int) -> None: ...

    def forked(self, client_address: Any, pids: list[int], keep: socket.socket | None) -> None:
        addr = format_addr(client_address) or "a local client"
        with self.lock:
            self.served += 1
            for pid in pids:
                self.children[pid] = (addr, time.time())
                self.session.watchdog.guard_pid(pid)  # it dies with the shell, even kill -9
            if self.dgram:
                self.peers[addr] = self.peers.get(addr, 0) + 1
            if keep is not None and len(pids) == 1:
                self.child_socks[pids[0]], keep = keep, None
        if keep is not None:
            keep.close()
        self._client_event(Event(self.name, "client",
                                 phase="datagram" if self.dgram else "connected",
                                 peer=addr, pid=pids[0] if pids else None), 0)  # fmt: skip

    def reap(self, *, blocking: bool = False) -> int:
        """Reap this server's children that have ended (all, waiting, if blocking);
        how many are left."""
        children = self.server.active_children
        for pid in list(children or ()):
            try:
                done, status = os.waitpid(pid, 0 if blocking else os.WNOHANG)
            except ChildProcessError:
                children.discard(pid)
                continue
            if done:
                children.discard(pid)
                self.session.watchdog.release_pid(pid)
                self.child_ended(pid, status)
        return len(children or ())

    def child_ended(self, pid: int, status: int) -> None:
        """A --forking server's child was reaped: its client has gone. Exit status 1 is
        socketserver's sign that the handler raised; the child left its traceback in a
        file, as it can't post events itself."""
        with self.lock:
            addr, since = self.children.pop(pid, ("a client", time.time()))
            keep = self.child_socks.pop(pid, None)
        if keep is not None:
            keep.close()
        code = os.waitstatus_to_exitcode(status)
        how = "exited 0" if code == 0 else (f"killed by {signal_name(-code)}" if code < 0
                                            else f"exited with status {code}")  # fmt: skip
        counts: tuple[int | None, int | None] = (None, None)  # None: not known, left out
        tally = self._child_file(pid, "bytes")
        try:
            with open(tally, encoding="ascii") as f:
                bytes_in, bytes_out = (int(n) for n in f.read().split())
            os.unlink(tally)
        except (OSError, ValueError):
            pass  # killed before it could say
        else:
            with self.lock:
                self.gone_in += bytes_in
                self.gone_out += bytes_out
            counts = (bytes_in, bytes_out)
        took = time.time() - since
        phase = "datagram-done" if self.dgram else "left"
        self._client_event(Event(self.name, "client", phase=phase, peer=addr, pid=pid,
                                 took=took, reason=how, bytes_in=counts[0],
                                 bytes_out=counts[1]), 1)  # fmt: skip
        path = self._child_file(pid, "err")
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read().rstrip()
            os.unlink(path)
        except OSError:
            return
        if text.startswith(TROUBLE):
            self.post(Event(self.name, "client", phase="trouble", peer=addr,
                            reason=text[len(TROUBLE) :]))  # fmt: skip
        else:
            self._raised(f"{addr} in child pid {pid}", text)

    def _child_file(self, pid: int, what: str) -> str:
        """Where a --forking child leaves what it can't post: its error, its byte counts."""
        return os.path.join(self.child_dir, f"forked-{pid}.{what}")

    def child_tally(self, conn: Connection) -> None:
        """In a --forking child, once its client is served: the byte counts, to a file
        (only os calls: nothing that could wait on a lock held at fork time)."""
        if self.child_dir:
            fd = os.open(self._child_file(os.getpid(), "bytes"), os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(fd, f"{conn.bytes_in} {conn.bytes_out}".encode())
            os.close(fd)

    def _end_children(self, deadline: float) -> None:
        """--forking: let children that are finishing finish (socketserver's
        block_on_close waits for them too), then TERM the rest, then KILL."""
        finish_by = min(deadline, time.monotonic() + FINISH_GRACE)
        for sig, until in ((None, finish_by), (signal.SIGTERM, deadline),
                           (signal.SIGKILL, None)):  # fmt: skip
            if not self.reap():
                return
            for pid in list(self.server.active_children or ()):
                if sig is not None:
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass
            if until is None:
                self.reap(blocking=True)
                return
            while self.reap() and (remaining := until - time.monotonic()) > 0:
                self._wait_children(remaining)

    def _wait_children(self, timeout: float) -> None:
        """Until one of this server's children ends, or timeout: a pidfd is readable
        once its process has exited (Linux 5.3), so no polling."""
        from pslrepl.resources.polling import poll_ready

        fds: list[int] = []
        try:
            for pid in list(self.server.active_children or ()):
                try:
                    fds.append(os.pidfd_open(pid))
                except ProcessLookupError:
                    return  # already exited: reap it now
            poll_ready(fds, timeout=timeout)
        except (AttributeError, OSError):  # no pidfd_open here: look again shortly
            time.sleep(min(timeout, 0.02))
        finally:
            for fd in fds:
                os.close(fd)
