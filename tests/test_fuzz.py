"""Thousands of random and half-valid lines at the dispatcher: one error line, no hang, no harm."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pslrepl.commands import all_commands
from tests.helpers import Shell, make_shell

# A vocabulary of safe words: real commands and options, names that exist and don't,
# programs that are harmless to run (never a word that deletes or loops forever).
COMMAND_WORDS = sorted({w for c in all_commands() for w in c.name.split()} - {"sudo"})
OPTIONS = sorted({o.name for c in all_commands() for o in c.opts}) + ["--", "--nope", "--x="]
NAMES = ["p", "q", "sig", "session", "1bad", "a-b", "x" * 40]
PROGRAMS = ["cat", "true", "false", "sort", "echo", "sleep", "head", "tr"]
VALUES = [
    "0",
    "0.01",
    "-1",
    "1e9",
    "nan",
    "",
    "abc",
    "'quoted value'",
    '"dq \\x00"',
    "\\xff",
    "hi\\n",
    "de ad",
    "INT",
    "USR1",
    "KILL",
    "999",
    "hex",
    "live",
    "on",
]
JUNK = ["'", '"', ";", "#", "\\", "\x00", "é", "\t", "$(x)", "|", ">", "&"]

word = st.sampled_from(COMMAND_WORDS + OPTIONS + NAMES + PROGRAMS + VALUES + JUNK)
line_strategy = st.one_of(
    st.lists(word, min_size=0, max_size=8).map(" ".join),
    st.text(max_size=30),
    st.tuples(st.sampled_from(COMMAND_WORDS), st.lists(word, max_size=6)).map(
        lambda t: " ".join([t[0], *t[1]])
    ),
)


@pytest.fixture(scope="module")
def fuzz_shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shell]:
    # Random lines may `record` or `source` files by any name: keep them in a scratch
    # directory, never the project.
    home = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("fuzz"))
    sh = make_shell()
    sh.session.settings.timeout = 0.02
    sh.session.settings.grace = 0.2
    sh.ok("spawn p -- cat")
    try:
        yield sh
    finally:
        sh.close()
        os.chdir(home)
        assert len(sh.session.registry) == 0


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(line=line_strategy)
def test_random_lines_never_escape_as_tracebacks(fuzz_shell: Shell, line: str) -> None:
    sh = fuzz_shell
    if "sleep" in line.split()[:1] or "alarm" in line:
        return  # those wait on purpose, or arm a real SIGALRM for this process
    started = time.monotonic()
    ok, out, err = sh(line)
    took = time.monotonic() - started
    assert "Traceback" not in out + err
    assert "internal error" not in err, (line, err)
    for message in err.splitlines():
        assert message.startswith(("error: ", "warning: ")), (line, err)
    assert took < 3, (line, took)
    sh.session.exit_requested = None
    # The registry stays intact: every entry is alive and reachable by its own name.
    for res in sh.session.registry:
        assert sh.session.registry.get(res.name) is res and not res.closed
