"""timeline on a long session: 10,000 events posted, then its last 200 steps drawn.

The session is real: a listener, a connection, and 5,000 sends each read by a recv on
the other end (each posts its event as the send and recv commands do), so the log is
full (it keeps its newest SESSION_LOG_LENGTH events) and the history holds the calls.

Goal: the last 200 steps drawn (terminal, 120 columns) in under 100 ms.
Run with the venv's interpreter:  .venv/bin/python bench/timeline.py [EVENTS]
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pslrepl.app import build, shutdown  # noqa: E402
from pslrepl.environment import Environment  # noqa: E402
from pslrepl.session import SESSION_LOG_LENGTH  # noqa: E402
from pslrepl.timeline.mermaid import mermaid  # noqa: E402
from pslrepl.timeline.model import build as build_diagram  # noqa: E402
from pslrepl.timeline.svg import svg  # noqa: E402
from pslrepl.timeline.text import draw  # noqa: E402
from pslrepl.transcript.writing import Namer  # noqa: E402

GOAL_MS = 100.0
LAST = 200
RUNS = 20


def session_with(events: int):  # type: ignore[no-untyped-def]
    out = io.StringIO()
    session, dispatcher = build(Environment(stdout=out, stderr=out))
    for line in ("tcp listen srv 0", "tcp connect c srv", "accept srv s"):
        assert dispatcher.run_line(line), out.getvalue()
    c, s = session.registry.get("c"), session.registry.get("s")
    payload = bytes(range(256)) * 2
    for i in range(events // 2):
        data = payload[i % 256 : i % 256 + 48]
        c.sock.sendall(data)
        c.traffic("send", "out", data)
        got = b""
        while len(got) < len(data):
            got += s.sock.recv(65536)
        s.traffic("recv", "in", got)
    return session


def timed(fn) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> int:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    start = time.perf_counter()
    session = session_with(events)
    made = time.perf_counter() - start
    try:
        logged = len(session.log)
        print(f"{events:,} events posted in {made:.1f} s; the log keeps {logged:,} "
              f"(SESSION_LOG_LENGTH {SESSION_LOG_LENGTH:,})")  # fmt: skip
        namer = Namer(dict(session.volatile))

        def terminal() -> None:
            draw(build_diagram(session, last=LAST), width=120, fancy=True)

        rows = [
            ("terminal, 120 columns", timed(terminal)),
            ("svg", timed(lambda: svg(build_diagram(session, last=LAST), namer))),
            ("mermaid", timed(lambda: mermaid(build_diagram(session, last=LAST)))),
            ("model only", timed(lambda: build_diagram(session, last=LAST))),
        ]
        print(f"the last {LAST} steps, {RUNS} runs each: median / max ms")
        for what, times in rows:
            print(f"  {what:<22} {statistics.median(times):7.1f} {max(times):7.1f}")
        median = statistics.median(rows[0][1])
        verdict = "met" if median < GOAL_MS else "NOT met"
        print(f"goal: under {GOAL_MS:.0f} ms for the terminal drawing: {verdict} "
              f"({median:.1f} ms)")  # fmt: skip
        return 0 if median < GOAL_MS else 1
    finally:
        shutdown(session)


if __name__ == "__main__":
    sys.exit(main())
