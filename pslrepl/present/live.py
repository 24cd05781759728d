"""The show's live shell: the ordinary prompt, left with Ctrl-] to resume the script."""

from __future__ import annotations

from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings

from pslrepl.repl import Repl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from prompt_toolkit.key_binding import KeyPressEvent


class Resume(Exception):
    """Ctrl-] at the live prompt: back to the script."""


class LiveRepl(Repl):
    """The interactive shell's prompt, with Ctrl-] to go back to the show; it also runs
    the show's own steps, so Ctrl-C cancels just the step running."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        bindings = KeyBindings()

        @bindings.add("c-]", eager=True)  # eager: emacs mode has Ctrl-] CHAR (find CHAR)
        def _resume(event: KeyPressEvent) -> None:
            event.app.exit(exception=Resume())

        own = self.prompt.key_bindings
        self.prompt.key_bindings = merge_key_bindings([own, bindings]) if own else bindings

    def run_step(self, line: str) -> bool:
        """Run one of the script's lines as if typed; False if Ctrl-C cancelled it."""
        try:
            self._run(line)
        except KeyboardInterrupt:  # after the dispatcher had finished with the line
            self.interrupted = True
        return not self.interrupted

    def live(self) -> bool:
        """Prompt and run what is typed until Ctrl-] or Ctrl-D (True: resume the show; an
        inner prompt's Ctrl-D leaves it, as in most shells) or `exit` (False: the show
        ends)."""
        session = self.session
        session.waker = self._wake
        self.queued = []
        while session.exit_requested is None:
            line: str | None = None
            started = False
            try:
                session.flush_events()
                line = self._next_line()
                if line is None:
                    continue
                started = True
                self._run(line)
            except Resume:
                return True
            except EOFError:
                return True
            except KeyboardInterrupt:
                if line is not None and not started:
                    self._cancelled_before_start()
                self.interrupted = True
            if self.interrupted and self.queued:
                self.queued = []
        return False
