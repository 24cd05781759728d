"""Calling the socket module's functions on typed words: their errors as one line, their
results shown, and ports, families, constants and packed bytes read as the docs spell them."""

from __future__ import annotations

import socket

from pslrepl.errors import PslError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pslrepl.invocation import Invocation

PORT_RANGE = (0, 65535)
# getservbyname and getservbyport read the services database: say where, and how to ask.
SERVICE_HINT = ("; the names are in /etc/services (try http, ssh, smtp), and PROTO is "
                "tcp or udp")  # fmt: skip
# Address families as a student types them: the stdlib's names, its numbers, or 4 and 6
# (as --family takes them; AF 4 and 6 are no IP family on any platform).
FAMILY_WORDS = {"4": socket.AF_INET, "6": socket.AF_INET6}


def call(ctx: Invocation, func: str, fn: Callable[..., Any], *args: Any) -> Any:
    """socket.FUNC(*args), recorded; what it raises as one line that names the function."""
    from pslrepl.resources.sockets import traced

    try:
        return traced(ctx, f"socket.{func}", fn, *args)
    except socket.gaierror as exc:
        raise PslError(f"{func}: {exc.strerror} ({_gai_name(exc.errno)})") from None
    except socket.herror as exc:
        raise PslError(f"{func}: {exc.strerror or exc} (herror)") from None
    except OSError as exc:
        hint = SERVICE_HINT if func.startswith("getserv") else ""
        raise PslError(f"{func}: {exc.strerror or exc}{hint}") from None
    except (TypeError, ValueError, OverflowError) as exc:
        # The stdlib's message may name the function already ("htons: Python int...").
        text = str(exc).removeprefix(f"{func}: ").removeprefix(f"{func}() ")
        if isinstance(exc, UnicodeError):  # a name IDNA can't encode: a label over 63...
            text = f"can't encode that name for DNS ({text})"
        raise UsageError(f"{func}: {text}") from None


def call_as_typed(ctx: Invocation, func: str) -> None:
    """socket.FUNC on the command's arguments in order, as the user gave them; its
    result shown."""
    args: list[Any] = []
    for arg in ctx.command.args:
        value = ctx[arg.key]
        args.extend(value if isinstance(value, list) else [] if value is None else [value])
    ctx.say(shown(call(ctx, func, getattr(socket, func), *args)))


def _gai_name(code: int | None) -> str:
    for name in dir(socket):
        if name.startswith("EAI_") and getattr(socket, name) == code:
            return name
    return f"EAI {code}"


def shown(value: Any) -> str:
    """A result as text: packed bytes as hex, a number with its hex too."""
    if isinstance(value, bytes):
        return f"{value.hex(' ')}  ({len(value)} bytes, packed)"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value}  (0x{value:x})"
    return repr(value) if not isinstance(value, str) else value


def constant(func: str, what: str, text: str, prefixes: tuple[str, ...]) -> int:
    """A socket constant as the docs spell it (AF_INET6, socket.SOCK_STREAM, a number),
    or several flags joined by | (AI_CANONNAME|AI_PASSIVE)."""
    value = 0
    for part in text.split("|"):
        word = part.strip().upper().removeprefix("SOCKET.")
        number = getattr(socket, word, None) if word.startswith(prefixes) else None
        if isinstance(number, int):
            value |= int(number)
            continue
        try:
            value |= int(word, 0)
        except ValueError:
            names = sorted(n for n in dir(socket) if n.startswith(prefixes))
            raise UsageError(f"{func}: {what} {part!r} is not one of "
                             f"{', '.join(names[:8])}{'...' if len(names) > 8 else ''}, "
                             "nor a number") from None  # fmt: skip
    if not -(2**31) <= value < 2**31:
        raise UsageError(f"{func}: {what} must be from {-(2**31)} to {2**31 - 1}, not {text}")
    return value


def ip_family(func: str, text: str) -> int | None:
    """An IP family (AF_INET, AF_INET6, socket.AF_INET6, their numbers, 4 or 6), or None
    when ``text`` is not spelled as a family at all."""
    word = text.strip().upper().removeprefix("SOCKET.")
    if word in FAMILY_WORDS:
        return FAMILY_WORDS[word]
    number = getattr(socket, word, None) if word.startswith("AF_") else None
    if number is None and word.isdigit():
        number = int(word)
    if number is None:
        return None
    if number not in (socket.AF_INET, socket.AF_INET6):
        raise UsageError(f"{func}: {text} is not an IP family: give AF_INET or AF_INET6 "
                         "(or 4, 6)")  # fmt: skip
    return int(number)


def family_name(family: int) -> str:
    return "AF_INET6" if family == socket.AF_INET6 else "AF_INET"


def port(func: str, text: str) -> int:
    number = whole(func, "PORT", text)
    if not PORT_RANGE[0] <= number <= PORT_RANGE[1]:
        raise UsageError(f"{func}: PORT must be from 0 to 65535, not {text}")
    return number


def whole(func: str, what: str, text: str) -> int:
    """A whole number as typed (0x.. and 0o.. too)."""
    try:
        return int(text, 0)
    except ValueError:
        raise UsageError(f"{func}: {what} {text!r} is not a whole number") from None


def packed(func: str, words: list[str]) -> bytes:
    """Packed bytes as hex, in one word or several: '7f 00 00 01', 7f 00 00 01, 7f000001."""
    from pslrepl.parsing import parse_hex

    try:
        return parse_hex(" ".join(words))
    except UsageError as exc:
        raise UsageError(f"{func}: {exc}") from None


def as_enum(enum: Any, value: int) -> Any:
    """The constant as its enum member (explain then shows its name), if it is one."""
    try:
        return enum(value)
    except ValueError:
        return value


def enum_name(enum: Any, value: int) -> str:
    try:
        return str(enum(value).name)
    except ValueError:
        return str(value)
