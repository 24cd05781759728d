"""http: http.server's SimpleHTTPRequestHandler, its log as the server's events, answering
only for this server's names and only inside its directory."""

from __future__ import annotations

import os
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler

from pslrepl.handlers.base import Described

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.resources.servers import Server

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class Http(Described, SimpleHTTPRequestHandler):
    """http.server's own handler; its request log becomes the server's events. It answers
    only requests for this server by name (DNS rebinding), and serves only what lies
    inside its directory once symbolic links are resolved. `bound` makes the class a
    server serves, with its directory."""

    name = "http"
    does = "serves --dir DIR (or a fresh directory), GET and HEAD, in threads"
    streams = ("tcp",)
    server: Any
    root = ""  # the served directory, symbolic links resolved (set by bound)

    @classmethod
    def bound(cls, directory: str) -> type[Http]:
        """A class of its own for one server, serving ``directory``."""
        root = os.path.realpath(directory)

        class Served(cls):  # type: ignore[valid-type,misc]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=directory, **kwargs)

        Served.root = root
        Served.__name__ = Served.__qualname__ = "Http"
        return Served

    def log_message(self, format: str, *args: Any) -> None:  # the stdlib names it format
        from pslrepl.events import Event

        psl = self.server.psl
        text = format % args
        if text.startswith("Request timed out"):  # handle_one_request's, on --idle
            text = (f"client {self.address_string()} sent no request for "
                    f"{psl.idle:g} s: closed it (--idle S sets how long)")  # fmt: skip
        psl.tell(Event(psl.name, "http", reason=text))

    def send_head(self) -> Any:
        refused = self.psl_refused()
        if refused is None:
            return super().send_head()
        status, why, logged = refused
        self.log_message("refused %s %s: %s", self.command, self.path, logged)
        self.send_error(status, why)
        return None

    def psl_refused(self) -> tuple[int, str, str] | None:
        psl = self.server.psl
        host = self.headers.get("Host")
        if host is not None and not host_allowed(host, psl):
            return (HTTPStatus.MISDIRECTED_REQUEST, "Not this server's name",
                    f"its Host header {host!r} names neither this server "
                    f"({psl.local}) nor loopback: a web page reaching a local server "
                    "through DNS rebinding sends that")  # fmt: skip
        path = os.path.realpath(self.translate_path(self.path))
        root = self.root
        if path != root and not path.startswith(root.rstrip(os.sep) + os.sep):
            return (HTTPStatus.FORBIDDEN, "Outside the served directory",
                    f"it resolves to {path}, outside {root} (a symbolic link?)")  # fmt: skip
        return None


def host_allowed(host: str, psl: Server) -> bool:
    """A Host header naming this server: its bound address or a loopback name, with or
    without a port. Bound to every interface, any IP address too: an address can't be
    rebound to another machine, a name can."""
    import ipaddress

    name = host.strip().lower()
    if name.startswith("["):  # [::1]:8080
        name = name[1 : name.find("]")] if "]" in name else name
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    bound = psl.local.rpartition(":")[0].strip("[]")
    if name in LOOPBACK_NAMES or name == bound:
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False
    return ip.is_loopback or bound in ("0.0.0.0", "::")


INDEX = """<!doctype html>
<title>pslrepl: {name}</title>
<h1>pslrepl's http server {name}</h1>
<p>This is socketserver with http.server's SimpleHTTPRequestHandler, serving an empty
directory made for it. To serve a directory of yours:</p>
<pre>stop {name}
serve {name} tcp {port} --handler http --dir DIR</pre>
"""


def served_directory(given: str | None, tmp: str, name: str) -> str:
    """--dir DIR as an absolute path, or a fresh directory under the session's own
    (0700) temporary one, for an index page: serving the working directory by default
    would serve .git, keys and all."""
    from pslrepl.errors import PslError

    if given:
        directory = os.path.abspath(given)
        if not os.path.isdir(directory):
            raise PslError(f"serve: no such directory {given!r} for --dir; give one that exists")
        return directory
    path = os.path.join(tmp, f"www-{name}")
    os.makedirs(path, mode=0o700, exist_ok=True)
    if os.path.islink(path) or not os.path.isdir(path):
        raise PslError(f"serve: {path} is not a directory of ours; remove it and serve again")
    return path


def write_index(directory: str, name: str, port: int) -> None:
    """index.html, not written through a symbolic link planted in its place."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(os.path.join(directory, "index.html"), flags, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(INDEX.format(name=name, port=port))
