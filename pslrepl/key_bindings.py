"""The prompt's own key bindings: a paste goes in as its commands, and runs line by line."""

from __future__ import annotations

from prompt_toolkit.application import get_app
from prompt_toolkit.filters import Condition
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.keys import Keys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from prompt_toolkit.key_binding import KeyPressEvent

    from pslrepl.repl import Repl


def load_paste_bindings(repl: Repl) -> KeyBindings:
    """Bindings for what a paste does at ``repl``'s prompt; the lines after the first
    wait in ``repl.queued``."""
    bindings = KeyBindings()

    @bindings.add(Keys.BracketedPaste)
    def _paste(event: KeyPressEvent) -> None:
        """A paste goes into the line to be looked at before Enter, as in bash and
        fish; copied from a transcript or the README, only its commands go in (the
        `psl> ` prompts and the output lines are left out, as IPython does with
        `>>> `)."""
        from pslrepl.transcript import commands_in

        data = event.data.replace("\r\n", "\n").replace("\r", "\n")
        text = "\n".join(commands_in(data)).strip("\n")
        buffer = event.current_buffer
        before = buffer.document.text_before_cursor
        if text and before and not before.endswith("\n") and ("\n" in before or "\n" in text):
            # Two blocks pasted one after the other: the second starts a line of its
            # own, or the last command of one and the first of the next would join.
            text = "\n" + text
        buffer.insert_text(text)

    pasted = Condition(lambda: "\n" in get_app().current_buffer.text)

    @bindings.add("enter", filter=pasted)
    def _run_pasted(event: KeyPressEvent) -> None:
        """Several lines: the first runs now, the others after it one by one, each
        shown as it runs and kept in the history as a line of its own."""
        buffer = event.current_buffer
        lines = [line for line in buffer.text.split("\n") if line.strip()]
        repl.queued = lines[1:]
        buffer.text = lines[0] if lines else ""
        buffer.validate_and_handle()

    @bindings.add("c-]", eager=True)
    def _nothing(event: KeyPressEvent) -> None:
        """Ctrl-] leaves `attach`; pressed at the prompt it does nothing (emacs mode would
        wait for a character to search for, swallowing the next key typed)."""

    return bindings
