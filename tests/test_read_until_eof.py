"""read --until on a child that has ended: no false 'EOF before the match' when the
match is there."""

from __future__ import annotations

from tests.helpers import Shell


def test_until_after_the_child_ended_has_no_eof_note_when_it_matched(shell: Shell) -> None:
    shell.ok("spawn e -- printf 'a\\0\\rb'; wait e")  # the match ends the stream
    assert shell.ok("read e --until b --repr") == "b'a\\x00\\rb'  (4 bytes)\n"


def test_until_that_never_matched_says_eof_before_the_match(shell: Shell) -> None:
    shell.ok("spawn e -- printf 'xyz'; wait e")
    out = shell.ok("read e --until q")
    assert out.startswith("xyz") and "EOF" in out and "match" in out
