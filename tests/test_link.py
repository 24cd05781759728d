"""link: toxics on a relay, judged by what the peer's recv sees (real sockets on loopback)."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Shell, port

# Bytes a careless toxic would mangle: NUL, CR, LF, high bytes.
PAYLOAD = bytes(range(256)) * 4 + b"\x00\r\n" * 50


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def joined(shell: Shell, line: str) -> Iterator[tuple[socket.socket, socket.socket]]:
    """A relay made by ``line`` (tcp-listen:0 on A, our listener as B, `{b}` in line),
    and both ends as test sockets: (client at A, server at B)."""
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        shell.ok(line.format(b=f"tcp:127.0.0.1:{listener.getsockname()[1]}"))
        name = line.split()[1]
        client = socket.create_connection(("127.0.0.1", port(shell, name)), timeout=10)
        listener.settimeout(10)
        server, _ = listener.accept()
        server.settimeout(10)
        with client, server:
            yield client, server
    finally:
        listener.close()


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    got = bytearray()
    while len(got) < n:
        part = sock.recv(n - len(got))
        assert part, f"EOF after {len(got)} of {n} bytes"
        got += part
    return bytes(got)


def nothing_within(sock: socket.socket, seconds: float) -> bool:
    """Nothing arrives for `seconds` (used only where the toxic holds for far longer)."""
    sock.settimeout(seconds)
    try:
        sock.recv(1, socket.MSG_PEEK)
    except TimeoutError:
        return True
    finally:
        sock.settimeout(10)
    return False


def test_latency_holds_each_chunk_and_unlink_lets_it_go_at_once(shell: Shell) -> None:
    with joined(shell, "relay r tcp-listen:0 {b} --link 'latency delay=60s'") as (c, s):
        s.sendall(b"down\x00\r\n")  # down: B back to A, where latency acts by default
        c.sendall(b"up")  # up is untouched
        assert recv_exactly(s, 2) == b"up"
        assert nothing_within(c, 0.3)
        t0 = time.monotonic()
        assert shell.ok("unlink r latency") == "r: unlinked latency\n"
        assert recv_exactly(c, 7) == b"down\x00\r\n"
        assert time.monotonic() - t0 < 2  # not 60 s: the wait ended on unlink
    assert "latency: held 7 bytes" in shell.ok("log r")


def test_latency_adds_its_delay_to_a_round_trip(shell: Shell) -> None:
    with joined(shell, "relay r tcp-listen:0 {b} --link 'latency delay=250ms dir=both'") as (
        c,
        s,
    ):
        t0 = time.monotonic()
        c.sendall(b"ping")
        assert recv_exactly(s, 4) == b"ping"
        s.sendall(b"pong")
        assert recv_exactly(c, 4) == b"pong"
        assert time.monotonic() - t0 >= 0.5  # 250 ms each way


def test_slicer_is_seen_by_recv_as_small_reads(shell: Shell) -> None:
    line = "relay r tcp-listen:0 {b} --link 'slicer size=10 delay=60s dir=up'"
    with joined(shell, line) as (c, s):
        c.sendall(PAYLOAD[:100])
        assert s.recv(4096) == PAYLOAD[:10]  # the next slice is a minute away
        assert nothing_within(s, 0.3)
        shell.ok("unlink r")  # the rest goes on in one piece, at once
        assert recv_exactly(s, 90) == PAYLOAD[10:100]


def test_slicer_with_variation_keeps_every_byte_in_order(shell: Shell) -> None:
    big = PAYLOAD * 64  # 114 KiB
    line = "relay r tcp-listen:0 {b} --link 'slicer size=700 variation=300 delay=0' --seed 3"
    with joined(shell, line + " --link 'slicer size=50 delay=0 dir=up name=up'") as (c, s):
        c.sendall(big)
        c.shutdown(socket.SHUT_WR)
        got = recv_exactly(s, len(big))
        assert s.recv(10) == b""  # the half-close passed on after the last slice
        s.sendall(got)
        assert sha(recv_exactly(c, len(big))) == sha(big)
    listing = shell.ok("link r")
    assert "slicer  slicer  size=700 variation=300 delay=0ms" in listing
    assert "up      slicer  size=50 delay=0ms" in listing


def test_bandwidth_paces_the_bytes(shell: Shell) -> None:
    data = PAYLOAD * 128  # 228 KiB at 1 MiB/s: a fifth of a second at least
    with joined(shell, "relay r tcp-listen:0 {b} --link 'bandwidth rate=1MiB/s'") as (c, s):
        t0 = time.monotonic()
        s.sendall(data)
        got = recv_exactly(c, len(data))
        took = time.monotonic() - t0
    assert sha(got) == sha(data)
    # The first piece (1/50 s of the rate) goes at once; the rest can't come sooner.
    assert took >= (len(data) - (1 << 20) / 50) / (1 << 20)
    assert "bandwidth: paced " in shell.ok("log r")


def test_limit_passes_exactly_that_many_bytes_then_closes(shell: Shell) -> None:
    with joined(shell, "relay r tcp-listen:0 {b} --link 'limit bytes=1000 dir=up'") as (c, s):
        c.sendall(PAYLOAD[:600])
        c.sendall(PAYLOAD[600:5000])
        got = bytearray()
        while part := s.recv(65536):
            got += part
        assert bytes(got) == PAYLOAD[:1000]
        assert c.recv(10) == b""  # the client's side is closed too
    shell.ok("wait r close")
    assert "limit: passed 1,000 bytes A -> B, closed the connection" in shell.ok("log r")


def test_limit_both_ways_counts_each_way_apart(shell: Shell) -> None:
    """dir=both shared one count: an echo of 3 bytes was cut to 2 after 3 went up, and
    the log said 'passed 5 bytes' twice (trial 13, F2)."""
    with joined(shell, "relay r tcp-listen:0 {b} --link 'limit bytes=5 dir=both'") as (c, s):
        c.sendall(b"a\x00c")
        assert recv_exactly(s, 3) == b"a\x00c"
        s.sendall(b"a\x00c")
        assert recv_exactly(c, 3) == b"a\x00c"  # B -> A has its own 5
        c.sendall(b"\r\nfgh")
        got = bytearray()
        while part := s.recv(100):
            got += part
        assert bytes(got) == b"\r\n"  # A -> B: 3 + 2 = 5, then the close
        assert c.recv(10) == b""
    shell.ok("wait r close")
    log = shell.ok("log r")
    assert log.count("limit: passed") == 1, log
    assert "limit: passed 5 bytes A -> B (B -> A: 3), closed the connection" in log


def test_reset_sends_rst_to_the_client(shell: Shell) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)
        shell.ok(f"relay r tcp-listen:0 tcp:127.0.0.1:{listener.getsockname()[1]} "
                 "--link 'reset after=0'")  # fmt: skip
        with socket.socket() as c:
            c.bind(("127.0.0.1", 0))
            peer = "{}:{}".format(*c.getsockname())
            c.settimeout(10)
            # The RST may come before connect() has returned (a loaded machine): then
            # connect meets it, else the first recv does.
            with pytest.raises(ConnectionResetError):
                c.connect(("127.0.0.1", port(shell, "r")))
                while c.recv(100):
                    pass
            s, _ = listener.accept()
            with s:
                s.settimeout(10)
                assert s.recv(10) == b""  # B, the server, gets an orderly FIN
    shell.ok("wait r close")
    assert f"reset: sent RST to {peer}" in shell.ok("log r")


def test_timeout_is_a_black_hole_until_unlinked(shell: Shell) -> None:
    with joined(shell, "relay r tcp-listen:0 {b} --link 'timeout after=0 dir=up'") as (c, s):
        c.sendall(b"lost")
        assert nothing_within(s, 0.3)  # held: no data, and no EOF either
        # The relay has read (and dropped) it before unlink: wait for its word in the log.
        deadline = time.monotonic() + 10
        while "dropped 4 bytes" not in shell.ok("log r") and time.monotonic() < deadline:
            time.sleep(0.02)
        shell.ok("unlink r timeout")
        c.sendall(b"found")
        assert recv_exactly(s, 5) == b"found"


def test_slow_close_passes_eof_late_and_close_does_not_wait(shell: Shell) -> None:
    with joined(shell, "relay r tcp-listen:0 {b} --link 'slow_close delay=60s dir=up'") as (
        c,
        s,
    ):
        c.sendall(b"bye")
        c.shutdown(socket.SHUT_WR)
        assert recv_exactly(s, 3) == b"bye"
        assert nothing_within(s, 0.3)  # the EOF is held
        t0 = time.monotonic()
        assert shell.ok("close r").startswith("r: closed")
        assert time.monotonic() - t0 < 1  # the held close did not hold `close`
        assert s.recv(10) == b""


def test_close_after_ends_the_connection(shell: Shell) -> None:
    with joined(shell, "relay r tcp-listen:0 {b} --link 'close_after time=50ms'") as (c, s):
        assert c.recv(10) == b""
        assert s.recv(10) == b""
    shell.ok("wait r close")


def test_delay_accept_holds_the_client_until_unlinked(shell: Shell) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    with listener:
        b = listener.getsockname()[1]
        shell.ok(f"relay r tcp-listen:0 tcp:127.0.0.1:{b} --link 'delay_accept delay=60s'")
        with socket.create_connection(("127.0.0.1", port(shell, "r")), timeout=10) as c:
            c.sendall(b"early")
            listener.settimeout(0.3)
            with pytest.raises(TimeoutError):
                listener.accept()  # the relay has not taken its client, so not connected B
            shell.ok("unlink r")
            listener.settimeout(10)
            s, _ = listener.accept()
            with s:
                s.settimeout(10)
                assert recv_exactly(s, 5) == b"early"


def test_close_while_a_toxic_holds_is_prompt_and_leaves_no_thread(shell: Shell) -> None:
    import threading

    with joined(shell, "relay r tcp-listen:0 {b} --link 'latency delay=60s dir=both'") as (
        c,
        _,
    ):
        c.sendall(b"x")
        deadline = time.monotonic() + 10
        toxic = shell.session.registry.get("r").link.toxics[0]
        while not toxic.holding and time.monotonic() < deadline:
            time.sleep(0.005)
        assert toxic.holding == 1
        t0 = time.monotonic()
        shell.ok("close r")
        assert time.monotonic() - t0 < 1
    assert not [t for t in threading.enumerate() if t.name.startswith("pslrepl:r")]


def test_a_relay_without_toxics_splices_and_a_link_moves_it_to_copying(shell: Shell) -> None:
    with joined(shell, "relay r tcp-listen:0 {b}") as (c, s):
        c.sendall(b"one")
        assert recv_exactly(s, 3) == b"one"
        assert "os.splice (in the kernel)" in shell.ok("info r")
        shell.ok("link r slicer size=1 delay=60s --dir up")
        c.sendall(b"two")  # read by the splice already waiting, then through the slicer
        assert s.recv(100) == b"t"
        shell.ok("unlink r")
        assert recv_exactly(s, 2) == b"wo"


def test_toxicity_zero_skips_the_toxic(shell: Shell) -> None:
    with joined(shell, "relay r tcp-listen:0 {b} --link 'latency delay=60s toxicity=0'") as (
        c,
        s,
    ):
        s.sendall(b"quick")
        assert recv_exactly(c, 5) == b"quick"
    assert "latency  latency  delay=60s  down  skipped   0" in shell.ok("link r")


def test_every_action_is_told_even_when_coalesced(shell: Shell) -> None:
    with joined(shell, "relay r tcp-listen:0 {b} --link 'latency delay=1ms'") as (c, s):
        total = 0
        for i in range(30):  # one at a time: 30 separate chunks through the toxic
            s.sendall(b"%d\n" % i)
            total += len(recv_exactly(c, len(b"%d\n" % i)))
        relay = shell.session.registry.get("r")
        shell.ok("close r")  # what was not said yet is said now
    notes = [e.detail for e in relay.log if "latency:" in e.detail]
    assert 1 <= len(notes) < 30  # fewer lines than actions, a second at most apart
    said = 0
    for note in notes:
        said += int(note.split("held ")[1].split(" byte")[0].replace(",", ""))
    assert said == total


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("link r jitter delay=1s", "error: link: TOXIC must be one of latency, "),
        ("link r latency", "error: link: latency needs delay=VALUE (hold each chunk"),
        ("link r latency delay=soon", "error: link: latency delay must be a time like "
         "100ms, 1s or 0.5, not 'soon'"),
        ("link r latency pause=1s", "error: link: latency has no 'pause'; it takes delay, jitter"),
        ("link r latency 100ms", "error: link: '100ms' is not KEY=VALUE; latency takes delay, "
         "jitter"),
        ("link r bandwidth rate=0", "error: link: bandwidth rate must be a rate above 0"),
        ("link r drop rate=0.3", "error: link: drop is for datagrams; relay udp-listen:PORT"),
        ("link r latency delay=1s --toxicity 2", "error: link: --toxicity must be a "
         "probability from 0 to 1, not '2'"),
        ("link r slicer size=0", "error: link: slicer size must be at least 1 byte"),
        ("link r latency delay=100ms jitter=101ms", "error: link: latency jitter=101ms is "
         "larger than delay=100ms; give a jitter of at most 100ms"),
        ("relay r2 tcp-listen:0 web --link 'latency delay=1s jitter=2s'",
         "error: link: latency jitter=2s is larger than delay=1s"),
        ("link r slicer size=10 variation=10", "error: link: slicer variation=10 is not "
         "smaller than size=10; give a variation of at most 9"),
        ("link r slicer size=1 variation=1", "error: link: slicer variation=1 is not "
         "smaller than size=1; give a variation of at most 0"),
        ("unlink r nope", "error: unlink: r has no toxic 'nope' (it has: none); `link r` "
         "lists them"),
        ("relay r2 tcp-listen:0 web --link 'latency'", "error: link: latency needs delay="),
        ("relay r2 tcp-listen:0 web --link ''", "error: relay: --link needs a toxic"),
    ],
)  # fmt: skip
def test_bad_toxics_are_one_clear_line(shell: Shell, line: str, error: str) -> None:
    shell.ok("serve web tcp 0 --handler echo --threading; relay r tcp-listen:0 web")
    assert shell.fails(line).startswith(error)
    assert "r2" not in shell.session.registry  # a bad --link opens nothing
    assert shell.ok("link r").startswith("(no toxics on r")


def test_a_second_toxic_of_a_kind_gets_its_own_name(shell: Shell) -> None:
    shell.ok("serve web tcp 0 --handler echo --threading; relay r tcp-listen:0 web")
    assert shell.ok("link r latency delay=10ms") == (
        "r: linked latency: latency delay=10ms (B -> A)\n"
    )
    assert shell.ok("link r latency delay=20ms --dir both") == (
        "r: linked latency2: latency delay=20ms (both ways)\n"
    )
    assert shell.fails("link r latency delay=1ms --name latency2").startswith(
        "error: link: the relay already has a toxic named latency2"
    )
    assert shell.ok("unlink r") == "r: unlinked latency, latency2\n"
    assert shell.ok("unlink r") == "r: no toxics to remove\n"


def test_a_small_message_through_a_spliced_relay_is_not_corked(shell: Shell) -> None:
    """SPLICE_F_MORE on every splice held each small message up to 200 ms (MSG_MORE's
    cork): ten one-byte round trips took four seconds."""
    with joined(shell, "relay r tcp-listen:0 {b}") as (c, s):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.monotonic()
        for i in range(10):
            c.sendall(b"%d" % i)
            assert s.recv(10) == b"%d" % i
            s.sendall(b"%d" % i)
            assert c.recv(10) == b"%d" % i
        assert time.monotonic() - t0 < 1.5
        assert "os.splice" in shell.ok("info r")


def test_slicer_keeps_its_delay_across_chunks(shell: Shell) -> None:
    line = "relay r tcp-listen:0 {b} --link 'slicer size=10 delay=60s dir=up'"
    with joined(shell, line) as (c, s):
        c.sendall(b"first")
        assert recv_exactly(s, 5) == b"first"  # a chunk of one slice: at once
        c.sendall(b"second")  # another chunk, read apart: its slice waits the delay too
        assert nothing_within(s, 0.3)
        shell.ok("unlink r")
        assert recv_exactly(s, 6) == b"second"


def test_timed_toxics_end_with_the_relay(shell: Shell) -> None:
    import threading

    line = "relay r tcp-listen:0 {b} --link 'reset after=60s' --link 'close_after time=60s'"
    with joined(shell, line) as (c, s):
        c.sendall(b"ok")
        assert recv_exactly(s, 2) == b"ok"  # both armed, neither due
        assert any(t.name == "pslrepl:r~reset" for t in threading.enumerate())
        t0 = time.monotonic()
        shell.ok("close r")
        assert time.monotonic() - t0 < 1
    assert not [t for t in threading.enumerate() if t.name.startswith("pslrepl:r")]


def test_unlinking_a_timed_toxic_disarms_it(shell: Shell) -> None:
    with joined(shell, "relay r tcp-listen:0 {b} --link 'close_after time=700ms'") as (c, s):
        shell.ok("unlink r close_after")
        c.settimeout(1.0)
        with pytest.raises(TimeoutError):
            c.recv(10)  # not closed at 700 ms: it was unlinked first
        s.sendall(b"still")
        c.settimeout(10)
        assert recv_exactly(c, 5) == b"still"


def test_ctrl_c_ends_a_shell_whose_relay_holds_data_at_once() -> None:
    import signal
    import subprocess

    from tests.helpers import pslrepl_exe

    with socket.create_server(("127.0.0.1", 0)) as listener, socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        rport = probe.getsockname()[1]
        probe.close()
        line = (f"relay r tcp-listen:{rport} tcp:127.0.0.1:{listener.getsockname()[1]} "
                "--link 'latency delay=60s'; wait r close --timeout 300")  # fmt: skip
        shell = subprocess.Popen([pslrepl_exe(), "-c", line], stdout=subprocess.PIPE, text=True)
        try:
            assert shell.stdout is not None
            assert shell.stdout.readline().startswith("r: relaying")
            with socket.create_connection(("127.0.0.1", rport), timeout=10) as c:
                listener.settimeout(10)
                s, _ = listener.accept()
                with s:
                    c.sendall(b"up")
                    assert recv_exactly(s, 2) == b"up"
                    s.sendall(b"held")  # down: held a minute
                    t0 = time.monotonic()
                    shell.send_signal(signal.SIGINT)
                    shell.wait(timeout=10)
                    # Far under the minute's hold, and far over what a loaded machine
                    # takes to end a Python process (a bound of 1 s was seen to flake).
                    assert time.monotonic() - t0 < 5
                    assert c.recv(10) == b""  # the relay closed its side, held data dropped
        finally:
            if shell.poll() is None:
                shell.kill()
                shell.wait()
            if shell.stdout is not None:
                shell.stdout.close()


def test_a_toxic_acting_is_shown_live_above_the_prompt(tmp_path: Path) -> None:
    from tests.terminal import Terminal

    term = Terminal(tmp_path, cols=110)
    try:
        term.run("serve e tcp 0 --handler echo --threading; relay r tcp-listen:0 e --link "
                 "'latency delay=200ms'", "r: linked latency")  # fmt: skip
        term.run("tcp connect c r; sendline c hi", "c: sent 3 bytes")
        term.wait_for("[r] latency: held 3 bytes 200 ms")
    finally:
        term.close()


def test_tab_offers_toxics_then_their_keys(shell: Shell) -> None:
    from tests.helpers import complete

    shell.ok("serve web tcp 0 --handler echo --threading; relay r tcp-listen:0 web")
    assert complete(shell, "link r sl") == ["slicer", "slow_close"]
    assert complete(shell, "link r slicer ") == ["size=", "variation=", "delay="]
    assert complete(shell, "link r slicer size=3 ") == ["variation=", "delay="]
    assert complete(shell, "relay q tcp-listen:0 udp-") == ["udp-listen:"]


def test_slicers_first_slice_goes_at_once_however_young_the_clock(shell: Shell) -> None:
    """The last slice's time started at 0 on the monotonic clock: on a machine up for
    less than the delay (a CI runner just booted), the very first slice waited."""
    with joined(shell, "relay r tcp-listen:0 {b} --link 'slicer size=4 delay=86400s dir=up'") as (
        c,
        s,
    ):
        c.sendall(b"abcdefgh")
        assert recv_exactly(s, 4) == b"abcd"
        shell.ok("unlink r")
        assert recv_exactly(s, 4) == b"efgh"


def test_a_toxic_name_and_its_settings_are_checked(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --handler echo --threading; relay r tcp-listen:0 e")
    for bad in ("''", "'a b'"):
        assert shell.fails(f"link r latency delay=1s --name {bad}").endswith(
            "is not a valid name: start with a letter or _, then letters, digits, _ or -"
        )
    assert shell.fails("link r latency delay=100ms delay=200ms") == (
        "error: link: delay= is given twice; give it once"
    )
    assert shell.ok("link r") == "(no toxics on r: link r TOXIC ...)\n"


def test_a_slow_bandwidth_says_its_rate_in_bytes(shell: Shell) -> None:
    """rate=100 was said as 'at 0 KiB/s'."""
    with joined(shell, "relay r tcp-listen:0 {b} --link 'bandwidth rate=100'") as (c, s):
        s.sendall(b"0123456789")
        assert recv_exactly(c, 10) == b"0123456789"
    shell.ok("close r")
    assert "bandwidth: paced 10 bytes at 100B/s" in shell.ok("log r")


def test_the_listing_says_what_dir_means_for_whole_connection_toxics(shell: Shell) -> None:
    shell.ok("serve web tcp 0 --handler echo --threading")
    assert shell.ok("relay r tcp-listen:0 web --link 'delay_accept delay=1ms' "
                    "--link 'close_after time=1m dir=up' --link 'reset after=1m' "
                    "--link 'reset after=2m dir=up name=r2' --link 'reset after=3m dir=both "
                    "name=r3' --link 'latency delay=1ms jitter=1ms dir=up'").splitlines()[1:] == [
        "r: linked delay_accept: delay_accept delay=1ms (delays the accept; dir does not apply)",
        "r: linked close_after: close_after time=60s (closes both ends; dir does not apply)",
        "r: linked reset: reset after=60s (RST to A)",
        "r: linked r2: reset after=120s (RST to B)",
        "r: linked r3: reset after=180s (RST to A and B)",
        "r: linked latency: latency delay=1ms jitter=1ms (A -> B)",
    ]  # fmt: skip
    rows = [line.split("  ") for line in shell.ok("link r").splitlines()[1:]]
    dirs = [[cell.strip() for cell in row if cell.strip()][3] for row in rows]
    assert dirs == ["- (delays the accept)", "- (closes both ends)", "down (RST to A)",
                    "up (RST to B)", "both (RST to A and B)", "up"]  # fmt: skip


def test_the_relay_passes_a_small_write_on_at_once_not_behind_an_unacked_one(
    shell: Shell,
) -> None:
    """With Nagle on its own socket the relay held a client's second small write until
    the server ACKed the first, a delayed ACK's 40 ms: a stall the client's TCP_NODELAY
    could not lift, and a Nagle lesson through the relay showed it either way."""
    import statistics

    gaps = []
    with joined(shell, "relay r tcp-listen:0 {b}") as (c, s):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(5):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)  # the server's ACK waits
            c.sendall(b"ab")
            assert recv_exactly(s, 2) == b"ab"  # passed on: unACKed at the relay for 40 ms
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
            t0 = time.monotonic()
            c.sendall(b"cd")
            assert recv_exactly(s, 2) == b"cd"
            gaps.append(time.monotonic() - t0)
            s.sendall(b"ok")  # an answer, as a server gives (its ACK rides on it)
            assert recv_exactly(c, 2) == b"ok"
    # Held, each would be 40 ms or more (the delayed-ACK timer's least, a kernel timer
    # that no load shortens); passed on, a loopback hop: the median leaves room for load.
    assert statistics.median(gaps) < 0.03, gaps


def test_a_coalesced_latency_line_gives_the_spread_of_its_holds(shell: Shell) -> None:
    """With jitter, a line summing several holds said only the last one's time."""
    import re

    line = "relay r tcp-listen:0 {b} --link 'latency delay=50ms jitter=50ms' --seed 7"
    with joined(shell, line) as (c, s):
        for i in range(6):  # one chunk at a time: each held on its own
            s.sendall(b"%d" % i)
            assert recv_exactly(c, 1) == b"%d" % i
        relay = shell.session.registry.get("r")
        shell.ok("close r")
    notes = [e.detail for e in relay.log if "latency:" in e.detail]
    spreads = [re.search(r"in (\d) chunks (\d+) to (\d+) ms$", note) for note in notes]
    found = [m for m in spreads if m is not None]
    assert found, notes
    assert all(int(m[2]) < int(m[3]) <= 100 for m in found), notes
