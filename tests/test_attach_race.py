"""attach's one way out: a key (Ctrl-D) and the far side's end in the same moment, or the
far side ending just before a prompt comes up, bring the shell back, never a second
exit() (a traceback, then a hung shell) nor a prompt left attached to a dead child."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pslrepl.attaching import Attachment, run
from tests.helpers import Shell


@pytest.fixture
def pipe_input() -> Iterator[Any]:
    from prompt_toolkit.input import create_pipe_input

    with create_pipe_input() as inp:
        yield inp


def reader_done(name: str) -> None:
    """Wait for the attach's reader thread to have ended (and so to have called ended())."""
    for thread in threading.enumerate():
        if thread.name == f"pslrepl:{name}@attach":
            thread.join(10)
            assert not thread.is_alive()


def attach_in_thread(
    shell: Shell, att: Attachment, inp: Any
) -> tuple[Callable[[], str], io.StringIO]:
    """run() in a thread of its own (it must end by itself): a call that gives its
    answer, and what it printed (above its prompt) so far."""
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.output import DummyOutput
    from prompt_toolkit.output.plain_text import PlainTextOutput

    said: list[str] = []
    errors: list[BaseException] = []
    printed = io.StringIO()

    def body() -> None:
        try:
            with create_app_session(input=inp, output=PlainTextOutput(printed)):
                said.append(run(shell.session, att, input=inp, output=DummyOutput()))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()

    def result() -> str:
        thread.join(15)
        assert not thread.is_alive(), "attach did not return to the shell"
        assert not errors, errors
        return said[0]

    return result, printed


def test_ctrl_d_as_the_peer_closes_returns_once(
    shell: Shell, pipe_input: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-D's exit and the reader's end in one turn of the loop (trial 13, F5)."""
    shell.ok("spawn c -- cat")
    res = shell.session.registry.get("c")

    class EndsAsItSends(Attachment):
        def eof(self) -> str:
            said = super().eof()  # cat reads EOF and exits: the reader ends...
            reader_done("c")  # ...and has asked the loop to leave before this key does
            return said

    att = EndsAsItSends(shell.session, res, raw=False)
    result, printed = attach_in_thread(shell, att, pipe_input)
    pipe_input.send_text("\x04")  # Ctrl-D
    assert result() == "its output ended (EOF)"
    shown = printed.getvalue() + capsys.readouterr().err
    assert "stdin closed (EOF sent)" in shown
    assert "Return value already set" not in shown
    assert "Unhandled exception" not in shown
    assert shell.ok("wait c") == "c: exited with status 0\n"


def test_the_child_ending_just_before_a_prompt_ends_the_attach(
    shell: Shell,
    pipe_input: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reader ends between the loop's look and the prompt's start: it finds no
    prompt to leave, and the prompt that comes up must leave at once (trial 13, F6)."""
    from prompt_toolkit import PromptSession

    shell.ok("spawn c -- cat")
    res = shell.session.registry.get("c")
    original = PromptSession.prompt
    calls = []

    def late(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:  # after run() looked at att.stop, before the prompt is up
            res.close_stdin()
            reader_done("c")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PromptSession, "prompt", late)
    att = Attachment(shell.session, res, raw=False)
    result, printed = attach_in_thread(shell, att, pipe_input)
    assert result() == "its output ended (EOF)"  # nothing typed: it left by itself
    assert len(calls) == 1
    assert "attached to c" in printed.getvalue()
