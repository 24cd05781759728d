"""What only the command records say: a read's EOF, a reset or a cut datagram (its call's
result), and the children of run, call, check_call, check_output and sh, which post no
event: their start, output and end as the calls returned them."""

from __future__ import annotations

import ast
import re

from pslrepl.timeline.ends import datagram
from pslrepl.timeline.steps import PREVIEW, SHELL, Step

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from pslrepl.callrecord import Call
    from pslrepl.invocation import CommandRecord
    from pslrepl.timeline.ends import Ends

# The commands whose child lives only within the command (no resource, no events).
CHILD_COMMANDS = ("run", "call", "check_call", "check_output", "sh")
_STATUS = re.compile(r"(?:exit status |ErrorReturnCode_|exit_code=)(-?\d+)")
_NEVER = re.compile(r"(?:raised )?(\w+Error)\b")  # exec failed: the child never ran
NOT_KEPT = "output not recorded"


def call_steps(records: Iterable[CommandRecord], ends: Ends) -> list[Step]:
    """What only the calls say: a read of EOF (b''), a reset (ECONNRESET), MSG_TRUNC."""
    steps: list[Step] = []
    for record in records:
        for call in record.calls:
            func, who = call.func, call.receiver
            if not who or not func.startswith("socket.recv"):
                continue
            empty = call.result == "b''" or call.result.startswith("(b'', ")
            if func.endswith("_into"):  # a count of bytes read into the buffer: 0 is b''
                empty = call.result == "0" or call.result.startswith("(0, ")
            if empty and datagram(call.result, who, call.t, ends):
                # An empty datagram is a datagram: recv 0, not EOF (recvfrom's own
                # event says so too: _fold_truncation keeps one of the two).
                steps.append(Step(call.t, who, who, "recv 0 (an empty datagram)", kind="dgram0",
                                  words="an empty datagram: recv returned b''"))  # fmt: skip
                continue
            if empty:
                into = func.endswith("_into")
                said = "recv_into returned 0" if into else "recv returned b''"
                label = "recv_into EOF: 0" if into else "recv EOF: b''"
                steps.append(Step(call.t, who, who, label, kind="eof",
                                  words=f"the peer closed its side: {said}"))  # fmt: skip
            elif call.result == "raised ConnectionResetError":
                steps.append(Step(call.t, who, who, "RST: ECONNRESET", kind="rst",
                                  words=call.result))  # fmt: skip
            elif (func == "socket.recvmsg" and _truncated(call.result)) or _cut(call):
                words = "the datagram was cut (MSG_TRUNC)"
                steps.append(Step(call.t, who, who, "MSG_TRUNC: the rest is lost",
                                  kind="trunc", words=words))  # fmt: skip
    return steps


def _cut(call: Call) -> bool:
    """recv_into with MSG_TRUNC (a datagram's recv) returned more than the buffer held:
    the datagram's whole length, so the rest of it is lost."""
    parts = call.args.split(", ")
    if call.func != "socket.recv_into" or parts[-1:] != ["socket.MSG_TRUNC"] or len(parts) < 3:
        return False
    try:
        return int(call.result) > int(parts[1])
    except ValueError:
        return False


def _truncated(result: str) -> bool:
    import ast
    import socket

    try:
        value = ast.literal_eval(result.replace("...'", "'"))
    except (ValueError, SyntaxError):
        return False
    return isinstance(value, tuple) and len(value) > 2 and isinstance(value[2], int) and bool(
        value[2] & socket.MSG_TRUNC)  # fmt: skip


def child_steps(records: Iterable[CommandRecord], ends: Ends) -> list[Step]:
    """A lane per program a run, call, check_call, check_output or sh started, named
    ``(PROGRAM)``: the shell starts it, its output comes back where the call returned it
    (sh's is not kept: said so), and it ends with the status the call returned."""
    steps: list[Step] = []
    for record in records:
        if record.command not in CHILD_COMMANDS or not record.calls:
            continue
        first = record.calls[0]
        never = _NEVER.match(first.result)
        if first.func.startswith("subprocess.") and never and never[1] != "CalledProcessError":
            what = f"{record.command}: {never[1]}"
            failed = Step(record.started, SHELL, SHELL, what, kind="error",
                          words=record.error or what)  # fmt: skip
            failed.background = False  # the command's own failure
            steps.append(failed)
            continue
        lane = f"({_program(record, first)})"
        ends.names.add(lane)  # a lane of the session's, not an outside peer
        # The line as typed (a replay's keeps its placeholders: {tmp}, {srv.port}).
        _, sep, typed = record.line.partition(" -- ")
        label = f"{record.command} {typed}" if sep else record.line
        steps.append(Step(record.started, SHELL, lane, label,
                          kind="start", words=f"{label} ({first.func})"))  # fmt: skip
        end = record.calls[-1].t
        for call in record.calls:
            steps += _output(call, lane)
        steps.append(_end(record, lane, end))
    return steps


def _program(record: CommandRecord, first: Call) -> str:
    if record.command == "sh":
        return first.func.partition(".")[2] or "sh"
    if record.values.get("shell") or not record.argv:
        return "sh"
    return record.argv[0].rpartition("/")[2] or record.argv[0]


def _output(call: Call, lane: str) -> list[Step]:
    """The output a call returned: check_output's bytes, communicate's (stdout, stderr)."""
    if call.func not in ("subprocess.check_output", "Popen.communicate"):
        return []
    cut = "...'" in call.result
    try:
        value = ast.literal_eval(call.result.replace("...'", "'"))
    except (ValueError, SyntaxError):
        return []
    pairs = [("stdout", value)] if isinstance(value, bytes) else []
    if isinstance(value, tuple):
        named = zip(("stdout", "stderr"), value, strict=False)
        pairs = [(n, v) for n, v in named if isinstance(v, bytes)]
    out: list[Step] = []
    for stream, data in pairs:
        if not data:
            continue
        from pslrepl.render import preview

        # A long output is kept cut in the record: its first bytes, and no count.
        size = f"{len(data)}+" if cut else str(len(data))
        label = f"{stream} {size} {preview(data, 24)}"
        step = Step(call.t, lane, SHELL, label, kind="data", data=data[:PREVIEW],
                    size=len(data), words=f"{stream}: {label}")  # fmt: skip
        step.background = False  # the command read it: where it falls is no race
        out.append(step)
    return out


def _end(record: CommandRecord, lane: str, t: float) -> Step:
    """How the child ended, as far as the records say."""
    last = record.calls[-1]
    found = (
        None
        if last.result.lstrip("-").isdigit()
        else (_STATUS.search(last.result) or _STATUS.search(record.error))
    )
    if any(c.func == "os.killpg" for c in record.calls) or "TimeoutExpired" in last.result:
        label = "killed: the timeout ran out"
    elif last.result.lstrip("-").isdigit() or found is not None:
        rc = int(last.result if found is None else found.group(1))
        label = f"exit {rc}" if rc >= 0 else f"killed by {_signal(-rc)}"
    elif last.func in ("subprocess.check_output", "subprocess.check_call"):
        label = "exit 0"  # they return only then
    else:
        label = f"ended: {last.result}"
    if record.command == "sh":
        label += f" ({NOT_KEPT})"
    step = Step(t + 1e-6, lane, lane, label, kind="exit", words=record.error or label)
    step.background = False  # the command waited for it
    return step


def _signal(signum: int) -> str:
    import signal

    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
