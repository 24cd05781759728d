"""python:FILE:CLASS: a handler of the user's own, loaded from a Python file."""

from __future__ import annotations

import os
import socketserver

from pslrepl.handlers.base import Described

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# What each stdlib handler base reads and writes, for a mismatch's error.
STREAM_ONLY = (socketserver.StreamRequestHandler,)
DATAGRAM_ONLY = (socketserver.DatagramRequestHandler,)


class UserHandler(Described):
    """Only what `handlers` says of python:FILE:CLASS: the class is the user's."""

    name = "python:FILE:CLASS"
    does = "your own BaseRequestHandler subclass, loaded from FILE"
    streams = ()  # any: whatever the class can handle


def load_user_handler(path: str, class_name: str) -> type[socketserver.BaseRequestHandler]:
    """A BaseRequestHandler subclass from a user's file; errors say what to fix."""
    import importlib.util

    from pslrepl.errors import PslError

    path = os.path.expanduser(path)  # python:~/handlers.py:Echo, as a user would type
    spec = importlib.util.spec_from_file_location(f"pslrepl_user_{abs(hash(path))}", path)
    if spec is None or spec.loader is None:
        raise PslError(f"can't load {path!r} as Python: give a .py file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except FileNotFoundError:
        raise PslError(f"no such file {path!r}; give the path of your .py file") from None
    except Exception as exc:  # the user's code: its error, on one line
        raise PslError(f"{path}: {type(exc).__name__}: {exc}; fix it and serve again") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        found = sorted(n for n, v in vars(module).items() if isinstance(v, type)
                       and issubclass(v, socketserver.BaseRequestHandler)
                       and v.__module__ == module.__name__)  # fmt: skip
        mine = f"its handlers: {', '.join(found)}" if found else "it defines no handler class"
        raise PslError(f"{path} has no {class_name}; {mine}")
    if not (isinstance(cls, type) and issubclass(cls, socketserver.BaseRequestHandler)):
        raise PslError(
            f"{path}: {class_name} is not a socketserver.BaseRequestHandler "
            "subclass; derive it from one (StreamRequestHandler reads lines)"
        )
    return cls


def check_proto(cls: type[socketserver.BaseRequestHandler], proto: str) -> None:
    """A StreamRequestHandler reads a connection, a DatagramRequestHandler a datagram:
    served on the other kind of server, each fails on every client. Said at serve."""
    from pslrepl.errors import UsageError

    name = cls.__name__
    if proto == "udp" and issubclass(cls, STREAM_ONLY):
        raise UsageError(f"serve: {name} is a StreamRequestHandler (a connection's rfile "
                         "and wfile): serve it on tcp or unix, or derive it from "
                         "DatagramRequestHandler for udp")  # fmt: skip
    if proto != "udp" and issubclass(cls, DATAGRAM_ONLY):
        raise UsageError(f"serve: {name} is a DatagramRequestHandler (one datagram "
                         "each): serve it on udp, or derive it from StreamRequestHandler "
                         f"for {proto}")  # fmt: skip


def lifecycle(cls: type[socketserver.BaseRequestHandler]) -> type[Any]:
    """The user's class, with setup, handle and finish each told as an event as it
    starts (their own code untouched): socketserver calls them in that order for every
    request, and finish even when handle raised."""

    def told(step: str) -> Any:
        def run(self: Any) -> Any:
            self.psl_step(step)
            done = getattr(super(Watched, self), step)()
            replied = isinstance(self, DATAGRAM_ONLY)  # finish sent what wfile holds
            if step == "finish" and replied:
                self.psl_replied()
            return done

        run.__name__ = step
        return run

    class Watched(cls):  # type: ignore[valid-type,misc]
        def psl_step(self, step: str) -> None:
            psl = getattr(self.server, "psl", None)
            if psl is None:
                return
            if step == "setup" and psl.dgram:  # a datagram server counts what came
                psl.datagram(self, self.request[0])
            if os.getpid() != psl.pid:
                return  # a --forking child posts nothing (see Server.traffic)
            from pslrepl.addresses import format_addr
            from pslrepl.events import Event

            who = format_addr(self.client_address) or "a local client"
            psl.post(Event(psl.name, "client", step=step, handler=cls.__name__, peer=who))

        def psl_replied(self) -> None:
            """DatagramRequestHandler.finish sent what handle wrote to wfile: counted."""
            psl = getattr(self.server, "psl", None)
            reply = self.wfile.getvalue()
            if psl is not None and reply:
                psl.datagram(self, reply, out=True)

        setup = told("setup")
        handle = told("handle")
        finish = told("finish")

    Watched.__name__ = cls.__name__
    Watched.__qualname__ = cls.__qualname__
    return Watched
