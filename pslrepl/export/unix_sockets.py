"""Exporters for UNIX sockets: unix listen, unix connect, unix dgram; a path in the
session's temporary directory becomes one in the script's own."""

from __future__ import annotations

from pslrepl.export.script import wrapped_print

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord


def path_of(script: Script, path: str) -> str:
    """A socket file's path as Python: under the session's temporary directory ({tmp}),
    it is made under the script's own (made once, removed at the end)."""
    top = script.session_tmp
    if not top or not path.startswith(top.rstrip("/") + "/"):
        return repr(path)
    script.imp("os", "tempfile")
    if "tmp" not in script.globals:
        script.globals.add("tmp")
        script.add("tmp = tempfile.mkdtemp()  # the script's own directory for socket files")
        script.cleanup.append("shutil.rmtree(tmp)")
        script.imp("shutil")
    return f"os.path.join(tmp, {path[len(top.rstrip('/')) + 1 :]!r})"


def _unix_listen(script: Script, record: CommandRecord) -> None:
    values = record.values
    name, backlog = values["name"], values.get("backlog")
    v = script.var(name)
    script.imp("socket")
    where = path_of(script, str(values["path"]))
    script.add(f"{v} = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)", f"{v}.bind({where})",
               f"{v}.listen({4096 if backlog is None else backlog})",
               f'print(f"{name}: listening on {{{v}.getsockname()}}")')  # fmt: skip
    script.kinds[name] = script.live[name] = "unix-listener"
    script.paths[name] = where


def _unix_connect(script: Script, record: CommandRecord) -> None:
    values = record.values
    name, target = values["name"], str(values["path"])
    v = script.var(name)
    if script.kinds.get(target) == "unix-listener":
        where = f"{script.var(target)}.getsockname()"
    else:
        where = path_of(script, target)
    script.imp("socket")
    script.add(f"{v} = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)", f"{v}.connect({where})",
               wrapped_print(f"{name}: connected {{{v}.getsockname() or '(unbound)'}} -> "
                             f"{{{v}.getpeername()}}", f=True))  # fmt: skip
    script.kinds[name] = script.live[name] = "tcp"


def _unix_dgram(script: Script, record: CommandRecord) -> None:
    values = record.values
    name = values["name"]
    v = script.var(name)
    script.imp("socket")
    script.add(f"{v} = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)")
    if values.get("path"):
        where = path_of(script, str(values["path"]))
        script.add(f"{v}.bind({where})")
        script.paths[name] = where
    script.add(f"print(f\"{name}: unix datagram socket {{{v}.getsockname() or '(unbound)'}}\")")
    script.kinds[name] = script.live[name] = "udp"


EXPORTERS = {"unix listen": _unix_listen, "unix connect": _unix_connect,
             "unix dgram": _unix_dgram}  # fmt: skip
