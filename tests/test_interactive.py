"""The interactive shell in a real terminal (tmux): completion, toolbar, history, events, Ctrl-C."""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import PY, child, run_cli
from tests.terminal import Terminal


@pytest.fixture
def term(tmp_path: Path) -> Iterator[Terminal]:
    t = Terminal(tmp_path)
    try:
        yield t
    finally:
        t.close()


def prompt_line(t: Terminal) -> str:
    """The last prompt on the screen; "" while there is none (a pager just left, the
    screen being redrawn): a wait's check must not fail on a passing screen."""
    prompts = [line for line in t.lines() if line.startswith("psl>")]
    return prompts[-1] if prompts else ""


def toolbar(t: Terminal) -> str:
    shown = [line for line in t.lines() if line.strip()]
    return shown[-1] if shown else ""


def test_banner_and_empty_toolbar(term: Terminal) -> None:
    assert "`help` lists commands" in term.screen()
    term.wait_for(lambda s: "nothing live" in toolbar(term))


def test_tab_completes_commands_names_and_options(term: Terminal) -> None:
    term.type("spa")
    term.send("Tab")
    term.wait_for(lambda s: prompt_line(term) == "psl> spawn")
    term.type(" worker -- cat")
    term.send("Enter")
    term.wait_for("worker: started pid")
    term.type("read wo")
    term.send("Tab")
    term.wait_for(lambda s: prompt_line(term) == "psl> read worker")
    term.type(" --li")
    term.send("Tab")
    term.wait_for(lambda s: prompt_line(term) == "psl> read worker --line")
    term.send("C-u")
    term.type("signal worker SIGU")
    term.send("Tab")
    screen = term.wait_for("SIGUSR2")  # two candidates: a menu
    assert "SIGUSR1" in screen


def test_toolbar_follows_the_children(term: Terminal) -> None:
    term.run("spawn p1 -- cat", "p1: started pid")
    term.wait_for(lambda s: "p1 running pid" in toolbar(term))
    term.run("spawn p2 -- sleep 0.3")
    # p2 exits by itself while the user sits at the prompt: the toolbar follows.
    term.wait_for(lambda s: "p1 running pid" in toolbar(term) and "p2 exited 0" in toolbar(term))
    term.run("kill p1")
    term.wait_for(lambda s: "p1 SIGKILL" in toolbar(term))


def test_live_events_appear_above_the_prompt_without_eating_input(term: Terminal) -> None:
    # One write: print() under PYTHONUNBUFFERED writes the text and its newline apart,
    # and the notice may come between them.
    term.run(f"spawn late -- {PY} -c \"import os, time; time.sleep(0.8); "
             "os.write(1, b'late news\\n')\"")  # fmt: skip
    term.type("echo half-typed")
    screen = term.wait_for("[late] stdout 10 bytes waiting: b'late news\\n'")
    assert "[late] exited with status 0" in term.wait_for("[late] exited")
    assert prompt_line(term) == "psl> echo half-typed"
    term.send("Enter")
    term.wait_for("\nhalf-typed\n")  # the line ran whole after the events
    assert "Traceback" not in screen


def test_ctrl_c_cancels_a_blocking_read_only(term: Terminal) -> None:
    term.run("spawn c -- cat", "c: started")
    term.run("read c --timeout 60")
    term.wait_running()
    term.send("C-c")  # the wait below is the bound: a read that ignores Ctrl-C fails it
    screen = term.wait_for("error: cancelled by Ctrl-C; everything else carries on")
    # The terminal echoes ^C where the cursor is: the error starts a line of its own.
    lines = [line.rstrip() for line in screen.splitlines()]
    at = lines.index("error: cancelled by Ctrl-C; everything else carries on")
    assert lines[at - 1] == "^C", screen
    term.run("poll c", "c: running")
    term.run("writeline c still-alive")
    term.run("read c --line", "\nstill-alive")


def test_ctrl_c_cancels_wait_and_sleep(term: Terminal) -> None:
    term.run("spawn s -- sleep 60", "s: started")
    term.run("wait s --timeout 60")
    term.wait_running()
    term.send("C-c")
    term.wait_for("cancelled by Ctrl-C")
    term.run("sleep 60")
    term.wait_running()
    term.send("C-c")
    term.wait_for(lambda s: s.count("cancelled by Ctrl-C") == 2)
    term.wait_for(lambda s: "s running pid" in toolbar(term))


def test_ctrl_c_at_the_prompt_clears_the_line(term: Terminal) -> None:
    term.type("echo never")
    term.send("C-c")
    term.wait_for(lambda s: prompt_line(term) == "psl>")
    assert "never\n" not in term.screen().replace("psl> echo never", "")


def test_ctrl_d_closes_everything_and_leaves(term: Terminal) -> None:
    term.run("spawn a -- sleep 60", "a: started")
    term.run("py print(a.pid)")
    pid = int(
        term.wait_for(lambda s: any(x.isdigit() for x in term.lines()))
        and [x for x in term.lines() if x.isdigit()][-1]
    )
    term.send("C-d")
    term.wait_for(lambda s: term.dead())
    assert "a: terminated" in term.screen()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_history_persists_and_ctrl_r_searches(tmp_path: Path) -> None:
    first = Terminal(tmp_path)
    try:
        first.run("echo remembered-42", "\nremembered-42")
        first.run("echo other")
        first.run("exit")
        first.wait_for(lambda s: first.dead())
    finally:
        first.close()
    path = tmp_path / "data" / "pslrepl" / "history"
    assert "echo remembered-42" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # every send and py line is in it
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    second = Terminal(tmp_path)
    try:
        second.send("Up")
        second.wait_for(lambda s: prompt_line(second) == "psl> exit")
        second.send("Up")
        second.wait_for(lambda s: prompt_line(second) == "psl> echo other")
        second.send("C-u")
        second.send("C-r")
        second.type("remem")
        second.wait_for("echo remembered-42")
        second.send("Enter")
        second.send("Enter")
        second.wait_for(lambda s: s.count("remembered-42") >= 2)
        # Auto-suggestion from history: typing a prefix shows the rest.
        second.type("echo rem")
        second.wait_for(lambda s: "echo remembered-42" in prompt_line(second))
    finally:
        second.close()


FAKE_SUDO = """\
import os, sys
password = sys.stdin.readline().rstrip("\\n")
if password != "hunter2":
    print("Sorry, try again.", file=sys.stderr)
    sys.exit(1)
rest = sys.argv[sys.argv.index("--") + 1:]
os.execvp(rest[0], rest)
"""


def test_sudo_password_is_hidden_and_never_kept(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "sudo").write_text(f"#!{PY}\n{FAKE_SUDO}")
    (bindir / "sudo").chmod(0o755)
    t = Terminal(tmp_path, env={"PATH": f"{bindir}:{os.environ['PATH']}"})
    try:
        t.run("sudo -- echo sudo-worked", "password for")
        t.type("hunter2")
        screen = t.wait_for("*******")  # one star a character: the prompt has it all
        assert "hunter2" not in screen
        t.send("Enter")
        t.wait_for("sudo-worked")
        t.run("exit")
        t.wait_for(lambda s: t.dead())
        assert "hunter2" not in t.screen()
    finally:
        t.close()
    history = (tmp_path / "data" / "pslrepl" / "history").read_text()
    assert "sudo -- echo sudo-worked" in history and "hunter2" not in history


def test_a_chatty_child_does_not_flood_the_screen(term: Terminal) -> None:
    term.run("spawn y -- yes", "y: started")
    # `yes` fills the 1 MiB buffer in moments: hundreds of chunks by then, one notice.
    term.wait_for("[y] stdout buffer full")
    term.run("echo still-here", "\nstill-here")
    screen = term.screen()
    notices = [line for line in screen.splitlines() if line.startswith("[y] stdout")]
    assert 1 <= len(notices) <= 4, screen  # about one a second, not one per chunk
    term.run("close y", "y: terminated")
    term.run("echo responsive", "\nresponsive")


def test_the_line_is_highlighted(term: Terminal) -> None:
    term.type("spawn p --shell -- 'x'")
    term.wait_for("'x'")  # drawn, and coloured in the same draw
    coloured = term.coloured()
    line = [x for x in coloured.splitlines() if "spawn" in x][-1]
    # The command, the option and the quoted string each come in their own colour.
    assert line.count("\x1b[") >= 3, repr(line)
    assert "\x1b[" in line.split("spawn")[0]


def test_socket_events_show_live_without_reading(term: Terminal) -> None:
    term.run("tcp listen srv 0", "srv: listening")
    term.run("tcp connect c srv")
    term.wait_for("[srv] a connection is waiting: accept srv")
    term.run("accept srv s", "s: accepted from")
    term.run("send c hello")
    term.wait_for("[s] 5 bytes waiting: b'hello'")
    term.run("recv s", "\nhello")  # the notice peeked: the bytes were still there
    term.run("close c")
    term.wait_for("[s] the peer closed its side: recv will return EOF")
    term.wait_for(lambda s: "s tcp peer EOF 127.0.0.1:" in toolbar(term))


def test_relay_text_shows_the_traffic_live_both_ways(term: Terminal) -> None:
    term.run('relay r tcp-listen:0 exec:"tr a-z A-Z" --text', "r: relaying tcp-listen:")
    term.run("tcp connect c r")
    term.wait_for("[r] tcp-listen:127.0.0.1:")
    assert ": connection from 127.0.0.1:" in term.screen()
    term.run("sendline c hello")
    term.wait_for(" -> exec:tr a-z A-Z 6 bytes: hello\\n")
    term.run("shutdown c wr")  # tr answers once its stdin closes
    term.wait_for("[r] exec:tr a-z A-Z -> tcp-listen:127.0.0.1:")
    assert " 6 bytes: HELLO\\n" in term.screen()
    term.run("recv c --line", "\nHELLO")


def test_a_servers_clients_show_live(term: Terminal, tmp_path: Path) -> None:
    """A client that nobody here wrote (python's http.client, in a process of its own)
    shows up above the prompt: where from, the request, and its bytes when it leaves."""
    (tmp_path / "index.txt").write_text("live\n")
    term.run(f"serve web tcp 0 --handler http --threading --dir {tmp_path}",
             "web: ThreadingTCPServer serving http on 127.0.0.1:")  # fmt: skip
    line = [x for x in term.lines() if x.startswith("web: ThreadingTCPServer")][-1]
    web_port = line.rsplit(":", 1)[1]
    fetch = (f"import urllib.request; print(urllib.request.urlopen("
             f"'http://127.0.0.1:{web_port}/index.txt', timeout=10).read())")  # fmt: skip
    term.type("echo half-typed")
    done = subprocess.run([PY, "-c", fetch], capture_output=True, text=True, timeout=20)
    assert done.stdout == "b'live\\n'\n"
    term.wait_for("[web] client 127.0.0.1:")
    term.wait_for('[web] "GET /index.txt HTTP/1.1" 200 -')
    screen = term.wait_for(lambda s: " left after " in s)
    assert "(in " in screen and ", out " in screen
    assert prompt_line(term) == "psl> echo half-typed"  # the typing survived the events


# -- pastes ---------------------------------------------------------------------------------


def test_a_pasted_block_runs_line_by_line(term: Terminal) -> None:
    term.paste("echo alpha-1\necho beta-2\necho gamma-3\n")
    # Into the line first, as bash and fish do: nothing runs before Enter.
    term.wait_for("...  echo gamma-3")
    assert "alpha-1 echo" not in term.screen()
    term.send("Enter")
    screen = term.wait_for("\ngamma-3\n")
    lines = term.lines()
    start = lines.index("psl> echo alpha-1")
    assert lines[start : start + 6] == [
        "psl> echo alpha-1", "alpha-1",
        "psl> echo beta-2", "beta-2",
        "psl> echo gamma-3", "gamma-3",
    ], screen  # fmt: skip
    # Each is a line of its own in the history: Up brings back the last.
    term.wait_for(lambda s: prompt_line(term) == "psl>")
    term.send("Up")
    term.wait_for(lambda s: prompt_line(term) == "psl> echo gamma-3")
    term.send("Up")
    term.wait_for(lambda s: prompt_line(term) == "psl> echo beta-2")


def test_the_readme_tour_pastes_block_by_block(term: Terminal) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = readme.split("## A short tour")[1].split("```text\n")[1].split("```")[0]
    assert block.startswith("psl> spawn p -- sort")
    term.paste(block)
    term.wait_for("...  wait p")
    term.send("Enter")
    screen = term.wait_for("p: exited with status 0")
    assert "error:" not in screen  # no output line was taken for a command
    assert "\napple\nbanana\n" in screen
    assert screen.count("p: started pid") == 1


# -- the terminal and the environment -------------------------------------------------------


SHOW_NO_COLOR = "run -- " + child(
    "import os; print('NO_COLOR=' + repr(os.environ.get('NO_COLOR')))"
)


def test_no_color_is_the_shells_own_not_its_childrens(tmp_path: Path) -> None:
    t = Terminal(tmp_path, args=("--no-color",))
    try:
        t.run(SHOW_NO_COLOR, "\nNO_COLOR=None")
        # ... and the shell itself is plain: no foreground colour anywhere.
        assert not re.search(r"\x1b\[(\d+;)*3[0-7](;\d+)*m", t.coloured()), t.coloured()
    finally:
        t.close()
    t = Terminal(tmp_path, env={"NO_COLOR": "1"})
    try:
        t.run(SHOW_NO_COLOR, "\nNO_COLOR='1'")  # the user's own setting is passed on
    finally:
        t.close()


def test_a_dumb_terminal_gets_events_as_they_come(tmp_path: Path) -> None:
    t = Terminal(tmp_path, term="dumb")
    try:
        t.run(f'spawn late -- {PY} -c "import sys; sys.stdin.readline()"', "late: started")
        t.wait_for(lambda s: [x for x in t.lines() if x][-1:] == ["psl>"])
        t.run("writeline late go")
        # Nothing more typed: the event shows at once, on its own line, prompt under it.
        t.wait_for("[late] exited with status 0")
        t.wait_for(lambda s: [x for x in t.lines() if x][-1:] == ["psl>"])
        lines = [x for x in t.lines() if x]
        at = lines.index("[late] exited with status 0")
        assert lines[at + 1] == "psl>"
        assert not any("\x1b" in x or "[?" in x for x in lines), lines
        t.run("echo dumb-ok", "\ndumb-ok")
        t.send("C-d")
        t.wait_for(lambda s: t.dead())
        assert t.exit_status() == 0
    finally:
        t.close()


# -- fitting the terminal -------------------------------------------------------------------


def output_of(t: Terminal, command: str) -> list[str]:
    """The screen's lines between ``command``'s prompt line and the next prompt."""
    lines = t.lines()
    start = len(lines) - 1 - lines[::-1].index(f"psl> {command}")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("psl>"))
    return lines[start + 1 : end]


def help_words(topic: str) -> list[str]:
    done = run_cli("-c", f"help {topic}".strip())
    assert done.returncode == 0
    return done.stdout.split()


@pytest.mark.parametrize("cols", [60, 120])
def test_help_wraps_at_words_and_keeps_its_columns(tmp_path: Path, cols: int) -> None:
    t = Terminal(tmp_path, cols=cols, rows=60, env={"PAGER": "cat"})
    try:
        t.run("help serve", "examples:")
        screen = t.wait_for(lambda s: prompt_line(t) == "psl>")
        shown = output_of(t, "help serve")
        assert all(len(x) <= cols for x in shown)
        # Every word whole (no `--threadi` / `ng`), none lost.
        assert " ".join(shown).split() == help_words("serve"), screen
        options = [x for x in shown if x.startswith("  --")]
        column = len(options[0]) - len(options[0][2:].split("  ", 1)[1].lstrip())
        for i, line in enumerate(shown):
            if line.startswith("  --") and i + 1 < len(shown):
                after = shown[i + 1]
                if not after.startswith("  --") and after.startswith(" "):
                    assert after[:column].strip() == "" and after[column] != " ", (line, after)
    finally:
        t.close()


@pytest.mark.parametrize("cols", [60, 120])
def test_a_long_table_fits_the_width_row_by_row(tmp_path: Path, cols: int) -> None:
    t = Terminal(tmp_path, cols=cols, rows=40)
    try:
        long_argv = child("import sys; sys.stdin.read()  # " + "padding " * 20)
        for name in ("alpha", "beta"):
            t.run(f"spawn {name} -- {long_argv}", f"{name}: started")
        t.run("ls", "NAME")
        t.wait_for(lambda s: prompt_line(t) == "psl>")
        lines = t.lines()
        table = lines[lines.index("psl> ls") + 1 : lines.index("psl> ls") + 4]
        assert table[0].startswith("NAME") and table[1].startswith("alpha ")
        assert table[2].startswith("beta ")  # one line a row: none wrapped
        assert all(len(x) <= cols for x in table)
        assert table[1].endswith("\u2026") or "\u2026 " in table[1]  # the argv, cut
    finally:
        t.close()


def test_the_toolbar_keeps_to_one_line(tmp_path: Path) -> None:
    t = Terminal(tmp_path, cols=40, rows=30)
    try:
        # Cut where it would run past the edge, and said so.
        bar = t.wait_for(lambda s: "nothing live" in toolbar(t)) and toolbar(t)
        assert bar == " nothing live: try `spawn p -- cat` or\u2026"
        for i in range(4):
            t.run(f"spawn worker{i} -- cat", f"worker{i}: started")
        bar = t.wait_for(lambda s: "worker3" in s and "more (ls)" in toolbar(t)) and toolbar(t)
        # The state is cut where it runs out of room ("…"), or whole if a short pid lets
        # it fit; the count of the rest is always whole, and the bar one line.
        assert bar.startswith(" worker0 running p") and len(bar) <= 39
        assert bar.endswith(" | +3 more (ls)")
        assert len(bar) == 39 or "\u2026" not in bar
        assert prompt_line(t) == "psl>"  # the line above the toolbar: not a wrapped part
    finally:
        t.close()


def test_output_taller_than_the_screen_is_paged(term: Terminal) -> None:
    if shutil.which("less") is None:
        pytest.skip("less is not installed")

    def paging(screen: str) -> bool:  # less's prompt on the last row
        return screen.splitlines()[-1:] == [":"]

    term.run("help")
    screen = term.wait_for(paging)
    assert "Session" in screen and "Processes" in screen
    term.send("q")  # q leaves it
    term.wait_for(lambda s: not paging(s) and prompt_line(term) == "psl>")
    term.run("help")
    term.wait_for(paging)
    term.send("C-c")  # Ctrl-C too, and the shell carries on
    term.wait_for(lambda s: not paging(s) and "nothing live" in toolbar(term))
    term.run("echo after-the-pager", "\nafter-the-pager")
    assert "Traceback" not in term.screen() and "cancelled" not in term.screen()


def test_pager_is_honoured(tmp_path: Path) -> None:
    paged = tmp_path / "paged.txt"
    t = Terminal(tmp_path, env={"PAGER": f"tee {paged}"})
    try:
        t.run("help", "`help COMMAND` shows")
        t.wait_for(lambda s: prompt_line(t) == "psl>")
        assert re.sub(r"\x1b\[[0-9;]*m", "", paged.read_text()).split() == help_words("")
        t.run("echo short", "\nshort")  # a screenful or less is printed, not paged
        assert "short" not in paged.read_text()
    finally:
        t.close()


# -- completion -----------------------------------------------------------------------------


def test_the_menu_shows_what_each_completion_is(term: Terminal) -> None:
    term.type("re")
    term.send("Tab")
    screen = term.wait_for("read what a child printed")
    assert "record" in screen and "write the session as a transcript" in screen
    term.send("Escape")
    term.send("C-u")
    term.type("spwn")
    term.wait_for("psl> spwn")
    coloured = [x for x in term.coloured().splitlines() if "spwn" in x][-1]
    assert "\x1b[31m" in coloured.split("spwn")[0], repr(coloured)  # red: no such command


# -- leaving --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["exit()", "quit()"])
def test_py_exit_leaves_cleanly(tmp_path: Path, code: str) -> None:
    t = Terminal(tmp_path)
    try:
        t.run("spawn a -- sleep 60", "a: started")
        pid = int(t.screen().split("a: started pid ")[1].split(":")[0])
        t.run(f"py {code}")
        t.wait_for(lambda s: t.dead())
        screen = t.screen()
        assert t.exit_status() == 0, screen
        assert "Traceback" not in screen and "error:" not in screen
        assert "a: terminated" in screen  # children closed on the way out
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    finally:
        t.close()


def gone(pid: int) -> bool:
    """The process has ended and been reaped, or is a zombie left for its parent."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_gone(pid: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not gone(pid):
        assert time.monotonic() < deadline, f"pid {pid} is still alive"
        time.sleep(0.05)


def test_sigterm_at_the_prompt_ends_the_shell_and_its_children(term: Terminal) -> None:
    term.run("spawn a -- sleep 60", "a: started")
    child_pid = int(term.screen().split("a: started pid ")[1].split(":")[0])
    term.type("half-typed")  # a prompt with a line on it, the toolbar drawn
    term.wait_for("psl> half-typed")
    os.kill(term.shell_pid(), signal.SIGTERM)
    assert term.exit_status() == 128 + signal.SIGTERM
    assert "a: terminated" in term.screen() and "Traceback" not in term.screen()
    wait_gone(child_pid)


def test_closing_the_terminal_ends_the_shell_and_its_children(tmp_path: Path) -> None:
    """tmux's kill-server hangs the terminal up: SIGHUP, as closing a window does."""
    for attempt in range(3):  # the shell once hung on it now and then (see repl.py)
        t = Terminal(tmp_path)
        try:
            t.run(f"spawn c{attempt} -- cat", f"c{attempt}: started")
            child_pid = int(t.screen().split("started pid ")[1].split(":")[0])
            t.run(f"spawn y{attempt} -- yes", f"y{attempt}: started")  # events all along
            t.wait_for(f"[y{attempt}] stdout")
            shell = t.shell_pid()
        finally:
            t.close()
        wait_gone(shell)
        wait_gone(child_pid)
