"""load: round trips against a server from a process of its own, to compare how servers
of each model (sync, threading, forking, selectors) hold up."""

from __future__ import annotations

from pslrepl.commands.groups import SERVERS
from pslrepl.commands.socket_common import ADDRESS
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import PslError, UsageError
from pslrepl.kinds import SECONDS, Int
from pslrepl.results import Fields, Text, volatile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.results import Cell

COMMANDS = Commands(SERVERS)
DEFAULT_REQUESTS = 10_000
NOT_ECHO = ("discard", "daytime", "chargen", "chat", "capture")  # built-ins that don't echo
BOTTLENECK = 0.9  # the generator's CPU over its run time: past this, it is the limit


def is_lab_file(ctx: Invocation, target: str) -> bool:
    """A lab file, which `lab load` brings up (labs.py); any other TARGET is a server."""
    import os

    if target in ctx.session.registry or target.startswith(("http://", "unix:")):
        return False
    return target.endswith(".toml") or os.path.isfile(os.path.expanduser(target))


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
        "load http://127.0.0.1:8000/index.html --conns 20",
        "load 127.0.0.1:7 --size 1024 --rate 500",
    ),
    setup=("serve e tcp 0 --handler echo --threading", "serve web tcp 0 --handler http"),
    details="TARGET is a server's NAME, HOST:PORT or unix:PATH (echo: each round trip "
    "sends SIZE bytes of every value, NUL, CR and LF among them, and checks that the "
    "same bytes come back), or http://HOST:PORT/PATH (a GET, keep-alive where the "
    "server allows it); an http server's NAME is GET /. Each connection waits for its "
    "answer before it sends again. The generator is one selectors loop in a Python "
    "process of its own, so it does not compete with the shell's servers for the GIL; "
    "it says when it used most of a CPU, for then it, not the server, set the pace. "
    "Errors are counted by kind (refused, reset, closed mid-answer, wrong bytes, "
    "HTTP 4xx/5xx, timeout after 10 s) and the connection is opened again. `load FILE` "
    "with a lab file (.toml, written by `save`) brings the lab up, as `lab load FILE` does.",
)
def _load(ctx: Invocation) -> None:
    import json
    import subprocess
    import sys

    if is_lab_file(ctx, ctx["target"]):
        _lab(ctx)
        return
    config = _config(ctx)
    argv = [sys.executable, "-m", "pslrepl.loadgen", json.dumps(config)]
    ctx.record("subprocess.Popen", repr(argv),
               None, exact=False, note="the load generator, a process of its own")  # fmt: skip
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    session = ctx.session
    live = session.settings.events == "live"  # scripts: no progress (it depends on timing)
    done: dict[str, Any] | None = None
    try:  # from the start: a Ctrl-C at any point still ends and reaps the generator
        session.watchdog.guard_pid(proc.pid)  # it dies with the shell, even kill -9
        assert proc.stdout is not None
        for raw in proc.stdout:
            said = json.loads(raw)
            if said.get("done"):
                done = said
            elif live:
                session.printer.write([[("notice", f"load {config['label']}: {said['ok']:,} "
                                         f"round trips, {said['errors']:,} errors, "
                                         f"{said['elapsed']:.1f} s")]], event=True)  # fmt: skip
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait()
        if proc.stdin is not None:
            proc.stdin.close()
        proc.stdout.close()  # type: ignore[union-attr]
        session.watchdog.release_pid(proc.pid)
    if done is None:
        raise PslError(f"load: the generator ended without a summary (exit status "
                       f"{proc.returncode}); try again with fewer --conns")  # fmt: skip
    for result in summary(config, done):
        ctx.emit(result)


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
    addr = parse_addr(text, ctx.session)
    if text in ctx.session.registry:
        res = ctx.session.registry.get(text)
        handler = getattr(res, "handler", "")
        http = http or handler.startswith("http")
        if "TLS" in handler:
            raise UsageError(f"load: {text} serves TLS, which load does not speak yet")
        if not http and handler.split(" ")[0] in NOT_ECHO:
            raise UsageError(f"load: {text} serves {handler}, not echo or http: load "
                             "sends bytes and checks they come back")  # fmt: skip
    if http and ctx["size"] is not None:
        raise UsageError("load: --size is for echo; an http GET sends a request line")
    requests = ctx["requests"]
    duration = ctx["duration"]
    if requests is None and duration is None:
        requests = DEFAULT_REQUESTS
    return {
        "label": target,
        "host": addr.host,
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


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.2f} ms" if seconds < 0.1 else f"{seconds * 1000:.0f} ms"


def summary(config: dict[str, Any], done: dict[str, Any]) -> list[Any]:
    """What a run measured, as `info` shows things; times and rates vary between runs."""
    elapsed = max(done["elapsed"], 1e-9)
    ok, errors = done["ok"], done["errors"]
    kinds = ", ".join(f"{kind} {n:,}" for kind, n in sorted(done["kinds"].items()))
    what = "http GET" if config["http"] else f"echo of {config['size']:,} bytes"
    cpu = done["cpu"] / elapsed
    pairs: list[tuple[str, Cell]] = [
        ("target", f"{config['label']}, {what} over {config['conns']:,} connections"),
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
        ("own CPU", volatile(f"{cpu:.0%} of one core ({done['cpu']:.2f} s)", "measured")),
    ]
    results: list[Any] = [Fields(pairs)]
    if cpu >= BOTTLENECK:
        results.append(Text(f"note: the load generator used {cpu:.0%} of a CPU: it was the "
                            "bottleneck, and the server may be faster than this; fewer "
                            "--conns, or a load client in C (bench/echo.py), tell",
                            "notice"))  # fmt: skip
    return results
