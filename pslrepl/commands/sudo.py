"""sudo: a command run as root (or --user), the password asked without echo and never kept."""

from __future__ import annotations

from pslrepl.commands.groups import PROCESSES
from pslrepl.commands.options import TIMEOUT
from pslrepl.commands.process_common import show_dropped, show_output, show_status
from pslrepl.commandspec import Commands, Opt
from pslrepl.errors import PslError, Timeout, UsageError, describe_oserror
from pslrepl.signals_table import describe_status

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.invocation import Invocation

COMMANDS = Commands(PROCESSES)


@COMMANDS.command(
    "sudo",
    "run a command with sudo -S, asking the password without echo",
    rest=True,
    opts=(Opt("--user", "run as USER (sudo -u)", "USER"), TIMEOUT),
    calls=("subprocess.Popen", "Popen.communicate"),
    examples=("sudo -- id", "sudo --user nobody -- id"),
    details="The password is read without echo and written to sudo's stdin; it is never "
    "shown, logged, kept in history or recorded: where the output holds it, it is shown as "
    "********. Output is read as run reads it: the newest 1 MiB of each stream is kept.",
)
def _sudo(ctx: Invocation) -> None:
    import getpass
    import shutil
    import subprocess

    from pslrepl.resources.process import command_text, run_bounded

    argv = ctx.argv
    if not argv:
        raise UsageError("sudo: give the command after --, like: sudo -- id")
    # Before the password is asked: one typed for a sudo that isn't there is wasted.
    if shutil.which("sudo") is None:
        raise PslError("sudo: sudo is not installed here (not found on PATH); try: run -- ARGV")
    user = ctx["user"]
    cmd = ["sudo", "-S", "-p", "", *(["-u", user] if user else []), "--", *argv]
    secret = ctx.session.env.ask_password(f"[sudo] password for {getpass.getuser()}: ").encode()
    try:
        child = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise PslError(f"sudo: can't run sudo: {describe_oserror(exc)}") from None
    ctx.record(
        "subprocess.Popen",
        f"{cmd!r}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, "
        "start_new_session=True",
        child,
    )
    ctx.name(child, "popen")  # no resource of the session: explain names it, as run's
    ctx.session.guard_child(child.pid)
    try:
        # The password is sudo's stdin; what comes back may hold it too (a command run
        # without a password asked reads it), so the line keeps neither side.
        ctx.record("Popen.communicate", "input=...", None, on=child, exact=False,
                   note=f"timeout={ctx.timeout:g}; the password in and the output out: "
                   "<redacted>")  # fmt: skip
        done = run_bounded(child, secret + b"\n", timeout=ctx.timeout)
        out = _redact(done.stdout.data, secret, cut=bool(done.stdout.dropped))
        err = _redact(done.stderr.data, secret, cut=bool(done.stderr.dropped))
        # The raw output may hold the password: keep it no longer than needed.
        done.stdout.data.clear()
        done.stderr.data.clear()
    finally:
        del secret
    show_output(ctx, out, err)
    show_dropped(ctx, "sudo", {s: (b.dropped, b.total, b.cap) for s, b in
                                (("stdout", done.stdout), ("stderr", done.stderr))})  # fmt: skip
    if done.timed_out:
        raise Timeout(
            f"sudo: timeout after {ctx.timeout:g} s; the command was killed; "
            "--timeout S waits longer"
        )
    rc = done.returncode
    assert rc is not None
    ctx.record("Popen.wait", "", rc, on=child)
    show_status(ctx, "", rc)
    if rc != 0:
        raise PslError(f"sudo: {command_text(argv)} {describe_status(rc)}")


def _redact(data: bytearray, secret: bytes, *, cut: bool) -> bytes:
    """The output with every copy of the password starred out; when its oldest bytes were
    dropped, a start that is the end of the password is starred too."""
    out = bytes(data)
    if not secret:
        return out
    out = out.replace(secret, b"********")
    if cut:
        for n in range(len(secret) - 1, 0, -1):
            if out.startswith(secret[-n:]):
                return b"********" + out[n:]
    return out
