"""attach's one way out: a key (Ctrl-D) and the far side's end in the same moment, or the
far side ending just before a prompt comes up, bring the shell back, never a second
exit() (a traceback, then a hung shell) nor a prompt left attached to a dead child."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pslrepl.attach_screen import run
from pslrepl.attaching import Attachment
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


# -- without a terminal: read while sending (as nc in a pipe) ---------------------------


def test_piped_attach_to_a_child_loses_nothing_past_its_buffer(shell: Shell) -> None:
    """All lines were sent before any was read: cat's echo piled up in the 1 MiB buffer
    and the oldest were dropped without a word (trial 13, F8)."""
    import hashlib

    text = "".join(f"line {n:05d} " + "é" * 500 + "\n" for n in range(1_500))  # 1.5 MB
    assert len(text.encode()) > 1 << 20
    shell.ok("spawn k -- cat")
    shell.session.env.stdin = io.StringIO(text)
    out = shell.ok("attach k")
    body, said = out[: len(text)], out[len(text) :]  # (the shell shows NUL, CR escaped)
    assert hashlib.sha256(body.encode()).hexdigest() == hashlib.sha256(text.encode()).hexdigest()
    size = f"{len(text.encode()):,}"
    assert said == f"k: detached ({size} bytes sent, {size} received); its output ended (EOF)\n"
    assert "dropped" not in shell.ok("info k")


def test_piped_attach_shows_an_answer_before_its_input_ends(shell: Shell) -> None:
    """The answer to the first line is shown while the second is still to come, as nc
    in a pipe does (trial 13, F9; pwntools #2159)."""
    import time

    shell.ok("serve e tcp 0 --handler upper --threading; tcp connect c e")
    seen: list[bool] = []

    def typed() -> Iterator[str]:
        yield "first line\n"
        deadline = time.monotonic() + 10
        while "FIRST LINE" not in shell.out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)  # polls for the event (the answer shown), bounded
        seen.append("FIRST LINE" in shell.out.getvalue())
        yield "then\n"

    shell.session.env.stdin = typed()
    out = shell.ok("attach c")
    assert seen == [True]
    assert out == (
        "FIRST LINE\nTHEN\n"
        "c: detached (16 bytes sent, 16 received); the peer closed its side (EOF)\n"
    )


def test_piped_attach_holds_a_cut_line_until_it_is_whole(shell: Shell) -> None:
    """A line that comes in two reads is shown as one line, and a last line with no
    newline is still shown."""
    shell.spawn(
        "p",
        "import sys, time\n"
        "sys.stdout.write('he'); sys.stdout.flush(); time.sleep(0.2)\n"
        "sys.stdout.write('llo\\nno newline'); sys.stdout.flush()",
    )
    shell.session.env.stdin = io.StringIO("")
    out = shell.ok("attach p")
    assert out.startswith("hello\nno newline\np: detached (0 bytes sent, 16 received)"), out


def test_the_ctrl_d_line_comes_before_the_answer_the_eof_brings(
    shell: Shell, pipe_input: Any
) -> None:
    """'shut down wr' / 'stdin closed' landed in the middle of the answer (trial 13, F10)."""
    import time

    shell.spawn("k", "import sys\nsys.stdin.read()\nprint('answer to the EOF', flush=True)")
    res = shell.session.registry.get("k")

    class AnswerFirst(Attachment):
        def eof(self) -> str:
            said = super().eof()
            deadline = time.monotonic() + 10
            while not self.received and time.monotonic() < deadline:
                time.sleep(0.005)  # waits for the answer to have been shown, bounded
            return said

    att = AnswerFirst(shell.session, res, raw=False)
    result, printed = attach_in_thread(shell, att, pipe_input)
    pipe_input.send_text("\x04")
    assert result() == "its output ended (EOF)"
    shown = printed.getvalue()
    assert shown.index("stdin closed (EOF sent)") < shown.index("answer to the EOF"), shown
    assert shown.count("stdin closed") == 1
