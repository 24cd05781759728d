"""attach at a terminal: a prompt_toolkit prompt sends what you type, and what comes is
drawn above it, one read at a time, no faster than the terminal takes it."""

from __future__ import annotations

import threading

from pslrepl.attaching import DETACH, POLL
from pslrepl.errors import PslError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.attaching import Attachment
    from pslrepl.session import Session


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
