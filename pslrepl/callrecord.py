"""Each stdlib call a command made, as data: what explain prints as a line of Python.

A Call keeps the function, its receiver (the resource whose object it was called on:
its name is the Python variable), the arguments and result as bounded Python source,
the name the result was bound to, and whether the line is the exact call or an
equivalent. While the command runs, a Call holds the receiver and result objects; when
the command ends they are matched against the registry (``settle``) and let go, so a
record holds names and text, never sockets or buffers.
"""

from __future__ import annotations

import keyword
import socket
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from pslrepl.resources.registry import Registry

# Past this much of a payload the rest is not kept, and the line says so.
PAYLOAD_SHOWN = 256
CUT = "..."


def _compiles(line: str) -> bool:
    try:
        compile(line, "<explain>", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


class Call:
    """One stdlib call: ``bound = receiver.method(args)  # -> result``."""

    __slots__ = (
        "func", "args", "result", "t", "receiver", "bound", "exact", "note", "_self", "_value",
    )  # fmt: skip

    def __init__(
        self,
        func: str,
        args: str,
        result: str,
        *,
        exact: bool = True,
        note: str = "",
        receiver: str = "",
        on: Any = None,
        value: Any = None,
    ) -> None:
        self.func = func  # as the docs name it: socket.bind, Popen.stdin.write, os.splice
        self.args = args  # Python source, bounded
        self.result = result  # Python source or a description ("raised OSError"), bounded
        self.t = time.time()
        self.receiver = receiver  # the variable the method is called on, once known
        self.bound = ""  # the variable the result became, once known
        self.exact = exact
        self.note = note  # what an equivalent line stands for
        self._self = on  # the object the method was called on, until settled
        self._value = value  # the object returned, until settled

    @property
    def raised(self) -> bool:
        return self.result.startswith("raised ")

    def settle(self, names: dict[int, str]) -> None:
        """Name the receiver and the result from the live objects, then let them go."""
        if not self.receiver and self._self is not None:
            self.receiver = as_variable(names.get(id(self._self), ""))
        value = self._value
        # A value shown as text (a server: its repr names the shell's classes) that
        # stands for an object of the user's: bound to that object's name.
        value = getattr(value, "stands_for", None) or value
        if value is not None:
            self.bound = as_variable(names.get(id(value), ""))
            if not self.bound and type(value) is tuple and 1 < len(value) <= 4:
                # accept() and socketpair() return their new objects in a tuple: the
                # line unpacks it, naming each part that became a resource.
                parts = [as_variable(names.get(id(v), "")) for v in value]
                if any(parts):
                    self.bound = ", ".join(p or "_" for p in parts)
        self._self = self._value = None

    def target(self) -> str:
        """What is called: ``c.recv`` for a method of a named object, else the function."""
        if self.receiver:
            _, _, method = self.func.partition(".")
            return f"{self.receiver}.{method or self.func}"
        return self.func

    def python(self) -> str:
        """The call as a line of Python that compiles; what it returned as a comment."""
        if self.result.endswith(" more calls, not listed"):  # past the listed ones
            return f"# ... {self.result}"
        head = f"{self.bound} = " if self.bound else ""
        line = f"{head}{self.target()}({self.args})"
        if self.func.endswith("="):  # an attribute set: context.verify_mode = ...
            line = f"{self.target()[:-1]} = {self.args}"
        elif self.func.startswith(("class ", "def ")):  # what a later call names: the
            line = f"{self.func}: ..."  # shell's own code, defined in one line
        comment = []
        if CUT + "'" in self.args or CUT + '"' in self.args:
            comment.append(f"payload cut to its first {PAYLOAD_SHOWN} bytes")
        if not _compiles(line):  # arguments only a description can give: said beside
            comment.append(f"arguments: {self.args}")
            line = f"{head}{self.target()}(...)"
        if self.raised:
            comment.append(self.result)
        elif ("," in self.bound or not self.bound) and self.result not in ("None", ""):
            comment.append(f"-> {self.result}")
        if not self.exact:
            comment.append(f"equivalent: {self.note}" if self.note else "equivalent")
        text = "; ".join(comment).replace("\n", "\\n").replace("\r", "\\r")
        return line + (f"  # {text}" if comment else "")


def as_variable(name: str) -> str:
    """A resource's name as the Python variable explain calls it: the name itself where
    it can be one, else '-' (and any other character a name can't hold) as '_', and a
    trailing '_' after a keyword (as an exported script names it)."""
    if not name or (name.isidentifier() and not keyword.iskeyword(name)):
        return name
    var = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    if not var.isidentifier():  # starts with a digit
        var = "_" + var
    return var + "_" if keyword.iskeyword(var) else var


def object_names(registry: Registry) -> dict[int, str]:
    """The live resources' stdlib objects by id: a socket, a Popen, a server."""
    names: dict[int, str] = {}
    for res in registry:
        for obj in _objects_of(res):
            names.setdefault(id(obj), res.name)
    return names


def _objects_of(res: Any) -> Iterable[Any]:
    try:
        obj = res.obj
    except Exception:  # a resource that can't say (closing): nothing to name
        return ()
    return (obj,) if obj is not None else ()


def py_repr(value: Any, limit: int = PAYLOAD_SHOWN) -> str:
    """An argument or result as Python source, short: socket constants by name
    (socket.MSG_PEEK, not <MsgFlag.MSG_PEEK: 2>), a socket as ``sock``, bytes cut."""
    import enum

    if isinstance(value, enum.Enum) and type(value).__module__ == "socket":
        names = value.name or ""
        if names:
            return "|".join(f"socket.{n}" for n in names.split("|"))
        return str(value.value)
    if isinstance(value, socket.socket):
        return "sock"
    if isinstance(value, memoryview):  # cut, its size kept: only the shown part is copied
        shown = py_repr(bytes(value[:limit]), limit)
        return shown[:-1] + CUT + shown[-1] if value.nbytes > limit else shown
    if isinstance(value, (bytes, bytearray, str)):
        # A payload cut to its first ``limit`` bytes keeps the literal whole, so the line
        # stays Python: b'abc...' (python() says it was cut).
        text = repr(value[:limit] if isinstance(value, str) else bytes(value[:limit]))
        return text[:-1] + CUT + text[-1] if len(value) > limit else text
    if isinstance(value, (tuple, list)):
        inner = ", ".join(py_repr(v, 40) for v in value[:8]) + (", ..." if len(value) > 8 else "")
        if isinstance(value, list):
            text = f"[{inner}]"
        else:
            text = f"({inner}{',' if len(value) == 1 else ''})"
        return text if len(text) <= limit * 2 else text[: limit * 2 - 3] + "..."
    text = repr(value)
    if " at 0x" in text:  # an object's default repr: its address says nothing
        text = f"<{type(value).__module__}.{type(value).__qualname__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def settle_all(calls: Iterable[Call], registry: Registry, local: dict[int, str]) -> None:
    """Settle each call: objects named by the live resources, then by the command; an
    address something live is bound to is written as its getsockname(), so a line
    pasted elsewhere reaches it there, not at this session's port."""
    names = {**local, **object_names(registry)}
    places = address_names(registry)
    for call in calls:
        call.settle(names)
        for text, expr in places.items():
            if text in call.args:
                call.args = call.args.replace(text, expr)


def address_names(registry: Registry) -> dict[str, str]:
    """The Python text of each live bound address (port not 0), and the expression that
    gives it: a socket's getsockname(), a server's server_address."""
    found: dict[str, str] = {}
    for res in registry:
        try:
            bound, obj = res.bound_addr, res.obj
        except Exception:  # closing: nothing to say
            continue
        if bound is None or bound.path or not bound.port:
            continue
        if hasattr(obj, "getsockname"):
            expr = f"{res.name}.getsockname()"
        elif hasattr(obj, "server_address"):
            expr = f"{res.name}.server_address"
        else:
            continue  # a relay's listening side has no object of the user's to name
        found.setdefault(py_repr((bound.host, bound.port)), expr)
    return found


def receiver_of(fn: Any) -> Any:
    """The object a bound method belongs to (a module's function has none that counts)."""
    import types

    owner = getattr(fn, "__self__", None)
    return None if owner is None or isinstance(owner, types.ModuleType) else owner
