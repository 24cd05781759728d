"""Options several commands share: the timeout, DATA given another way, how bytes are shown."""

from __future__ import annotations

from pslrepl.commandspec import Opt
from pslrepl.kinds import PATH, SECONDS

TIMEOUT = Opt("--timeout", "give up after S seconds (default: set timeout)", "S", kind=SECONDS)
TIMEOUT_HINT = "--timeout S waits longer"  # how a timeout's error ends: what to do next
HEX_IN = Opt("--hex", "the bytes as hex digits instead of DATA", "HEX")
FILE_IN = Opt("--file", "the bytes from a file instead of DATA", "PATH", kind=PATH)
SHOW_HEX = Opt("--hex", "show what was read as a hexdump", exclusive="display")
SHOW_REPR = Opt("--repr", "show what was read as a bytes literal", exclusive="display")
