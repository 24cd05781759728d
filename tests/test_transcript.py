"""Transcript parsing, matching, diffs and rewriting (pure), and replay in a session."""

from __future__ import annotations

import pytest

from pslrepl.replay import replay
from pslrepl.transcript import (
    align,
    diff,
    expand,
    format_transcript,
    literal,
    match_line,
    match_output,
    name_values,
    parse,
)

SAMPLE = """\
A demo: this text comes before the first command.
# and so does this comment
psl> spawn p -- cat
p: started pid {p.pid}: cat
# a comment between output lines
psl> echo
<blank below>
psl>
psl> nosuch
error: unknown command 'nosuch'
"""


def test_parse_keeps_preamble_comments_and_steps() -> None:
    t = parse(SAMPLE)
    assert t.preamble == ["A demo: this text comes before the first command.",
                          "# and so does this comment"]  # fmt: skip
    assert [s.command for s in t.steps] == ["spawn p -- cat", "echo", "", "nosuch"]
    assert [s.line for s in t.steps] == [3, 6, 8, 9]
    assert t.steps[0].expected == ["p: started pid {p.pid}: cat"]
    assert t.steps[0].comments == [(1, "# a comment between output lines")]
    assert t.steps[2].expected == []


def test_format_round_trips() -> None:
    assert format_transcript(parse(SAMPLE)) == SAMPLE


@pytest.mark.parametrize(
    ("expected", "actual", "ok"),
    [
        ("hello", "hello", True),
        ("hello", "hello ", False),
        ("", "", True),
        ("a+b (re)", "aaab", True),
        ("a+b (re)", "aaabc", False),
        (r"\d+ bytes (re)", "42 bytes", True),
        ("[bad (re)", "[bad", False),
        ("*.psl (glob)", "demo.psl", True),
        ("file?.txt (glob)", "file10.txt", False),
        ("{time} -- x", "21:03:04.123 -- x", True),
        ("{time} -- x", "later -- x", False),
        ("age {age}", "age 1m05s", True),
    ],
)
def test_match_line_rules(expected: str, actual: str, ok: bool) -> None:
    assert (match_line(expected, actual, {}) is not None) is ok


def test_placeholder_binds_then_must_keep_its_value() -> None:
    bound = match_line("pid {p.pid}", "pid 4242", {})
    assert bound == {"p.pid": "4242"}
    assert match_line("again {p.pid}", "again 4242", bound) == bound
    assert match_line("again {p.pid}", "again 4243", bound) is None
    assert match_line("{a} and {a}", "x and x", {}) == {"a": "x"}
    assert match_line("{a} and {a}", "x and y", {}) is None


def test_placeholders_allow_table_padding_to_move() -> None:
    assert match_line("p     {p.pid}    sort", "p     123456789  sort", {}) is not None
    assert match_line("p     {p.pid}    sort", "p     1 sort", {}) is None


def test_any_lines() -> None:
    assert match_output(["a", "...", "z"], ["a", "b", "c", "z"], {}) == {}
    assert match_output(["a", "...", "z"], ["a", "z"], {}) == {}
    assert match_output(["..."], [], {}) == {}
    assert match_output(["a", "...", "z"], ["a", "b"], {}) is None
    assert match_output(["...", "{x}"], ["1", "2", "3"], {}) == {"x": "3"}


def test_empty_output_and_error_only_output() -> None:
    assert match_output([], [], {}) == {}
    assert match_output([], ["surprise"], {}) is None
    assert match_output(["error: boom"], ["error: boom"], {}) == {}
    assert match_output(["error: boom"], [], {}) is None


def test_diff_marks_only_real_differences() -> None:
    (step,) = parse("psl> x\npid {p.pid}\nsame\nold line\n").steps
    lines = diff(step, ["pid 99", "same", "new line"], {}, where="t.psl")
    assert lines[0] == "t.psl:1: psl> x"
    assert "-old line" in lines and "+new line" in lines
    assert " pid {p.pid}" in lines  # matched: shown in its written form, not as a change


def test_diff_names_trailing_whitespace() -> None:
    (step,) = parse("psl> x\nvalue\n").steps
    lines = diff(step, ["value  "], {}, where="t.psl")
    assert lines[-1] == "note: 'value' and 'value  ' differ only in trailing white space"


def test_align_keeps_matching_lines() -> None:
    pairs = align(["a", "{n}", "c"], ["a", "7", "C"], {})
    assert pairs == [("=", "a"), ("=", "{n}"), ("+", "C"), ("-", "c")]


@pytest.mark.parametrize(
    "line",
    [
        "# looks like a comment",
        "psl> a prompt",
        "...",
        "ends in (re)",
        "a {placeholder} lookalike",
        "x (glob)",
    ],
)
def test_literal_escapes_what_would_read_otherwise(line: str) -> None:
    written = literal(line)
    assert written != line and match_line(written, line, {}) == {}


def test_name_values_and_expand() -> None:
    named = {"p.pid": "42", "tmp": "/tmp/pslrepl-x"}
    text = "pid 42 in /tmp/pslrepl-x/f at 12:00:00.000, not 420 or 4.42"
    assert name_values(text, named) == "pid {p.pid} in {tmp}/f at {time}, not 420 or 4.42"
    assert expand("kill {p.pid} {unbound}", {"p.pid": "42"}) == "kill 42 {unbound}"
    # A fingerprint's colon-separated pairs hold no clock time.
    sha = "76:b1:a4:be:89:a0:f6:1f:12:34:56:ad"
    assert name_values(f"sha256: {sha} at 09:15:00", {}) == f"sha256: {sha} at {{time}}"


def test_replay_passes_binds_and_expands() -> None:
    text = ("psl> spawn p -- cat\np: started pid {p.pid}: cat\n"
            "psl> py p.pid == {p.pid}\nTrue\n"
            "psl> run -- ls -d {tmp}\n{tmp}\nexited with status 0\n")  # fmt: skip
    outcome = replay(parse(text), path="t.psl")
    assert outcome.ok, outcome.report()
    assert outcome.steps_run == 3 and outcome.bindings["p.pid"].isdigit()


def test_replay_stops_at_the_first_difference_unless_keep_going() -> None:
    text = "psl> echo a\nb\npsl> echo c\nd\npsl> echo e\ne\n"
    stopped = replay(parse(text), path="t.psl")
    assert not stopped.ok and stopped.steps_run == 1 and len(stopped.failures) == 1
    going = replay(parse(text), path="t.psl", keep_going=True)
    assert going.steps_run == 3 and len(going.failures) == 2
    assert going.report().startswith("t.psl: FAIL\nt.psl:1: psl> echo a\n")


def test_replay_is_hermetic_and_closes_everything() -> None:
    from tests.helpers import child_pids

    before = child_pids()
    text = "psl> spawn a -- sleep 60\na: started pid {a.pid}: sleep 60\npsl> echo wrong\nright\n"
    outcome = replay(parse(text), path="t.psl")
    assert not outcome.ok
    assert child_pids() == before  # the failed replay still closed its child
    again = replay(parse("psl> ls\n(nothing live: spawn a process, or `help` for what "
                         "you can start)\n"), path="t.psl")  # fmt: skip
    assert again.ok, again.report()  # a fresh session: nothing left from the last one
