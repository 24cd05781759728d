"""What a child's commands say: one notice per change of state, timeouts that name the
cause and the way to wait longer, and the command shown as it was typed."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pslrepl.parsing import tokenize
from pslrepl.resources import buffers
from pslrepl.resources.process import Process, command_text
from tests.helpers import PY, Shell, child, make_shell

MiB = 1 << 20


@pytest.fixture
def live() -> Iterator[Shell]:
    """An interactive shell: events are shown live, between and during commands."""
    shell = make_shell(interactive=True)
    shell.session.settings.timeout = 10.0
    try:
        yield shell
    finally:
        shell.close()


def test_a_signal_sent_is_said_once(live: Shell) -> None:
    live.ok("spawn p -- sleep 30")
    out = live.ok("signal p INT")
    assert out.count("sent SIGINT") == 1, out
    assert live.ok("wait p").count("killed by SIGINT (signal 2)") == 2  # the event, the answer
    assert "sent SIGINT (2)" in live.ok("log p")  # logged all the same


def test_terminate_and_kill_are_said_once(live: Shell) -> None:
    live.ok("spawn t -- sleep 30; spawn k -- sleep 30")
    assert live.ok("terminate t").count("sent SIGTERM") == 1
    assert live.ok("kill k").count("sent SIGKILL") == 1


# Writes 2 MiB, then 2 MiB more for each line it reads: the buffer fills, stays full
# while more comes, and fills again after a read made room.
FILLER = """
import sys
out = sys.stdout.buffer
out.write(b"a" * (2 << 20))
out.flush()
for line in sys.stdin:
    out.write(b"b" * (2 << 20))
    out.flush()
"""


def until(shell: Shell, ready: Callable[[], bool]) -> None:
    """Wait for the drain thread, leaving the events pending (Session.wait_for would
    show them)."""
    with shell.session.cond:
        assert shell.session.cond.wait_for(ready, 20)


def notices(shell: Shell, stream: str = "stdout") -> list[str]:
    kinds = []
    for event in shell.session.take_pending():
        if event.kind == "dropped" or (event.kind == "data" and event.stream == stream):
            kinds.append(event.kind)
    return kinds


def test_a_full_buffer_is_noticed_once_per_filling(
    live: Shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No wait between notices: what is left to stop them is whether anything changed.
    monkeypatch.setattr(buffers, "REANNOUNCE_AFTER", 0.0)
    live.spawn("p", FILLER)
    proc = live.session.registry.get("p")
    assert isinstance(proc, Process)
    until(live, lambda: proc.stdout.total == 2 * MiB)
    assert sorted(notices(live)) == ["data", "dropped"]
    # Full, and more keeps coming: nothing new to say.
    proc.write(b"more\n", timeout=5)
    until(live, lambda: proc.stdout.total == 4 * MiB)
    assert notices(live) == []
    # A read makes room; the next filling is news again, said once.
    assert "bytes of stdout were dropped" in live.ok("read p")
    proc.write(b"more\n", timeout=5)
    until(live, lambda: proc.stdout.total == 6 * MiB)
    assert sorted(notices(live)) == ["data", "dropped"]


def test_a_read_that_times_out_says_what_waits_on_stderr(shell: Shell) -> None:
    shell.spawn("p", "import sys, time; sys.stderr.write('x' * 37); time.sleep(30)")
    shell.ok("wait p data")
    line = shell.fails("read p --timeout 0.2")
    assert line == (
        "error: p: timeout after 0.2 s waiting for data; 0 bytes buffered; "
        "37 bytes wait on stderr: read p --stderr; --timeout S waits longer"
    )
    assert shell.ok("read p --stderr") == "x" * 37 + "\n"


def test_a_read_of_stderr_that_times_out_says_what_waits_on_stdout(shell: Shell) -> None:
    shell.spawn("p", "import time; print('hello'); time.sleep(30)")
    shell.ok("wait p data")
    line = shell.fails("read p --stderr --line --timeout 0.2")
    assert line == (
        "error: p: timeout after 0.2 s waiting for a line; 0 bytes buffered; "
        "6 bytes wait on stdout: read p; --timeout S waits longer"
    )


def test_every_timeout_names_the_option_to_wait_longer(shell: Shell) -> None:
    shell.ok("spawn p -- sleep 30")
    assert shell.fails("read p --timeout 0.1").endswith("; --timeout S waits longer")
    assert shell.fails("communicate p --timeout 0.1").endswith("; --timeout S waits longer")
    shell.ok("spawn q -- sleep 30")
    line = shell.fails("write q --timeout 0.1 " + "x" * 200_000)
    assert line.endswith("; --timeout S waits longer")
    assert shell.fails("run --timeout 0.1 -- sleep 5").endswith("; --timeout S waits longer")
    assert shell.fails("sh --timeout 0.1 sleep 5").endswith("; --timeout S waits longer")


def test_the_command_is_shown_as_typed_everywhere(shell: Shell) -> None:
    code = "import time; print('hi'); time.sleep(30)"
    expected = f"{PY} -c \"{code}\" 'a b' plain"
    out = shell.ok(f"spawn p -- {PY} -c \"{code}\" 'a b' plain")
    assert out.endswith(f": {expected}\n")
    ps = shell.ok("ps").splitlines()[1]
    assert ps.endswith(f"  {expected}")
    ls = shell.ok("ls").splitlines()[1]
    assert f"  {expected}  " in ls
    info = dict(line.split(": ", 1) for line in shell.ok("info p").splitlines())
    assert info["command"].strip() == expected
    assert shell.ok("read p --line") == "hi\n"


def test_a_shell_command_is_shown_as_given(shell: Shell) -> None:
    out = shell.ok("spawn s --shell -- 'echo \"a  b\" | tr a-z A-Z'")
    assert out.endswith(': echo "a  b" | tr a-z A-Z\n')
    assert shell.ok("ps").splitlines()[1].endswith('  echo "a  b" | tr a-z A-Z')
    assert shell.ok("read s --all") == "A  B\n"


SLEEPER = """
import time
time.sleep(30)
"""


def test_control_characters_in_a_command_stay_on_one_line(shell: Shell) -> None:
    out = shell.ok(f"spawn p -- {child(SLEEPER)}")
    assert out.count("\n") == 1
    assert out.endswith("-c '\\nimport time\\ntime.sleep(30)\\n'\n")
    assert len(shell.ok("ps").splitlines()) == 2


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs"))), min_size=1))
def test_a_command_shown_reads_back_as_the_same_argv(argv: list[str]) -> None:
    text = command_text(argv)
    assert [t.text for t in tokenize(text).commands[0]] == argv
