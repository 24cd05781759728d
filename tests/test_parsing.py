"""The line parser, DATA escapes, hex, names and the argument matcher."""

from __future__ import annotations

import pytest

from pslrepl.commandspec import Arg, Command, Opt, parse_args
from pslrepl.errors import UsageError
from pslrepl.kinds import NEW, SECONDS
from pslrepl.parsing import (
    check_name,
    last_segment,
    parse_duration,
    parse_hex,
    split_commands,
    tokenize,
    unescape,
)


def words(line: str) -> list[list[str]]:
    return [[t.text for t in cmd] for cmd in split_commands(line)]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("send c hi", [["send", "c", "hi"]]),
        ("a b; c d", [["a", "b"], ["c", "d"]]),
        ('echo "a;b" ; x', [["echo", "a;b"], ["x"]]),
        ("echo 'it''s'", [["echo", "its"]]),
        ('send c "GET /\\r\\n"', [["send", "c", "GET /\\r\\n"]]),
        ('echo "say \\"hi\\""', [["echo", 'say "hi"']]),
        ("echo a\\ b", [["echo", "a b"]]),
        ("echo x # a comment; not a command", [["echo", "x"]]),
        ("echo f#g", [["echo", "f#g"]]),
        ("  ;; ; ", []),
        ("# only a comment", []),
        ('echo ""', [["echo", ""]]),
    ],
)
def test_split(line: str, expected: list[list[str]]) -> None:
    assert words(line) == expected


def test_a_leading_tilde_is_home_as_in_sh() -> None:
    import os

    home = os.path.expanduser("~")
    assert words("serve w tcp 0 --dir ~/www; cd ~;echo ~") == [
        ["serve", "w", "tcp", "0", "--dir", f"{home}/www"], ["cd", home], ["echo", home],
    ]  # fmt: skip
    # quoted, inside a word, or ~user: left as typed
    assert words("echo '~' \"~/x\" a~b ~root x/~ \\~") == [
        ["echo", "~", "~/x", "a~b", "~root", "x/~", "~"]
    ]
    # and not while the line is being typed: completion works on what the user sees
    assert tokenize("source ~/ab", strict=False).commands[0][1].text == "~/ab"


def test_quoted_separator_is_data_not_a_separator() -> None:
    (cmd,) = split_commands('echo ";"')
    assert cmd[1].text == ";" and cmd[1].quoted


@pytest.mark.parametrize("line", ['echo "abc', "echo 'abc", 'a; b "c'])
def test_unterminated_quote_is_an_error(line: str) -> None:
    with pytest.raises(UsageError, match="unterminated"):
        split_commands(line)


def test_lenient_tokenize_keeps_the_partial_word() -> None:
    split = tokenize('send c "hel', strict=False)
    assert split.unterminated == '"'
    assert split.commands[0][-1].text == "hel"


def test_last_segment() -> None:
    assert last_segment('a b; c "d;e" f') == ' c "d;e" f'
    assert last_segment("x;") == ""
    assert last_segment("a \\; b") == "a \\; b"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hi\\n", b"hi\n"),
        ("GET / HTTP/1.0\\r\\n\\r\\n", b"GET / HTTP/1.0\r\n\r\n"),
        ("\\x00\\xff", b"\x00\xff"),
        ("tab\\there", b"tab\there"),
        ("caf\u00e9", "caf\u00e9".encode()),
        ("back\\\\slash", b"back\\slash"),
        ("\\q stays", b"\\q stays"),
    ],
)
def test_unescape(text: str, expected: bytes) -> None:
    assert unescape(text) == expected


def test_unescape_bad_escape() -> None:
    with pytest.raises(UsageError, match="bad escape"):
        unescape("\\x4")


def test_unescape_other_encoding() -> None:
    assert unescape("\u00e9", encoding="latin-1") == b"\xe9"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("de ad be ef", b"\xde\xad\xbe\xef"), ("0xCAFE", b"\xca\xfe"), ("01:02", b"\x01\x02")],
)
def test_parse_hex(text: str, expected: bytes) -> None:
    assert parse_hex(text) == expected


@pytest.mark.parametrize("text", ["abc", "zz", "1 2 3"])
def test_parse_hex_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="bad hex"):
        parse_hex(text)


@pytest.mark.parametrize("text", ["-1", "nan", "inf", "soon"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)


@pytest.mark.parametrize("name", ["p", "srv_1", "a-b", "_x"])
def test_good_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["1p", "a b", "a.b", "", "-x", "é"])
def test_bad_names(name: str) -> None:
    with pytest.raises(UsageError, match="not a valid name"):
        check_name(name)


def _noop(ctx: object) -> None:
    return None


SPAWN = Command(
    "spawn",
    "t",
    "",
    _noop,
    args=(Arg("NAME", NEW),),
    rest=True,
    opts=(
        Opt("--shell", ""),
        Opt("--env", "", "K=V", repeat=True),
        Opt("--timeout", "", "S", kind=SECONDS),
    ),
)
READ = Command(
    "read",
    "t",
    "",
    _noop,
    args=(Arg("NAME"),),
    opts=(Opt("--line", "", exclusive="m"), Opt("--all", "", exclusive="m")),
)
ACCEPT = Command("accept", "t", "", _noop, args=(Arg("L"), Arg("NAME", optional=True)))


def parse(cmd: Command, line: str) -> tuple[dict[str, object], list[str]]:
    (tokens,) = split_commands(line) or [[]]
    return parse_args(cmd, tokens)


def test_rest_after_double_dash() -> None:
    values, argv = parse(SPAWN, "p --shell -- sort -r --key 2")
    assert values["name"] == "p" and values["shell"] is True
    assert argv == ["sort", "-r", "--key", "2"]


def test_rest_starts_at_first_extra_word() -> None:
    values, argv = parse(SPAWN, "p --env A=1 --env B=2 ls -l --color")
    assert values["env"] == ["A=1", "B=2"]
    assert argv == ["ls", "-l", "--color"]


def test_option_with_equals_and_conversion() -> None:
    values, _ = parse(SPAWN, "p --timeout=2.5 x")
    assert values["timeout"] == 2.5


@pytest.mark.parametrize(
    ("cmd", "line", "message"),
    [
        (SPAWN, "p --nope x", "unknown option --nope"),
        (SPAWN, "p --timeout", "--timeout needs a value"),
        (SPAWN, "p --timeout abc x", "must be a number"),
        (SPAWN, "p --shell=yes x", "takes no value"),
        (READ, "", "missing NAME"),
        (READ, "p q", "unexpected 'q'"),
        (READ, "p --line --all", "can't be used together"),
    ],
)
def test_parse_errors(cmd: Command, line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse(cmd, line)


def test_optional_positional() -> None:
    assert parse(ACCEPT, "srv")[0] == {"l": "srv", "name": None}
    assert parse(ACCEPT, "srv s")[0] == {"l": "srv", "name": "s"}


def test_usage_text() -> None:
    assert SPAWN.usage() == "spawn [--shell] [--env K=V]... [--timeout S] NAME [--] ARGV..."


def test_stream_buffer_announces_once_until_read() -> None:
    from pslrepl.resources.buffers import StreamBuffer

    buf = StreamBuffer(cap=8)
    assert buf.announce() is None
    buf.feed(b"abc")
    assert buf.announce() == (3, b"abc")
    buf.feed(b"d")
    assert buf.announce() is None  # news, but less than a second after the last notice
    buf.take()
    buf.feed(b"xyz123456")
    assert buf.announce() == (8, b"yz123456")  # read up in between: news again
    assert buf.dropped == 1
