"""Every class of resource, and the kinds and ``wait`` events they declare, in one list."""

from __future__ import annotations

# Imported here, not in resource_classes: it lives outside this package, and a walk of
# the package's classes must find it too. Cheap: ssl comes only when a tls bio is made.
from pslrepl.tls_bio import TlsBio

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.resources.base import Resource


def resource_classes() -> tuple[type[Resource], ...]:
    """Each class a live resource can be, in the order ls's kinds are listed. Imported
    here, not at start-up: servers bring ssl and socketserver with them."""
    from pslrepl.resources.process import Process
    from pslrepl.resources.relays import Relay
    from pslrepl.resources.servers import Server
    from pslrepl.resources.sh_job import ShJob
    from pslrepl.resources.socket_file import SockFile
    from pslrepl.resources.sockets import Listener, Sock

    return (Process, ShJob, Sock, Listener, SockFile, Server, Relay, TlsBio)


def kinds() -> tuple[str, ...]:
    """Every kind ls shows, as the classes declare them (``ls KIND``'s choices)."""
    return tuple(kind for cls in resource_classes() for kind in cls.KINDS)


def wait_events() -> tuple[str, ...]:
    """Every event some resource has for ``wait NAME EVENT``, each once."""
    return tuple(dict.fromkeys(event for cls in resource_classes() for event in cls.EVENTS))
