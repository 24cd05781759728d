"""Pitfall notes: each classic lesson said once, as it happens, and only when it does."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import pytest

from pslrepl.pitfalls import NOTES
from tests.helpers import Shell, child, port

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def pair(shell: Shell) -> None:
    shell.ok("tcp listen srv 0; tcp connect c srv; accept srv s")


def notes(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("note: ")]


def test_two_sends_read_by_one_recv_is_said_once(shell: Shell) -> None:
    pair(shell)
    shell.ok("send c --hex '00 0d 0a'; send c --hex '0a 0d 00'; wait s data")
    out = shell.ok("recv s --hex")
    assert notes(out) == [
        f"note: one recv on s read 6 bytes that c sent in 2 sends: {NOTES['coalesced']}"
    ]
    shell.ok("send c ab; send c cd; send c ef; wait s data")
    assert notes(shell.ok("recv s")) == []  # once per session


def test_one_send_read_by_two_recvs(shell: Shell) -> None:
    pair(shell)
    shell.ok("send s 0123456789")
    assert notes(shell.ok("recv c 4")) == []  # the send is not read to its end yet
    out = shell.ok("recv c")
    assert out.startswith("456789\n(6 bytes)\n")
    assert notes(out) == [
        f"note: the 10 bytes s sent in one send took 2 recvs on c: {NOTES['split']}"
    ]


def test_a_send_read_by_its_own_recv_says_nothing(shell: Shell) -> None:
    pair(shell)
    for word in ("one", "two", "three"):
        shell.ok(f"send c {word}; wait s data")
        assert notes(shell.ok("recv s")) == []
    shell.ok("send c 'a line\n'; send c 'more\n'")  # read as lines: not one recv
    assert notes(shell.ok("recv s --line")) == []
    assert notes(shell.ok("recv s --line")) == []


def test_bytes_the_shell_did_not_see_sent_say_nothing(shell: Shell) -> None:
    # A send made through py is not in the queue: the kernel's count disagrees with
    # it, and the note (which would be wrong) is not said.
    pair(shell)
    shell.ok("py c.send(b'x')")
    shell.ok("send c ab; send c cd; wait s data")
    out = shell.ok("recv s")
    assert out.startswith("xabcd\n")
    assert notes(out) == []


def test_a_count_the_kernel_disagrees_with_says_nothing(shell: Shell) -> None:
    # py's bytes come first, so recv 4 reads 4 bytes as if they were c's two sends:
    # the kernel still holds 2 where the queue expects none, and nothing is said.
    pair(shell)
    shell.ok("py c.send(b'xy')")
    shell.ok("send c ab; send c cd; wait s data")
    out = shell.ok("recv s 4")
    assert out.startswith("xyab\n")
    assert notes(out) == []


def test_an_outside_peer_is_not_one_of_the_sessions(shell: Shell) -> None:
    shell.ok("tcp listen srv 0")
    with socket.create_connection(("127.0.0.1", port(shell, "srv"))) as peer:
        shell.ok("accept srv s")
        peer.sendall(b"one")
        peer.sendall(b"two")
        shell.ok("wait s data")
        assert notes(shell.ok("recv s")) == []


def test_a_short_send(shell: Shell, tmp_path: Path) -> None:
    pair(shell)
    big = tmp_path / "big"
    big.write_bytes(os.urandom(16 << 20))
    out = shell.ok(f"send c --file {big} --timeout 2")
    sent = re.search(r"c: sent (\d+) bytes of 16777216", out)
    assert sent, out
    assert notes(out) == [
        f"note: c's send took {int(sent.group(1))} of 16777216 bytes: {NOTES['partial-send']}"
    ]
    _, again, _ = shell(f"send c --file {big} --timeout 0.2")  # may send nothing: full
    assert notes(again) == []


def test_epipe_after_the_peer_closed(shell: Shell) -> None:
    pair(shell)
    shell.ok("close s; send c a")  # the first send draws the RST
    ok, out, err = shell("send c b")
    assert not ok and "EPIPE" in err
    assert notes(out) == [f"note: {NOTES['epipe']}"]


def test_no_epipe_note_when_this_end_shut_down_writing(shell: Shell) -> None:
    # EPIPE after our own shutdown wr, on the socket or on a dup of it: no peer closed
    # anything, so the peer-closed lesson would be the wrong one.
    shell.ok("tcp listen srv 0; tcp connect c srv; accept srv s; shutdown c wr")
    for name in ("c", "d"):
        if name == "d":
            shell.ok("fromfd d c")
        ok, out, err = shell(f"send {name} x")
        assert not ok and "EPIPE" in err
        assert notes(out) == []
    # The lesson still comes where the peer did close (and was not said yet).
    shell.ok("tcp connect c2 srv; accept srv s2; close s2; wait c2 eof; send c2 x")
    ok, out, err = shell("send c2 y")
    assert not ok and "EPIPE" in err
    assert notes(out) == [f"note: {NOTES['epipe']}"]


def test_econnreset_when_unread_data_is_closed(shell: Shell) -> None:
    pair(shell)
    shell.ok("send c unread; wait s data; close s")
    ok, out, err = shell("recv c")
    assert not ok and "ECONNRESET" in err
    assert notes(out) == [f"note: {NOTES['econnreset']}"]


def test_time_wait_on_the_port_of_the_side_that_closed_first(shell: Shell) -> None:
    # Linux lets a port with connections in TIME_WAIT be bound when both the old
    # socket and the new set SO_REUSEADDR: a server sets it before it binds.
    shell.ok("tcp listen srv 0 --reuseaddr; tcp connect c srv; accept srv s")
    number = port(shell, "srv")
    shell.ok("close s; wait c eof; close c; close srv; socket again tcp")
    ok, out, err = shell(f"bind again 127.0.0.1:{number}")
    assert not ok and "EADDRINUSE" in err
    assert notes(out) == [f"note: {NOTES['time-wait']}"]
    shell.ok("sockopt again SO_REUSEADDR on")
    shell.ok(f"bind again 127.0.0.1:{number}")  # what the note says works


def test_address_in_use_by_a_listener_is_not_time_wait(shell: Shell) -> None:
    shell.ok("tcp listen srv 0; socket again tcp")
    ok, out, err = shell(f"bind again 127.0.0.1:{port(shell, 'srv')}")
    assert not ok and "EADDRINUSE" in err
    assert notes(out) == []


def test_a_live_listener_beside_time_wait_is_not_time_wait(shell: Shell) -> None:
    # srv's port has a connection in TIME_WAIT, but srv itself still listens there:
    # that is what refuses the bind, and no SO_REUSEADDR would help.
    pair(shell)
    shell.ok("close s; wait c eof; close c; socket again tcp; sockopt again SO_REUSEADDR on")
    ok, out, err = shell(f"bind again 127.0.0.1:{port(shell, 'srv')}")
    assert not ok and "EADDRINUSE" in err
    assert notes(out) == []


@pytest.mark.parametrize(
    "line",
    [
        "spawn a -- {py} -u -c 'import time; time.sleep(30)'; read a --timeout 0.3",
        "spawn a --env PYTHONUNBUFFERED= -- {py} -c 'import time; print(1); time.sleep(30)';"
        " read a --stderr --timeout 0.3",
        "spawn a --env PYTHONUNBUFFERED= -- {py} -c 'import socket; s = socket.socket();"
        ' s.bind(("127.0.0.1", 0)); s.listen(); s.accept()\'; read a --timeout 0.5',
    ],
    ids=["python-u", "stderr", "accept"],
)
def test_no_buffering_note_where_nothing_is_buffered(shell: Shell, line: str) -> None:
    import sys

    ok, out, _ = shell(line.format(py=sys.executable))
    assert not ok and notes(out) == []


def test_a_truncated_datagram(shell: Shell) -> None:
    shell.ok("udp open server --bind 0; udp open client --connect server")
    shell.ok("send client --hex '00 0d 0a 41 42'")
    out = shell.ok("recvfrom server 4")
    assert notes(out) == [f"note: {NOTES['msg-trunc']}"]
    shell.ok("send client 0123456789")
    assert notes(shell.ok("recvfrom server 10")) == []


def test_a_sync_server_keeps_the_second_client_waiting(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --handler echo; tcp connect first e; tcp connect second e")
    shell.ok("send first hello; recv first")  # first's handler is running
    shell.ok("send second hi")
    ok, out, _ = shell("recv second --timeout 0.3")
    assert not ok
    assert notes(out) == [f"note: e is serving another client: {NOTES['sync-server']}"]
    shell.ok("close first")
    assert shell.ok("recv second").startswith("hi\n")


def test_a_threading_server_never_keeps_a_client_waiting(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --handler discard --threading; tcp connect first e")
    shell.ok("tcp connect second e")
    ok, out, _ = shell("recv second --timeout 0.2")
    assert not ok and notes(out) == []


def test_a_child_holding_its_output_in_a_buffer(shell: Shell) -> None:
    code = "import time; print('hello'); time.sleep(30)"
    shell.ok(f"spawn held --env PYTHONUNBUFFERED= -- {child(code).replace(' -u ', ' ', 1)}")
    ok, out, err = shell("read held --timeout 0.5")
    assert not ok and "timeout" in err
    assert notes(out) == [
        f"note: held is still running and nothing came on its stdout: {NOTES['stdio-buffer']}"
    ]


def test_a_child_waiting_for_input_is_not_said_to_buffer(shell: Shell) -> None:
    shell.ok("spawn s -- sort")
    shell.ok("write s 'b\n'")
    ok, out, _ = shell("read s --timeout 0.3")
    assert not ok and notes(out) == []
    shell.ok("eof s")
    assert shell.ok("read s --line").startswith("b\n")


def test_a_child_killed_by_sigpipe(shell: Shell) -> None:
    code = """
        import os, signal
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        r, w = os.pipe()
        os.close(r)
        os.write(w, b"x")
    """
    shell.spawn("w", code)
    out = shell.ok("wait w exit")
    assert "SIGPIPE" in out
    assert notes(out) == [f"note: w was killed by SIGPIPE: {NOTES['sigpipe']}"]


def test_a_zombie_left_by_py(shell: Shell) -> None:
    shell.ok("py import os, subprocess")
    shell.ok("py 'z = subprocess.Popen([\"true\"]); os.waitid(os.P_PID, z.pid, os.WEXITED | "
             "os.WNOWAIT)'")  # fmt: skip
    out = shell.ok("echo next")
    assert notes(out) == [f"note: true has exited and nobody has waited for it: {NOTES['zombie']}"]
    shell.ok("py z.wait()")


def test_a_spawned_child_is_waited_for_and_never_called_a_zombie(shell: Shell) -> None:
    shell.ok("py import os")  # the zombie check starts once py has run
    for n in range(3):
        shell.ok(f"spawn t{n} -- true; wait t{n} exit")
        assert notes(shell.ok("echo next")) == []


def test_set_notes_off_silences_them(shell: Shell) -> None:
    assert shell.ok("set notes") == "notes: on\n"
    shell.ok("set notes off")
    pair(shell)
    shell.ok("send c ab; send c cd; wait s data")
    assert notes(shell.ok("recv s")) == []
    shell.ok("set notes on")
    shell.ok("send s 0123456789; recv c 4")
    assert len(notes(shell.ok("recv c"))) == 1


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.psl")), ids=lambda p: p.name)
def test_notes_fire_only_in_the_examples_that_teach_them(path: Path) -> None:
    # Each example's replay checks its output exactly: a note there is recorded.
    lessons = tuple(NOTES.values())
    said = [line for line in path.read_text().splitlines()
            if line.startswith("note: ") and line.endswith(lessons)]  # fmt: skip
    if path.name == "pitfalls.psl":
        assert len(said) == 9, said
    elif path.name == "buffering.psl":
        assert said == [
            f"note: held is still running and nothing came on its stdout: {NOTES['stdio-buffer']}"
        ]
    elif path.name == "slow-network.psl":  # the reset toxic's lesson
        assert said == [f"note: {NOTES['econnreset']}"]
    else:
        assert said == []
