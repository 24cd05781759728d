"""Fitting output to the interactive terminal: wrapping, tables cut with an ellipsis, the
toolbar in one line; and scripts' text left exactly as it was."""

from __future__ import annotations

import pytest

from pslrepl.commands import all_commands
from pslrepl.dispatch import CommandTable
from pslrepl.render import (
    ELLIPSIS,
    cut_text,
    fit_lines,
    line_width,
    render,
    render_table,
    text_width,
    wrap_line,
)
from pslrepl.results import Fragment, Line, Output, Table
from pslrepl.toolbar import toolbar_fragments
from tests.helpers import Shell, child


def plain(line: Line) -> str:
    return "".join(text for _, text in line)


def help_lines(shell: Shell, line: str = "help") -> list[Line]:
    """What `help` renders, as the printer gets it (before any fitting)."""
    got: list[list[Line]] = []
    shell.session.printer.listeners.append(got.append)
    shell.ok(line)
    shell.session.printer.listeners.remove(got.append)
    return [ln for batch in got for ln in batch]


TABLE = Table(
    ("NAME", "KIND", "STATE", "LOCAL", "REMOTE", "IN", "OUT", "AGE"),
    [
        [
            ("name", "p1"),
            ("kind", "process"),
            ("state.running", "running"),
            "pid 4242",
            "sort --key=1 --reverse /tmp/some/rather/long/file/name.txt",
            "0",
            "12",
            "3s",
        ],
        [
            ("name", "c"),
            ("kind", "tcp"),
            ("state.running", "connected"),
            "127.0.0.1:43210",
            "127.0.0.1:8080",
            "1200",
            "7",
            "1m",
        ],
    ],  # fmt: skip
    min_widths={3: len("pid 4194304")},
)


def test_a_script_prints_a_table_as_it_always_has() -> None:
    # The text scripts and transcripts compare: column widths from the widest cell, two
    # spaces apart, the header's trailing spaces and each row's last cell unpadded.
    assert [plain(line) for line in render_table(TABLE)] == [
        "NAME  KIND     STATE      LOCAL            "
        "REMOTE                                                      IN    OUT  AGE",
        "p1    process  running    pid 4242         "
        "sort --key=1 --reverse /tmp/some/rather/long/file/name.txt  0     12   3s",
        "c     tcp      connected  127.0.0.1:43210  "
        "127.0.0.1:8080                                              1200  7    1m",
    ]
    rows = render_table(TABLE)
    assert rows[1][:3] == [("name", "p1"), ("", "    "), ("kind", "process")]
    assert rows[0] == [("header", plain(rows[0]))]


@pytest.mark.parametrize("width", [60, 80, 120, 30, 12])
def test_a_table_is_fitted_by_cutting_its_widest_cells(width: int) -> None:
    natural = render_table(TABLE)
    fitted = fit_lines(natural, width)
    assert len(fitted) == len(natural)  # a row never wraps: one line each
    for line in fitted:
        assert line_width(line) <= width, (width, plain(line))
    if width >= 120:
        assert fitted == natural
        return
    # The REMOTE column, the widest, is cut with an ellipsis; the narrow ones stay whole.
    texts = [plain(line) for line in fitted]
    assert ELLIPSIS in texts[1]
    if width >= 60:
        assert texts[1].startswith("p1    process  running")
        assert texts[2].split()[-3:] == ["1200", "7", "1m"]
        assert "sort --" in texts[1] and "rather/long" not in texts[1]
    # Styles stay on their cells.
    assert fitted[1][0] == ("name", "p1")


def test_the_widest_columns_are_narrowed_first() -> None:
    table = Table(("A", "B", "C"), [["x" * 40, "y" * 20, "z"]])
    texts = [plain(line) for line in fit_lines(render_table(table), 40)]
    a, b, c = texts[1].split()
    # 40 columns: 36 for cells after the gaps; the 40- and 20-wide columns both come
    # down to 17 (the one left over goes to the first), C keeps its one character.
    assert (len(a), len(b), c) == (18, 17, "z")
    assert a.endswith(ELLIPSIS) and b.endswith(ELLIPSIS)


def test_help_wraps_at_words_under_its_column(shell: Shell) -> None:
    lines = help_lines(shell)
    for width in (60, 120):
        fitted = fit_lines(lines, width)
        texts = [plain(line) for line in fitted]
        assert all(text_width(t) <= width for t in texts)
        words_in = " ".join(plain(line) for line in lines).split()
        assert " ".join(texts).split() == words_in  # no word split, lost or added
        # `wait`'s summary is long: its next lines start under the summary's column.
        at = next(i for i, t in enumerate(texts) if t.startswith("  wait "))
        column = texts[at].index("block until")
        assert texts[at + 1][:column].strip() == ""
        assert texts[at + 1][column] != " "
    narrow = [plain(line) for line in fit_lines(lines, 60)]
    assert "--threadi" not in " ".join(narrow).replace("--threading", "")


def test_help_for_a_command_keeps_its_option_column(shell: Shell) -> None:
    lines = help_lines(shell, "help serve")
    texts = [plain(line) for line in fit_lines(lines, 60)]
    options = [t for t in texts if t.startswith("  --")]
    assert options
    column = options[0].index("  ", 4)
    column += len(options[0][column:]) - len(options[0][column:].lstrip())
    continued = [t for t in texts[texts.index(options[0]) :] if t.startswith(" " * column)]
    assert continued, texts  # some option's help runs over: under the help column
    assert all(t[column] != " " for t in continued)


def test_a_word_longer_than_the_line_is_split_where_the_line_ends() -> None:
    line: Line = [("key", "path: "), ("", "/" + "d" * 100)]
    out = [plain(ln) for ln in wrap_line(line, 40)]
    assert all(len(t) <= 40 for t in out)
    assert "".join(t.strip() for t in out) == "path:/" + "d" * 100
    assert out[1].startswith(" " * 6)  # under the value, after the key


def test_bytes_from_a_child_are_not_rewrapped() -> None:
    data = b"a b  c   " * 30  # its spaces are data: the terminal wraps it as it is
    lines = render(Output(data))
    assert fit_lines(lines, 40) == lines


def test_wide_characters_take_two_columns() -> None:
    assert text_width("日本") == 4 and text_width("e\u0301") == 1
    assert cut_text("日本語のテキスト", 7) == "日本語" + ELLIPSIS
    assert text_width(cut_text("日本語のテキスト", 7)) <= 7
    table = Table(("K", "V"), [["日本語のテキスト" * 3, "x"]])
    for line in fit_lines(render_table(table), 20):
        assert line_width(line) <= 20


def test_cut_text_boundaries() -> None:
    assert cut_text("abcdef", 6) == "abcdef"
    assert cut_text("abcdef", 5) == "abcd" + ELLIPSIS
    assert cut_text("abcdef", 1) == ELLIPSIS
    assert cut_text("abcdef", 0) == ""


def test_a_narrow_terminal_still_gets_one_line_per_row() -> None:
    lines = render_table(TABLE)
    for width in (1, 5, 8):
        fitted = fit_lines(lines, width)
        assert len(fitted) == len(lines)
        assert all(line_width(line) <= 8 for line in fitted)


def toolbar_text(fragments: list[Fragment]) -> str:
    return "".join(text for _, text in fragments)


@pytest.mark.parametrize("width", [10, 20, 40, 60, 80, 120, 200])
def test_the_toolbar_never_wraps(shell: Shell, width: int) -> None:
    assert text_width(toolbar_text(toolbar_fragments(shell.session, width=width))) < width
    for i in range(15):
        shell.spawn(f"worker{i}", "import sys; sys.stdin.read()")
    text = toolbar_text(toolbar_fragments(shell.session, width=width))
    assert text_width(text) < width, text
    if width >= 60:
        # As many as fit, then how many more (and where to see them).
        assert text.startswith(" worker0 running pid ")
        shown = text.count(" running pid ")
        assert text.endswith(f" | +{15 - shown} more (ls)"), text


def test_the_toolbar_shows_all_when_they_fit(shell: Shell) -> None:
    shell.ok(f"spawn a -- {child('import sys; sys.stdin.read()')}")
    shell.ok(f"spawn b -- {child('pass')}")
    shell.ok("wait b")
    text = toolbar_text(toolbar_fragments(shell.session, width=100))
    assert text.startswith(" a running pid ") and text.endswith(" | b exited 0")
    assert "more" not in text


def test_table_of_every_command_is_drawn_at_any_width() -> None:
    """Help's first-level list, from the real table: every summary word survives wrapping."""
    table = CommandTable(all_commands())
    lines: list[Line] = [
        [("command", f"  {cmd.name:<12}  "), ("", cmd.summary)] for cmd in table.commands
    ]
    for width in (40, 60, 100):
        fitted = fit_lines(lines, width)
        assert (
            " ".join(plain(ln) for ln in fitted).split()
            == " ".join(plain(ln) for ln in lines).split()
        )
        assert all(line_width(ln) <= width for ln in fitted)


def test_a_resource_too_long_for_the_toolbar_is_cut_and_the_rest_counted(shell: Shell) -> None:
    for i in range(3):
        shell.spawn(f"worker{i}", "import sys; sys.stdin.read()")
    text = toolbar_text(toolbar_fragments(shell.session, width=32))
    assert text.startswith(" worker0 runn") and text_width(text) == 31
    assert text.endswith(f"{ELLIPSIS} | +2 more (ls)")


def test_an_explain_line_is_never_wrapped() -> None:
    """A break inside a string literal would not paste: the terminal wraps it, not us."""
    line: Line = [("explain", "  a.send(b'" + "x" * 120 + " # not a comment')  # -> 133")]
    assert fit_lines([line], 60) == [line]
    prose: Line = [("", "word " * 30)]
    assert len(fit_lines([prose], 60)) > 1  # ordinary text still wraps at words
