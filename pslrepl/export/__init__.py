"""Export a session as one standalone Python script: an exporter per command, by name."""

from __future__ import annotations

from pslrepl.export.script import NOT_EXPORTED, Script, Unexportable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    from pslrepl.invocation import CommandRecord
    from pslrepl.session import Session

    Exporter = Callable[[Script, CommandRecord], None]

__all__ = ["NOT_EXPORTED", "Script", "exporters", "export_records"]

# The modules that declare exporters (each has an EXPORTERS dict: command name -> function).
MODULES = ("processes", "sockets", "socket_steps", "sending", "socket_buffers", "unix_sockets",
           "servers", "relays", "tls_clients", "session_cmds", "looking", "socket_files",
           "shlib", "signals", "attaching")  # fmt: skip
# (A later module's entry wins; one that takes some resources of a command hands the rest
# to the entry of the modules before it: socket_files' close and read (file objects)
# before session_cmds' and processes', shlib's (sh jobs) before those, signals' (signal,
# trap, spawn) before processes'. Were shlib before socket_files, socket_files' close
# would hand an sh job to session_cmds, which knows none.)

# Commands whose NAME is the resource they make; every other command's NAME (and
# accept's LISTENER) must be one the script has made.
MAKERS = ("spawn", "tcp listen", "tcp connect", "accept", "udp open", "serve", "relay", "socket",
          "unix listen", "unix connect", "unix dgram",
          "tls connect", "tls bio")  # fmt: skip
USES = ("name", "listener")
# Commands whose NAME is no resource: a log's, a protocol's, a host's.
NAMES_NO_RESOURCE = ("log", "getprotobyname", "getfqdn")
# (dup's NAME is a resource; its NEWNAME is made, and not checked)

# Commands whose exporters write what the shell does when the command fails (a timeout,
# a missing program, a child that has ended, a refused certificate) or mark it: any
# other command that failed in the session is marked, not written as if it worked.
FAILURES = ("spawn", "read", "recv", "recvfrom", "recv_into", "recvfrom_into", "sendall",
            "check_call", "signal", "terminate", "kill", "run", "tls connect", "py", "set",
            "trap", "expect", "sudo", "sh", "source", "sigwait", "bind")  # fmt: skip

# Commands whose exporters write what the shell does when they fail even where the shell
# made no call (a missing program is found before Popen; a read's wait is select's).
# Any other command that failed without a call was refused by the shell: the script
# prints what the shell said.
WRITES_FAILURE = ("spawn", "read", "recv", "recvfrom", "recv_into", "recvfrom_into", "run",
                  "tls connect", "py", "expect", "sh", "sigwait")  # fmt: skip
# (sudo is not one: a sudo that failed before its Popen, sudo not installed, asked for no
# password; the script says what the shell said, and asks for none either.)

# Commands that make no stdlib call and show nothing a script would: left out, said so.
LOOKING_BACK = ("history", "explain", "export py")


def exporters() -> dict[str, Exporter]:
    import importlib

    found: dict[str, Exporter] = {}
    for name in MODULES:
        found.update(importlib.import_module(f"pslrepl.export.{name}").EXPORTERS)
    return found


def session_facts(session: Session) -> dict[str, Any]:
    """What export needs of a session beside its records, as export_records' keywords:
    its test CA's PEM text (tls) and its temporary directory (tmp)."""
    return {"tls": tls_pems(session), "tmp": str(session.volatile.get("tmp") or "")}


def tls_pems(session: Session) -> dict[str, str] | None:
    """The session's test CA and its server certificate and key, as PEM text (None if
    the session made none): a script that serves TLS or trusts the CA carries them. The
    CA's own key is never written: the script issues nothing."""
    ca = session.test_ca
    if ca is None:
        return None
    server = ca.server_cert
    return {
        "ca": ca.pem().decode("ascii"),
        "cert": "".join(blob.bytes().decode("ascii") for blob in server.cert_chain_pems),
        "key": server.private_key_pem.bytes().decode("ascii"),
    }


def export_records(
    records: Iterable[CommandRecord],
    *,
    source: str = "",
    tls: dict[str, str] | None = None,
    tmp: str = "",
    files: dict[str, str] | None = None,
) -> Script:
    """The script for a session's commands, in order; ``Script.text()`` is its source,
    ``Script.missing`` the commands it could only mark as comments. ``tls``: the PEM
    text of tls_pems(); ``tmp``: the session's temporary directory ({tmp}), whose paths
    become the script's own; ``files``: a transcript's embedded files (name -> text), which
    the script writes there first."""
    table = exporters()
    records = list(records)
    script = Script(source=source)
    script.tls = tls
    script.session_tmp = tmp
    script.files = dict(files or {})
    for at, record in enumerate(records):
        if at:
            _track_unmade(script, records[at - 1])
        script.comment(record)
        if record.command in LOOKING_BACK:  # said where it stood, never dropped silently
            _looked_back(script, record)
            continue
        if record.command == "wait" and _cancelled(record):
            from pslrepl.export.signal_timers import cancelled_wait

            cancelled_wait(script, record, _waited(records, at, script.timeout))
            continue
        if _refused(record):
            from pslrepl.export.script import wrapped_print

            script.add("# the shell refused it before making any call; what it said:",
                       wrapped_print(f"error: {record.error}"))  # fmt: skip
            _noted(script, record)
            continue
        exporter = table.get(record.command)
        if exporter is None:
            script.not_exported(record, f"`{record.command}` has no exporter yet; what it did "
                                "and showed is not in this script")  # fmt: skip
            continue
        raised = _raised_oserror(record)
        if not record.ok and record.command not in FAILURES and not raised:
            script.not_exported(record, f"this `{record.command}` failed in the session; "
                                "what it said is not in this script")  # fmt: skip
            continue
        mark = len(script.body), set(script.imports), list(script.helpers)
        try:
            _check_names(script, record)
            exporter(script, record)
            if raised:
                _caught(script, record, mark[0])
            if script.captured:  # a value captured above: the script's own from there on
                from pslrepl.export.captures import own_values

                own_values(script, mark[0])
            if record.values.get("captures"):
                from pslrepl.export.captures import bind

                bind(script, record, mark[0])
            if record.ok and record.command in MAKERS:
                script.made_at.append((record.started, str(record.values.get("name"))))
            if script.explain and record.calls:
                _explained(script, record)
            _noted(script, record, mark[0])
        except Unexportable as exc:  # what it began is taken back; the comment says why
            del script.body[mark[0] :]
            script.imports, script.helpers = mark[1], mark[2]
            script.not_exported(record, str(exc))
        except Exception as exc:  # an exporter's own bug: marked, and the export goes on
            del script.body[mark[0] :]
            script.imports, script.helpers = mark[1], mark[2]
            script.not_exported(record, f"export failed on it ({type(exc).__name__}: {exc}); "
                                "please report it")  # fmt: skip
    return script


def _looked_back(script: Script, record: CommandRecord) -> None:
    """history, explain, export py: the shell looking back at the session. A script has
    no history to show; one the shell refused says what the shell said."""
    from pslrepl.export.script import wrapped_print

    if not record.ok and record.error:
        script.add("# the shell refused it; what it said:", wrapped_print(f"error: {record.error}"))
        return
    script.add("# (the shell's own bookkeeping: it looks back at the session; a script has",
               "# no history, and is itself the export)")  # fmt: skip


def _explained(script: Script, record: CommandRecord) -> None:
    """What `set explain on` showed after the command: its calls as the shell wrote them
    (the script's own lines above make them)."""
    from pslrepl.export.script import wrapped_print

    script.add("# what explain showed: the calls above, as the shell wrote them (its text:",
               "# a port or pid in it is the session's, not this script's)")  # fmt: skip
    for call in record.calls:
        script.add(wrapped_print(f"  {call.python()}"))


def _noted(script: Script, record: CommandRecord, since: int = -1) -> None:
    """The pitfall notes the shell said on this command: its lessons, as it said them
    (those its exporter printed in their place are not said twice)."""
    from pslrepl.export.script import wrapped_print

    done = "\n".join(script.body[since:]) if since >= 0 else ""
    notes = [wrapped_print(note) for note in record.notes]
    notes = [line for line in notes if line not in done]
    if notes:
        script.add("# the shell's note on what it saw (its lesson; a script says none)", *notes)


# Calls whose failure depends on what the session's run found (an address taken then):
# the script's own run may well succeed, so they stay marked.
RUN_DEPENDENT = ("bind", "connect", "tcp listen", "udp open", "tcp connect", "unix listen",
                 "unix connect")  # fmt: skip


def _raised_oserror(record: CommandRecord) -> str:
    """The OSError the command failed with ('ConnectionResetError', or the errno name its
    error line gives), where the shell said its error line; else ''."""
    import builtins
    import errno
    import re

    if record.ok or not record.error or record.command in RUN_DEPENDENT + OWN_OSERRORS:
        return ""
    if record.calls and record.calls[-1].raised:
        name = record.calls[-1].result.removeprefix("raised ")
        kind = getattr(builtins, name, None)
        return name if isinstance(kind, type) and issubclass(kind, OSError) else ""
    m = re.search(r": [^:]+ \((E[A-Z0-9]+)\)", record.error)
    return m.group(1) if m and hasattr(errno, m.group(1)) else ""


# Exporters that write what an OSError says themselves (a missing program, a refused
# certificate).
OWN_OSERRORS = ("spawn", "run", "sudo", "sh", "tls connect", "py", "expect", "sigwait")


def _caught(script: Script, record: CommandRecord, since: int) -> None:
    """The command's code (written from ``since``) in a try whose except prints the
    shell's error line: strerror and errno name from the exception, the rest as said."""
    import re

    from pslrepl.export.script import indented, wrapped_print

    error = f"error: {record.error}"
    m = re.match(r"(error: (?:[\w-]+: )?)(.+?) \(E[A-Z0-9]+\)(.*)$", error)
    code = script.body[since:]
    del script.body[since:]
    if m is None:
        said = wrapped_print(error, indent="    ")
    else:
        script.imp("errno")
        head, tail = (t.replace("{", "{{").replace("}", "}}") for t in (m.group(1), m.group(3)))
        said = wrapped_print(head + "{exc.strerror} ({errno.errorcode[exc.errno]})" + tail,
                             f=True, indent="    ")  # fmt: skip
    script.add("try:", indented("\n".join(code)), "except OSError as exc:", said)


def _track_unmade(script: Script, record: CommandRecord) -> None:
    """After each command: the resources the session has that the script does not (their
    commands were marked), as ``script.unmade``: a reset that would close them can't be
    said as the shell said it. A close or a reset in the session ended them."""
    name = record.values.get("name")
    if record.command == "reset" or (record.command == "close" and record.values.get("all")):
        script.unmade.clear()
    elif record.command == "close" and record.ok:
        script.unmade -= set(name if isinstance(name, list) else [name])
    elif (
        record.ok
        and record.command in MAKERS
        and isinstance(name, str)
        and (name not in script.kinds)
    ):
        script.unmade.add(name)


def _cancelled(record: CommandRecord) -> bool:
    from pslrepl.loop import CANCELLED

    return not record.ok and record.error == CANCELLED


def _waited(records: list[CommandRecord], at: int, timeout: float) -> float:
    """About how long the session's command ``at`` ran before Ctrl-C ended it: until
    the next command began (at most ``timeout``, at least 0.1 s; ``timeout`` when it
    was the last)."""
    if at + 1 >= len(records):
        return timeout
    took = records[at + 1].started - records[at].started
    return round(min(timeout, max(0.1, took)), 1)


def _refused(record: CommandRecord) -> bool:
    from pslrepl.invocation import REFUSED

    if record.ok or not record.error:
        return False
    return record.command == REFUSED or (not record.calls and record.command not in WRITES_FAILURE)


def _check_names(script: Script, record: CommandRecord) -> None:
    """Unexportable when the command uses a resource the script has not made (its own
    command was not exported): the code would name a variable that is not there."""
    for key in USES:
        if key == "name" and (record.command in MAKERS or record.command in NAMES_NO_RESOURCE):
            continue
        value = record.values.get(key)
        for name in value if isinstance(value, list) else [value]:
            if isinstance(name, str) and name not in script.kinds:
                raise Unexportable(f"it uses {name}, which this script does not make (its "
                                   "command above is not exported)")  # fmt: skip
