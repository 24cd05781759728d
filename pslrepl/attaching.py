"""attach's terminal side: what you type goes to a child or socket line by line, what
arrives is shown as it comes, as nc or pwntools' interactive() would.

One reader thread ("pslrepl:NAME@attach") takes what the resource sends (a child's
stdout and stderr buffers, or the socket, polled so that it stops when you leave) and
writes it above the prompt (attach_screen.run); the main thread runs a prompt whose
keys are Enter (send the line and "\\n"; a bare Enter sends "\\n"), Ctrl-] (back to the
shell's prompt), Ctrl-C (SIGINT to a child; with --raw, the byte 0x03) and Ctrl-D (EOF:
the write side closed). Both directions are logged as the resource's own events.
"""

from __future__ import annotations

import threading

from pslrepl.errors import PslError
from pslrepl.events import Event

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.session import Session

CHUNK = 1 << 16
POLL = 0.1  # seconds the reader waits for data before it looks whether you have left
DETACH = "\x1d"  # Ctrl-]: telnet's escape, what prompt_toolkit calls c-]


class Attachment:
    """A child or a byte-stream socket, joined to the terminal until detach()."""

    def __init__(self, session: Session, res: Any, *, raw: bool) -> None:
        from pslrepl.resources.process import Process

        self.session = session
        self.res = res
        self.raw = raw
        self.child = isinstance(res, Process)
        self.stop = threading.Event()
        self.ended = ""  # why the far side ended: said when the attach returns
        self.received = 0
        self.sent = 0
        self.end: Any = None
        # For `record`: the lines typed (a transcript's ``|>`` lines), what a transcript
        # can't hold (a Ctrl-C), whether EOF went, and what came back (kept only while
        # recording: the interactive attach shows it outside the printer).
        self.typed: list[str] = []
        self.keys: list[str] = []
        self.eof_sent = False
        self.streams: set[str] = set()  # a child's that wrote: both can replay otherwise
        self.pending = ""  # --raw: what a Ctrl-C sent of the line being typed, and 0x03
        # TLS has no half-close of its own: Ctrl-D's close_notify goes from the reader
        # once nothing is arriving (OpenSSL's shutdown reads, and fails on data that
        # came after it), and this says how that went.
        self.tls = not self.child and bool(getattr(res, "tls", None))
        self.close_wanted = False
        self.problems: list[str] = []
        self.say: Any = None  # the terminal's: a line drawn above the prompt
        self.kept: bytearray | None = bytearray() if session.recorder is not None else None
        if not self.child:
            from pslrepl.resources.endpoints import Endpoint

            res.begin_read()  # the watcher keeps quiet: these bytes are shown here
            tls = res if res.tls else None
            self.end = Endpoint(res.name, sock=res.sock, owned=False, tls=tls, lent=res)

    # -- the far side -> the terminal (the reader thread) --------------------------------

    def read(self) -> bytes | None:
        """What has come (b'' at EOF), or None when nothing came within POLL."""
        if self.child:
            return self._read_child()
        return self._read_socket()

    def _read_child(self) -> bytes | None:
        session, res = self.session, self.res
        with session.cond:
            if not (res.stdout.data or res.stderr.data or res.stdout.eof):
                session.cond.wait(POLL)
            data = res.stdout.take() if res.stdout.data else b""
            self.streams |= {"stdout"} if data else set()
            if res.stderr.data:
                self.streams.add("stderr")
                data += res.stderr.take()
            if data:
                return data
            return b"" if res.stdout.eof and res.stderr.eof else None

    def _read_socket(self) -> bytes | None:
        import ssl

        from pslrepl.resources.polling import poll_ready

        end = self.end
        if end.pre or end.pre_eof or end.pre_error is not None:
            return end.read()  # what the shell had read ahead goes first
        take_error = getattr(self.res, "take_error", None)
        held = take_error() if end.tls is None and take_error is not None else None
        if held is not None:
            raise held  # a reset the watcher's peek took: met here, as recv would
        sock = end.sock
        pending = end.tls is not None and sock.pending()
        if not pending and not poll_ready([sock], [], POLL):
            return None
        with end.io:
            try:
                data: bytes = sock.recv(CHUNK)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                return None
            except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
                return b""
        return data

    def pump(self, show: Any) -> None:
        """Until detach or EOF: what arrives goes to ``show`` and the log."""
        from pslrepl.signals_table import background_thread

        background_thread()
        try:
            while not self.stop.is_set():
                data = self.read()
                if data is None:
                    if self.close_wanted:
                        self._close_notify()
                    continue
                if not data:
                    self.ended = ("its output ended (EOF)" if self.child
                                  else "the peer closed its side (EOF)")  # fmt: skip
                    break
                self.received += len(data)
                if not self.child:  # a child's drain thread has logged it already
                    self._counted("bytes_in", len(data))
                    self.res.post(Event.traffic(self.res.name, "recv", "", "in", data))
                if self.kept is not None:
                    self.kept.extend(data)
                show(data)
        except ConnectionResetError:
            self.ended = "the peer reset the connection (ECONNRESET)"
        except OSError as exc:
            self.ended = f"{exc.strerror or exc}"
        finally:
            self.stop.set()

    # -- the terminal -> the far side (the main thread) ----------------------------------

    def send(self, data: bytes) -> None:
        if self.child:
            self.res.write(data, timeout=self.session.settings.timeout)  # logs it too
        else:  # logged first: the answer it brings is logged after it
            self.res.post(Event.traffic(self.res.name, "send", "", "out", data))
            self.end.write(data)
            self._counted("bytes_out", len(data))
        self.sent += len(data)

    def _counted(self, counter: str, n: int) -> None:
        """A socket's IN and OUT (ls) move with what attach moved, as a send's do."""
        with self.session.cond:
            try:
                setattr(self.res, counter, getattr(self.res, counter) + n)
            except AttributeError:
                pass  # a kind whose counters are computed, not kept

    def doubts(self) -> tuple[str, ...]:
        """Why a replay of this attach (its lines typed at once, then EOF) may show
        something else: a child's answers that depend on when each line came."""
        said: list[str] = []
        if self.child and getattr(self.res, "terminal", False) and self.typed:
            said.append("a child on a terminal (--pty) echoes each line as it reads it, "
                        "and a replay types them all before it reads the first, so the "
                        "echo comes early")  # fmt: skip
        if self.streams == {"stdout", "stderr"}:
            said.append("the child wrote to both stdout and stderr (python -i's prompts go "
                        "to stderr), two pipes a replay can read in another order")  # fmt: skip
        return tuple(said)

    def _problem(self, said: str) -> None:
        """Something that went wrong on the way: logged, and said (at the end in a pipe)."""
        self.problems.append(said)
        self.res.post(Event(self.res.name, "error", said))
        if self.say is not None:
            self.say(f"error: {said}")

    def entry_note(self) -> str:
        """What the banner adds for a child that can't take what is typed, or "" ."""
        if not self.child:
            return ""
        from pslrepl.signals_table import describe_status

        res = self.res
        code = res.popen.poll()
        if code is not None:
            return f"{res.name} has ended ({describe_status(code)}): what it printed is shown"
        if res.stdin_closed:
            return (f"{res.name}'s stdin is closed (eof was sent): what you type can't reach "
                    "it; its output is shown")  # fmt: skip
        return ""

    def interrupt(self, typed: str = "") -> str:
        """Ctrl-C: SIGINT to a child, or with --raw the byte itself, after ``typed`` (the
        half-typed line: data before it, as a raw terminal would have sent it); what
        was done."""
        import signal

        if self.raw:
            self.send(typed.encode("utf-8", "surrogateescape") + b"\x03")
            self.pending += typed + "\x03"  # the start of the line the next Enter ends
            return f"sent {typed!r} and ^C (0x03)" if typed else "sent ^C (0x03)"
        self.keys.append("Ctrl-C")
        if self.child:
            self.res.send_signal(signal.SIGINT)
            return "sent SIGINT to the child"
        return "Ctrl-C is not sent to a socket (--raw passes it as the byte 0x03)"

    def eof_note(self) -> str:
        """What Ctrl-D does, said before it does it (the answer it brings comes after)."""
        if self.child:
            return "stdin closed (EOF sent)"
        if self.tls:
            return ("sending TLS close_notify (TLS's EOF; it goes once nothing is "
                    "arriving): the peer will read EOF")  # fmt: skip
        return "shut down wr: the peer will read EOF"

    def eof(self) -> str:
        """Ctrl-D: close the write side, keep showing what comes."""
        self.eof_sent = True
        if self.child:
            if self.res.stdin_closed:
                return "stdin was closed already"
            self.res.close_stdin()
        elif self.tls:
            self.close_wanted = True  # the reader sends it: see _close_notify
        else:
            self.end.close_write()
            self.res.post(Event(self.res.name, "shutdown", how="wr"))
        return self.eof_note()

    def _close_notify(self) -> None:
        """TLS's close_notify, sent by the reader when a read found nothing arriving;
        logged only once it has gone."""
        import ssl

        self.close_wanted = False
        end = self.end
        lost = ""
        # unwrap() calls SSL_shutdown twice: the first sends close_notify, the second reads
        # on, and fails on data that came after it (OpenSSL 3). Corked, the close_notify
        # leaves only after both, so the peer's answer to it can't come in between.
        corked = _cork(end.sock, True)
        with end.io:
            try:
                end.sock.unwrap()  # non-blocking: close_notify goes, then it would read
            except ssl.SSLWantReadError:
                pass  # sent; the peer's close_notify has not come (it comes as EOF)
            except ssl.SSLWantWriteError:
                self.close_wanted = True  # no room to send it yet: the next pause
                return
            except (OSError, ValueError) as exc:
                if getattr(exc, "reason", "") != "APPLICATION_DATA_AFTER_CLOSE_NOTIFY":
                    self._problem(f"TLS close_notify was not sent ({exc}): Ctrl-] and "
                                  f"`close {self.res.name}` end the connection")  # fmt: skip
                    return
                # Not corked (no TCP_CORK here): the second SSL_shutdown met the peer's
                # answer, which OpenSSL 3 can't take once its close_notify went: lost.
                lost = ("OpenSSL's shutdown read on after the close_notify and failed on "
                        "the peer's answer (APPLICATION_DATA_AFTER_CLOSE_NOTIFY): what the "
                        "peer sent then is lost")  # fmt: skip
            finally:
                if corked:
                    _cork(end.sock, False)  # the close_notify goes now
        self.res.post(Event(self.res.name, "shutdown",
                            "TLS close_notify sent: the peer reads EOF"))  # fmt: skip
        if lost:
            self._problem(lost)

    def detach(self) -> None:
        self.stop.set()
        if self.end is not None:
            self.end.release()


def _cork(sock: Any, on: bool) -> bool:
    """TCP_CORK on or off (Linux: what is written waits until it is off); whether it took."""
    import socket

    option = getattr(socket, "TCP_CORK", None)
    if option is None:
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, option, 1 if on else 0)
    except OSError:
        return False  # not TCP (a UNIX socket), or closed
    return True


def run_piped(att: Attachment, lines: Any, *, timeout: float, show: Any = None) -> bytes:
    """Without a terminal, as nc in a pipe: each line of ``lines`` sent, then EOF (the
    write side closed), while a reader thread takes what arrives as it comes (to
    ``show``, if given) until the far side ends or ``timeout`` passes with nothing new
    after the EOF. What arrived."""
    import time

    got = bytearray()
    last = [time.monotonic()]  # when something last came (or the EOF went)

    def reader() -> None:
        from pslrepl.signals_table import background_thread

        background_thread()

        def shown(data: bytes) -> None:
            got.extend(data)
            last[0] = time.monotonic()
            if show is not None:
                show(data)

        att.pump(shown)

    # Read while sending: a child's answers would pile up in its 1 MiB buffer (and the
    # oldest be dropped) while the lines went, and a peer's would show only at the end.
    thread = threading.Thread(target=reader, name=f"pslrepl:{att.res.name}@attach",
                              daemon=True)  # fmt: skip
    thread.start()
    try:
        try:
            for line in lines:
                if att.stop.is_set() and not att.child:
                    break  # the peer has gone: what is left has nowhere to go
                att.send(line.encode("utf-8", "surrogateescape"))
                att.typed.append(line[:-1] if line.endswith("\n") else line)
            if not att.stop.is_set() or att.child:
                att.eof()
        except (PslError, OSError) as exc:  # stdin closed, a peer gone: what comes is shown
            att.problems.append(str(exc) if isinstance(exc, PslError)
                                else exc.strerror or str(exc))  # fmt: skip
        last[0] = time.monotonic()
        while thread.is_alive():
            thread.join(POLL)
            if thread.is_alive() and time.monotonic() - last[0] >= timeout:
                att.ended = f"nothing more came in {timeout:g} s"
                break
    finally:
        att.detach()
        thread.join(1 + POLL)
    return bytes(got)
