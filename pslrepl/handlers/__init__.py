"""The built-in socketserver request handlers, and loading a user's own from a file.

Each one is a real ``socketserver.BaseRequestHandler`` subclass. They report to the
server resource that runs them (connected, bytes, left, raised) as events; they never
print. asyncore and asynchat left the stdlib in 3.12: ``chat`` does what asynchat was
for (a line-based multi-client room) on a ThreadingMixIn server.

Each handler's class says its name, what it does and where it serves (``Described``);
the tables below are made from the classes, in the order `handlers` lists them.
"""

from __future__ import annotations

from pslrepl.handlers.base import CHUNK as CHUNK
from pslrepl.handlers.base import DatagramTracked as DatagramTracked
from pslrepl.handlers.base import Described as Described
from pslrepl.handlers.base import Tracked as Tracked
from pslrepl.handlers.chat import LINE_LIMIT as LINE_LIMIT
from pslrepl.handlers.chat import Chat as Chat
from pslrepl.handlers.chat import Member as Member
from pslrepl.handlers.chat import Room as Room
from pslrepl.handlers.forward import Forward as Forward
from pslrepl.handlers.simple import Capture as Capture
from pslrepl.handlers.simple import Chargen as Chargen
from pslrepl.handlers.simple import Daytime as Daytime
from pslrepl.handlers.simple import Discard as Discard
from pslrepl.handlers.simple import Echo as Echo
from pslrepl.handlers.simple import UdpDaytime as UdpDaytime
from pslrepl.handlers.simple import UdpEcho as UdpEcho
from pslrepl.handlers.simple import UdpUpper as UdpUpper
from pslrepl.handlers.simple import Upper as Upper
from pslrepl.handlers.simple import chargen_line as chargen_line
from pslrepl.handlers.user import UserHandler as UserHandler
from pslrepl.handlers.user import load_user_handler as load_user_handler
from pslrepl.handlers.web import Http as Http

# Every --handler, in the order `handlers` lists them.
FAMILIES: tuple[type[Described], ...] = (
    Echo, Discard, Upper, Daytime, Chargen, Http, Chat, Capture, Forward, UserHandler,
)  # fmt: skip
# The handlers named by a plain word (not forward:ADDR or python:FILE:CLASS), by proto.
STREAM: dict[str, type[Tracked]] = {
    f.name: f for f in FAMILIES if issubclass(f, Tracked) and ":" not in f.name
}
DATAGRAM: dict[str, type[DatagramTracked]] = {
    f.name: f.datagram for f in FAMILIES if f.datagram is not None
}
DESCRIPTIONS: dict[str, str] = {f.name: f.description() for f in FAMILIES}
