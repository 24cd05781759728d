"""Transcript parsing, matching, diffs and rewriting (pure), and replay in a session."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pslrepl.replay import replay
from pslrepl.transcript import (
    PLACEHOLDER,
    align,
    commands_in,
    diff,
    expand,
    expected_line,
    format_transcript,
    literal,
    match_line,
    match_output,
    name_values,
    parse,
    split_values,
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


def test_a_mismatch_under_many_dots_lines_is_found_in_lines_times_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each `...` tried every split again after a failure: 200 lines under 4 `...` took
    15 s to say a last line was missing, 7 `...` ran past any time limit."""
    from pslrepl.transcript import matching

    calls = 0
    real = matching.match_line

    def counted(expected: str, actual: str, bindings: dict[str, str]) -> dict[str, str] | None:
        nonlocal calls
        calls += 1
        if calls > 400 * 16:  # about output lines x expected lines, at most
            raise AssertionError("match_output tries the same places again")
        return real(expected, actual, bindings)

    monkeypatch.setattr(matching, "match_line", counted)
    lines = ["x"] * 400
    expected = ["...", "x"] * 7 + ["...", "y"]
    assert match_output(expected, lines, {}) is None
    assert match_output(expected[:-1] + ["x"], lines, {}) == {}
    assert match_output(["...", "...", "x", "...", "{n}"], ["a", "x", "b", "c"], {}) == {"n": "c"}
    # a capture taken under one `...` is what a later line must repeat
    text = ["port 1", "port 2", "end 2"]
    assert match_output(["...", "port {?p}", "...", "end {p}"], text, {}) == {"p": "2"}
    assert match_output(["...", "port {?p}", "...", "end {p}"], text[:2] + ["end 3"], {}) is None


def test_empty_output_and_error_only_output() -> None:
    assert match_output([], [], {}) == {}
    assert match_output([], ["surprise"], {}) is None
    assert match_output(["error: boom"], ["error: boom"], {}) == {}
    assert match_output(["error: boom"], [], {}) is None


def test_diff_marks_only_real_differences_with_values_resolved() -> None:
    (step,) = parse("psl> x\npid {p.pid}\nsame\nold line on {srv.port}\n").steps
    lines = diff(step, ["pid 99", "same", "new line"], {"srv.port": "4321"}, where="t.psl")
    assert lines[0] == "t.psl:1: psl> x"
    assert "-old line on 4321" in lines and "+new line" in lines
    assert " pid 99" in lines  # matched: shown as the output it matched, not as a change


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
            "psl> py \"p.pid == {p.pid}\"\nTrue\n"
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


# -- commands_in: a pasted block --------------------------------------------------------

README_BLOCK = """\
psl> spawn p -- sort                  # subprocess.Popen(['sort'], stdin=PIPE, ...)
p: started pid 4242: sort
psl> writeline p banana
p: wrote 7 bytes

# a comment between steps
psl> read p --all                     # read until the child closes stdout
apple
psl> this is output that looks like a command? no: it has the prompt
spawn q -- output that looks like a command
psl>
psl>    \n\
psl> send c tail\\ \n\
"""


def test_commands_in_takes_only_prompted_lines_of_a_transcript_block() -> None:
    assert commands_in(README_BLOCK) == [
        "spawn p -- sort                  # subprocess.Popen(['sort'], stdin=PIPE, ...)",
        "writeline p banana",
        "read p --all                     # read until the child closes stdout",
        "this is output that looks like a command? no: it has the prompt",
        "send c tail\\ ",  # a trailing escaped space is part of the command
    ]


@pytest.mark.parametrize("end", ["\r\n", "\r", "\n"])
def test_commands_in_reads_any_line_end(end: str) -> None:
    block = end.join(["psl> echo a", "a", "psl> echo b  ", "b", ""])
    assert commands_in(block) == ["echo a", "echo b  "]
    assert commands_in(end.join(["echo a", "", "# note", "echo b"])) == [
        "echo a", "", "# note", "echo b"
    ]  # fmt: skip


def test_commands_in_a_block_without_prompts_is_every_line() -> None:
    assert commands_in("spawn p -- cat\nwriteline p hi\n") == ["spawn p -- cat", "writeline p hi"]
    assert commands_in("") == []
    assert commands_in("\n") == [""]
    # a lone "psl>" makes it a transcript block, which then holds no command
    assert commands_in("psl>\noutput\n") == []


def test_commands_in_an_indented_block() -> None:
    block = "    psl> echo a\n    a\n\n    psl> echo b\n    b\n"
    assert commands_in(block) == ["echo a", "echo b"]
    assert commands_in("\tpsl> echo a\n  psl>  echo b\n") == ["echo a", " echo b"]


# -- escaping what a transcript line can't hold ------------------------------------------


def test_parse_splits_at_line_feeds_only() -> None:
    text = "psl> x\na\x0cb\x85c\u2028d\x1ce\r\npsl> y\r\nz\r\n"
    t = parse(text)
    assert [s.command for s in t.steps] == ["x", "y"]
    assert t.steps[0].expected == ["a\x0cb\x85c\u2028d\x1ce"]
    assert t.steps[1].expected == ["z"]


@pytest.mark.parametrize(
    "line",
    [
        "a\x00b", "cr\rhere", "esc \x1b[1mbold\x1b[0m", "tab\tand\x7fdel", "nel\x85",
        "ls\u2028ps\u2029", "\udcff lone surrogate", "psl>", "#", "x (re)", "{a}",
        "a.b*c?(d)[e]{f}|g^h$i\\j",
    ],
)  # fmt: skip
def test_literal_writes_any_line_as_one_safe_line(line: str) -> None:
    written = literal(line)
    assert "\n" not in written and written.encode("utf-8")  # one valid UTF-8 line
    assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]", written)
    (step,) = parse(f"psl> x\n{written}\n").steps
    assert step.expected == [written]
    assert match_line(written, line, {}) == {}
    assert match_line(written, line + "x", {}) is None


def test_expected_line_turns_values_into_wildcards_when_it_must_escape() -> None:
    assert expected_line([("pid ", None), ("42", "p.pid")]) == "pid {p.pid}"
    line = expected_line([("# pid ", None), ("42", "p.pid"), (" at ", None), ("12:00:00", "time")])
    assert line.endswith(" (re)") and not PLACEHOLDER.search(line)
    assert match_line(line, "# pid 7 at 01:02:03", {}) == {}
    assert match_line(line, "# pid 7 at noon", {}) is None
    # a brace pair in the text beside a placeholder must not read as another one: it is
    # written doubled, its own text, and the placeholder stays one
    line = expected_line([("{a} ", None), ("42", "p.pid")])
    assert line == "{{a}} {p.pid}"
    assert (
        match_line(line, "{a} 99", {}) == {"p.pid": "99"} and match_line(line, "x 99", {}) is None
    )
    # a brace right beside the placeholder would read as {{p.pid}}: a (re) line then
    line = expected_line([("{", None), ("42", "p.pid"), ("}", None)])
    assert line.endswith(" (re)") and match_line(line, "{7}", {}) == {}


# -- placeholders: a value only where it stands as what it is ---------------------------

LIVE = {
    "u.port": "0",
    "u.laddr": "0.0.0.0:0",
    "srv.port": "41711",
    "srv.laddr": "127.0.0.1:41711",
    "srv.addr": "127.0.0.1:41711",
    "c.port": "36958",
    "c.laddr": "127.0.0.1:36958",
    "c.raddr": "127.0.0.1:41711",
    "low.port": "80",
    "low.laddr": "127.0.0.1:80",
    "p.pid": "42",
    "q.pid": "31337",
    "r.pid": "693",
    "tmp": "/tmp/pslrepl-x",
}


@pytest.mark.parametrize(
    ("text", "context", "written"),
    [
        # zeros and small numbers mean what they say
        ("100 and 0 and 2020", "echo 100 and 0 and 2020", "100 and 0 and 2020"),
        ("bytes in:    0", "info u", "bytes in:    0"),
        ("u     udp  open  0.0.0.0:0    0   0", "ls", "u     udp  open  0.0.0.0:0    0   0"),
        ("low: listening on 127.0.0.1:80", "", "low: listening on 127.0.0.1:80"),
        ("80", "py low.getsockname()[1]", "80"),
        # an address whole, the longest and own name first
        ("c: connected 127.0.0.1:36958 -> 127.0.0.1:41711", "tcp connect c srv",
         "c: connected {c.laddr} -> {srv.laddr}"),
        ("127.0.0.1:417110 and 127.0.0.1:4171", "", "127.0.0.1:417110 and 127.0.0.1:4171"),
        ("[::1]:41711 and localhost:41711", "", "[::1]:{srv.port} and localhost:{srv.port}"),
        # a port where it stands as one
        ("('127.0.0.1', 36958)", "py c.getsockname()", "('127.0.0.1', {c.port})"),
        ("41711", "py c.getpeername()[1]", "{srv.port}"),  # c is connected to srv
        ("41711", "echo 41711", "41711"),  # nothing says it is srv's
        ("on port 41711", "", "on port {srv.port}"),
        ("sent 41711 bytes", "", "sent 41711 bytes"),
        # a pid after "pid", or as the whole line about its process
        ("p: started pid 42: cat", "spawn p -- cat", "p: started pid {p.pid}: cat"),
        ("42", "py p.pid", "{p.pid}"),
        ("p: wrote 42 bytes", "writeline p x", "p: wrote 42 bytes"),
        ("r: wrote 693 bytes", "writeline r x", "r: wrote {r.pid} bytes"),  # a rare clash
        ("r     693      running", "ps", "r     {r.pid}      running"),
        ("q  31337  running", "ps", "q  {q.pid}  running"),
        ("31337 bytes", "py 1", "31337 bytes"),
        # paths wherever they stand; clock times in what is left
        ("sha256 76:12:00:01:ff", "", "sha256 76:12:00:01:ff"),
        ("made /tmp/pslrepl-x/f at 12:00:01.500", "", "made {tmp}/f at {time}"),
    ],
)  # fmt: skip
def test_split_values_names_a_value_only_where_it_is_one(
    text: str, context: str, written: str
) -> None:
    assert name_values(text, LIVE, context=context) == written


@pytest.mark.parametrize(
    ("command", "written"),
    [
        ("echo 100 and 0 and 2020", "echo 100 and 0 and 2020"),
        ("htons 0", "htons 0"),
        ("tcp listen srv 0", "tcp listen srv 0"),
        ("tcp connect d 41711", "tcp connect d {srv.port}"),  # a bare PORT is an ADDR
        ("tcp connect d 127.0.0.1:41711", "tcp connect d {srv.laddr}"),
        ("sendto u [::1]:41711 hi", "sendto u [::1]:{srv.port} hi"),
        ("py c.connect(('127.0.0.1', 41711))", "py c.connect(('127.0.0.1', {srv.port}))"),
        ("send c 41711x", "send c 41711x"),
        ("run -- kill -TERM 31337", "run -- kill -TERM {q.pid}"),
        ("writeline p 42", "writeline p 42"),
        ("run -- ls {tmp} /tmp/pslrepl-x/a", "run -- ls {tmp} {tmp}/a"),
        ("sleep 12:00:00", "sleep 12:00:00"),  # times only in output
    ],
)
def test_split_values_in_a_command(command: str, written: str) -> None:
    assert name_values(command, LIVE, times=False, command=True) == written


def test_an_http_dates_day_is_written_as_date_and_matches_any_day() -> None:
    """Only the clock part of `Date: Mon, 30 Nov 2026 12:00:00 GMT` became {time}: a
    response recorded one day failed the next."""
    shown = "Date: Mon, 30 Nov 2026 12:34:56 GMT\r"
    written = name_values(shown, {})
    assert written == "Date: {date} {time} GMT\r"
    for other in ("Date: Tue, 01 Dec 2026 00:00:01 GMT\r", shown):
        assert match_line(written, other, {}) == {}
    assert match_line(written, "Date: tomorrow 00:00:01 GMT\r", {}) is None
    # a day that is no HTTP date's stays as it is
    assert name_values("Mon 30 Nov 2026 and 2026-11-30", {}) == "Mon 30 Nov 2026 and 2026-11-30"
    assert name_values("Mon, 30 Nov 2026", {}, times=False) == "Mon, 30 Nov 2026"


def test_a_listener_address_is_named_whole_never_host_and_port() -> None:
    """{srv.laddr}, not 127.0.0.1:{srv.port}: a replay on another address still binds."""
    named = {"srv.port": "41711", "srv.laddr": "127.0.0.1:41711"}
    assert split_values("on 127.0.0.1:41711.", named) == [
        ("on ", None), ("127.0.0.1:41711", "srv.laddr"), (".", None)
    ]  # fmt: skip
    named = {"srv.laddr": "127.0.0.1:41711", "srv.port": "41711"}  # in either order
    assert name_values("127.0.0.1:41711", named) == "{srv.laddr}"
    # the peer's view of the same address names the listener's: bound first in a replay
    named = {"c.raddr": "127.0.0.1:41711", "srv.laddr": "127.0.0.1:41711"}
    assert name_values("-> 127.0.0.1:41711", named) == "-> {srv.laddr}"


def test_replay_binds_values_the_session_learns_and_names_used_again() -> None:
    """A command may use a value no output showed ({srv.port}: the listener showed its
    address), and a name spawned again is a new child with a new pid."""
    text = (
        "psl> tcp listen srv 0\nsrv: listening on {srv.laddr}\n"
        "psl> tcp connect c {srv.port}\nc: connected {c.laddr} -> {srv.laddr}\n"
        "psl> spawn p -- cat\np: started pid {p.pid}: cat\n"
        "psl> close p\np: terminated: killed by SIGTERM (signal 15)\n"
        "psl> spawn p -- cat\np: started pid {p.pid}: cat\n"
        "psl> py p.pid\n{p.pid}\n"
    )
    outcome = replay(parse(text), path="t.psl")
    assert outcome.ok, outcome.report()
    # a value bound to the live one is checked against it, not merely taken
    wrong = text.replace("psl> py p.pid\n{p.pid}\n", "psl> py p.pid + 1\n{p.pid}\n")
    assert not replay(parse(wrong), path="t.psl").ok


def test_a_long_output_with_one_line_changed_diffs_to_that_line() -> None:
    """Lines that match at both ends are paired as they stand: a 30,000-line output
    costs no 30,000 x 30,000 table (minutes and gigabytes) to diff or update."""
    expected = [f"line {i}" for i in range(30_000)]
    actual = list(expected)
    actual[15_000] = "changed"
    pairs = align(expected, actual, {})
    assert [p for p in pairs if p[0] != "="] == [("+", "changed"), ("-", "line 15000")]
    assert len(pairs) == 30_001
    # nothing in common: paired line by line, each shown once
    other = [f"other {i}" for i in range(30_000)]
    pairs = align(expected, other, {})
    assert pairs[:2] == [("-", "line 0"), ("+", "other 0")] and len(pairs) == 60_000


def test_replay_of_a_long_output_shows_only_the_changed_line() -> None:
    lines = [str(i) for i in range(1, 20_001)]
    lines[9_999] = "ten thousand"
    text = "psl> run -- seq 20000\n" + "\n".join(lines) + "\nexited with status 0\n"
    outcome = replay(parse(text), path="t.psl")
    assert not outcome.ok
    (failure,) = outcome.failures
    assert [line for line in failure if line[:1] in "+-" and line[:3] not in ("---", "+++")] == [
        "-ten thousand", "+10000"
    ]  # fmt: skip


# Any character at all, lone surrogates and controls included, but LF: an output line.
ANY_CHAR = st.characters(blacklist_categories=(), blacklist_characters="\n")


@settings(max_examples=300, deadline=None)
@given(st.text(ANY_CHAR, max_size=40))
def test_any_output_line_is_written_as_one_line_that_matches_it(line: str) -> None:
    written = literal(line)
    written.encode("utf-8")  # strict: a transcript is UTF-8 text
    (step,) = parse(f"psl> x\n{written}\n").steps
    assert step.expected == [written]
    assert match_line(written, line, {}) == {}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(ANY_CHAR, max_size=8), st.text(ANY_CHAR, min_size=1, max_size=8)),
        max_size=4,
    ),
    st.text(ANY_CHAR, max_size=8),
)
def test_a_line_with_values_matches_what_was_shown(parts: list[tuple[str, str]], last: str) -> None:
    """Whatever the text around them, a line written with placeholders (or, where it had
    to be escaped, wildcards) matches the line it was written from."""
    segments: list[tuple[str, str | None]] = []
    for i, (text, value) in enumerate(parts):
        segments += [(text, None), (value, f"v{i}.port")]
    segments.append((last, None))
    written = expected_line(segments)
    (step,) = parse(f"psl> x\n{written}\n").steps
    assert step.expected == [written]
    shown = "".join(text for text, _ in segments)
    assert match_line(written, shown, {}) is not None


def test_diff_shows_control_characters_as_escapes() -> None:
    """A diff goes to a terminal or a CI log: an escape sequence in output is shown, not
    played."""
    (step,) = parse("psl> x\nplain\n").steps
    lines = diff(step, ["nul\x00 cr\r esc\x1b[31m red"], {}, where="t.psl")
    assert "+nul\\x00 cr\\x0d esc\\x1b[31m red" in lines
    assert not any("\x1b" in line or "\x00" in line for line in lines)


def test_diff_says_why_lines_that_read_alike_still_differ() -> None:
    """An expected pattern line that reads exactly as the output (a (re) line shown as
    text) would make an empty diff: the diff names it instead."""
    (step,) = parse("psl> x\nkeep\n-- x -- (re)\n").steps
    lines = diff(step, ["keep", "-- x -- (re)"], {}, where="t.psl")
    assert lines == [
        "t.psl:1: psl> x",
        "expected '-- x -- (re)' reads the same as the output yet does not match it: a "
        "(re), (glob) or {?capture} line matches as a pattern, not as text",
    ]


def test_lines_a_dots_line_matched_are_no_difference_and_update_keeps_the_dots(
    tmp_path: Path,
) -> None:
    """Only the status differs: the diff marks it alone (x, y, z are context under the
    `...` that matched them), and --update keeps `...` and the patterns around it."""
    from pslrepl.replay import update_file

    text = ('psl> run -- printf "x\\ny\\nz\\nw\\n"\n...\nw\nexited with status 1\n'
            "psl> echo a1; echo b; echo c3; echo e\na\\d (re)\n...\ne\nnot f\n")  # fmt: skip
    outcome = replay(parse(text), path="t.psl", keep_going=True)
    first = outcome.failures[0]
    body = [line for line in first if line[:1] in "+-" and line[:3] not in ("---", "+++")]
    assert body == ["-exited with status 1", "+exited with status 0"], first
    assert " y" in first and " z" in first  # shown as context, as they matched
    second = outcome.failures[1]
    body = [line for line in second if line[:1] in "+-" and line[:3] not in ("---", "+++")]
    assert body == ["-not f"], second
    path = tmp_path / "t.psl"
    path.write_text(text)
    update_file(str(path))
    assert path.read_text() == text.replace("status 1", "status 0").replace("\nnot f\n", "\n")


def test_align_pairs_a_dots_line_with_what_it_matched() -> None:
    pairs = align(["a", "...", "d", "x"], ["a", "b", "c", "d", "y"], {})
    assert pairs == [("=", "a"), ("~", "b"), ("~", "c"), (".", "..."), ("=", "d"),
                     ("+", "y"), ("-", "x")]  # fmt: skip
    assert align(["...", "a"], ["b"], {}) == [("~", "b"), (".", "..."), ("-", "a")]
    assert align(["...", "a"], ["a"], {}) == [(".", "..."), ("=", "a")]
