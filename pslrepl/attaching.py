"""attach's terminal side: what you type goes to a child or socket line by line, what
arrives is shown as it comes, as nc or pwntools' interactive() would.

One reader thread ("pslrepl:NAME@attach") takes what the resource sends (a child's
stdout and stderr buffers, or the socket, polled so that it stops when you leave) and
writes it above the prompt; this (the main) thread runs a prompt_toolkit prompt whose
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
        with end.io:
            try:
                end.sock.unwrap()  # non-blocking: close_notify goes, then it would read
            except ssl.SSLWantReadError:
                pass  # sent; the peer's close_notify has not come (it comes as EOF)
            except ssl.SSLWantWriteError:
                self.close_wanted = True  # no room to send it yet: the next pause
                return
            except (OSError, ValueError) as exc:
                said = (f"TLS close_notify was not sent ({exc}): Ctrl-] and "
                        f"`close {self.res.name}` end the connection")  # fmt: skip
                self.problems.append(said)
                self.res.post(Event(self.res.name, "error", said))
                if self.say is not None:
                    self.say(f"error: {said}")
                return
        self.res.post(Event(self.res.name, "shutdown",
                            "TLS close_notify sent: the peer reads EOF"))  # fmt: skip

    def detach(self) -> None:
        self.stop.set()
        if self.end is not None:
            self.end.release()


def run(
    session: Session,
    att: Attachment,
    *,
    input: Any = None,
    output: Any = None,
    mode: str | None = None,
) -> str:
    """The interactive part: a prompt until Ctrl-] or the far side's EOF. What to say.
    ``mode``: "hex" or "repr" to show each read so (--hex, --repr)."""
    import codecs

    from prompt_toolkit import PromptSession
    from prompt_toolkit.application import get_app_session, run_in_terminal
    from prompt_toolkit.history import InMemoryHistory
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.patch_stdout import patch_stdout

    bindings = KeyBindings()
    told: list[str] = []

    def leave(app: Any, result: str) -> None:
        # The one way out of a prompt: a key and the reader's end can both come in one
        # turn of the loop (Ctrl-D as the peer closes), and a second exit() raises.
        if app.is_running and not app.is_done:
            app.exit(result=result)

    @bindings.add("c-]", eager=True)  # emacs mode binds c-] CHAR (search): not here
    def _detach(event: Any) -> None:
        leave(event.app, DETACH)

    @bindings.add("c-c")
    def _interrupt(event: Any) -> None:
        try:
            said = att.interrupt(event.app.current_buffer.text if att.raw else "")
        except Exception as exc:  # a PslError (the child has ended): said, not raised
            said = f"error: {exc}"
        leave(event.app, "\x00" + said)

    @bindings.add("c-d")
    def _eof(event: Any) -> None:
        if event.app.current_buffer.text:
            return  # as a terminal does: ^D on a line with text sends nothing yet
        # Said first: a peer that answers the EOF at once (an HTTP/1.0 server) would
        # have its answer cut in two by this line, said after. Drawn as what came is,
        # from this loop, so that the answer's draw queues after it.
        note = att.eof_note() + "\n"

        def say() -> None:
            terminal.write_raw(note)
            terminal.flush()

        run_in_terminal(say, in_executor=False)
        said = ""
        try:
            att.eof()
        except Exception as exc:
            said = f"error: {exc}"
        leave(event.app, "\x00" + said)

    # A child on a terminal (--pty) echoes each line itself, as a terminal's line
    # discipline or its readline does: the typed line is erased as it goes, or it would
    # show twice (a line typed with echo off, a password, stays unshown, as it should).
    echoes = att.child and bool(getattr(att.res, "terminal", False))
    # What came after the last newline (a child's ">>> ", a "Password: ") is not a line
    # yet: it is the prompt you type after, as at a terminal, where a write of its own
    # would be drawn over by the prompt. It joins what comes next, or goes out on Enter.
    partial = [""]
    lock = threading.Lock()

    def message() -> Any:
        from prompt_toolkit.formatted_text import ANSI

        return ANSI(partial[0].rpartition("\r")[2])  # a colour is drawn, not typed out

    prompt: PromptSession[str] = PromptSession(message, history=InMemoryHistory(),
                                               input=input, output=output,
                                               key_bindings=bindings,
                                               erase_when_done=echoes)  # fmt: skip

    prompting = threading.Event()  # the prompt is up: what came is drawn above it
    # What came is drawn by the prompt's loop, one read at a time, and the reader waits
    # until it is drawn before it reads more: the child's buffer or the socket holds the
    # rest, as a terminal holds back `cat`, and the loop stays free to see Ctrl-]. (The
    # patch_stdout proxy queues without a bound: a `yes` grew the shell by 100 MB/s.)
    terminal = get_app_session().output
    decoder = codecs.getincrementaldecoder("utf-8")("replace")  # a character cut by a read

    def shown_text(data: bytes) -> str:
        """The text to draw for a read: with --hex or --repr each read as it comes."""
        if mode in ("hex", "repr"):
            from pslrepl.render import render
            from pslrepl.results import Output

            lines = render(Output(data, "data", mode=mode))
            return "".join("".join(text for _, text in line) + "\n" for line in lines)
        return decoder.decode(data).replace("\r\n", "\n")

    def draw(text: str) -> None:
        """Write ``text`` above the prompt from the loop; back once it is written (or
        the attach is left)."""
        while not att.stop.is_set():
            if prompting.wait(POLL) and draw_once(text):
                return

    def draw_once(text: str) -> bool:
        """One try at drawing ``text`` through the prompt now up: whether it was."""
        loop = getattr(prompt.app, "loop", None)
        wrote = threading.Event()
        finished = threading.Event()

        def write() -> None:
            terminal.enable_autowrap()
            terminal.write_raw(text)
            terminal.flush()
            wrote.set()

        def start() -> None:
            app = prompt.app
            if not app.is_running or app.is_done:
                finished.set()  # between two prompts: drawn above the next one
                return
            future: Any = run_in_terminal(write, in_executor=False)
            future.add_done_callback(lambda _: finished.set())

        try:
            if loop is None:
                raise RuntimeError("no loop")
            loop.call_soon_threadsafe(start)
        except RuntimeError:  # the prompt has just ended: wait for the next one
            att.stop.wait(POLL / 10)
            return False
        while not finished.wait(POLL):
            if att.stop.is_set() or loop.is_closed():
                break
        if not wrote.is_set():
            att.stop.wait(POLL / 10)  # that prompt was ending: try the next one's
        return wrote.is_set()

    def show(data: bytes) -> None:
        with lock:
            text = partial[0] + shown_text(data)
            cut = text.rfind("\n") + 1
            partial[0] = text[cut:]
        if cut:
            draw(text[:cut])
        loop = getattr(prompt.app, "loop", None)
        if loop is not None:
            try:
                loop.call_soon_threadsafe(prompt.app.invalidate)  # the new prompt text
            except RuntimeError:
                pass  # the loop has ended: the next prompt draws it

    def ended() -> None:
        leave(prompt.app, DETACH)

    def started() -> None:
        # In the loop, with app.loop set: a reader that ended before this saw no loop to
        # call (between two prompts), so look here; one that ends after calls ended().
        prompting.set()
        if att.stop.is_set():
            leave(prompt.app, DETACH)

    def pump() -> None:
        att.pump(show)
        if att.ended:  # the far side is done: back to the shell's prompt
            loop = getattr(prompt.app, "loop", None)
            if loop is not None:
                try:
                    loop.call_soon_threadsafe(ended)
                except RuntimeError:
                    pass

    att.say = lambda text: draw(text + "\n")
    reader = threading.Thread(target=pump, name=f"pslrepl:{att.res.name}@attach", daemon=True)
    with patch_stdout(raw=True):
        print(f"attached to {att.res.name}: type lines to send them; Ctrl-] returns to "
              "the shell, Ctrl-D sends EOF, Ctrl-C " + ("sends 0x03" if att.raw else
              "sends SIGINT" if att.child else "is not sent"), flush=True)  # fmt: skip
        if att.entry_note():
            print(att.entry_note(), flush=True)
        reader.start()
        try:
            while not att.stop.is_set():
                try:
                    line = prompt.prompt(pre_run=started)
                finally:
                    prompting.clear()
                if line == DETACH:
                    break
                if line.startswith("\x00"):
                    if line[1:]:
                        told.append(line[1:])
                        print(line[1:], flush=True)
                    continue
                if not echoes:
                    with lock:
                        partial[0] = ""  # it stays on the screen before the line typed
                # (A terminal child echoes the line: the prompt text goes out with it.)
                try:
                    att.send(line.encode("utf-8", "surrogateescape") + b"\n")
                except (PslError, OSError) as exc:  # stdin closed, a peer gone: said, stays
                    said = str(exc) if isinstance(exc, PslError) else exc.strerror or str(exc)
                    print(f"error: {said}", flush=True)
                    continue
                att.typed.append(att.pending + line)
                att.pending = ""
        except (EOFError, KeyboardInterrupt):
            pass
        finally:
            if att.pending:  # sent with no Enter after: a typed line can't say it
                att.keys.append("Ctrl-C")
            att.detach()
            reader.join(timeout=1)
            if partial[0]:  # a last prompt nothing followed: shown, as a terminal keeps it
                print(partial[0], flush=True)
    return att.ended


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
