"""Argument kinds convert and complete themselves; the parser resolves names and resources."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from pslrepl.commands import all_commands
from pslrepl.commandspec import Arg, Command, Opt
from pslrepl.completer import PslCompleter
from pslrepl.dispatch import CommandTable, Dispatcher
from pslrepl.kinds import NEW, Kind, ResourceOf, Where
from tests.helpers import Shell, complete

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.kinds import Completing


class Colour(Kind):
    """A kind a newcomer writes beside their command: one class, nothing else touched."""

    name = "colour"
    COLOURS = {"red": "#f00", "green": "#0f0", "blue": "#00f"}

    def convert(self, raw: str, where: Where) -> Any:
        if raw not in self.COLOURS:
            raise where.fail(f"must be a colour ({', '.join(self.COLOURS)}), not {raw!r}")
        return self.COLOURS[raw]

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        return ask.words(self.COLOURS, prefix, self.COLOURS.get)


def _paint(ctx: Any) -> None:
    ctx.say(f"{ctx['name']} painted {ctx['colour']}")


PAINT = Command(
    "paint",
    "session",
    "paint a new thing",
    _paint,
    args=(Arg("NAME", NEW), Arg("COLOUR", Colour())),
)


@pytest.fixture
def painter(shell: Shell) -> Shell:
    """The shell with one more command in its table, as a newcomer's module would add it."""
    table = CommandTable([*all_commands(), PAINT])
    return Shell(shell.session, Dispatcher(shell.session, table), shell.out, shell.err)


def test_a_new_kind_converts_and_completes(painter: Shell) -> None:
    assert "thing painted #0f0" in painter.ok("paint thing green")
    assert painter.fails("paint thing mauve") == (
        "error: paint: COLOUR must be a colour (red, green, blue), not 'mauve'"
    )
    completer = PslCompleter(painter.session, painter.dispatcher.table)
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    offered = list(completer.get_completions(Document("paint thing "), CompleteEvent()))
    assert [c.text for c in offered] == ["red", "green", "blue"]
    assert [c.display_meta_text for c in offered] == ["#f00", "#0f0", "#00f"]
    offered = list(completer.get_completions(Document("paint thing b"), CompleteEvent()))
    assert [c.text for c in offered] == ["blue"]


def test_a_kind_must_be_a_kind_object() -> None:
    """A string where a kind goes (a typo once gave no completion, silently) fails at once."""
    with pytest.raises(TypeError, match="NAME: kind must be"):
        Arg("NAME", "new")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="--x: kind must be"):
        Opt("--x", "", "X", kind="seconds")  # type: ignore[arg-type]


def test_every_argument_of_the_table_has_a_kind() -> None:
    for cmd in all_commands():
        for part in (*cmd.args, *cmd.opts):
            assert isinstance(part.kind, Kind), (cmd.name, part.name)


def test_the_parser_checks_a_new_name_before_the_handler_runs(painter: Shell) -> None:
    painter.ok("tcp listen srv 0")
    assert painter.fails("paint srv red") == (
        "error: the name 'srv' is taken by a listener; close it or pick another"
    )
    assert "is a command" in painter.fails("paint send red")
    # Nothing was made under a taken name, and the listener is untouched.
    assert painter.session.registry.get("srv").kind == "listener"


def test_the_parser_hands_the_handler_the_resource(shell: Shell) -> None:
    shell.ok("tcp listen srv 0")
    assert (
        shell.fails("accept nosuch") == "error: no resource named 'nosuch'; `ls` lists what is live"
    )
    assert (
        shell.fails("send srv hi")
        == "error: srv is a listener; send takes a tcp socket, a tls connection, a udp socket, "
        "a unix socket or a unix-dgram socket"
    )
    # The words must fit the syntax before any is looked up; then left to right.
    shell.ok("tcp connect c srv")
    assert shell.fails("shutdown c sideways").startswith("error: shutdown: HOW must be one of")
    assert "unexpected 'extra'" in shell.fails("info nosuch extra")


def test_close_resolves_every_name_before_closing_any(shell: Shell) -> None:
    shell.ok("tcp listen a 0")
    assert "no resource named 'nope'" in shell.fails("close a nope")
    assert "a" in shell.session.registry  # not closed: one name was wrong


def test_resource_kinds_complete_only_what_fits(shell: Shell) -> None:
    shell.ok("tcp listen srv 0")
    shell.ok("tcp connect c srv")
    shell.ok("accept srv s")
    assert complete(shell, "accept ") == ["srv"]
    assert sorted(complete(shell, "send ")) == ["c", "s"]
    assert ResourceOf("tcp").takes("tcp") and not ResourceOf("tcp").takes("listener")
    assert ResourceOf().takes("anything")
