"""timeline: who each arrow goes to, for names used again, datagrams, relays and UNIX sockets."""

from __future__ import annotations

import socket
from pathlib import Path

from pslrepl.timeline.model import Diagram, Step, build
from pslrepl.timeline.text import FANCY, draw
from tests.helpers import Shell, run_cli


def steps(shell: Shell, *names: str) -> list[tuple[str, str, str]]:
    """The drawn steps as (from, to, label); a mark has from == to."""
    return [(s.src, s.dst, s.label) for s in build(shell.session, names=names).steps]


def test_a_name_used_again_keeps_each_sockets_bytes_with_the_peer_it_had_then(
    shell: Shell,
) -> None:
    for line in ["tcp listen srv 0", "tcp connect c srv", "accept srv s", "send c first",
                 "close c", "tcp connect c srv", "accept srv s2", "send c second",
                 "shutdown c wr", "recv s2", "recv s"]:  # fmt: skip
        shell.ok(line)
    drawn = steps(shell)
    assert ("c", "s", "send 5 b'first'") in drawn
    assert ("c", "s2", "send 6 b'second'") in drawn
    assert ("c", "s2", "FIN shutdown(SHUT_WR)") in drawn
    assert not any(s[:2] == ("c", "s2") and "first" in s[2] for s in drawn)
    assert ("srv", "s", "accept") in drawn and ("srv", "s2", "accept") in drawn


def test_an_empty_udp_datagram_is_a_datagram_not_eof(shell: Shell) -> None:
    shell.ok("udp open a --bind 127.0.0.1:0")
    shell.ok("udp open b --bind 127.0.0.1:0")
    shell.ok('sendto a b ""')
    assert "(0 bytes)" in shell.ok("recvfrom b")
    shell.ok("udp open d --connect b")
    shell.ok('send d ""')
    shell.ok("recv b")  # b'' from recv: a stream's EOF, but this is UDP
    drawn = steps(shell, "b")
    assert ("a", "b", "send 0 (an empty datagram)") in drawn
    assert ("d", "b", "send 0 (an empty datagram)") in drawn
    assert [s for s in drawn if s[2].startswith("recv")] == [
        ("b", "b", "recv 0 (an empty datagram)")
    ] * 2
    assert not any("EOF" in s[2] for s in drawn), drawn
    # A stream's b'' still is EOF.
    shell.ok("tcp listen srv 0; tcp connect c srv; accept srv s; shutdown c wr; recv s")
    assert ("s", "s", "recv EOF: b''") in steps(shell, "s")


def test_a_relay_is_drawn_as_itself_between_its_client_and_what_it_reaches(
    shell: Shell,
) -> None:
    """A client from outside the shell connects to the relay (an arrow from its address),
    and the relay's own connection to the server comes from the relay's lane."""
    shell.ok("serve web tcp 0 --handler echo")
    shell.ok("relay r tcp-listen:0 web --text")
    port = int(shell.session.volatile["r.port"])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as outside:
        me = f"127.0.0.1:{outside.getsockname()[1]}"
        outside.sendall(b"via\x00relay\n")
        got = b""
        while len(got) < 10:
            chunk = outside.recv(100)
            assert chunk
            got += chunk
    assert got == b"via\x00relay\n"
    r = shell.session.registry.get("r")
    assert shell.session.wait_for(lambda: r.moved["<"] == 10, 10)
    # Each way's copy is logged after it is written: the server's answer can come back
    # before the way there has logged its own (seen under load).
    assert shell.session.wait_for(
        lambda: sum(e.size or 0 for e in list(r.log) if e.kind == "relay") >= 20, 10
    )
    drawn = steps(shell)
    assert (me, "r", "accept") in drawn, drawn
    assert ("r", "web", "client connected") in drawn
    assert ("r", "web", "relay 10 b'via\\x00relay\\n'") in drawn
    assert ("web", "r", "send 10 b'via\\x00relay\\n'") in drawn
    assert ("r", me, "relay 10 b'via\\x00relay\\n'") in drawn
    lanes = build(shell.session).lanes
    assert [lane for lane in lanes if lane.startswith("127.")] == [me]


def test_socketpair_and_unix_stream_sockets_get_arrows(shell: Shell) -> None:
    shell.ok("socketpair a b")
    shell.ok("send a ping; send b pong; recv b; recv a; shutdown a wr")
    shell.ok("unix listen ul {tmp}/u.sock")
    shell.ok("unix connect uc {tmp}/u.sock")
    shell.ok("unix connect uc2 {tmp}/u.sock")
    shell.ok("accept ul us; accept ul us2")
    shell.ok("send uc viaunix; send uc2 two; send us back; recv us; recv us2; recv uc")
    drawn = steps(shell)
    assert ("a", "b", "socketpair") in drawn
    assert not any(s[0] == "b" and s[2].startswith("socketpair") for s in drawn)
    assert ("a", "b", "send 4 b'ping'") in drawn and ("b", "a", "send 4 b'pong'") in drawn
    assert ("a", "b", "FIN shutdown(SHUT_WR)") in drawn
    assert ("uc", "ul", "connect") in drawn and ("ul", "us", "accept") in drawn
    assert ("ul", "us2", "accept") in drawn
    assert ("uc", "us", "send 7 b'viaunix'") in drawn
    assert ("uc2", "us2", "send 3 b'two'") in drawn
    assert ("us", "uc", "send 4 b'back'") in drawn


def test_a_recorded_timeline_replays_whatever_ran_before_record_and_in_threads(
    tmp_path: Path,
) -> None:
    """Commands before `record`, a child's output and its exit (a thread's steps, which
    fall under whichever command ran) and a pause: the recorded drawing is the one every
    replay draws, numbered from the recording's first command."""
    rec = tmp_path / "rec.psl"
    lines = ["tcp listen early 0", "echo before", f"record {rec}", "tcp listen srv 0",
             "tcp connect c srv", "accept srv s", "send c one", "spawn p -- cat",
             "writeline p hi", "read p --line", "sleep 0.2", "recv s", "timeline --gap 0.1",
             "record stop"]  # fmt: skip
    run = run_cli("-c", "; ".join(lines))
    assert run.returncode == 0, run.stderr
    text = rec.read_text(encoding="utf-8")
    drawn = text.split("(3 bytes)\n", 1)[1].splitlines()  # recv s said it; then the drawing
    # The child's output (a thread's) is left out, and the drawing says so.
    assert drawn[1] == "(steady: what ran in the background is left out; a terminal shows it)"
    assert drawn[2] == "1> tcp listen srv 0", drawn
    assert "early" not in "\n".join(drawn) and "stdout" not in "\n".join(drawn)
    assert any(": more than 0.1s later" in ln for ln in drawn), drawn
    assert all(len(ln) <= 80 and not set(ln) & set(FANCY) for ln in drawn)
    for _ in range(3):
        check = run_cli("--check", str(rec))
        assert check.returncode == 0, check.stdout + check.stderr


def test_recording_in_a_terminal_writes_the_plain_drawing_a_replay_makes(tmp_path: Path) -> None:
    from tests.terminal import Terminal

    rec = tmp_path / "rec.psl"
    term = Terminal(tmp_path, cols=100, rows=50)
    try:
        term.run("echo first", "first")
        term.run(f"record {rec}", "recording")
        term.run("tcp listen srv 0; tcp connect c srv; accept srv s", "s: accepted")
        term.run('send c "one "; recv s', "(4 bytes)")
        screen = term.run("timeline", "recv 4 b'one '")
        term.run("record stop", "record: wrote")
    finally:
        term.close()
    assert "1> tcp listen srv 0" in screen
    assert "(steady: what ran in the background" not in screen  # nothing ran there
    text = rec.read_text(encoding="utf-8")
    assert not set(text) & set(FANCY) and "1> tcp listen srv 0\n" in text
    check = run_cli("--check", str(rec))
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_svg_of_a_replayed_transcript_is_the_same_file_every_run(tmp_path: Path) -> None:
    """A server's side of a conversation and a child's output come from threads: a replay
    leaves them out of the picture, so each replay writes the same bytes."""
    out = tmp_path / "t.svg"
    script = tmp_path / "t.psl"
    lines = ["serve web tcp 0 --handler echo", "tcp connect c web", 'send c "hi\\n"',
             "recv c --line", "spawn p -- cat", "writeline p x", "read p --line",
             f"timeline --svg {out}"]  # fmt: skip
    script.write_text("".join(f"psl> {line}\n" for line in lines), encoding="utf-8")
    run = run_cli("--update", str(script))
    assert run.returncode == 0, run.stdout + run.stderr
    pictures = {out.read_bytes()}
    for _ in range(2):
        check = run_cli("--check", str(script))
        assert check.returncode == 0, check.stdout + check.stderr
        pictures.add(out.read_bytes())
    assert len(pictures) == 1
    text = pictures.pop().decode()
    assert "{web.port}" in text or "{web.addr}" in text
    assert "stdout" not in text and "client connected" not in text


def test_an_outside_peers_address_is_a_placeholder_in_the_svg(shell: Shell, tmp_path: Path) -> None:
    shell.ok("udp open u --bind 127.0.0.1:0")
    port = int(shell.session.volatile["u.port"])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as outside:
        outside.bind(("127.0.0.1", 0))
        outside.sendto(b"from\x00outside", ("127.0.0.1", port))
        theirs = str(outside.getsockname()[1])
        shell.ok("recvfrom u")
    shell.ok(f"timeline --svg {tmp_path}/t.svg")
    text = (tmp_path / "t.svg").read_text(encoding="utf-8")
    assert "{peer1.addr}" in text and theirs not in text


def test_outside_peers_lane_names_keep_their_ports() -> None:
    """Four clients on one host, at 80 columns (lanes 13 wide) and at 50: each lane name
    still ends in its port, the only part that differs."""
    peers = [f"127.0.0.1:{port}" for port in (54088, 55960, 41560, 39954)]
    lanes = ["web", *peers, "c"]
    steps = [Step(float(i), peer, "web", "client connected", kind="client")
             for i, peer in enumerate(peers)]  # fmt: skip
    steps.append(Step(9.0, "c", "web", "connect", kind="start"))
    diagram = Diagram(lanes, steps, {}, set(peers))
    for width in (80, 50):
        head = "".join(t for _, t in draw(diagram, width=width, fancy=False)[0]).split()
        assert head[0] == "web" and head[-1] == "c"
        assert [name[-5:] for name in head[1:-1]] == ["54088", "55960", "41560", "39954"]
        assert all(name.startswith(("\u2026", "127.0.0.1:")) for name in head[1:-1]), head


def test_recv_into_at_eof_is_marked_and_an_empty_datagram_into_a_buffer_is_not(
    shell: Shell,
) -> None:
    shell.ok("tcp listen srv 0; tcp connect c srv; accept srv s; send c hi; close c")
    shell.ok("recv_into s 16")
    assert "EOF" in shell.ok("recv_into s 16")
    assert ("s", "s", "recv_into EOF: 0") in steps(shell, "s")
    shell.ok("udp open a --bind 127.0.0.1:0; udp open b --bind 127.0.0.1:0")
    shell.ok('sendto a b ""')
    shell.ok("recv_into b 16")
    drawn = steps(shell, "b")
    assert ("b", "b", "recv 0 (an empty datagram)") in drawn
    assert not any("EOF" in s[2] for s in drawn), drawn


def test_since_a_time_later_today_and_svg_to_a_folder_say_what_to_give(
    shell: Shell, tmp_path: Path
) -> None:
    shell.ok("tcp listen srv 0")
    error = shell.fails("timeline --since 23:59:59")
    assert error.startswith("error: timeline: --since 23:59:59 is later than now (")
    assert shell.fails(f"timeline --svg {tmp_path}/") == (
        f"error: timeline --svg: {tmp_path}/ is a directory; give a file's name in it, "
        f"like {tmp_path}/timeline.svg"
    )
    assert "timeline.html" in shell.fails(f"timeline --html {tmp_path}")


def test_lanes_that_do_not_fit_merge_the_least_busy_whichever_lane_came_first() -> None:
    """At 17 columns two lanes fit: the busiest one, then '...'; a quiet lane that
    happened to come first is merged like any other (only psl's lane always stays)."""
    steps = [Step(0.0, "srv", "srv", "listening", kind="start")]
    steps += [Step(float(i), "c", "s", f"send {i}", kind="send") for i in range(1, 4)]
    diagram = Diagram(["srv", "c", "s"], steps, {}, set())
    head = "".join(t for _, t in draw(diagram, width=17, fancy=False)[0]).split()
    assert head == ["c", "..."]
    steps.insert(0, Step(0.0, "psl", "srv", "spawn", kind="start"))
    diagram = Diagram(["psl", "srv", "c", "s"], steps, {}, set())
    head = "".join(t for _, t in draw(diagram, width=17, fancy=False)[0]).split()
    assert head == ["psl", "..."]


def test_a_relays_copy_to_a_child_says_its_direction_once_and_keeps_its_count(
    shell: Shell,
) -> None:
    shell.ok("relay x tcp-listen:0 exec:sort --text")
    shell.ok("tcp connect c x")
    shell.ok('send c "pear\\napple\\n"')
    shell.ok("shutdown c wr")
    assert "apple\npear\n" in shell.ok("recv c --all")
    log = shell.session.log
    assert shell.session.wait_for(lambda: sum(e.kind == "relay" for e in list(log)) == 2, 10)
    drawn = steps(shell)
    port = shell.session.volatile["x.port"]
    copy = f"tcp-listen:127.0.0.1:{port} -> exec:sort: 11 b'pear\\napple\\n'"
    assert ("x", "x", copy) in drawn, drawn
    assert ("x", "c", "relay 11 b'apple\\npear\\n'") in drawn
    text = shell.ok("set events live; timeline x")
    assert f"* tcp-listen:127.0.0.1:{port} -> exec:sort: 11 b'pear" in text


def test_a_drawing_that_starts_where_the_log_was_cut_says_older_steps_are_gone(
    shell: Shell,
) -> None:
    """The log keeps the newest events (5,000; here 12, to stay fast): a drawing that
    reaches back to its oldest says that what came before is gone."""
    from collections import deque

    shell.session.log = deque(maxlen=12)
    shell.ok("tcp listen srv 0; tcp connect c srv; accept srv s")
    note = "(older steps are gone: the session keeps its last 12 events)"
    assert note not in shell.ok("timeline")
    for n in range(12):
        shell.ok(f"send c m{n}")
    out = shell.ok("timeline").splitlines()
    assert out[1] == note and "send 3 b'm11'" in out[-1]
    assert "connect" not in "\n".join(out)
    assert note not in shell.ok("timeline --last 3")
    assert "    %% " + note[1:-1] in shell.ok("timeline --mermaid").splitlines()


def test_last_n_is_the_last_rows_as_drawn(shell: Shell) -> None:
    """A thread's step that came while a command ran is drawn after the command's own
    (a server answers before the send's event is posted): --last 1 is that last row."""
    from pslrepl.events import Event

    shell.ok("tcp listen srv 0; tcp connect c srv; accept srv s; send c hi")
    sent = max(e.t for e in list(shell.session.log) if e.kind == "send")
    record = shell.session.history.last()
    assert record is not None and record.started < sent
    # A child's output that arrived between the send call and its event (injected: the
    # order a loaded machine gives now and then).
    shell.session.post(Event("p", "data", stream="stdout", direction="in", size=2,
                             data=b"yo", t=(record.started + sent) / 2))  # fmt: skip
    rows = [s.label for s in build(shell.session).steps]
    assert rows[-2:] == ["send 2 b'hi'", "stdout 2 b'yo'"]
    assert [s.label for s in build(shell.session, last=1).steps] == ["stdout 2 b'yo'"]


def test_a_relay_to_the_shells_own_listener_is_the_accepted_sockets_peer(shell: Shell) -> None:
    shell.ok("tcp listen srv 0")
    shell.ok("relay r tcp-listen:0 srv")
    shell.ok("tcp connect c r")
    shell.ok("accept srv s")
    shell.ok("send s back")
    shell.ok("close r")  # closed: only the log knows where its connection came from
    drawn = steps(shell)
    assert ("srv", "s", "accept") in drawn
    assert ("s", "r", "send 4 b'back'") in drawn, drawn
    assert not [lane for lane in build(shell.session).lanes if lane.startswith("127.")]


def test_a_datagram_recv_cut_short_is_drawn_cut(shell: Shell) -> None:
    shell.ok("udp open a --bind 127.0.0.1:0; udp open b --bind 127.0.0.1:0; udp open c")
    shell.ok("sendto a b abcdef")
    shell.ok("recv b 2")
    shell.ok("sendto c b xy")
    shell.ok("recv b 2")  # fits: not cut
    drawn = [s for s in steps(shell, "b") if s[2].startswith("recv")]
    assert drawn == [("b", "b", "recv 2 b'ab' (MSG_TRUNC: the rest is lost)"),
                     ("b", "b", "recv 2 b'xy'")]  # fmt: skip


def test_a_closed_relays_onward_connection_is_matched_by_the_address_it_logged(
    shell: Shell,
) -> None:
    shell.ok("tcp listen srv 0; relay r1 tcp-listen:0 srv; relay r2 tcp-listen:0 srv")
    shell.ok("tcp connect c1 r1; accept srv s1; tcp connect c2 r2; accept srv s2")
    shell.ok("close r1 r2")  # closed: only the log knows their connections now
    shell.ok("send s1 one; send s2 two")
    log = shell.session.log
    logged = {e.source: e.fields["local"] for e in list(log) if e.kind == "connect"}
    assert logged == {n: shell.session.registry.get(s).remote
                      for n, s in (("r1", "s1"), ("r2", "s2"))}  # fmt: skip
    drawn = steps(shell)
    assert ("s1", "r1", "send 3 b'one'") in drawn and ("s2", "r2", "send 3 b'two'") in drawn
    assert build(shell.session).said == []
    # A log without those (a relay that did not say): matched by order, and said so.
    kept = [e for e in list(log) if e.kind != "connect"]
    log.clear()
    log.extend(kept)
    diagram = build(shell.session)
    said = "(r1, r2: onward connection matched by order: no address logged for it)"
    assert diagram.said == [said]
    assert said in "".join(t for line in draw(diagram, width=80, fancy=False) for _, t in line)
    assert build(shell.session, names=["srv"]).said == []  # r1, r2 not drawn: not said


def test_run_call_check_output_and_sh_children_are_drawn_from_their_records(
    shell: Shell,
) -> None:
    shell.ok("run -- printf 'a\\x00b\\r\\n'")
    shell("call -- sh -c 'exit 3'")
    shell.ok("check_output -- echo yo")
    shell("check_output -- sh -c 'echo out; exit 4'")
    shell.ok("sh echo hello")
    shell("run -- no-such-program-here")
    shell("call --timeout 0.2 -- sleep 5")
    shell("run -- sh -c 'kill -TERM $$'")
    assert steps(shell) == [
        ("psl", "(printf)", "run printf 'a\\x00b\\r\\n'"),
        ("(printf)", "psl", "stdout 5 b'a\\x00b\\r\\n'"),
        ("(printf)", "(printf)", "exit 0"),
        ("psl", "(sh)", "call sh -c 'exit 3'"),
        ("(sh)", "(sh)", "exit 3"),
        ("psl", "(echo)", "check_output echo yo"),
        ("(echo)", "psl", "stdout 3 b'yo\\n'"),
        ("(echo)", "(echo)", "exit 0"),
        ("psl", "(sh)", "check_output sh -c 'echo out; exit 4'"),
        ("(sh)", "(sh)", "exit 4"),
        ("psl", "(echo)", "sh echo hello"),
        ("(echo)", "(echo)", "exit 0 (output not recorded)"),
        ("psl", "psl", "run: FileNotFoundError"),
        ("psl", "(sleep)", "call sleep 5"),
        ("(sleep)", "(sleep)", "killed: the timeout ran out"),
        ("psl", "(sh)", "run sh -c 'kill -TERM $$'"),
        ("(sh)", "(sh)", "killed by SIGTERM"),
    ]
    # Steady (a transcript): drawn all the same, as the commands made them.
    assert len(build(shell.session, steady=True).steps) == 17
    assert "(sh)" not in build(shell.session).external  # a lane of ours, not a peer


def test_commands_skipped_are_left_out_and_not_counted(shell: Shell) -> None:
    shell.ok("tcp listen srv 0")
    shell.ok("tcp listen extra 0")  # 2: as if typed live during --present
    shell.ok("echo hi")  # 3: live too, and draws nothing
    shell.ok("tcp connect c srv")
    diagram = build(shell.session, skip={2, 3})
    assert diagram.commands == {1: "tcp listen srv 0", 2: "tcp connect c srv"}
    assert [(s.command, s.src) for s in diagram.steps] == [(1, "srv"), (2, "c")]
    assert diagram.said == ["(1 step of commands typed live left out)"]
    assert build(shell.session, skip={3}).said == []  # echo drew nothing: nothing to say
