"""An attach block in a transcript: the lines typed to it (`|> LINE`) are its standard
input in a replay; --update keeps them; no other command takes them."""

from __future__ import annotations

from pathlib import Path

from pslrepl.replay import replay
from pslrepl.transcript import format_transcript, parse

BLOCK = """\
psl> serve e tcp 0 --handler upper
e: TCPServer serving upper on {e.addr}
psl> tcp connect c e
c: connected {c.laddr} -> {e.addr}
psl> attach c
|> hello
|>
|> {e.port}
HELLO

{e.port}
c: detached ({?sent} bytes sent, {sent} received); the peer closed its side (EOF)
"""


def test_the_typed_lines_are_kept_apart_from_the_output() -> None:
    step = parse(BLOCK).steps[2]
    assert step.typed == ["hello", "", "{e.port}"]
    assert step.expected[0] == "HELLO"
    assert format_transcript(parse(BLOCK)) == BLOCK  # written back as read


def test_an_attach_block_replays_its_typing(tmp_path: Path) -> None:
    outcome = replay(parse(BLOCK), path="attach.psl")
    assert outcome.ok, outcome.report()


def test_a_wrong_answer_fails(tmp_path: Path) -> None:
    outcome = replay(parse(BLOCK.replace("|> hello", "|> help")), path="attach.psl")
    assert not outcome.ok
    assert "HELP" in outcome.report()


def test_only_attach_takes_typing() -> None:
    text = "psl> echo '|> not typed'\n|> not typed\n"
    step = parse(text).steps[0]
    assert step.typed == [] and step.expected == ["|> not typed"]
    assert replay(parse(text), path="echo.psl").ok
