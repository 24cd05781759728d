"""link and unlink: toxics on a relay, a bad network on demand (as Toxiproxy's)."""

from __future__ import annotations

from pslrepl.commands.groups import SERVERS
from pslrepl.commandspec import Arg, Commands, Opt
from pslrepl.errors import UsageError
from pslrepl.kinds import INT, Choice, Kind, ResourceOf
from pslrepl.results import Table

COMMANDS = Commands(SERVERS)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from pslrepl.invocation import Invocation
    from pslrepl.kinds import Completing

# What a key's value looks like, for the completion menu.
VALUE_SAYS = {"time": "a time: 100ms, 1s", "rate": "bytes a second: 64KiB/s",
              "size": "bytes: 10, 4KiB", "prob": "a probability: 0.3"}  # fmt: skip


def _kinds() -> tuple[str, ...]:
    from pslrepl.resources.toxics import KINDS

    return tuple(KINDS)


class Setting(Kind):
    """A toxic's KEY=VALUE: Tab offers the keys of the toxic named before it."""

    name = "setting"

    def complete(self, ask: Completing, prefix: str) -> Iterable[Any]:
        from pslrepl.resources.toxics import KINDS

        kind = next((w for w in ask.args if w in KINDS), None)
        if kind is None or "=" in prefix:
            return ()
        given = {w.partition("=")[0] for w in ask.args}
        spec = KINDS[kind]
        keys = [f"{k}=" for k in spec if k not in given]
        return ask.words(keys, prefix, lambda key: VALUE_SAYS[spec[key[:-1]][0]])


RELAY = ResourceOf("relay")
TOXIC = Choice(_kinds)
SETTING = Setting()


@COMMANDS.command(
    "link",
    "add a toxic to a relay (latency, bandwidth, slicer, reset...), or list its toxics",
    args=(
        Arg("RELAY", RELAY),
        Arg("TOXIC", TOXIC, optional=True),
        Arg("KEY=VALUE", SETTING, optional=True, many=True),
    ),
    opts=(
        Opt(
            "--dir",
            "which way it acts: up (A to B), down (B to A, the default), both",
            "WAY",
            kind=Choice(("up", "down", "both")),
        ),  # fmt: skip
        Opt("--toxicity", "the chance (0 to 1) that it acts on this connection at all", "P"),
        Opt("--name", "call it N (default: the toxic's kind)", "N"),
        Opt("--seed", "make its random choices the same each run", "N", kind=INT),
    ),
    calls=("threading.Condition.wait", "socket.setsockopt", "socket.shutdown"),
    examples=(
        "link r latency delay=100ms jitter=10ms",
        "link r slicer size=10 delay=1ms --dir up",
        "link r",
    ),
    setup=("serve web tcp 0 --handler echo --threading; relay r tcp-listen:0 web",),
    details="Stream toxics: latency delay=T [jitter=T]; bandwidth rate=R (64KiB/s); "
    "slicer size=N [variation=N] [delay=T]; limit bytes=N (then close); slow_close "
    "delay=T; timeout after=T (a black hole: the connection held, the data dropped); "
    "reset after=T (RST, SO_LINGER 0); delay_accept delay=T; close_after time=T. "
    "Datagram toxics (a relay of udp-listen:/udp: endpoints): drop rate=P; duplicate "
    "rate=P; reorder rate=P [gap=N]; truncate size=N; latency too. Times are 100ms, "
    "1s, 250us or seconds. A toxic acts down (B back to A) unless --dir says otherwise; "
    "each time it acts is an event (in log), at most one a second per toxic.",
)
def _link(ctx: Invocation) -> None:
    from pslrepl.commands.relays import check_fits, describe, way_of
    from pslrepl.resources.toxics import make, parse_prob

    relay = ctx["relay"]
    if ctx["toxic"] is None:
        if ctx["key=value"] or ctx["dir"] or ctx["toxicity"] or ctx["name"]:
            raise UsageError("link: give the toxic first, like link r latency delay=100ms")
        rows = [
            [t.name, t.kind, t.settings(), _dir(t, way_of(t)),
             f"{t.toxicity:g}" if t.active else "skipped",
             str(t.acted) + (f" (holding {t.holding:,} bytes)" if t.holding else "")]
            for t in relay.link.toxics
        ]  # fmt: skip
        empty = f"(no toxics on {relay.name}: link {relay.name} TOXIC ...)"
        ctx.emit(Table(("name", "toxic", "settings", "dir", "toxicity", "acted"), rows,
                       empty=empty))  # fmt: skip
        return
    if relay.closed:
        raise UsageError(f"link: {relay.name} is closed; make a new relay")
    if len(relay.done) == 2:
        raise UsageError(f"link: {relay.name} is done (both directions have closed) and "
                         "carries nothing more: a relay takes one client; make a new "
                         "relay, with --link, for the next")  # fmt: skip
    seed = ctx["seed"] if ctx["seed"] is not None else relay.seed
    toxic = make(
        ctx["toxic"], list(ctx["key=value"]), way=ctx["dir"] or "down",
        toxicity=1.0 if ctx["toxicity"] is None else parse_prob(ctx["toxicity"], "--toxicity"),
        name=ctx["name"], seed=seed, taken=tuple(t.name for t in relay.link.toxics),
    )  # fmt: skip
    ends = (relay.a, relay.b)
    check_fits(toxic, dgram=any(e.dgram for e in ends),
               listening=any(e.listener is not None for e in ends))  # fmt: skip
    if toxic.kind == "delay_accept" and all(e.ready.is_set() for e in ends):
        raise UsageError(f"link: {relay.name} has accepted its client already; give "
                         "delay_accept with relay --link, before one comes")  # fmt: skip
    relay.link.add(toxic)
    ctx.say(f"{relay.name}: linked {toxic.name}: {describe(toxic)}")


def _dir(toxic: Any, way: str) -> str:
    """The dir column: up, down or both, and what that means where it is not plain."""
    if toxic.kind in ("close_after", "delay_accept"):
        return "- (" + way.partition(";")[0] + ")"
    return f"{toxic.way} ({way})" if toxic.kind == "reset" else str(toxic.way)


@COMMANDS.command(
    "unlink",
    "remove a relay's toxic (or all of them): what it held passes on at once",
    args=(Arg("RELAY", RELAY), Arg("N", optional=True)),
    calls=(),
    examples=("unlink r latency", "unlink r"),
    setup=(
        "serve web tcp 0 --handler echo --threading; relay r tcp-listen:0 web",
        "link r latency delay=100ms",
    ),
    details="A toxic that was holding data (latency, slicer, bandwidth) lets it go at "
    "once; a reorder's held datagrams are sent; a black hole's data stays dropped.",
)
def _unlink(ctx: Invocation) -> None:
    relay = ctx["relay"]
    name = ctx["n"]
    if name is not None and all(t.name != name for t in relay.link.toxics):
        known = ", ".join(t.name for t in relay.link.toxics) or "none"
        raise UsageError(f"unlink: {relay.name} has no toxic {name!r} (it has: {known}); "
                         f"`link {relay.name}` lists them")  # fmt: skip
    gone = relay.link.remove(name)
    if not gone:
        ctx.say(f"{relay.name}: no toxics to remove")
        return
    ctx.say(f"{relay.name}: unlinked {', '.join(t.name for t in gone)}")
