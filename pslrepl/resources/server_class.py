"""The real socketserver class a server runs: its base, a mixin, and hooks that report."""

from __future__ import annotations

import os
import signal
import socket
import socketserver
import time

from pslrepl.resources.counting import CHILD_TALLY, Connection, CountedSocket, CountedSSLSocket

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.resources.servers import Server

# Signals a forked child must not handle as the shell does: the shell's handlers (TERM
# and HUP end the shell, traps report) would run in the child, and write to the event
# loop's wakeup fd, which the child has closed.
CHILD_SIGNALS = frozenset(signal.valid_signals()) - {
    signal.SIGKILL, signal.SIGSTOP, signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE,
    signal.SIGILL,
}  # fmt: skip


def idle_in_kernel(request: Any, idle: float) -> None:
    """--idle for a plain client socket: SO_RCVTIMEO and SO_SNDTIMEO, the socket left
    blocking. settimeout(idle) would poll() before every recv and send: a system call
    more each time, and one more time the handler's thread lets go of the GIL (a page
    served over HTTP/1.0 took three). CountedSocket turns the EAGAIN the kernel gives
    at the limit into the TimeoutError that settimeout would have raised."""
    import struct

    seconds = int(idle)
    timeval = struct.pack("ll", seconds, int((idle - seconds) * 1e6))
    request.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
    request.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)


def reset_child_signals(mask: Any) -> None:
    """In a --forking child, first thing: a child that is TERMed dies of SIGTERM, as a
    server's child should. Python handlers go back to the default; the event loop's
    wakeup fd is let go; Ctrl-C (SIGINT to the shell's whole process group, the server's
    children among them) is ignored, as it cancels only the shell's running command."""
    for signum in CHILD_SIGNALS:
        try:
            if callable(signal.getsignal(signum)):
                signal.signal(signum, signal.SIG_DFL)
        except (OSError, ValueError):
            pass  # not a signal Python can handle
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.set_wakeup_fd(-1)
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # as it was before the fork


def server_class(base: type[socketserver.BaseServer], mode: str, *, tls: Any = None,
                 timeout: float | None = None, queue_size: int | None = None,
                 reuse_address: bool = False) -> type[Any]:  # fmt: skip
    """The real socketserver class: base plus ThreadingMixIn or ForkingMixIn, with hooks
    that tell the resource about clients (the handler's own code is untouched). timeout,
    queue_size and reuse_address are the class variables serve's options set: timeout,
    request_queue_size and allow_reuse_address."""
    if tls is not None:
        tls.sslsocket_class = CountedSSLSocket
    request_timeout = timeout  # the class body's own name `timeout` hides the argument
    mixins: tuple[type, ...] = ()
    if mode == "threading":
        mixins = (socketserver.ThreadingMixIn,)
    elif mode == "forking":
        mixins = (socketserver.ForkingMixIn,)
    elif mode == "selectors":
        from pslrepl.handlers.channels import CHANNELS
        from pslrepl.handlers.selecting import SelectorsMixIn

        # Its channels, one per built-in handler, given here: selecting.py can't import them.
        mixins = (type("SelectorsMixIn", (SelectorsMixIn,), {"psl_channels": CHANNELS}),)

    class PslServer(*mixins, base):  # type: ignore[misc,valid-type]
        # As socketserver has it (False) unless --reuse-address: the lesson is that a
        # port whose old connections wait in TIME_WAIT can't be bound without it.
        allow_reuse_address = reuse_address
        daemon_threads = True
        # socketserver's default queue of 5 drops a classroom's worth of connects;
        # --queue-size N gives listen() what a lesson on the backlog needs.
        request_queue_size = socket.SOMAXCONN if queue_size is None else queue_size
        # What handle_request waits for a request before handle_timeout (serve_forever
        # does not use it); None: forever, as socketserver's default.
        timeout = request_timeout
        # UDPServer reads 8192 bytes of a datagram and drops the rest unsaid: take all
        # that UDP carries (65,507 bytes over IPv4), as the shell's own recv does.
        max_packet_size = 65536
        psl: Server
        psl_mask: Any = None  # --forking: the signal mask before the fork

        def handle_timeout(self) -> None:
            """handle_request's: nobody came within self.timeout."""
            self.psl.request_timed_out()
            super().handle_timeout()  # ForkingMixIn's reaps its children here

        def process_request(self, request: Any, client_address: Any) -> None:
            self.psl.last_client = client_address
            if mode == "threading":
                # At most max_clients handler threads: past that, accept waits for one
                # to end (the rest wait in the listen queue), as ForkingMixIn does.
                if not self.psl.admit():
                    self.shutdown_request(request)  # stopping: no new clients
                    return
                try:
                    super().process_request(request, client_address)
                except BaseException:
                    self.psl.release()  # no thread after all (RuntimeError: can't start)
                    raise
                return
            if mode != "forking":
                super().process_request(request, client_address)
                return
            # The child's stream, kept here too: `stop` shuts it down, and the child sees
            # its client gone and finishes as it would (its tally is not lost).
            keep = None
            if self.socket_type == socket.SOCK_STREAM:
                keep = socket.socket(fileno=os.dup(request.fileno()))
            before = set(getattr(self, "active_children", None) or ())
            # No signal until the child has put the defaults back (reset_child_signals).
            self.psl_mask = signal.pthread_sigmask(signal.SIG_BLOCK, CHILD_SIGNALS)
            try:
                super().process_request(request, client_address)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, self.psl_mask)
            after = set(getattr(self, "active_children", None) or ())
            self.psl.forked(client_address, sorted(after - before), keep)

        def process_request_thread(self, request: Any, client_address: Any) -> None:
            self.psl.started()
            try:
                super().process_request_thread(request, client_address)
            finally:
                self.psl.release()

        def collect_children(self, *, blocking: bool = False) -> None:
            """socketserver's own, but it waits only for this server's children (the
            stdlib's waitpid(-1), once max_children are busy, could reap the shell's
            other children and lose their status), and it reports each one reaped."""
            while self.psl.reap(blocking=blocking) >= self.max_children:
                if self.psl.closed:
                    return  # stop is ending them
                if not self.psl.saturated:  # said once each time it fills up
                    self.psl.saturated = True
                    self.psl.note(f"all {self.max_children} children busy (ForkingMixIn."
                                  "max_children): new clients wait until one ends")  # fmt: skip
                time.sleep(0.01)  # all max_children busy: wait for one to finish
            self.psl.saturated = False

        def finish_request(self, request: Any, client_address: Any) -> None:
            if mode == "forking":  # in the child: first of all, signals as a child's
                reset_child_signals(self.psl_mask)
            if self.socket_type == socket.SOCK_DGRAM:
                # A datagram is no connection: the handler counts senders instead.
                if mode != "forking":
                    super().finish_request(request, client_address)
                    return
                tally = self.psl.child_conn = Connection("", None)  # in the child
                try:
                    super().finish_request(request, client_address)
                finally:
                    self.psl.child_tally(tally)
                return
            if mode == "forking":  # in the child: the parent reported it
                # The child inherited every descriptor the shell holds, the shell's own
                # client sockets among them: while a copy stays open here, their peers
                # never see EOF. Keep only this client's socket (and stdio).
                keep = request.fileno()
                os.closerange(3, keep)
                os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))
                conn = Connection("", request)
                request.psl_server, request.psl_conn = CHILD_TALLY, conn
                try:
                    if tls is not None:
                        self.psl.handshake(request, client_address)
                    super().finish_request(request, client_address)
                finally:
                    self.psl.child_tally(conn)
                return
            conn = self.psl.connection_opened(request, client_address)
            try:
                if tls is not None:
                    self.psl.handshake(request, client_address)
                super().finish_request(request, client_address)
            finally:
                self.psl.connection_closed(conn)

        def shutdown_request(self, request: Any) -> None:
            if tls is not None:
                from pslrepl.resources.calls import end_tls

                end_tls(request)
            super().shutdown_request(request)

        def handle_error(self, request: Any, client_address: Any) -> None:
            self.psl.handler_raised(request, client_address)

        def get_request(self) -> Any:
            if self.socket_type == socket.SOCK_DGRAM:
                return super().get_request()
            # socket.accept's steps, the counting socket made at once: made from the
            # plain one accept returns, it cost a socket object and a getsockname more.
            listener = self.socket
            fd, client_address = listener._accept()
            request = CountedSocket(listener.family, listener.type, listener.proto, fileno=fd)
            if socket.getdefaulttimeout() is None and listener.gettimeout():
                request.setblocking(True)
            # --idle: a client that sends nothing (or reads nothing) that long is closed.
            idle = self.psl.idle
            if tls is None:
                # (A --manual server's handler runs at the prompt, where Ctrl-C must
                # cancel it at once: there Python's own timeout, as before.)
                if idle and self.psl.manual:
                    request.settimeout(idle)
                elif idle and self.psl.mode != "selectors":  # the loop sweeps idle ones
                    idle_in_kernel(request, idle)
                return request, client_address
            request.settimeout(idle or None)
            # The handshake happens in the handler's thread (or child), bounded (see
            # Server.handshake): a slow client can't hold up accept.
            return tls.wrap_socket(request, server_side=True,
                                   do_handshake_on_connect=False), client_address  # fmt: skip

    PslServer.__name__ = "".join(m.__name__.replace("MixIn", "") for m in mixins) + base.__name__
    return PslServer
