"""The interactive shell in a real terminal (tmux): completion, toolbar, history, events, Ctrl-C."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import PY
from tests.terminal import Terminal


@pytest.fixture
def term(tmp_path: Path) -> Iterator[Terminal]:
    t = Terminal(tmp_path)
    try:
        yield t
    finally:
        t.close()


def prompt_line(t: Terminal) -> str:
    return [line for line in t.lines() if line.startswith("psl>")][-1]


def toolbar(t: Terminal) -> str:
    return [line for line in t.lines() if line.strip()][-1]


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
    time.sleep(0.5)
    started = time.monotonic()
    term.send("C-c")
    term.wait_for("error: cancelled by Ctrl-C; everything else carries on")
    assert time.monotonic() - started < 5
    term.run("poll c", "c: running")
    term.run("writeline c still-alive")
    term.run("read c --line", "\nstill-alive")


def test_ctrl_c_cancels_wait_and_sleep(term: Terminal) -> None:
    term.run("spawn s -- sleep 60", "s: started")
    term.run("wait s --timeout 60")
    time.sleep(0.5)
    term.send("C-c")
    term.wait_for("cancelled by Ctrl-C")
    term.run("sleep 60")
    time.sleep(0.3)
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
    history = (tmp_path / "data" / "pslrepl" / "history").read_text()
    assert "echo remembered-42" in history
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
        time.sleep(0.2)
        assert "hunter2" not in t.screen()
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
    time.sleep(2.5)
    screen = term.screen()
    notices = [line for line in screen.splitlines() if line.startswith("[y] stdout")]
    assert 1 <= len(notices) <= 4, screen  # about one a second, not one per chunk
    assert "[y] stdout buffer full" in screen
    term.run("close y", "y: terminated")
    term.run("echo responsive", "\nresponsive")


def test_the_line_is_highlighted(term: Terminal) -> None:
    term.type("spawn p --shell -- 'x'")
    time.sleep(0.3)
    coloured = term._tmux("capture-pane", "-p", "-e", "-t", "psl")
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
