"""ADDR arguments: HOST:PORT, [IPV6]:PORT, a bare PORT, unix:PATH, or a listener's NAME."""

from __future__ import annotations

from pslrepl.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.session import Session

LOOPBACK = "127.0.0.1"


class Addr:
    """A parsed address: an AF_INET/AF_INET6 (host, port) pair, or a UNIX path; ``dgram``
    when it is a datagram socket's (a resource's bound address says; text can't)."""

    __slots__ = ("host", "port", "path", "family", "dgram")

    def __init__(self, host: str = "", port: int = 0, *, path: str = "", family: int = 0,
                 dgram: bool = False):  # fmt: skip
        self.host = host
        self.port = port
        self.path = path
        self.family = family
        self.dgram = dgram

    @property
    def sockaddr(self) -> tuple[str, int] | str:
        return self.path if self.path else (self.host, self.port)

    def __str__(self) -> str:
        return format_addr(self.sockaddr)


def _port(text: str, whole: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise UsageError(f"bad port in {whole!r}: give a number from 0 to 65535") from None
    if not 0 <= port <= 65535:
        raise UsageError(f"port {port} is out of range: give 0 to 65535 (0 picks a free one)")
    return port


def parse_addr(text: str, session: Session | None = None, *, family: int | None = None) -> Addr:
    """An ADDR as the contract spells it; a NAME is a listening resource's bound address
    (a listener on 0.0.0.0 or :: is reached through loopback)."""
    import socket

    if text.startswith("unix:"):
        return Addr(path=text[5:], family=socket.AF_UNIX)
    if session is not None and text in session.registry:
        res = session.registry.get(text)
        bound = res.bound_addr
        if bound is None:
            raise UsageError(f"{text} is a {res.kind}, not something with an address to use")
        return bound
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise UsageError(f"bad address {text!r}: write IPv6 as [::1]:PORT")
        return Addr(host, _port(rest[1:], text), family=socket.AF_INET6)
    if text.isdigit():
        return Addr(LOOPBACK if family != socket.AF_INET6 else "::1", _port(text, text),
                    family=family or socket.AF_INET)  # fmt: skip
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise UsageError(
            f"bad address {text!r}: give HOST:PORT, [IPV6]:PORT, a PORT, or a listener's NAME"
        )
    if ":" in host:
        raise UsageError(f"bad address {text!r}: write IPv6 in brackets, like [::1]:8080")
    return Addr(host, _port(port, text), family=family or 0)


def reachable(sock: object) -> Addr | None:
    """Where to reach a bound socket: its own address, a wildcard (0.0.0.0, ::) through
    loopback; None when it is closed or unbound."""
    import socket

    assert isinstance(sock, socket.socket)
    try:
        name = sock.getsockname()
    except OSError:
        return None
    dgram = sock.type == socket.SOCK_DGRAM
    if sock.family == socket.AF_UNIX:
        return Addr(path=name, family=socket.AF_UNIX, dgram=dgram) if name else None
    host = {"0.0.0.0": LOOPBACK, "::": "::1"}.get(name[0], name[0])
    return Addr(host, name[1], family=sock.family, dgram=dgram)


def format_addr(sockaddr: object) -> str:
    """A socket address as text: 127.0.0.1:80, [::1]:80, or a UNIX path (or '')."""
    if isinstance(sockaddr, tuple) and len(sockaddr) >= 2:
        host, port = sockaddr[0], sockaddr[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    if isinstance(sockaddr, bytes):  # an abstract UNIX address
        return repr(sockaddr)
    return str(sockaddr or "")
