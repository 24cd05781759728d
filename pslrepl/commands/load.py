"""load: round trips against a server from a process of its own, to compare how servers
of each model (sync, threading, forking, selectors) hold up."""

from __future__ import annotations

from pslrepl.commands.groups import SERVERS
from pslrepl.commands.socket_common import ADDRESS
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import PslError, UsageError
from pslrepl.kinds import SECONDS, Int
from pslrepl.render import plural
from pslrepl.results import Fields, Text, volatile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.results import Cell

COMMANDS = Commands(SERVERS)
DEFAULT_REQUESTS = 10_000
# built-ins whose answers are not the bytes sent
NOT_ECHO = ("discard", "daytime", "chargen", "chat", "capture", "upper")
LEFT_WAIT = 2.0  # s: the longest load waits for the server to see its clients go
MEASURABLE = 0.05  # s of CPU: below this, a per-round-trip figure is mostly rounding
LAB_HEADER = b"# A pslrepl lab"  # how a file `save` wrote begins
BOTTLENECK = 0.9  # the generator's CPU over its run time: past this, it is the limit


def is_lab_file(ctx: Invocation, target: str) -> bool:
    """A lab file, which `lab load` brings up (labs.py); any other TARGET is a server."""
    import os

    if target in ctx.session.registry or target.startswith(("http://", "unix:")):
        return False
    if target.endswith(".toml"):
        return True
    # Any other file only if `save` wrote it: a README.md or a file named like a stopped
    # server is not a lab to bring up in place of a measurement.
    try:
        with open(os.path.expanduser(target), "rb") as f:
            return f.read(len(LAB_HEADER)) == LAB_HEADER
    except OSError:
        return False


@COMMANDS.command(
    "load",
    "round trips against a server from a process of its own: rate, latency, errors",
    args=(Arg("TARGET", ADDRESS),),
    opts=(
        Opt("--conns", "connections at once (10)", "N", kind=Int(1, 10_000)),
        Opt(
            "--requests",
            f"round trips in all ({DEFAULT_REQUESTS:,})",
            "N",
            kind=Int(1, 100_000_000),
            exclusive="length",
        ),  # fmt: skip
        Opt("--duration", "or: for S seconds", "S", kind=SECONDS, exclusive="length"),
        Opt(
            "--size",
            "echo: bytes each round trip sends and checks (64)",
            "B",
            kind=Int(1, 16 << 20),
        ),  # fmt: skip
        Opt(
            "--rate",
            "at most R round trips a second in all (default: as fast as it can)",
            "R",
            kind=Int(1, 10_000_000),
        ),  # fmt: skip
    ),
    calls=("subprocess.Popen", "selectors.DefaultSelector"),
    examples=(
        "load e --conns 50 --requests 20000",
        "load web --duration 5",
        "load http://web/index.html --conns 20",
        "load 127.0.0.1:{e.port} --size 1024 --rate 500 --duration 1",
    ),
    setup=("serve e tcp 0 --handler echo --threading", "serve web tcp 0 --handler http"),
    details="TARGET is a server's NAME, HOST:PORT or unix:PATH (echo: each round trip "
    "sends SIZE bytes cut from the run 0, 1, ..., 255, 0, 1, ... at a point that moves "
    "each time, so that over a run every byte value, NUL, CR and LF among them, is sent; "
    "each answer is checked to be the same bytes), or http://HOST:PORT/PATH or "
    "http://NAME/PATH (a GET, keep-alive where the server allows it; an IPv6 host in "
    "brackets); an http server's NAME alone is GET /. Each connection waits for its "
    "answer before it sends again. The generator is one selectors loop in a Python "
    "process of its own, so it does not compete with the shell's servers for the GIL. "
    "It says its CPU per round trip, the most it can do whatever the server; for the "
    "shell's own server (a NAME) the server's too, and a note when the generator's is "
    "the larger or it used most of a CPU: then it, not the server, set the pace. "
    "Errors are counted by kind (refused, reset, closed mid-answer, wrong bytes, "
    "HTTP 4xx/5xx, timeout after 10 s) and the connection is opened again; when every "
    "connect is refused and none ever got through, or no connection had an answer in 10 s, "
    "it stops with one line. "
    "Ctrl-C stops it and shows what was measured so far. `load FILE` "
    "with a lab file (.toml, written by `save`) brings the lab up, as `lab load FILE` does.",
)
def _load(ctx: Invocation) -> None:
    import json
    import os
    import subprocess
    import sys

    if is_lab_file(ctx, ctx["target"]):
        _lab(ctx)
        return
    config = _config(ctx)
    argv = [sys.executable, "-m", "pslrepl.loadgen", json.dumps(config)]
    ctx.record("subprocess.Popen", repr(argv),
               None, exact=False, note="the load generator, a process of its own")  # fmt: skip
    named = _named_server(ctx)
    server = named if named is not None and named.mode != "forking" else None
    clients_before = named.client_count() if named is not None else 0
    cpu_before = sum(os.times()[:2])  # the shell's user + system: its servers' CPU
    session = ctx.session
    live = session.settings.events == "live"  # scripts: no progress (it depends on timing)
    done: dict[str, Any] | None = None
    fatal, stopped, came = "", False, (0, 0)
    server_cpu: float | None = None
    show_at = 0.5  # the next progress line shown: once the run is this old
    if named is not None:
        named.quiet_clients()  # its clients come and go as one line, not 2 per connection
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)  # fmt: skip
    except BaseException:
        if named is not None:
            named.loud_clients()  # no run: the server's clients are shown again
        raise
    try:  # from the start: a Ctrl-C at any point still ends and reaps the generator
        session.watchdog.guard_pid(proc.pid)  # it dies with the shell, even kill -9
        assert proc.stdout is not None and proc.stdin is not None
        try:
            for raw in proc.stdout:
                said = json.loads(raw)
                if said.get("done"):
                    done = said
                elif said.get("fatal"):
                    fatal = said["fatal"]
                elif live and said["elapsed"] >= show_at:
                    # At 0.5, 1, 2, 4 s...: not a line every half second piling up.
                    while show_at <= said["elapsed"]:
                        show_at *= 2
                    session.printer.write([[("notice", f"load {config['label']}: "
                                             f"{said['ok']:,} round trips, "
                                             f"{said['errors']:,} errors, "
                                             f"{said['elapsed']:.1f} s")]], event=True)  # fmt: skip
        except KeyboardInterrupt:
            # What was measured so far: the generator stops when its stdin closes and
            # says its summary (a second Ctrl-C, or a wait past 5 s, ends it anyway).
            stopped = True
            done = _last_summary(proc)
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait()
        if proc.stdin is not None and not proc.stdin.closed:
            proc.stdin.close()
        trace = ""
        if proc.stderr is not None and not proc.stderr.closed:  # communicate closes it
            trace = proc.stderr.read().decode("utf-8", "replace")
        proc.stdout.close()  # type: ignore[union-attr]
        if proc.stderr is not None:
            proc.stderr.close()
        session.watchdog.release_pid(proc.pid)
        if server is not None:
            server_cpu = sum(os.times()[:2]) - cpu_before
        if named is not None:
            try:  # the server sees the generator's last closes a moment after it exits
                session.wait_for(lambda: named.client_count() <= clients_before, LEFT_WAIT)
            finally:
                came = named.loud_clients()
    if fatal:
        raise PslError(f"load: {fatal}")
    if done is None and stopped:
        raise KeyboardInterrupt
    if done is None:
        last = trace.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        raise PslError(f"load: the generator failed ({last[0]}); please report it")
    for result in summary(config, done, server_cpu=server_cpu):
        ctx.emit(result)
    if named is not None and any(came):
        left = "" if came[0] == came[1] else f" ({came[1]:,} left)"
        ctx.emit(Text(f"{named.name}: {plural(came[0], 'client')} connected and left "
                      f"during the run{left}; `log {named.name}` has each", "notice"))  # fmt: skip
    if stopped:
        ctx.emit(Text(f"note: stopped by Ctrl-C after {done['elapsed']:.1f} s: the figures "
                      "are what was measured so far", "notice"))  # fmt: skip
        raise KeyboardInterrupt


def _last_summary(proc: Any) -> dict[str, Any] | None:
    """The generator's summary once it is told to stop: communicate closes its stdin."""
    import json
    import subprocess

    try:
        out, _ = proc.communicate(timeout=5)
    except (subprocess.TimeoutExpired, KeyboardInterrupt, ValueError):
        return None
    for raw in out.splitlines()[::-1]:
        said = json.loads(raw)
        if said.get("done"):
            return dict(said)
    return None


def _named_server(ctx: Invocation) -> Any:
    """The shell's own server that TARGET names: load says what a round trip cost it
    (unless --forking: its children's CPU is not the shell's) and sums its clients."""
    text = ctx["target"]
    if text.startswith("http://"):
        text = text[7:].partition("/")[0]
    res = ctx.session.registry.get(text) if text in ctx.session.registry else None
    return res if hasattr(res, "quiet_clients") else None


def _lab(ctx: Invocation) -> None:
    """`load FILE`: a lab, brought up as `lab load FILE` does (commands/labs.py)."""
    from pslrepl.commands.labs import load_lab

    measuring = [f"--{key}" for key in ("conns", "requests", "duration", "size", "rate")
                 if ctx[key] is not None]  # fmt: skip
    if measuring:
        raise UsageError(f"load: {ctx['target']} is a lab file, which {measuring[0]} does "
                         "not apply to; load TARGET measures a server")  # fmt: skip
    load_lab(ctx, ctx["target"])


def _config(ctx: Invocation) -> dict[str, Any]:
    import os

    from pslrepl.addresses import parse_addr

    target: str = ctx["target"]
    http = False
    path = "/"
    text = target
    if target.startswith("http://"):
        http = True
        text, _, rest = target[7:].partition("/")
        path = "/" + rest
        if text in ctx.session.registry:
            pass
        elif text.isdigit() or ":" not in text:
            raise UsageError(f"load: give the port in the URL, like http://127.0.0.1:8000/{rest}")
    elif target.startswith("https://"):
        raise UsageError("load: https is not spoken yet; load an http server or an echo one")
    try:
        addr = parse_addr(text, ctx.session)
    except UsageError as exc:
        if os.path.isfile(os.path.expanduser(text)):  # not a lab `save` wrote
            raise UsageError(f"load: {exc}; for a lab file, lab load FILE") from None
        raise
    if text in ctx.session.registry:
        res = ctx.session.registry.get(text)
        handler = getattr(res, "handler", "")
        if getattr(res, "proto", "tcp") == "udp":
            raise UsageError(f"load: {text} is a udp server; load speaks TCP (an echo or "
                             "http server over tcp or unix)")  # fmt: skip
        if not hasattr(res, "handler"):
            raise UsageError(f"load: {text} is a {res.kind}, not a server: load measures "
                             "a server's NAME (serve), HOST:PORT or unix:PATH")  # fmt: skip
        http = http or handler.startswith("http")
        if "TLS" in handler:
            raise UsageError(f"load: {text} serves TLS, which load does not speak yet")
        if not http and handler.split(" ")[0] in NOT_ECHO:
            raise UsageError(f"load: {text} serves {handler}, not echo or http: load "
                             "sends bytes and checks they come back")  # fmt: skip
    elif not http and not addr.path:
        # HOST:PORT of the shell's own http server, written without http://: every
        # round trip would wait out its timeout (the server waits for a request's end).
        for res in ctx.session.registry:
            if not str(getattr(res, "handler", "")).startswith("http"):
                continue
            bound = res.bound_addr
            if bound is not None and (bound.host, bound.port) == (addr.host, addr.port):
                raise UsageError(f"load: {text} is {res.name}, an http server: write "
                                 f"load http://{text}/PATH, or load {res.name}")  # fmt: skip
    if http and ctx["size"] is not None:
        raise UsageError("load: --size is for echo; an http GET sends a request line")
    host, family = addr.host, 0
    if not addr.path:
        host, family = _resolve(ctx, addr.host, addr.port, text)
    requests = ctx["requests"]
    duration = ctx["duration"]
    if duration is not None and duration <= 0:
        raise UsageError("load: --duration must be more than 0 s, like --duration 5")
    if requests is None and duration is None:
        requests = DEFAULT_REQUESTS
    return {
        "label": target,
        "host": host,  # numeric: the generator never waits on a name lookup
        "family": family,
        "host_header": f"[{addr.host}]" if ":" in addr.host else addr.host,  # RFC 7230
        "port": addr.port,
        "unix": addr.path or "",
        "http": http,
        "path": path,
        "size": ctx["size"] or 64,
        "conns": ctx["conns"] or 10,
        "requests": requests,
        "duration": duration,
        "rate": ctx["rate"],
    }


def _resolve(ctx: Invocation, host: str, port: int, text: str) -> tuple[str, int]:
    """HOST's numeric address and family, looked up here so that a name that doesn't
    resolve is one line (and the generator's loop never blocks on a lookup)."""
    import socket

    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        hint = "give an address like 127.0.0.1:PORT or a server's NAME"
        if host in ctx.session.registry:
            hint = (
                f"for the server {host}, give its NAME alone (load {host}, load http://{host}/PATH)"
            )
        raise PslError(f"load: can't resolve {host!r} ({reason}); {hint}") from None
    family, _, _, _, sockaddr = found[0]
    return str(sockaddr[0]), int(family)


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.2f} ms" if seconds < 0.1 else f"{seconds * 1000:.0f} ms"


def summary(
    config: dict[str, Any], done: dict[str, Any], *, server_cpu: float | None = None
) -> list[Any]:
    """What a run measured, as `info` shows things; times and rates vary between runs.
    server_cpu: the shell's CPU over the run when TARGET is its own server's NAME."""
    elapsed = max(done["elapsed"], 1e-9)
    ok, errors = done["ok"], done["errors"]
    kinds = ", ".join(f"{kind} {n:,}" for kind, n in sorted(done["kinds"].items()))
    what = "http GET" if config["http"] else f"echo of {config['size']:,} bytes"
    conns = config["conns"]
    cpu = done["cpu"] / elapsed
    own = f"{cpu:.0%} of one core ({done['cpu']:.2f} s"
    # Per round trip only over enough CPU for os.times()'s 10 ms ticks to tell.
    per_trip = done["cpu"] / ok if ok and done["cpu"] >= MEASURABLE else None
    if per_trip:
        # Its own ceiling: a round trip can't cost it less than this, whatever the server.
        own += f", {per_trip * 1e6:,.0f} µs a round trip: at most ~{1 / per_trip:,.0f}/s"
    pairs: list[tuple[str, Cell]] = [
        (
            "target",
            f"{config['label']}, {what} over {conns:,} connection{'' if conns == 1 else 's'}",
        ),  # fmt: skip
        ("round trips", f"{ok:,}"),
        ("errors", f"{errors:,} ({kinds})" if errors else "none"),
        ("rate", volatile(f"{ok / elapsed:,.0f} round trips/s in {elapsed:.2f} s", "measured")),
        (
            "latency",
            volatile(
                f"p50 {_ms(done['p50'])}, p99 {_ms(done['p99'])}, max {_ms(done['max'])}",
                "measured",
            ),
        ),  # fmt: skip
        (
            "bytes",
            f"{done['sent']:,} sent, {done['received']:,} received"
            + ("" if config["http"] else ", each answer checked"),
        ),  # fmt: skip
        ("connections", f"{done['connections']:,} opened"),
        ("own CPU", volatile(own + ")", "measured")),
    ]
    measured = server_cpu is not None and server_cpu >= MEASURABLE
    server_trip = server_cpu / ok if server_cpu is not None and measured and ok else None
    if server_trip is not None:
        pairs.append(("server CPU", volatile(f"{server_trip * 1e6:,.0f} µs a round trip (the "
                                             "shell's, over the run)", "measured")))  # fmt: skip
    results: list[Any] = [Fields(pairs)]
    advice = (
        "fewer --conns, or a load client in C (bench/echo_client.c: cc -O2 -o "
        "echo_client bench/echo_client.c; ./echo_client PORT CONNS TRIPS SIZE), tell"
    )
    if config.get("rate"):
        return results  # paced: the pace was --rate's
    if cpu >= BOTTLENECK and done["cpu"] >= MEASURABLE:
        results.append(Text(f"note: the load generator used {cpu:.0%} of a CPU: it was the "
                            f"bottleneck, and the server may be faster than this; {advice}",
                            "notice"))  # fmt: skip
    elif per_trip and server_trip and per_trip >= server_trip:
        # Under 90% of a core, yet the limit: on a shared machine it can't get a whole
        # core, and each round trip cost it more CPU than it cost the server.
        results.append(Text(f"note: each round trip cost the load generator "
                            f"{per_trip * 1e6:,.0f} µs of CPU and the server "
                            f"{server_trip * 1e6:,.0f} µs: the generator, not the server, "
                            f"likely set this rate; {advice}", "notice"))  # fmt: skip
    return results
