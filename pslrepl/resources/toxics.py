"""A relay's toxics: a bad network on demand (latency, bandwidth, slicer, resets, drops...).

Each toxic acts on one direction of a relay ("up" A -> B, "down" B -> A, or both), on
the bytes its pump thread has read, before they are written on. Everything a toxic
waits for is a deadline on the relay's condition, so `unlink` and `close` end a wait
at once. Random choices come from a toxic's own random.Random, seeded from --seed.
"""

from __future__ import annotations

import random
import re
import shlex
import time

from pslrepl.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# What each toxic takes: KEY -> (kind, default or None when required).
# Kinds: "time" (100ms, 1s, 1.5), "rate" (64KiB/s), "size" (whole bytes), "prob" (0..1).
Spec = dict[str, dict[str, tuple[str, "Any"]]]
STREAM: Spec = {
    "latency": {"delay": ("time", None), "jitter": ("time", 0.0)},
    "bandwidth": {"rate": ("rate", None)},
    "slicer": {"size": ("size", None), "variation": ("size", 0), "delay": ("time", 0.001)},
    "limit": {"bytes": ("size", None)},
    "slow_close": {"delay": ("time", None)},
    "timeout": {"after": ("time", 0.0)},
    "reset": {"after": ("time", 0.0)},
    "delay_accept": {"delay": ("time", None)},
    "close_after": {"time": ("time", None)},
}
DATAGRAM: Spec = {
    "drop": {"rate": ("prob", None)},
    "duplicate": {"rate": ("prob", None)},
    "reorder": {"rate": ("prob", None), "gap": ("size", 3)},
    "truncate": {"size": ("size", None)},
}
KINDS: Spec = {**STREAM, **DATAGRAM}
# What each does, for help, completion and `link RELAY` with no toxic.
SAYS = {
    "latency": "hold each chunk DELAY (+/- JITTER) before passing it on",
    "bandwidth": "pass at most RATE bytes a second",
    "slicer": "cut the stream into writes of SIZE (+/- VARIATION) bytes, DELAY apart",
    "limit": "pass BYTES bytes, then close the connection",
    "slow_close": "pass the end of the stream on DELAY late",
    "timeout": "after AFTER, a black hole: hold the connection, drop the data",
    "reset": "after AFTER, reset the connection (RST, SO_LINGER 0)",
    "delay_accept": "accept the relay's client DELAY late",
    "close_after": "close the connection TIME after it opened",
    "drop": "drop each datagram with probability RATE",
    "duplicate": "send a datagram twice with probability RATE",
    "reorder": "hold a datagram back past GAP others, with probability RATE",
    "truncate": "cut each datagram to SIZE bytes",
}
TIMED = ("reset", "close_after")  # act at a time, whether or not data flows
WAYS = {"up": (">",), "down": ("<",), "both": (">", "<")}
COALESCE = 1.0  # seconds: a toxic says what it did at most once in this, then a sum
MAX_TIME = 86400.0
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "": 1.0}
_SIZES = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 10**6, "mb": 10**6,
          "mib": 1 << 20, "g": 10**9, "gb": 10**9, "gib": 1 << 30}  # fmt: skip


def parse_time(text: str, what: str) -> float:
    """100ms, 1.5s, 2m, 250us; a bare number is seconds."""
    m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)(us|ms|s|m)?", text.strip())
    if m is None:
        raise UsageError(f"link: {what} must be a time like 100ms, 1s or 0.5, not {text!r}")
    value = float(m[1]) * _UNITS[m[2] or ""]
    if value > MAX_TIME:
        raise UsageError(f"link: {what} must be at most a day, not {text!r}")
    return value


def parse_size(text: str, what: str) -> int:
    m = re.fullmatch(r"(\d+)\s*([a-zA-Z]*)", text.strip())
    if m is None or m[2].lower() not in _SIZES:
        raise UsageError(f"link: {what} must be a whole number of bytes like 10 or 4KiB, "
                         f"not {text!r}")  # fmt: skip
    return int(m[1]) * _SIZES[m[2].lower()]


def parse_rate(text: str, what: str) -> float:
    """Bytes a second: 64KiB/s, 1MiB/s, 1000 (bytes/s)."""
    m = re.fullmatch(r"(\d+(?:\.\d*)?)\s*([a-zA-Z]*?)(?:/s)?", text.strip())
    if m is None or m[2].lower() not in _SIZES or float(m[1]) <= 0:
        raise UsageError(f"link: {what} must be a rate above 0 like 64KiB/s or 1MiB/s, "
                         f"not {text!r}")  # fmt: skip
    return float(m[1]) * _SIZES[m[2].lower()]


def parse_prob(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise UsageError(f"link: {what} must be a probability from 0 to 1, not {text!r}")
    return value


PARSERS: dict[str, Callable[[str, str], Any]] = {
    "time": parse_time, "size": parse_size, "rate": parse_rate, "prob": parse_prob,
}  # fmt: skip


def show_value(kind: str, value: Any) -> str:
    if kind == "time":
        return f"{value * 1000:g}ms" if value < 1 else f"{value:g}s"
    if kind == "rate":
        for unit, size in (("MiB", 1 << 20), ("KiB", 1024)):
            if value >= size and value % size == 0:
                return f"{value / size:g}{unit}/s"
        return f"{value:g}B/s"
    return f"{value:g}" if kind == "prob" else str(value)


class Toxic:
    """One toxic on a relay: its settings, which ways it acts, and what it has done."""

    def __init__(self, name: str, kind: str, params: dict[str, Any], *, way: str,
                 toxicity: float, seed: int | None) -> None:  # fmt: skip
        self.name = name
        self.kind = kind
        self.params = params
        self.way = way  # up, down or both
        self.ways = WAYS[way]
        self.toxicity = toxicity
        # Its own generator: one toxic's choices never shift another's.
        self.rng = random.Random(f"{seed}:{name}") if seed is not None else random.Random()
        # dir=both: the up way draws from a generator of its own, as the two ways' threads
        # draw in whatever order they run (one shared, a seed would not replay).
        self.rng_up = (random.Random(f"{seed}:{name}:up") if seed is not None
                       else random.Random())  # fmt: skip
        # Toxiproxy's toxicity: whether it acts on this connection at all, chosen once.
        self.active = toxicity >= 1.0 or self.rng.random() < toxicity
        self.added = time.monotonic()
        self.removed = False
        self.fired = False  # a timed toxic (reset, close_after) has acted
        self.acted = 0  # times it acted, for `link RELAY`
        self.holding = 0  # latency: bytes in hand now
        self.said_at = -COALESCE  # when it last said so (an event), for coalescing
        # actions not said yet, each kind apart: what -> [count, bytes, how (the last)]
        self.unsaid: dict[str, list[Any]] = {}
        # bandwidth: when the next byte may go; slicer: when the last slice went (never yet:
        # -inf, as a clock that started a moment ago is small)
        self.next_send = float("-inf")
        # reorder: [datagrams to go first, dst, data, what passes it on]
        self.reordered: list[list[Any]] = []
        self.passed: dict[str, int] = {}  # limit: bytes passed so far, each way apart

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    def settings(self) -> str:
        spec = KINDS[self.kind]
        shown = [k for k, v in self.params.items() if v != spec[k][1]] or list(self.params)
        return " ".join(f"{k}={show_value(spec[k][0], self.params[k])}" for k in shown)

    def spec(self) -> str:
        """The toxic as --link would take it."""
        extra = f" dir={self.way}" if self.way != "down" else ""
        if self.toxicity < 1.0:
            extra += f" toxicity={self.toxicity:g}"
        named = f" name={self.name}" if self.name != self.kind else ""
        return f"{self.kind} {self.settings()}{extra}{named}".replace("  ", " ")

    def rng_to(self, up: bool) -> random.Random:
        """The generator for one way (``up``: towards the relay's target): each way of a
        dir=both toxic has its own; a toxic acting one way keeps the one it always had."""
        return self.rng_up if up and len(self.ways) > 1 else self.rng

    def jittered(self, up: bool) -> float:
        delay: float = self["delay"]
        jitter: float = self.params.get("jitter", 0.0)
        if jitter:
            delay = max(0.0, delay + self.rng_to(up).uniform(-jitter, jitter))
        return delay

    def slice_sizes(self, total: int, up: bool) -> list[int]:
        sizes = []
        size, variation = self["size"], self["variation"]
        rng = self.rng_to(up)
        while total > 0:
            n = size + (rng.randint(-variation, variation) if variation else 0)
            n = max(1, min(n, total))
            sizes.append(n)
            total -= n
        return sizes


def make(kind: str, pairs: list[str], *, way: str = "down", toxicity: float = 1.0,
         name: str | None = None, seed: int | None = None,
         taken: tuple[str, ...] = ()) -> Toxic:  # fmt: skip
    """A toxic from its kind and KEY=VALUE words, each checked; inside --link the words
    may also say dir=, toxicity= and name=."""
    from pslrepl.parsing import check_name

    if kind not in KINDS:
        raise UsageError(f"link: no toxic {kind!r}; give one of {', '.join(KINDS)}")
    spec = KINDS[kind]
    params: dict[str, Any] = {}
    if name is not None:
        name = check_name(name)  # --name: a blank or spaced name made a row no one can name
    given: set[str] = set()
    for pair in pairs:
        key, eq, raw = pair.partition("=")
        if not eq:
            raise UsageError(f"link: {pair!r} is not KEY=VALUE; {kind} takes "
                             f"{', '.join(spec)}")  # fmt: skip
        if key in given:
            raise UsageError(f"link: {key}= is given twice; give it once")
        given.add(key)
        if key == "dir":
            if raw not in WAYS:
                raise UsageError(f"link: dir must be up, down or both, not {raw!r}")
            way = raw
        elif key == "toxicity":
            toxicity = parse_prob(raw, "toxicity")
        elif key == "name":
            name = check_name(raw)
        elif key in spec:
            params[key] = PARSERS[spec[key][0]](raw, f"{kind} {key}")
        else:
            raise UsageError(f"link: {kind} has no {key!r}; it takes {', '.join(spec)}")
    for key, (_, default) in spec.items():
        if key not in params:
            if default is None:
                raise UsageError(f"link: {kind} needs {key}=VALUE ({SAYS[kind]})")
            params[key] = default
    if kind == "slicer" and params["size"] < 1:
        raise UsageError("link: slicer size must be at least 1 byte")
    if kind in ("reorder",) and params["gap"] < 1:
        raise UsageError("link: reorder gap must be at least 1 datagram")
    # A spread wider than its centre would be cut off at zero (holds of 0 ms, slices of
    # 1 byte) far more often than the other way: not the +/- it says.
    if kind == "latency" and params["jitter"] > params["delay"]:
        d, j = (show_value("time", params[k]) for k in ("delay", "jitter"))
        raise UsageError(f"link: latency jitter={j} is larger than delay={d}; give a "
                         f"jitter of at most {d} (each hold is delay +/- jitter)")  # fmt: skip
    if kind == "slicer" and params["variation"] >= params["size"]:
        size, var = params["size"], params["variation"]
        raise UsageError(f"link: slicer variation={var} is not smaller than size={size}; "
                         f"give a variation of at most {size - 1} (each slice is size "
                         "+/- variation, at least 1 byte)")  # fmt: skip
    if name is None:
        name = kind
        n = 2
        while name in taken:
            name, n = f"{kind}{n}", n + 1
    elif name in taken:
        raise UsageError(f"link: the relay already has a toxic named {name}; give another "
                         "name=N or unlink it first")  # fmt: skip
    # Reset, limit and close_after end the connection both ways: "both" reads as it is.
    return Toxic(name, kind, params, way=way, toxicity=toxicity, seed=seed)


def from_spec(text: str, *, seed: int | None, taken: tuple[str, ...]) -> Toxic:
    """A --link value: 'TOXIC KEY=VALUE... [dir=up|down|both] [toxicity=P] [name=N]'."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"relay: can't split --link {text!r}: {exc}") from None
    if not words:
        raise UsageError("relay: --link needs a toxic, like --link 'latency delay=100ms'")
    return make(words[0], words[1:], seed=seed, taken=taken)


def spread_of(spread: tuple[int, int] | None, how: str, *, first: bool) -> tuple[int, int] | None:
    """The least and most of the holds said in one line (" 270 ms" each), or None once
    one is not a plain time (" 758 ms (until unlinked)")."""
    import re

    m = re.fullmatch(r" ([\d,]+) ms", how)
    if m is None or (spread is None and not first):
        return None
    ms = int(m[1].replace(",", ""))
    return (ms, ms) if spread is None else (min(spread[0], ms), max(spread[1], ms))


def counted(what: str, count: int) -> str:
    """A datagram toxic's words for ``count`` datagrams summed into one line: "dropped 482
    datagrams (BYTES)", never "a datagram" of all their bytes."""
    if count < 2 or "datagram" not in what:
        return what
    return (what.replace("a held datagram", f"{count:,} held datagrams")
            .replace("a datagram", f"{count:,} datagrams")
            .replace(" back to go after", " back, each to go after"))  # fmt: skip
