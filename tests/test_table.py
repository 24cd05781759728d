"""The command table is the one source: help, examples, lexer and completer agree with it."""

from __future__ import annotations

from pygments.token import Keyword, Name, Number, String, Token

from pslrepl.commands import all_commands
from pslrepl.dispatch import CommandTable
from pslrepl.highlight import classify
from pslrepl.pygments_lexer import PslLexer
from tests.helpers import Shell, complete

COMMANDS = all_commands()
GROUPS = ("session", "processes", "signals", "sockets", "lookups", "servers", "tls")
CONTRACT = (
    "help ls info close log wait set echo sleep py source exit quit run spawn write writeline "
    "eof read expect poll communicate signal terminate kill ps sh sudo trap signals alarm "
    "record accept socketpair send sendall sendline sendto recv recvfrom shutdown sockopt "
    "settimeout setblocking dup getaddrinfo gethostbyname gethostbyname_ex gethostbyaddr "
    "getnameinfo getfqdn gethostname getservbyname getservbyport getprotobyname htons htonl "
    "ntohs ntohl inet_aton inet_ntoa inet_pton inet_ntop getdefaulttimeout setdefaulttimeout "
    "serve stop clients handlers relay"
).split()


def test_contract_commands_exist() -> None:
    table = CommandTable(COMMANDS)
    missing = [name for name in CONTRACT if name not in table.by_name]
    two_words = [
        "tcp connect",
        "tcp listen",
        "udp open",
        "unix connect",
        "unix listen",
        "unix dgram",
        "tls connect",
        "tls wrap",
        "tls info",
        "ca show",
        "ca export",
    ]
    missing += [name for name in two_words if name not in table.by_name]
    assert not missing


def test_every_command_is_documented() -> None:
    """Each has a summary, examples (test_reference.py runs them) and a known group."""
    undocumented = [c.name for c in COMMANDS if not (c.summary and c.examples)]
    assert undocumented == []
    assert {c.group.key for c in COMMANDS} <= set(GROUPS)


def lex(line: str) -> list[tuple[object, str]]:
    return [(tok, text) for tok, text in PslLexer().get_tokens(line) if text.strip()]


def test_lexer_highlights_the_parts() -> None:
    tokens = lex('spawn p --shell -- "echo hi" 42 # note; x')
    assert tokens[0] == (Keyword, "spawn")
    assert (Name.Attribute, "--shell") in tokens
    assert (String, '"echo hi"') in tokens
    assert (Number, "42") in tokens
    assert tokens[-1] == (Token.Comment.Single, "# note; x")


def test_lexer_knows_every_command() -> None:
    for name in CommandTable(COMMANDS).by_name:
        words = name.split()
        assert lex(name + " x")[: len(words)] == [(Keyword, w) for w in words], name


def test_lexer_after_semicolon() -> None:
    tokens = lex("echo a; read --line")
    assert (Keyword, "echo") in tokens and (Keyword, "read") in tokens
    assert (Token.Punctuation, ";") in tokens


def test_pygments_lexer_keeps_every_character() -> None:
    text = 'psl> spawn p -- "a b"\n  # c\n\nsend c hi;x\n'
    assert "".join(v for _, _, v in PslLexer().get_tokens_unprocessed(text)) == text


def test_classify_knows_live_names_and_object_first(shell: Shell) -> None:
    shell.ok("spawn worker -- cat")
    table = shell.dispatcher.table
    pieces = classify("worker read --line 'x y' 3 ; ghost # hm", is_command=table.knows,
                      names=shell.session.registry)  # fmt: skip
    assert "".join(text for _, text in pieces) == "worker read --line 'x y' 3 ; ghost # hm"
    assert [p for p in pieces if p[0]] == [
        ("name", "worker"), ("command", "read"), ("option", "--line"), ("string", "'x y'"),
        ("number", "3"), ("punct", ";"), ("text", "ghost"), ("comment", "# hm"),
    ]  # fmt: skip


def test_completion(shell: Shell, tmp_path: object) -> None:
    shell.ok("spawn p1 -- cat; spawn p2 -- cat")
    assert complete(shell, "sp") == ["spawn"]
    assert "p1" in complete(shell, "")
    assert complete(shell, "read ") == ["p1", "p2"]
    assert complete(shell, "read p1 --l") == ["--line"]
    assert "--stderr" in complete(shell, "read p1 --")
    assert complete(shell, "signal p1 US") == ["USR1", "USR2"]
    assert "SIGTERM" in complete(shell, "signal p1 SIGT")
    assert complete(shell, "set disp") == ["display"]
    assert complete(shell, "set display ") == ["text", "hex", "repr"]
    assert complete(shell, "help spa") == ["spawn"]
    assert complete(shell, "echo x; wri") == ["write", "writeline"]
    assert "read" in complete(shell, "p1 ")
    assert complete(shell, "spawn p -- ") == []


def test_path_completion(shell: Shell, tmp_path: object) -> None:
    from pathlib import Path

    base = Path(str(tmp_path))
    (base / "demo-script.psl").write_text("echo hi\n")
    got = complete(shell, f"source {base}/demo-")
    assert got == [f"{base}/demo-script.psl"]


def completions(shell: Shell, text: str) -> dict[str, str]:
    """What Tab offers after ``text``, each with what the menu says beside it."""
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    from pslrepl.completer import PslCompleter

    completer = PslCompleter(shell.session, shell.dispatcher.table)
    got = completer.get_completions(Document(text), CompleteEvent())
    return {c.text: c.display_meta_text for c in got}


def test_the_menu_says_what_each_choice_is(shell: Shell) -> None:
    from pslrepl.handlers import DESCRIPTIONS

    table = CommandTable(COMMANDS)
    shell.ok("spawn worker -- cat")
    assert completions(shell, "spa") == {"spawn": table.by_name["spawn"].summary}
    assert completions(shell, "tc") == {"tcp": "tcp connect, tcp listen"}
    assert completions(shell, "tcp c") == {"connect": table.by_name["tcp connect"].summary}
    assert completions(shell, "wor") == {"worker": "process, running"}
    assert completions(shell, "read wor") == {"worker": "process, running"}
    spawn = table.by_name["spawn"]
    shell_opt = spawn.find_opt("--shell")
    assert shell_opt is not None
    assert completions(shell, "spawn p --sh") == {"--shell": shell_opt.help}
    assert completions(shell, "set disp") == {"display": shell.session.settings.HELP["display"]}
    assert completions(shell, "serve s tcp 0 --handler cha")["chat"] == DESCRIPTIONS["chat"]
    assert completions(shell, "serve s tcp 0 --handler forw") == {
        "forward:": DESCRIPTIONS["forward:ADDR"]
    }
    assert completions(shell, "signal worker SIGINT") == {"SIGINT": "Interrupt; default: Term"}
    assert completions(shell, "signal worker QUI") == {"QUIT": "Quit; default: Core"}
    # Every command and option has its text beside it.
    assert all(completions(shell, "").values())
    assert all(completions(shell, "serve s tcp 0 --").values())


def test_a_directory_completes_with_its_slash(shell: Shell, tmp_path: object) -> None:
    from pathlib import Path

    base = Path(str(tmp_path))
    (base / "scripts").mkdir()
    (base / "scripts" / "demo.psl").write_text("echo hi\n")
    (base / "scratch.psl").write_text("echo hi\n")
    assert set(completions(shell, f"source {base}/scr")) == {
        f"{base}/scripts/",  # Tab again goes on inside it
        f"{base}/scratch.psl",
    }
    assert list(completions(shell, f"source {base}/scripts/")) == [f"{base}/scripts/demo.psl"]


def test_an_unknown_command_is_an_error_while_it_is_typed(shell: Shell) -> None:
    from prompt_toolkit.document import Document

    from pslrepl.lexer import PromptLexer
    from pslrepl.style import STYLES

    shell.ok("spawn worker -- cat")
    lexer = PromptLexer(shell.session, shell.dispatcher.table.knows)

    def classes(line: str) -> list[tuple[str, str]]:
        return [p for p in lexer.lex_document(Document(line))(0) if p[1].strip()]

    assert classes("spwn p -- cat")[0] == ("class:psl.error", "spwn")
    assert classes("spawn p -- cat")[0] == ("class:psl.command", "spawn")
    assert classes("echo a; bogus x")[3] == ("class:psl.error", "bogus")
    assert classes("worker reed")[:2] == [("class:psl.name", "worker"), ("class:psl.error", "reed")]
    assert classes("worker read")[:2] == [
        ("class:psl.name", "worker"), ("class:psl.command", "read")]  # fmt: skip
    assert "red" in STYLES["psl.error"] and "red" not in STYLES["psl.command"]
    # Documentation (pygments) keeps such a word plain text.
    assert lex("spwn p")[0] == (Token.Text, "spwn")
