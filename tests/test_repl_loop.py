"""The interactive loop without a terminal: prompt_toolkit's pipe input and DummyOutput
(pastes, Ctrl-C, history), the line-based loop for TERM=dumb, and the history file."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from pslrepl.repl import BANNER, LineRepl, Repl, ShellHistory, open_history
from tests.helpers import PY, Shell, make_shell

PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"  # what a terminal sends around a paste


@pytest.fixture
def ishell() -> Iterator[Shell]:
    sh = make_shell(interactive=True)
    sh.session.settings.timeout = 5.0
    try:
        yield sh
    finally:
        sh.close()


def run_repl(shell: Shell, *keys: str, history: ShellHistory | None = None) -> ShellHistory:
    """Type ``keys`` into the shell's prompt through a pipe and run it to the end."""
    history = history or ShellHistory(None)
    with create_pipe_input() as pipe:
        for text in keys:
            pipe.send_text(text)
        repl = Repl(shell.session, shell.dispatcher, color=False, input=pipe,
                    output=DummyOutput(), history=history)  # fmt: skip
        assert repl.run() == 0
    return history


def paste(text: str) -> str:
    return PASTE_START + text + PASTE_END


def wait_until(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_pasted_lines_run_one_by_one(ishell: Shell) -> None:
    history = run_repl(ishell, paste("echo alpha-1\necho beta-2\necho gamma-3\n"), "\r", "exit\r")
    out = ishell.out.getvalue()
    # Each line ran as a command of its own (not `alpha-1 echo beta-2 echo gamma-3`),
    # the later ones shown as they ran, as if typed at the prompt.
    assert "alpha-1\npsl> echo beta-2\nbeta-2\npsl> echo gamma-3\ngamma-3\n" in out
    assert "echo" not in out.split("alpha-1")[1].split("\n")[0]
    assert ishell.err.getvalue() == ""
    assert list(history.get_strings()) == ["echo alpha-1", "echo beta-2", "echo gamma-3", "exit"]


def test_two_blocks_pasted_one_after_the_other_stay_apart(ishell: Shell) -> None:
    first = "psl> echo one\none\npsl> echo two\ntwo\n"  # ends with an output line
    second = "psl> echo three\nthree\n"
    history = run_repl(ishell, paste(first), paste(second), "\r", "exit\r")
    assert ishell.err.getvalue() == ""
    assert list(history.get_strings()) == ["echo one", "echo two", "echo three", "exit"]


def test_a_paste_waits_for_enter(ishell: Shell) -> None:
    # A paste goes into the line, to be read before it runs (bash and fish do so): here
    # Ctrl-C throws it away, and nothing of it ran.
    run_repl(ishell, paste("echo never-1\necho never-2\n"), "\x03", "exit\r")
    assert "never" not in ishell.out.getvalue()


def test_a_block_copied_from_the_readme_runs_its_commands_only(ishell: Shell) -> None:
    block = (
        "psl> spawn p -- sort                  # subprocess.Popen(['sort'], stdin=PIPE, ...)\n"
        "p: started pid 4242: sort\n"
        "psl> writeline p banana\n"
        "p: wrote 7 bytes\n"
        "psl> writeline p apple\n"
        "p: wrote 6 bytes\n"
        "psl> eof p                            # close its stdin: sort sees end of input\n"
        "p: stdin closed\n"
        "psl> read p --all                     # read until the child closes stdout\n"
        "apple\n"
        "banana\n"
        "psl> wait p\n"
        "p: exited with status 0\n"
    )
    history = run_repl(ishell, paste(block), "\r", "exit\r")
    out, err = ishell.out.getvalue(), ishell.err.getvalue()
    assert err == ""  # no output line ran as a command ('unknown command ...')
    assert "\napple\nbanana\n" in out
    assert out.count("p: exited with status 0") == 1
    assert [h for h in history.get_strings()][:6] == [
        "spawn p -- sort                  # subprocess.Popen(['sort'], stdin=PIPE, ...)",
        "writeline p banana", "writeline p apple",
        "eof p                            # close its stdin: sort sees end of input",
        "read p --all                     # read until the child closes stdout", "wait p",
    ]  # fmt: skip


def test_ctrl_c_cancels_the_running_line_and_the_rest_of_the_paste(ishell: Shell) -> None:
    main = threading.main_thread().ident
    assert main == threading.get_ident()

    def interrupt_the_sleep() -> None:
        # Ctrl-C as the terminal sends it: SIGINT to the shell, once `sleep` is waiting.
        def sleeping() -> bool:
            frame = sys._current_frames().get(main)  # noqa: SLF001
            while frame is not None:
                if frame.f_code.co_name == "wait_for":
                    return True
                frame = frame.f_back
            return False

        wait_until(sleeping)
        os.kill(os.getpid(), signal.SIGINT)

    helper = threading.Thread(target=interrupt_the_sleep)
    helper.start()
    try:
        run_repl(ishell, paste("echo before\nsleep 30\necho never-ran\n"), "\r", "exit\r")
    finally:
        helper.join()
    out, err = ishell.out.getvalue(), ishell.err.getvalue()
    assert "before\n" in out and "never-ran" not in out
    assert "(the line pasted after it did not run)" in out
    # The terminal echoed ^C where the cursor was: the error starts a line of its own.
    assert err == "\nerror: cancelled by Ctrl-C; everything else carries on\n"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_loop_does_not_touch_the_environment_children_get(
    ishell: Shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    show = f"run -- {PY} -c \"import os; print('NO_COLOR=' + repr(os.environ.get('NO_COLOR')))\""
    run_repl(ishell, show + "\r", "exit\r")
    assert "NO_COLOR=None\n" in ishell.out.getvalue()
    assert "NO_COLOR" not in os.environ


def test_the_dumb_loop_prints_events_as_they_come(ishell: Shell) -> None:
    """TERM=dumb: plain lines from the terminal; an event shows at once, on a line of its
    own, with the prompt again under it, though nothing was typed."""
    ishell.spawn("late", "import sys; sys.stdin.read()")  # exits when its stdin closes
    keys_r, keys_w = os.pipe()
    out = ishell.out

    def drive() -> None:
        wait_until(lambda: out.getvalue().endswith("psl> "))
        ishell.session.registry.get("late").close_stdin()  # type: ignore[attr-defined]
        wait_until(lambda: out.getvalue().endswith("[late] exited with status 0\npsl> "))
        os.write(keys_w, b"echo typed\nexit\n")

    helper = threading.Thread(target=drive)
    helper.start()
    try:
        status = LineRepl(ishell.session, ishell.dispatcher, fd=keys_r,
                          history=ShellHistory(None)).run()  # fmt: skip
    finally:
        helper.join()
        os.close(keys_r)
        os.close(keys_w)
    assert status == 0
    text = out.getvalue()
    # (No terminal echoes the typed line here: its output follows the prompt.)
    assert text.endswith("psl> \n[late] exited with status 0\npsl> typed\n")
    assert "\x1b" not in text  # nothing a dumb terminal can't show


def test_ctrl_c_at_the_prompt_drops_the_typed_line_and_the_shell_goes_on(ishell: Shell) -> None:
    history = run_repl(ishell, "echo typed-then-dropped", "\x03", "echo after-it\r", "exit\r")
    out = ishell.out.getvalue()
    assert "typed-then-dropped" not in out and "after-it\n" in out
    assert ishell.err.getvalue() == ""  # nothing ran, so nothing was cancelled
    assert list(history.get_strings()) == ["echo after-it", "exit"]


def test_an_empty_line_does_nothing(ishell: Shell) -> None:
    history = run_repl(ishell, "\r", "   \r", "\t\r", "echo next\r", "exit\r")
    assert ishell.out.getvalue() == BANNER + "\nnext\n"
    assert ishell.err.getvalue() == ""
    assert list(history.get_strings()) == ["echo next", "exit"]


def test_ctrl_d_on_an_empty_line_leaves_and_runs_nothing_after(ishell: Shell) -> None:
    # Ctrl-D with text typed deletes forward, as in any readline: it does not leave.
    history = run_repl(ishell, "echo before\x04\r", "\x04", "echo never-ran\r")
    out = ishell.out.getvalue()
    assert out == BANNER + "\nbefore\n"
    assert ishell.err.getvalue() == ""
    assert ishell.session.exit_requested is None  # left by end of input, not `exit`
    assert list(history.get_strings()) == ["echo before"]


def run_line_repl(shell: Shell, drive: Callable[[int, LineRepl], None]) -> int:
    """Run the TERM=dumb loop on a pipe that ``drive`` (in a thread) writes keys to."""
    keys_r, keys_w = os.pipe()
    repl = LineRepl(shell.session, shell.dispatcher, fd=keys_r, history=ShellHistory(None))
    helper = threading.Thread(target=drive, args=(keys_w, repl))
    helper.start()
    try:
        return repl.run()
    finally:
        helper.join()
        os.close(keys_r)


def test_the_dumb_loop_leaves_on_end_of_input_on_a_fresh_line(ishell: Shell) -> None:
    out = ishell.out

    def drive(keys: int, repl: LineRepl) -> None:
        try:
            for typed, then in ((b"\n", "psl> psl> "), (b" \t \n", "psl> psl> psl> "),
                                (b"echo one\n", "one\npsl> ")):  # fmt: skip
                os.write(keys, typed)
                wait_until(lambda then=then: out.getvalue().endswith(then))
        finally:
            os.close(keys)  # Ctrl-D on an empty line: the terminal ends the input

    assert run_line_repl(ishell, drive) == 0
    # Empty lines run nothing and the prompt comes again; the shell leaves with the
    # cursor at the start of the next line, no blank line after it.
    assert out.getvalue() == BANNER + "\npsl> psl> psl> one\npsl> \n"
    assert ishell.err.getvalue() == ""
    assert ishell.session.exit_requested is None


def test_the_dumb_loop_runs_a_half_typed_line_that_ctrl_d_ends(ishell: Shell) -> None:
    def drive(keys: int, repl: LineRepl) -> None:
        os.write(keys, b"echo half")  # no Enter: Ctrl-D sends what was typed, then ends
        os.close(keys)

    assert run_line_repl(ishell, drive) == 0
    assert ishell.out.getvalue() == BANNER + "\npsl> \nhalf\npsl> \n"


def test_ctrl_c_at_the_dumb_prompt_drops_the_half_typed_line(ishell: Shell) -> None:
    out = ishell.out

    def drive(keys: int, repl: LineRepl) -> None:
        try:
            os.write(keys, b"echo dropped")
            wait_until(lambda: repl._typed == "echo dropped")  # noqa: SLF001
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: the terminal drops the line
            wait_until(lambda: out.getvalue().endswith("psl> \npsl> "))
            os.write(keys, b"echo after-it\nexit\n")
        finally:
            os.close(keys)

    assert run_line_repl(ishell, drive) == 0
    text = out.getvalue()
    assert "dropped" not in text
    assert text.endswith("psl> \npsl> after-it\n")
    assert ishell.err.getvalue() == ""
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# -- the history file ---------------------------------------------------------------------


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_history_is_private_where_xdg_data_home_says(data_home: Path) -> None:
    os.umask(old := os.umask(0o022))
    try:
        history = open_history()
        history.append_string("send c secret-token")
    finally:
        os.umask(old)
    path = data_home / "pslrepl" / "history"
    assert history.failure is None and history.path == path
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700 and mode(data_home) == 0o700
    assert "+send c secret-token\n" in path.read_text()


def test_history_we_made_too_open_is_closed_never_widened(data_home: Path) -> None:
    path = data_home / "pslrepl" / "history"
    path.parent.mkdir(parents=True)
    path.write_text("\n# old\n+echo old\n")
    path.chmod(0o644)
    path.parent.chmod(0o755)
    history = open_history()
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert list(history.load_history_strings()) == ["echo old"]
    path.chmod(0o400)  # tighter than ours: left so
    history.append_string("echo new")
    assert mode(path) == 0o400


def test_history_is_never_written_through_a_symlink(data_home: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("precious\n")
    path = data_home / "pslrepl" / "history"
    path.parent.mkdir(parents=True)
    path.symlink_to(target)
    history = open_history()
    assert history.path is None  # kept in memory only
    assert history.failure is not None
    assert "is a symbolic link; remove it" in history.failure
    history.append_string("send c secret")
    assert target.read_text() == "precious\n"
    assert list(history.get_strings()) == ["send c secret"]


def test_a_fifo_at_the_history_path_does_not_hang(data_home: Path) -> None:
    path = data_home / "pslrepl" / "history"
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    history = open_history()
    assert history.failure is not None and "not a regular file" in history.failure


def test_a_line_starting_with_a_space_is_not_kept(data_home: Path) -> None:
    history = open_history()
    history.append_string(" send c password123")
    history.append_string("echo kept")
    text = (data_home / "pslrepl" / "history").read_text()
    assert "password123" not in text and "+echo kept\n" in text


WRITER = """\
import sys
from pathlib import Path
from pslrepl.repl import ShellHistory
history = ShellHistory(Path(sys.argv[1]))
for i in range(int(sys.argv[3])):
    history.append_string(f"send {sys.argv[2]}{i} " + sys.argv[2] * 20000)
"""


def test_two_shells_at_once_never_mix_entries(data_home: Path) -> None:
    """Entries of 20 kB (more than a buffered file writes at once): each is one write to
    an O_APPEND file, so two shells' entries interleave whole."""
    path = data_home / "pslrepl" / "history"
    open_history()
    count = 60
    writers = [
        subprocess.Popen([PY, "-c", WRITER, str(path), letter, str(count)]) for letter in ("a", "b")
    ]
    for w in writers:
        assert w.wait(timeout=60) == 0
    entries = list(ShellHistory(path).load_history_strings())
    assert len(entries) == 2 * count
    for entry in entries:
        letter = entry[5]
        assert entry == f"send {letter}{entry[6:].split()[0]} " + letter * 20000
    assert {e.split()[1] for e in entries} == {f"{x}{i}" for x in "ab" for i in range(count)}


def test_a_terminal_gone_while_events_show_ends_the_shell(
    ishell: Shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writing events above the prompt to a terminal that has gone (EIO, injected: a pipe
    can't lose its terminal) ends the shell as SIGHUP would, instead of prompt_toolkit
    trying to show the error on that terminal for ever."""
    import errno

    from pslrepl.errors import Terminated
    from pslrepl.events import Event

    def gone() -> None:
        raise OSError(errno.EIO, "Input/output error")

    with create_pipe_input() as pipe:
        repl = Repl(ishell.session, ishell.dispatcher, color=False, input=pipe,
                    output=DummyOutput(), history=ShellHistory(None))  # fmt: skip
        ishell.session.settings.events = "live"

        def post_when_up() -> None:
            wait_until(lambda: repl.prompt.app.is_running)
            monkeypatch.setattr(ishell.session, "flush_events", gone)
            ishell.session.post(Event("session", "note", "something happened"))

        helper = threading.Thread(target=post_when_up)
        helper.start()
        try:
            with pytest.raises(Terminated) as ended:
                repl.run()
        finally:
            helper.join(10)
    assert ended.value.code == 128 + signal.SIGHUP
