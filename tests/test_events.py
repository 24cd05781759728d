"""Events as facts: a closed set of kinds and typed facts, worded by render alone."""

from __future__ import annotations

import errno

import pytest

from pslrepl.events import FACTS, KINDS, Event, describe
from pslrepl.render import event_line, log_line
from tests.helpers import Shell


def test_a_kind_outside_the_closed_set_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event kind 'recieved'"):
        Event("s", "recieved")


def test_a_fact_outside_the_closed_set_or_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event fact 'ip'"):
        Event("s", "send", ip="127.0.0.1")
    with pytest.raises(TypeError, match="'pid'"):
        Event("p", "exit", pid="4242")
    with pytest.raises(TypeError, match="'rc'"):
        Event("p", "exit", rc=True)  # a bool is not a return code
    assert Event("p", "exit", rc=0, pid=None).fields == {"rc": 0}  # None: not known


def test_every_fact_has_a_type_and_every_kind_a_meaning() -> None:
    assert all(isinstance(v, str) and v for v in KINDS.values())
    assert all(isinstance(t, type | tuple) for t in FACTS.values())


@pytest.mark.parametrize(
    ("event", "words"),
    [
        (Event("c", "start", origin="connected", local="127.0.0.1:5", remote="127.0.0.1:6"),
         "connected: 127.0.0.1:5 -> 127.0.0.1:6"),
        (Event("u", "start", origin="socket()"), "socket(): (unbound)"),
        (Event("f", "start", mode="rb", parent="s"), "makefile('rb') on s"),
        (Event("b", "start", side="client"), "SSLObject over two MemoryBIOs, client"),
        (Event("s", "eof", direction="in"), "the peer closed its side: recv will return EOF"),
        (Event("s", "error", errno=errno.ECONNRESET, reason="Connection reset by peer"),
         "Connection reset by peer (ECONNRESET): recv will say so"),
        (Event("c", "error", direction="in", errno=errno.ECONNRESET,
               reason="Connection reset by peer"),
         "Connection reset by peer (ECONNRESET): the read met it"),
        (Event("p", "error", thread="drain thread", reason="ValueError: x"),
         "drain thread failed: ValueError: x"),
        (Event("l", "pending"), "a connection is waiting: accept l"),
        (Event("p", "exit", rc=-9), "killed by SIGKILL (signal 9)"),
        (Event("p", "exit", rc=3), "exited with status 3"),
        (Event("p", "dropped", stream="stderr", cap=1),
         "stderr buffer full (1 byte): dropping the oldest unread output; read it to keep up"),
        (Event("l", "close", path="/tmp/x.sock"), "closed; removed /tmp/x.sock"),
        (Event("f", "close", parent="s", parent_closed=False), "closed; s stays open"),
        (Event("f", "close", parent="s", parent_closed=True, reason="Broken pipe"),
         "closed; its socket was closed already: its descriptor is closed now "
         "(what its buffer held was not sent: Broken pipe)"),
        (Event("r", "elided", size=7, count=2),
         "... and 2 more chunks (7 bytes) not shown; `log r` keeps them"),
        (Event("session", "elided", count=5), "... and 5 more events not shown; `log` keeps them"),
        (Event("p", "start", pid=42, command="sort -r"), "started pid 42: sort -r"),
        (Event("w", "start", origin="TCPServer", local="127.0.0.1:8", handler="echo"),
         "TCPServer on 127.0.0.1:8, handler echo"),
        (Event("m", "start", origin="TCPServer", local="127.0.0.1:8", handler="echo",
               manual=True),
         "TCPServer on 127.0.0.1:8, handler echo; --manual: handle_request m serves one request"),
        (Event("r", "start", origin="relay", local="tcp-listen:127.0.0.1:1", remote="exec:sort"),
         "relaying tcp-listen:127.0.0.1:1 <-> exec:sort"),
        (Event("p", "eof", stream="stdin", direction="out"), "stdin closed (EOF sent)"),
        (Event("r", "accept", parent="a", peer="127.0.0.1:9"), "a: connection from 127.0.0.1:9"),
        (Event("p", "sent", signum=15), "sent SIGTERM (15)"),
        (Event("p", "sent", signum=0, pid=42), "pid 42 exists (signal 0)"),
        (Event("p", "sent", signum=9, group=42, count=2),
         "sent SIGKILL (9) to process group 42 (2 processes)"),
        (Event("p", "sent", signum=0, group=42, count=1),
         "process group 42 exists (1 process) (signal 0 sends nothing)"),
        (Event("signal", "signal", signum=10, count=1), "received SIGUSR1 (10)"),
        (Event("signal", "signal", signum=10, count=3), "received SIGUSR1 (10) again: 3 so far"),
        (Event("j", "exit", rc=1, exception="ErrorReturnCode_1"),
         "exited with status 1 (ErrorReturnCode_1)"),
        (Event("w", "client", phase="connected", peer="127.0.0.1:9"),
         "client 127.0.0.1:9 connected"),
        (Event("w", "client", phase="connected", peer="127.0.0.1:9", pid=7),
         "client 127.0.0.1:9 connected in child pid 7"),
        (Event("w", "client", phase="datagram", peer="127.0.0.1:9"),
         "a datagram from 127.0.0.1:9, handled"),
        (Event("w", "client", phase="left", peer="h:1", took=0.25, bytes_in=3, bytes_out=0),
         "client h:1 left after 0.2s (in 3, out 0)"),
        (Event("w", "client", phase="left", peer="h:1", took=12, pid=7, reason="exited 0"),
         "client h:1 left after 12s (child pid 7 exited 0)"),
        (Event("w", "client", phase="trouble", peer="h:1", reason="idled 10 s: closed"),
         "client h:1 idled 10 s: closed"),
        (Event("w", "raised", peer="h:1", reason="Traceback..."),
         "the handler raised while serving h:1; the server goes on:\nTraceback..."),
        (Event("m", "timeout", wait=0.5), "handle_timeout(): no request came in 0.5 s"),
        (Event("w", "close", outcome="stopped after serving 2 clients"),
         "stopped after serving 2 clients"),
    ],
)  # fmt: skip
def test_render_words_each_kind_from_its_facts(event: Event, words: str) -> None:
    assert describe(event) == words == event.detail
    assert event_line(event)[-1][1] == words
    assert log_line(event, display="text", encoding="utf-8")[-1][1] == words


def test_a_sockets_events_are_facts_with_no_sentence(shell: Shell) -> None:
    """What a socket posts carries its addresses as facts; its words come from render."""
    shell.ok("tcp listen srv 0; tcp connect c srv; accept srv s")
    shell.ok('send c "a\\x00b\\r\\n"; recv s')
    shell.ok("close c")
    c = shell.session.registry.find("c")
    events = [e for e in list(shell.session.log) if e.source in ("c", "s")]
    start = next(e for e in events if e.source == "c" and e.kind == "start")
    assert start.sentence == ""
    assert start.fields["origin"] == "connected"
    assert start.fields["remote"].startswith("127.0.0.1:")
    send = next(e for e in events if e.kind == "send")
    assert (send.size, send.data, send.direction) == (5, b"a\x00b\r\n", "out")
    recv = next(e for e in events if e.kind == "recv")
    assert (recv.size, recv.data, recv.direction) == (5, b"a\x00b\r\n", "in")
    assert c is None or c.closed
    assert any(e.source == "c" and e.kind == "close" and e.detail == "closed" for e in events)


def test_the_watchers_eof_notice_is_a_fact_and_still_reads_the_same(
    shell: Shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    posted: list[Event] = []
    post = shell.session.post
    monkeypatch.setattr(shell.session, "post", lambda e, **kw: (posted.append(e), post(e, **kw)))
    shell.ok("tcp listen srv 0; tcp connect c srv; accept srv s; set events live")
    shell.ok("shutdown c wr")
    assert shell.session.wait_for(lambda: any(e.kind == "eof" for e in posted), 10)
    notice = next(e for e in posted if e.kind == "eof")
    assert (notice.source, notice.direction, notice.sentence) == ("s", "in", "")
    assert notice.fields == {"watcher": True}
    out = shell.ok("echo hi") + shell.out.getvalue()  # shown while waiting or now
    assert "[s] the peer closed its side: recv will return EOF" in out


def test_a_childs_exit_is_a_fact_with_its_pid(shell: Shell) -> None:
    shell.ok("spawn p -- sh -c 'exit 7'")
    shell.ok("wait p")
    p = shell.session.registry.get("p")
    exit_ = next(e for e in list(shell.session.log) if e.source == "p" and e.kind == "exit")
    assert exit_.fields == {"rc": 7, "pid": p.popen.pid}
    assert exit_.detail == "exited with status 7"
