"""`pslrepl --lab FILE`: the shell, or a script, started with a lab loaded."""

from __future__ import annotations


def load_line(path: str) -> str:
    """The command that loads ``path``, quoted for the shell's own parser."""
    import shlex

    return "lab load " + shlex.quote(path)


def lab_repl(path: str, *, no_color: bool = False) -> int:
    """The interactive shell with the lab at ``path`` up; status 1 if it would not load."""
    import os
    import sys

    from pslrepl.app import build, shutdown
    from pslrepl.environment import Environment, is_dumb, wants_color
    from pslrepl.repl import LineRepl, Repl

    color = wants_color(sys.stdout) and not no_color
    env = Environment.from_system(interactive=True)
    env.color = color
    session, dispatcher = build(env)
    try:
        if not dispatcher.run_line(load_line(path)):
            return 1
        if is_dumb(os.environ.get("TERM")):
            return LineRepl(session, dispatcher).run()
        return Repl(session, dispatcher, color=color).run()
    finally:
        shutdown(session)
