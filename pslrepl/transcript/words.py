"""A replay's placeholders and captures, filled in each word of a command as it runs."""

from __future__ import annotations

from pslrepl.transcript.matching import expand

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.dispatch import Dispatcher
    from pslrepl.session import Session
    from pslrepl.transcript.syntax import Bindings


def expand_in_words(dispatcher: Dispatcher, session: Session, now: list[Bindings]) -> None:
    """The replay's placeholders and captures are filled in as -c fills in {tmp}: in each
    word of a command after the line is split, never in its text before, so a value that
    holds `;`, a quote or a space (a server's banner, a {tmp} with a space) stays text in
    one word and never runs as a command of its own. ``now[0]``: the bindings the next
    command sees (set before each). --present and --export-py may use it too."""
    from pslrepl.parsing import Token

    def words(tokens: list[Token]) -> list[Token]:
        if not any("{" in t.text for t in tokens):
            return tokens
        values = dict(now[0])
        values.update(session.volatile)  # a value learned earlier on the same line
        return [Token(expand(t.text, values), t.start, t.end, t.quoted) for t in tokens]

    dispatcher.expand = words  # type: ignore[method-assign]
