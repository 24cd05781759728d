"""python:FILE:CLASS: a handler of the user's own, loaded from a Python file."""

from __future__ import annotations

import os
import socketserver

from pslrepl.handlers.base import Described


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
