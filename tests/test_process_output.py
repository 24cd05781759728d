"""run, communicate and sh keep the newest 1 MiB of each stream, in order, and say what drops."""

from __future__ import annotations

import hashlib

from tests.helpers import Shell, child

MiB = 1 << 20

# Numbered lines, so what is kept can be checked for order as well as for content.
NUMBERED = """
import sys
out = getattr(sys, {stream!r}).buffer
for start in range(0, {lines}, 10000):
    out.write(b"".join(b"{prefix}%07d\\n" % i for i in range(start, min(start + 10000, {lines}))))
out.flush()
"""


def numbered(stream: str, lines: int, prefix: str) -> tuple[str, bytes]:
    """A child writing ``lines`` numbered lines to ``stream``, and the bytes it writes."""
    code = NUMBERED.format(stream=stream, lines=lines, prefix=prefix)
    data = b"".join(f"{prefix}{i:07d}\n".encode() for i in range(lines))
    return code, data


def sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def test_run_keeps_the_newest_mib_of_each_stream(shell: Shell) -> None:
    out_code, out_all = numbered("stdout", 900_000, "o")  # 8 MiB and more
    err_code, err_all = numbered("stderr", 300_000, "e")
    code = out_code + err_code
    shown = shell.ok(f"run --timeout 60 -- {child(code)}")
    kept_out, kept_err = out_all[-MiB:], err_all[-MiB:]
    # The kept bytes are the last ones written, in order: stdout's, then stderr's.
    assert sha(shown[:MiB]) == sha(kept_out)
    assert sha(shown[MiB : 2 * MiB]) == sha(kept_err)
    assert shown[2 * MiB :].splitlines() == [
        f"warning: stdout: {len(out_all) - MiB} bytes dropped: the oldest output; "
        f"run keeps 1 MiB per stream ({len(out_all)} bytes in all)",
        f"warning: stderr: {len(err_all) - MiB} bytes dropped: the oldest output; "
        f"run keeps 1 MiB per stream ({len(err_all)} bytes in all)",
        "exited with status 0",
    ]


def test_run_at_the_cap_keeps_all_and_one_byte_more_drops_one(shell: Shell) -> None:
    code = "import sys; sys.stdout.write('a' + 'x' * ({n} - 2) + '\\n')"
    shown = shell.ok(f"run -- {child(code.format(n=MiB))}")
    assert shown == "a" + "x" * (MiB - 2) + "\nexited with status 0\n"
    shown = shell.ok(f"run -- {child(code.format(n=MiB + 1))}")
    assert shown == "x" * (MiB - 1) + "\n" + (
        "warning: stdout: 1 byte dropped: the oldest output; run keeps 1 MiB per stream "
        f"({MiB + 1} bytes in all)\nexited with status 0\n"
    )


def test_run_of_yes_is_bounded_and_times_out(shell: Shell) -> None:
    # subprocess.run would keep all of it: gigabytes in 2 s, then MemoryError.
    ok, out, err = shell("run --timeout 2 -- yes")
    assert not ok
    lines = out.splitlines()
    assert lines[: MiB // 2] == ["y"] * (MiB // 2)  # 1 MiB of "y\n"
    assert lines[MiB // 2].startswith("warning: stdout: ")
    assert "bytes dropped: the oldest output; run keeps 1 MiB per stream" in lines[MiB // 2]
    assert len(lines) == MiB // 2 + 1
    assert err.startswith(
        "error: run: timeout after 2 s; the child was killed (SIGKILL to its process group); "
    )
    assert err.rstrip().endswith("; --timeout S waits longer")


def test_run_input_larger_than_a_pipe(shell: Shell) -> None:
    # 200 KiB with every byte value (NUL, CR, LF...): more than a pipe holds, so the
    # writes to stdin and the reads of stdout must take turns.
    data = bytes(range(256)) * 800
    escaped = "".join(f"\\x{b:02x}" for b in data)
    code = """
        import hashlib, sys
        got = sys.stdin.buffer.read()
        sys.stdout.write(hashlib.sha256(got).hexdigest() + "\\n" + "x" * 300000 + "\\n")
    """
    shown = shell.ok(f"run --input '{escaped}' -- {child(code)}")
    assert shown == f"{sha(data)}\n" + "x" * 300000 + "\nexited with status 0\n"


def test_communicate_says_what_the_buffer_dropped(shell: Shell) -> None:
    code, data = numbered("stdout", 900_000, "o")
    shell.spawn("p", code)
    shell.ok("wait p --timeout 60")
    shown = shell.ok("communicate p")
    assert sha(shown[:MiB]) == sha(data[-MiB:])
    assert shown[MiB:].splitlines() == [
        f"warning: stdout: {len(data) - MiB} bytes dropped: the oldest output; "
        "communicate keeps 1 MiB per stream",
        "p: exited with status 0",
    ]


def test_sh_keeps_the_newest_mib(shell: Shell) -> None:
    code, data = numbered("stdout", 400_000, "o")  # 3.4 MB through sh's pseudo-terminal
    shown = shell.ok(f"sh --timeout 60 {child(code)}")
    assert sha(shown[:MiB]) == sha(data[-MiB:])
    assert shown[MiB:].splitlines() == [
        f"warning: stdout: {len(data) - MiB} bytes dropped: the oldest output; "
        f"sh keeps 1 MiB per stream here ({len(data)} bytes in all)",
        "exited with status 0",
    ]


def gone(pid: int) -> bool:
    """Whether ``pid`` has ended, waiting a little for the kernel to finish with it."""
    import os
    import time

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


def test_run_timeout_kills_the_whole_pipeline_and_leaks_nothing(shell: Shell) -> None:
    from tests.helpers import child_pids, open_fds

    shell.ok("run -- true")  # the session's watchdog is up: its pipe and process stay
    fds, children = open_fds(), child_pids()
    ok, out, err = shell("run --timeout 0.5 --shell -- 'sleep 30 & echo $!; wait'")
    assert not ok and "timeout after 0.5 s" in err
    grandchild = int(out.splitlines()[0])
    assert gone(grandchild)  # subprocess.run kills only the shell, and leaves the sleep
    assert open_fds() == fds and child_pids() == children


def test_ctrl_c_during_run_kills_the_child(shell: Shell) -> None:
    from tests.helpers import child_pids, open_fds

    shell.ok("run -- true")  # the session's watchdog is up: its pipe and process stay
    fds, children = open_fds(), child_pids()
    # A real SIGINT to this process while run waits: the child sends it, then sleeps.
    code = "import os, signal, time; os.kill(os.getppid(), signal.SIGINT); time.sleep(30)"
    ok, out, err = shell(f"run --timeout 20 -- {child(code)}")
    assert not ok
    assert err == "error: cancelled by Ctrl-C; everything else carries on\n"
    assert open_fds() == fds and child_pids() == children


def test_explain_shows_the_calls_run_makes(shell: Shell) -> None:
    shell.ok("set explain on")
    out = shell.ok("run --input 'b\\na\\n' --env K=V -- sort")
    assert out.splitlines() == [
        "a",
        "b",
        "exited with status 0",
        "  popen = subprocess.Popen(['sort'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, "
        "stderr=subprocess.PIPE, env={**os.environ, 'K': 'V'}, start_new_session=True)",
        "  popen.communicate(b'b\\na\\n')  # -> (b'a\\nb\\n', b''); equivalent: stdout and "
        "stderr read to EOF, the newest 1 MiB of each kept; the input written first",
        "  popen.wait()  # -> 0",
    ]


def test_a_line_read_after_the_child_ended_has_no_eof_note_when_it_has_its_newline(
    shell: Shell,
) -> None:
    shell.ok(r"spawn r -- printf 'hi\nyo\n'")
    shell.ok("wait r")
    assert shell.ok("read r --line --repr") == "b'hi\\n'  (3 bytes)\n"
    assert shell.ok("read r --line --repr") == "b'yo\\n'  (3 bytes)\n"
    shell.ok(r"spawn s -- printf 'a\r\nb'")
    shell.ok("wait s")
    assert shell.ok("read s --line --repr") == "b'a\\r\\n'  (3 bytes)\n"
    # the real case: the last bytes have no newline
    assert shell.ok("read s --line --repr") == "b'b'  (1 byte)\n(EOF before the newline)\n"
