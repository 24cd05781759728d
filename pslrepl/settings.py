"""The session's settings: what `set` shows and changes."""

from __future__ import annotations

import codecs

from pslrepl.errors import UsageError
from pslrepl.parsing import parse_duration


class Settings:
    """What ``set`` shows and changes."""

    def __init__(self, *, events: str = "quiet", color: bool = False) -> None:
        self.display = "text"
        self.encoding = "utf-8"
        self.timeout = 5.0
        self.events = events
        self.color = color
        self.explain = False
        self.notes = True
        self.grace = 1.0
        self.tls_keylog = ""  # tls-keylog: an absolute path, or "" for off

    CHOICES = {
        "display": ("text", "hex", "repr"),
        "events": ("live", "quiet"),
        "color": ("on", "off"),
        "explain": ("on", "off"),
        "notes": ("on", "off"),
    }
    HELP = {
        "display": "how received bytes are shown: text, hex (a hexdump) or repr",
        "encoding": "how bytes are decoded for text display and DATA encoded",
        "timeout": "seconds a blocking command waits unless given --timeout",
        "events": "live: show what happens above the prompt; quiet: only log it",
        "color": "coloured output (off when NO_COLOR is set or output is not a terminal)",
        "explain": "after each command, list the stdlib calls it made",
        "notes": "a `note:` line when a classic pitfall happens (two sends read by one "
        "recv, TIME_WAIT, a zombie...), each once per session",
        "grace": "seconds between TERM and KILL when a child is closed",
        "tls-keylog": "a file every TLS connection writes its secrets to, for Wireshark "
        "(SSLContext.keylog_filename; made 0600); off stops it",
    }

    def names(self) -> list[str]:
        return list(self.HELP)

    def show(self, key: str) -> str:
        value = getattr(self, key.replace("-", "_"))
        if key == "tls-keylog":
            return value or "off"
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)

    def change(self, key: str, raw: str) -> None:
        if key not in self.HELP:
            raise UsageError(f"no setting {key!r}; settings: {', '.join(self.HELP)}")
        choices = self.CHOICES.get(key)
        if choices and raw not in choices:
            raise UsageError(f"{key} must be one of {', '.join(choices)}, not {raw!r}")
        if key in ("color", "explain", "notes"):
            setattr(self, key, raw == "on")
        elif key in ("timeout", "grace"):
            setattr(self, key, parse_duration(raw, what=key))
        elif key == "tls-keylog":
            from pslrepl.tls_files import prepare_keylog

            self.tls_keylog = prepare_keylog(raw)
        elif key == "encoding":
            try:
                setattr(self, key, codecs.lookup(raw).name)
            except LookupError:
                raise UsageError(f"unknown encoding {raw!r}; try utf-8 or latin-1") from None
        else:
            setattr(self, key, raw)
