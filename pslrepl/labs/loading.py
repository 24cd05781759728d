"""Reading a lab file and bringing it up: settings, traps, then each entry's command, in
an order where what an entry names is up before it."""

from __future__ import annotations

import os
import re
import shlex
import sys

from pslrepl.errors import PslError
from pslrepl.labs import NOT_SAVED_SETTINGS, SECTIONS, TRAP_KEYS, UNMADE, path_keys, references

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pslrepl.commandspec import Command
    from pslrepl.dispatch import CommandTable, Dispatcher

if sys.version_info >= (3, 11):
    import tomllib as toml_in
else:  # tomllib came with 3.11; tomli is the same parser
    import tomli as toml_in


class Entry:
    """One resource of a lab: its table, and the command line that makes it."""

    def __init__(self, section: str, names: list[str], line: str, needs: set[str]) -> None:
        self.section = section
        self.names = names
        self.line = line
        self.needs = needs  # names of other entries it refers to


class Lab:
    """A parsed lab: what ``load`` runs, in order."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.settings: list[str] = []  # `set K V` lines
        self.traps: list[str] = []  # `trap SIG ...` lines
        self.entries: list[Entry] = []
        self.unmade: tuple[str, ...] = ()  # its "# not made again:" comments
        self.files_from = ""  # [tmp]: the folder (by the lab file) of its {tmp} files
        self.files: list[str] = []  # and those files, relative to {tmp}

    def order(self) -> dict[str, int]:
        """Each name's place in the file (a save keeps it)."""
        return {name: i for i, e in enumerate(self.entries) for name in e.names}

    def ordered(self) -> list[Entry]:
        """The entries with what each names made first; otherwise as written."""
        left = list(self.entries)
        names = {name for e in left for name in e.names}
        made: set[str] = set()
        out: list[Entry] = []
        while left:
            for e in left:
                if (e.needs & names) <= made:
                    break
            else:
                which = ", ".join(e.names[0] for e in left)
                raise PslError(f"lab load: {self.path}: {which} name each other in a circle; "
                               "one of them must come up first")  # fmt: skip
            left.remove(e)
            made.update(e.names)
            out.append(e)
        return out


def read_lab(path: str, table: CommandTable) -> Lab:
    """A lab file parsed and checked; PslError saying what is wrong, and where."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        from pslrepl.errors import describe_oserror

        raise PslError(f"lab load: can't read {path}: {describe_oserror(exc)}") from None
    try:
        text = data.decode("utf-8")
        doc = toml_in.loads(text)
    except UnicodeDecodeError:
        raise PslError(f"lab load: {path} is not UTF-8 text; a lab is a TOML file") from None
    except toml_in.TOMLDecodeError as exc:
        raise PslError(f"lab load: {path} is not valid TOML: {exc}") from None
    lab = Lab(path)
    base = os.path.dirname(os.path.abspath(path))  # relative paths are the lab's
    lab.unmade = tuple(line for line in text.splitlines() if line.startswith(UNMADE))
    for key, item in doc.items():
        if key == "settings":
            lab.settings = _settings(path, item)
        elif key == "traps":
            lab.traps = _traps(path, item)
        elif key == "tmp":
            lab.files_from, lab.files = _tmp(path, base, item)
        elif key in SECTIONS:
            if not isinstance(item, list):
                raise PslError(f"lab load: {path}: {key} must be written [[{key}]] (one table "
                               "for each)")  # fmt: skip
            cmd = table.by_name[SECTIONS[key]]
            for number, values in enumerate(item, 1):
                lab.entries.append(_entry(path, key, number, cmd, values, base))
        else:
            known = ", ".join(["settings", "traps", "tmp", *SECTIONS])
            raise PslError(f"lab load: {path}: no table {key!r} in a lab (it has: {known})")
    names = [name for e in lab.entries for name in e.names]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise PslError(f"lab load: {path}: {', '.join(twice)} named twice; names are unique")
    return lab


def _settings(path: str, item: Any) -> list[str]:
    from pslrepl.settings import Settings

    if not isinstance(item, dict):
        raise PslError(f"lab load: {path}: settings must be a table ([settings])")
    known = [k for k in Settings().names() if k not in NOT_SAVED_SETTINGS]
    lines = []
    for key, value in item.items():
        if key not in known:
            raise PslError(f"lab load: {path}: [settings] has no {key!r} (a lab sets: "
                           f"{', '.join(known)})")  # fmt: skip
        lines.append(shlex.join(["set", key, _word(path, f"settings.{key}", value)]))
    return lines


def _traps(path: str, item: Any) -> list[str]:
    if not isinstance(item, dict):
        raise PslError(f"lab load: {path}: traps must be a table ([traps])")
    lines = []
    for key, names in item.items():
        if key not in TRAP_KEYS:
            raise PslError(f"lab load: {path}: [traps] has no {key!r} (it has: "
                           f"{', '.join(TRAP_KEYS)})")  # fmt: skip
        if not isinstance(names, list):
            raise PslError(f'load: {path}: traps.{key} must be a list, like ["USR1"]')
        for name in names:
            lines.append(f"trap {shlex.quote(_word(path, f'traps.{key}', name))}{TRAP_KEYS[key]}")
    return lines


def _tmp(path: str, base: str, item: Any) -> tuple[str, list[str]]:
    """[tmp]: the folder next to the lab holding its {tmp} files, and their names."""
    if not isinstance(item, dict) or set(item) - {"from", "files"}:
        raise PslError(f'lab load: {path}: tmp must be a table ([tmp]) of from = "FOLDER" and '
                       'files = ["NAME", ...]')  # fmt: skip
    where, files = item.get("from", ""), item.get("files", [])
    if not isinstance(where, str) or not isinstance(files, list):
        raise PslError(f"lab load: {path}: tmp.from is a folder's name, tmp.files a list")
    for name in files:
        if (not isinstance(name, str) or not name or os.path.isabs(name)
                or os.path.normpath(name).startswith("..")):  # fmt: skip
            raise PslError(f"lab load: {path}: tmp.files holds {name!r}: each is a file's "
                           "name inside {tmp}, like certs/c.pem")  # fmt: skip
    return os.path.join(base, where), [str(name) for name in files]


def copy_in(lab: Lab, tmp: str) -> None:
    """The lab's {tmp} files copied into this session's ``tmp`` (0600, no link followed)."""
    from pslrepl.errors import describe_oserror
    from pslrepl.tls_files import write_private

    for name in lab.files:
        source = os.path.join(lab.files_from, name)
        try:
            with open(source, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise PslError(
                f"lab load: {lab.path}: can't read {source} (a {{tmp}} file the lab "
                f"names, kept by save): {describe_oserror(exc)}"
            ) from None
        where = os.path.join(tmp, os.path.dirname(name))
        write_private(where, os.path.basename(name), data, what="lab load", make=True)


def _from_lab(value: str, base: str, *, handler: bool = False) -> str:
    """A relative path of a lab taken from the lab file's folder (where the shell was
    started is no matter); {tmp}/..., ~ and absolute paths as they are."""
    if handler:
        if not value.startswith("python:"):
            return value
        spec, sep, cls = value[len("python:") :].rpartition(":")
        if not sep:
            spec, cls = cls, ""
        return "python:" + _from_lab(spec, base) + sep + cls
    if not value or value.startswith(("{", "~", "/", "@")):  # @NAME: an abstract socket
        return value
    return os.path.normpath(os.path.join(base, value))


def _word(path: str, where: str, value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise PslError(f"lab load: {path}: {where} must be a string or a number, not "
                   f"{type(value).__name__}")  # fmt: skip


def _entry(
    path: str, section: str, number: int, cmd: Command, values: Any, base: str = "."
) -> Entry:
    where = f"{path}: [[{section}]] number {number}"
    if not isinstance(values, dict):
        raise PslError(f"lab load: {where} must be a table")
    keys = {a.key for a in cmd.args} | {o.key for o in cmd.opts} | ({"argv"} if cmd.rest else set())
    for key in values:
        if key not in keys:
            raise PslError(f"lab load: {where}: {cmd.name} takes no {key!r} (it takes: "
                           f"{', '.join(sorted(keys))})")  # fmt: skip
    for key, value in values.items():
        items = value if isinstance(value, list) else [value]
        if any(isinstance(item, str) and "\x00" in item for item in items):
            raise PslError(f"lab load: {where}: {key} holds a NUL character (\\u0000), "
                           "which no argument, path or environment value can hold; take "
                           "it out")  # fmt: skip
    words = list(cmd.words)
    values = dict(values)
    for key in path_keys(cmd, values):
        if isinstance(values[key], str):
            values[key] = _from_lab(values[key], base, handler=key == "handler")
    for opt in cmd.opts:
        value = values.get(opt.key)
        if value is None:
            continue
        if opt.metavar is None:
            if not isinstance(value, bool):
                raise PslError(f"lab load: {where}: {opt.key} is true or false")
            if value:
                words.append(opt.name)
        elif opt.repeat:
            items = value if isinstance(value, list) else [value]
            for item in items:
                words += [opt.name, _word(path, f"{section}.{opt.key}", item)]
        else:
            words += [opt.name, _word(path, f"{section}.{opt.key}", value)]
    names: list[str] = []
    from pslrepl.kinds import NewName

    for arg in cmd.args:
        value = values.get(arg.key)
        if value is None:
            if not arg.optional:
                raise PslError(f"lab load: {where}: {arg.key} is missing ({cmd.usage()})")
            continue
        items = value if isinstance(value, list) else [value]
        texts = [_word(path, f"{section}.{arg.key}", item) for item in items]
        if isinstance(arg.kind, NewName):
            names += texts
        words += texts
    needs = references(cmd, values) - set(names)
    if not names:
        raise PslError(f"lab load: {where}: it has no name")
    argv = values.get("argv")
    if argv:
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
            raise PslError(f"lab load: {where}: argv must be a list of strings")
        words += ["--", *argv]
    return Entry(section, names, shlex.join(words), needs)


def bring_up(dispatcher: Dispatcher, lab: Lab) -> list[str]:
    """Run the lab's commands, each one's output shown as it runs; the names made.
    PslError at the first that fails, saying which entry and why in one line."""
    session = dispatcher.session
    taken = [n for e in lab.entries for n in e.names if n in session.registry]
    if taken:
        raise PslError(f"lab load: {lab.path}: {', '.join(taken)} already live; `close` "
                       "them or `reset` first")  # fmt: skip
    if lab.files:
        copy_in(lab, session.tmp)
    made: list[str] = []
    saved = dispatcher.location
    dispatcher.location = ""
    dispatcher.source_depth += 1  # as `source` runs its lines: one command to a recorder
    try:
        for line in [*lab.settings, *lab.traps]:
            _run(dispatcher, line, f"lab load: {lab.path}: `{line}` failed")
        for e in lab.ordered():
            kept = f"; what came up before it stays ({', '.join(made)})" if made else ""
            _run(dispatcher, e.line, f"lab load: {lab.path}: [[{e.section}]] {e.names[0]} did "
                                     "not come up", kept)  # fmt: skip
            made.extend(e.names)
            if session.exit_requested is not None:
                break
    finally:
        dispatcher.source_depth -= 1
        dispatcher.location = saved
    return made


def _run(dispatcher: Dispatcher, line: str, what: str, after: str = "") -> None:
    """Run one line; its error (and only that) is taken into the PslError saying which
    entry failed, so a failed load is one error line."""
    import io

    printer = dispatcher.session.printer
    err, printer.err = printer.err, io.StringIO()
    try:
        ok = dispatcher.run_line(line)
    finally:
        said, printer.err = printer.err, err
    text = said.getvalue() if isinstance(said, io.StringIO) else ""
    if not ok:
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # the colours, if the terminal has them
    if ok:
        if text:
            err.write(text)  # warnings: shown as they would have been
            err.flush()
        return
    lines = [line.removeprefix("error: ") for line in text.splitlines() if line.strip()]
    why = "; ".join(lines) or "it failed"
    raise PslError(f"{what}: {why}{after}")
