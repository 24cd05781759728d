"""Sockets at scale and speed, in this process against references measured beside them.

1. 1,000 live named TCP connections (500 pairs): resident memory growth (goal < 40 MiB),
   and `ls`, the toolbar and completion with that many names (goal < 20 ms each), next
   to the same three with 10 connections.
2. 64 KiB payloads through `sendall` and `recv --line` in a script: round trips per
   second (goal >= 1,000), next to the same round trips on bare sockets.
Run with the venv's interpreter:  .venv/bin/python bench/sockets.py
"""

from __future__ import annotations

import os
import resource
import socket
import statistics
import sys
import tempfile
import time

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from pslrepl.cli import build, run_lines, shutdown
from pslrepl.completer import PslCompleter
from pslrepl.environment import Environment
from pslrepl.toolbar import toolbar_fragments

PAIRS = 500
ROUND_TRIPS = 500
PAYLOAD = b"x" * 65535 + b"\n"


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def ms(fn: object, runs: int = 20) -> float:
    assert callable(fn)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def scale(pairs: int) -> tuple[float, float, float, float]:
    sink = open(os.devnull, "w")  # noqa: SIM115 - closed below
    session, dispatcher = build(Environment(stdout=sink, stderr=sink))
    before = rss_mib()
    lines = ["tcp listen srv 0"]
    for i in range(pairs):
        lines += [f"tcp connect c{i} srv", f"accept srv s{i}"]
    assert run_lines(session, dispatcher, lines, keep_going=False) == 0
    grown = rss_mib() - before
    completer = PslCompleter(session, dispatcher.table)  # type: ignore[attr-defined]
    doc = Document("recv ")
    t_ls = ms(lambda: dispatcher.run_line("ls"))  # type: ignore[attr-defined]
    t_bar = ms(lambda: toolbar_fragments(session, width=100))
    t_comp = ms(lambda: list(completer.get_completions(doc, CompleteEvent())))
    shutdown(session)
    sink.close()
    return grown, t_ls, t_bar, t_comp


def round_trips() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "payload")
        with open(path, "wb") as fh:
            fh.write(PAYLOAD)
        sink = open(os.devnull, "w")  # noqa: SIM115 - closed below
        session, dispatcher = build(Environment(stdout=sink, stderr=sink))
        setup = ["tcp listen srv 0", "tcp connect c srv", "accept srv s"]
        assert run_lines(session, dispatcher, setup, keep_going=False) == 0
        lines = []
        for _ in range(ROUND_TRIPS):
            lines += [f"sendall c --file {path}", "recv s --line"]
        started = time.perf_counter()
        assert run_lines(session, dispatcher, lines, keep_going=False) == 0
        ours = ROUND_TRIPS / (time.perf_counter() - started)
        shutdown(session)
        sink.close()
    listener = socket.create_server(("127.0.0.1", 0))
    a = socket.create_connection(listener.getsockname())
    b, _ = listener.accept()
    started = time.perf_counter()
    for _ in range(ROUND_TRIPS):
        a.sendall(PAYLOAD)
        got = 0
        while got < len(PAYLOAD):
            got += len(b.recv(65536))
    bare = ROUND_TRIPS / (time.perf_counter() - started)
    for s in (a, b, listener):
        s.close()
    return ours, bare


def main() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 4096) if hard != resource.RLIM_INFINITY else 4096
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    print(f"python {sys.version.split()[0]}")
    small = scale(5)
    large = scale(PAIRS)
    print(f"{'':24}{'10 connections':>16}{'1,000 connections':>20}")
    print(f"{'memory growth (MiB)':24}{small[0]:16.1f}{large[0]:20.1f}   goal < 40")
    for label, i in (("ls (ms)", 1), ("toolbar (ms)", 2), ("completion (ms)", 3)):
        print(f"{label:24}{small[i]:16.2f}{large[i]:20.2f}   goal < 20")
    ours, bare = round_trips()
    print(f"64 KiB round trips/s: pslrepl {ours:.0f}, bare sockets {bare:.0f} "
          f"(pslrepl at {ours / bare:.2f}x); goal >= 1000")  # fmt: skip
    ok = large[0] < 40 and max(large[1:]) < 20 and ours >= 1000
    print("all goals met" if ok else "SOME GOALS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
