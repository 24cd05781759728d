"""Exporters for the session's own commands: echo, set, sleep, py, close, wait, log."""

from __future__ import annotations

from pslrepl.export.script import Unexportable, indented, wrapped_print

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ast
    from collections.abc import Callable

    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord

# Names a `py` line may use and the script has too: the modules the shell's py imports.
PY_MODULES = ("os", "sys", "socket", "subprocess", "signal")


def _echo(script: Script, record: CommandRecord) -> None:
    script.add(wrapped_print(" ".join(record.values.get("text") or [])))


def _set(script: Script, record: CommandRecord) -> None:
    key, value = record.values.get("key"), record.values.get("value")
    if not record.ok:
        script.not_exported(record, "a set the shell refused")
        return
    if value is None:  # set, set KEY: the shell's settings, as it showed them
        from pslrepl.export.looking import reprint

        script.add("# the shell's settings, as it showed them")
        reprint(script, record)
        return
    if key == "display" and value in ("text", "hex", "repr"):
        script.display = value
        script.add(f"# from here on, data is shown as {value}")
    elif key == "timeout" and value is not None:
        script.timeout = float(value)
        script.add(f"# from here on, waits give up after {float(value):g} s")
    elif key == "notes" and value is not None:
        script.add("# (notes are the shell's own lessons on what it sees: a script has none)")
    elif key == "explain" and value is not None:
        script.explain = value == "on"
        script.add("# (explain shows each call as Python: this script is those calls)")
    else:
        script.not_exported(record, f"set {key or ''} is not exported yet".replace("  ", " "))
        return
    script.add(f'print("{key}: {value}")')


def _sleep(script: Script, record: CommandRecord) -> None:
    script.imp("time")
    script.add(f"time.sleep({float(record.values['seconds']):g})")


def _py(script: Script, record: CommandRecord) -> None:
    import ast
    import builtins

    code = _py_code(record)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        script.not_exported(record, "a py line that does not parse")
        return
    known = set(PY_MODULES) | set(script.kinds) | set(dir(builtins)) | script.globals
    bound = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    for node in ast.walk(tree):  # what imports, definitions and parameters bind
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    foreign = _foreign_imports(tree)
    if foreign:  # the script uses only the stdlib (and sh where the session used sh)
        own = "pslrepl" in foreign
        why = ("it uses pslrepl, the shell's own: not stdlib" if own else
               f"it imports {', '.join(foreign)}, which is not the stdlib: the script "
               "uses only the stdlib")  # fmt: skip
        script.not_exported(record, f"py {code!r}: {why}")
        return
    strange = sorted(used - known - bound)
    if strange:
        why = f"it uses {', '.join(strange)}, the shell's own (session, res): not stdlib"
        script.not_exported(record, f"py {code!r}: {why}")
        return
    script.imp(*(m for m in PY_MODULES if m in used))
    script.globals |= bound
    renamed = {n: script.var(n) for n in used if n in script.kinds and script.var(n) != n}
    if renamed:  # a resource whose variable is not its name (data is data_)

        class Rename(ast.NodeTransformer):
            def visit_Name(self, node: ast.Name) -> ast.Name:
                node.id = renamed.get(node.id, node.id)
                return node

        tree = Rename().visit(tree)
    # import lines go to the script's top, with its other imports (ruff's E402)
    hoisted = [n for n in tree.body if isinstance(n, ast.Import)
               and all(a.asname is None and "." not in a.name for a in n.names)]  # fmt: skip
    for node in hoisted:
        script.imp(*(a.name for a in node.names))
    tree.body = [n for n in tree.body if n not in hoisted] or [ast.Pass()]
    if record.ok and hoisted and isinstance(tree.body[0], ast.Pass):  # only imports
        script.add("# (its import is at the top, with the script's others)")
        return
    lines = _py_lines(script, tree)
    if record.ok:
        script.add(*lines)
        return
    # It raised in the shell, which said so on one line: the script does the same.
    script.add("try:", *(indented(line) for line in lines), "except Exception as exc:")
    where = " (line 1)" if "\n" not in code else ""
    script.add(f'    print(f"error: py: {{type(exc).__name__}}: {{exc}}{where}")')


def _foreign_imports(tree: ast.Module) -> list[str]:
    """The modules outside the stdlib that a py line imports (import, from ... import,
    __import__('x') or importlib.import_module('x')), by their top-level name; sh is
    the script's own where the session used it."""
    import ast
    import sys

    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom):  # a relative import: the shell's package
            names.add("pslrepl")
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            names.add(node.args[0].value)
    stdlib = set(getattr(sys, "stdlib_module_names", ())) | {"sh"}
    tops = {name.split(".")[0] for name in names}
    return sorted(top for top in tops if top not in stdlib and stdlib)


def _py_lines(script: Script, tree: ast.Module) -> list[str]:
    """A py line's code for the script: an expression's value shown as the shell shows
    it (its repr, unless None), statements as they are."""
    import ast

    body = tree.body
    if len(body) == 1 and isinstance(body[0], ast.Expr):
        call = body[0].value
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id == "print"
        ):
            return [_own(ast.unparse(body[0]))]
        # The shell's py shows an expression's value as the interactive prompt does:
        # its repr, unless it is None.
        script.imp("sys")
        return [_own(f"sys.displayhook({ast.unparse(call)})")]
    return [_own(ast.unparse(node)) for node in body]


def _own(line: str) -> str:
    """The user's own code, as typed: the script's linter is told to leave it be (a
    statement on one line; a longer one could end inside a string)."""
    return line if "\n" in line else f"{line}  # noqa"


def _py_code(record: CommandRecord) -> str:
    """The code as py ran it: the arguments as typed, quotes and all (they are Python's);
    one quoted word is taken unquoted, as py takes it."""
    words = record.values.get("code") or []
    raw = record.line.strip()[len(record.command) :].strip()
    if len(words) == 1 and len(raw) >= 2 and raw[0] in "'\"" and raw[-1] == raw[0]:
        return str(words[0])
    return raw or " ".join(words)


def _close(script: Script, record: CommandRecord) -> None:
    names = record.values.get("name") or []
    if record.values.get("all"):  # everything open, newest first, as the shell closes it
        if script.unmade:
            raise Unexportable(f"close --all closes {', '.join(sorted(script.unmade))} too, "
                               "which the script does not make")  # fmt: skip
        names = list(reversed(script.live))
        if not names:
            script.add('print("nothing to close")')
            return
    for name in names:
        kind = script.kinds.get(name)
        v = script.var(name)
        if kind == "process":
            from pslrepl.export.enders import end_child

            # its group: TERM, KILL after the grace (the session's 1 s), as the shell does
            script.add(f'print(f"{name}: {{{end_child(script)}({v})}}")')
            for pipe in ("stdin", "stdout", "stderr"):
                script.add(f"{v}.{pipe}.close()")
        elif kind == "server":
            from pslrepl.export.servers import stop

            stop(script, name)
        elif name in script.paths:  # its socket file goes with it, as the shell does
            script.imp("os")
            script.add(f"path = {script.paths.pop(name)}", f"{v}.close()", "os.unlink(path)",
                       f'print(f"{name}: closed; removed {{path}}")')  # fmt: skip
        elif kind in ("tcp", "udp", "listener", "unix-listener"):  # (a dup: no file of its own)
            script.add(f"{v}.close()", f'print("{name}: closed")')
        elif kind == "relay":
            from pslrepl.export.relays import close

            close(script, name)
        elif kind == "sh":
            from pslrepl.export.shlib import end_job

            script.add(f'print(f"{name}: {{{end_job(script)}({v})}}")')
        else:
            script.not_exported(record, f"close of {name} (a {kind or 'resource'}) is not "
                                "exported yet")  # fmt: skip
            continue
        script.live.pop(name, None)


def _wait(script: Script, record: CommandRecord) -> None:
    from pslrepl.export import processes, relays, servers, sockets

    name = record.values["name"]
    kind = script.kinds.get(name, "")
    # wait NAME alone waits for what the shell waits for on its kind: a server's client,
    # a relay's close
    event = record.values.get("event") or {"server": "connect", "relay": "close"}.get(kind)
    if kind == "process" and event in (None, "exit"):
        processes.WAITS["process"](script, record)
    elif kind in sockets.WAITS and event == "data":
        sockets.WAITS[kind](script, record)
    elif kind == "tcp" and event == "eof":
        sockets.WAIT_EOF(script, record)
    elif kind == "process" and event in ("data", "eof"):
        processes.WAIT_OUTPUT[event](script, record)
    elif kind == "server" and event == "connect":
        servers.WAITS[kind](script, record)
    elif kind == "relay" and event == "close":
        relays.WAITS[kind](script, record)
    else:
        script.not_exported(record, f"wait {event or ''} on a {kind or 'resource'} is not "
                            "exported yet".replace("  ", " "))  # fmt: skip


def _log(script: Script, record: CommandRecord) -> None:
    if record.values.get("name") != "signal" or "received" not in script.globals:
        script.not_exported(record, "log is exported only for trapped signals yet")
        return
    clock, name = script.use("clock"), script.use("sig_name")
    script.add("for when, signum in received:")
    script.add(f'    print(f"{{{clock}(when)}} -- received {{{name}(signum)}} ({{signum}})")')


def _source(script: Script, record: CommandRecord) -> None:
    # The commands it ran are in the history before it, each exported where it stands.
    if not record.ok:
        raise Unexportable("this source failed in the session (what ran of it is above, "
                           "each command as its own)")  # fmt: skip
    script.add(f"# (the commands of {record.values.get('file')} ran above, each as its own)")


def _reset(script: Script, record: CommandRecord) -> None:
    """reset with no lab loaded: every child's group ended and everything open closed,
    newest first, as the shell's close_all; the settings back to their defaults."""
    if script.lab:
        raise Unexportable(f"a reset back to the lab loaded above ({script.lab}) is not "
                           "exported yet: the lab's commands it ran again are above "
                           "it")  # fmt: skip
    if "received" in script.globals:
        raise Unexportable("a reset that removes traps is not exported yet")
    if script.unmade:
        raise Unexportable(f"reset closes {', '.join(sorted(script.unmade))} too, which the "
                           "script does not make (its command above is not exported)")  # fmt: skip
    names = list(reversed(script.live))
    kinds = {name: script.live[name] for name in names}
    closers = {"tcp", "udp", "listener", "file", "unix-listener", "relay", "server", "process",
               "sh"}  # fmt: skip
    odd = [name for name in names if kinds[name] not in closers]
    if odd:
        raise Unexportable(f"reset closes {', '.join(odd)}, which the script can't close yet")
    script.add("# reset: every child's group ended and everything open closed, newest first;",
               "# the settings back to their defaults", "killed = []")  # fmt: skip
    for name in names:
        v, kind = script.var(name), kinds[name]
        if kind in ("process", "sh"):
            from pslrepl.export.enders import end_child
            from pslrepl.export.shlib import end_job

            ender = end_child(script) if kind == "process" else end_job(script)
            script.add(f'if "killed after" in {ender}({v}):', f"    killed.append({name!r})")
            if kind == "process":
                script.add(f"{v}.stdin.close()", f"{v}.stdout.close()", f"{v}.stderr.close()")
        elif kind == "server":
            script.add(f"{v}.stop()")
        elif name in script.paths:
            script.imp("os")
            script.add(f"{v}.close()", f"os.unlink({script.paths.pop(name)})")
        else:
            script.add(f"{v}.close()")
        script.live.pop(name, None)
    script.display, script.timeout, script.explain = "text", 5.0, False
    what = f"closed {len(names)} resource{'s' if len(names) != 1 else ''}"
    what += f" ({', '.join(names)})" if names else ""
    script.add("if killed:",
               wrapped_print(f'reset: {what}; {{", ".join(killed)}} ignored SIGTERM: killed '
                             "after the 1 s grace; an empty session", f=True, indent="    "),
               "else:", wrapped_print(f"reset: {what}; an empty session",
                                      indent="    "))  # fmt: skip


def _lab_load(script: Script, record: CommandRecord) -> None:
    """lab load FILE: the lab's commands ran above, each as its own (its settings, then
    each resource's command); what the shell said once they had."""
    if not record.ok:
        raise Unexportable("this lab load failed in the session (what it ran of the lab "
                           "is above, each command as its own)")  # fmt: skip
    path = str(record.values.get("file") or record.values.get("target"))
    made = [name for when, name in script.made_at if when >= record.started]
    script.lab = path
    script.add(f"# (the commands of {path} ran above, each as its own)")
    what = f"{len(made)} resource{'s' if len(made) != 1 else ''} up"
    script.add(wrapped_print(f"{path}: {what}" + (f" ({', '.join(made)})" if made else "")))


def _load(script: Script, record: CommandRecord) -> None:
    """load FILE.toml brings a lab up, as lab load does; load TARGET runs a generator."""
    if not str(record.values.get("target") or "").endswith(".toml"):
        raise Unexportable("load's generator (a process of its own, its figures the run's) "
                           "is not exported yet")  # fmt: skip
    _lab_load(script, record)


def _marked(why: str) -> Callable[[Script, CommandRecord], None]:
    """A command whose work is the shell's own, not a script's: a marked comment."""

    def marked(script: Script, record: CommandRecord) -> None:
        raise Unexportable(why)

    return marked


def _record(script: Script, record: CommandRecord) -> None:
    script.add("# (the shell wrote a transcript of what followed: nothing for the script to do)")


EXPORTERS = {
    "record": _record,
    "source": _source,
    "echo": _echo,
    "set": _set,
    "sleep": _sleep,
    "py": _py,
    "close": _close,
    "wait": _wait,
    "log": _log,
    "reset": _reset,
    "lab load": _lab_load,
    "load": _load,
    "save": _marked(
        "save writes the shell's own lab file (TOML: the command that made each "
        "resource); the script's commands above make them"
    ),
    "timeline": _marked(
        "timeline draws the session's history as the shell recorded it, a "
        "picture of its own records: a script has no history to draw"
    ),
    "tls bio": _marked(
        "tls bio (and its step, pass, read, write) is not exported yet: the "
        "records it shows come from the shell's own view of each handshake "
        "message"
    ),
}
