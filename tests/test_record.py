"""record: a live session written as a transcript, whatever happens to the line or the
file, and the transcript replayed green."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
from pathlib import Path

import pytest

from pslrepl.replay import check_file
from pslrepl.transcript import parse
from tests.helpers import Shell, open_fds, pslrepl_exe, run_cli

HEADER = "# Recorded with pslrepl"


def assert_replays(path: Path) -> None:
    outcome = check_file(str(path))
    assert outcome.ok, outcome.report()


def steps(path: Path) -> list[tuple[str, list[str]]]:
    return [(s.command, s.expected) for s in parse(path.read_text()).steps]


# -- the line that ends or starts a recording ------------------------------------------


def test_record_stop_on_the_line_of_a_command_keeps_the_session(
    shell: Shell, tmp_path: Path
) -> None:
    path = tmp_path / "t.psl"
    shell.ok(f"record {path}")
    out = shell.ok("echo hi; record stop")
    assert out == f"hi\nrecord: wrote 1 command to {path}\n"
    assert shell.session.recorder is None
    assert shell.ok("echo after") == "after\n"
    assert steps(path) == [("echo hi", ["hi"])]
    assert_replays(path)


def test_record_stop_mid_line_writes_only_what_ran_before_it(shell: Shell, tmp_path: Path) -> None:
    path = tmp_path / "t.psl"
    shell.ok(f"record {path}")
    shell.ok("echo one")
    out = shell.ok("echo a ; echo b;record stop; echo c")
    assert out.endswith(f"record: wrote 2 commands to {path}\nc\n")
    assert steps(path) == [("echo one", ["one"]), ("echo a ; echo b", ["a", "b"])]
    assert_replays(path)


def test_commands_after_record_on_its_line_are_its_first_step(shell: Shell, tmp_path: Path) -> None:
    path = tmp_path / "t.psl"
    out = shell.ok(f"record {path}; echo one; echo two")
    assert out.startswith("record: writing the session to")
    shell.ok("# a comment")
    shell.ok("echo three")
    shell.ok("record stop")
    # The record command's own answer is not part of the step that follows it.
    assert steps(path) == [("echo one; echo two", ["one", "two"]), ("echo three", ["three"])]
    assert "psl> echo one; echo two\none\ntwo\n# a comment\npsl> echo three\n" in path.read_text()
    assert_replays(path)
    again = tmp_path / "again.psl"
    assert shell.ok(f"record {again}; echo x; record stop").endswith(
        f"x\nrecord: wrote 1 command to {again}\n"
    )
    assert steps(again) == [("echo x", ["x"])]
    shell.ok(f"record {again}; record stop")
    assert steps(again) == []


def test_record_stop_in_a_sourced_file_leaves_a_comment(shell: Shell, tmp_path: Path) -> None:
    path, script = tmp_path / "t.psl", tmp_path / "script.psl"
    script.write_text("echo in the script\nrecord stop\necho after it\n")
    shell.ok(f"record {path}")
    shell.ok("echo first")
    shell.ok(f"source {script}")
    assert shell.session.recorder is None
    text = path.read_text()
    assert text.endswith(f"psl> echo first\nfirst\n# not recorded: source {script} (it ended "
                         "the recording partway)\n")  # fmt: skip
    assert_replays(path)


def test_a_script_that_stops_recording_mid_line_exits_cleanly(tmp_path: Path) -> None:
    done = run_cli(input="record t.psl\necho hi; record stop\necho after\n", cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("hi\nrecord: wrote 1 command to t.psl\nafter\n")
    assert done.stderr == ""
    assert run_cli("--check", str(tmp_path / "t.psl")).returncode == 0


# -- lines a transcript can't hold as they are ------------------------------------------


def run_bytes(script: bytes, *args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([pslrepl_exe(), *args], input=script, capture_output=True,
                          timeout=60, cwd=cwd)  # fmt: skip


@pytest.mark.parametrize("keep_going", [True, False])
def test_a_line_that_is_not_utf8_is_a_comment_and_the_rest_replays(
    tmp_path: Path, keep_going: bool
) -> None:
    script = b"record t.psl\necho before\n\xff\x00\xfe\necho after\nrecord stop\n"
    done = run_bytes(script, *(["--keep-going"] if keep_going else []), cwd=tmp_path)
    assert done.returncode == 1  # the line is an unknown command: a failure, no crash
    err = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines[0].startswith("error: ")
    assert lines[1] == ("warning: record: not recorded: the line b'\\xff\\x00\\xfe' holds a "
                        "byte that is not UTF-8 text; a transcript is UTF-8 text, one "
                        "command a line")  # fmt: skip
    text = (tmp_path / "t.psl").read_bytes().decode("utf-8")  # strict: valid UTF-8
    comment = "# not recorded: the line b'\\xff\\x00\\xfe' holds a byte that is not UTF-8 text\n"
    expected = f"psl> echo before\nbefore\n{comment}"
    if keep_going:
        expected += "psl> echo after\nafter\n"
        assert done.stdout.decode().endswith("after\nrecord: wrote 2 commands to t.psl\n")
    assert text.split("\n", 1)[1] == expected
    check = run_cli("--check", "t.psl", cwd=str(tmp_path))
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout == f"t.psl: pass ({'2 commands' if keep_going else '1 command'})\n"


def test_a_command_with_a_control_character_is_a_comment(shell: Shell, tmp_path: Path) -> None:
    path = tmp_path / "t.psl"
    shell.ok(f"record {path}")
    ok, out, err = shell("echo a\rb")
    assert ok and out == "a b\n"
    assert err == ("warning: record: not recorded: the line 'echo a\\rb' holds a control "
                   "character or a lone surrogate; a transcript is UTF-8 text, one command "
                   "a line\n")  # fmt: skip
    shell.ok("echo next")
    shell.ok("record stop")
    assert path.read_text().split("\n", 1)[1] == (
        "# not recorded: the line 'echo a\\rb' holds a control character or a lone "
        "surrogate\npsl> echo next\nnext\n"
    )
    assert_replays(path)


# Output lines that would break a transcript line or read as something else in one, as
# the body of a Python string literal (py prints each).
AWKWARD = [
    r"a\x00b\rc\x85d\u2028e\u2029f\x1b[1mg\x0ch\x7fi\tj",
    r"\udcff and \udc80",
    "# looks like a comment",
    "psl> looks like a command",
    "psl>",
    "...",
    "ends like a pattern (re)",
    "ends like a glob (glob)",
    "{x.y} and {time}",
    "trailing space ",
]


def test_awkward_output_lines_are_escaped_and_replay(shell: Shell, tmp_path: Path) -> None:
    path = tmp_path / "t.psl"
    shell.ok(f"record {path}")
    shell.ok("spawn p -- cat")
    for text in AWKWARD:
        shell.ok(f"py \"print('{text}')\"")
    shell.ok("py \"import sys; sys.stdout.write('no newline at the end')\"")
    shell.ok("run -- printf 'x\\ry\\000z\\033[0m\\n'")
    shell.ok("record stop")
    data = path.read_bytes()
    text = data.decode("utf-8")  # strict: every line is valid UTF-8
    for raw in ("\r", "\x00", "\x1b", "\x85", "\u2028", "\u2029", "\x0c", "\x7f"):
        assert raw not in text
    assert text.splitlines() == text.split("\n")[:-1]  # nothing but LF ends a line
    written = steps(path)
    assert len(written) == 1 + len(AWKWARD) + 2
    assert all(len(expected) == 1 for _, expected in written[1:-2])  # each stays one line
    assert_replays(path)


def test_a_very_long_output_line_records_and_replays(shell: Shell, tmp_path: Path) -> None:
    path = tmp_path / "t.psl"
    shell.ok(f"record {path}")
    shell.ok("py \"print('x' * 1_000_000 + '\\x00' + 'y' * 1000)\"")
    shell.ok("py \"print('{z}' * 100_000)\"")
    shell.ok("record stop")
    (_, first), (_, second) = steps(path)
    assert len(first) == 1 and first[0].endswith("\\x00" + "y" * 1000 + " (re)")
    assert len(second) == 1 and len(second[0]) > 300_000
    assert_replays(path)


# -- a file that fails under the recording ----------------------------------------------


def test_a_full_disk_stops_the_recording_with_a_warning(
    shell: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.psl"
    before = open_fds()
    shell.ok(f"record {path}")
    shell.ok("echo kept")
    recorder = shell.session.recorder

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    # ENOSPC can't be made on demand on a real disk here: the file's flush fails instead.
    monkeypatch.setattr(recorder.fh, "flush", full)
    ok, out, err = shell("echo lost")
    assert ok and out == "lost\n"
    assert err == (f"warning: record: can't write {path}: No space left on device (ENOSPC); "
                   "the recording stopped after 1 command\n")  # fmt: skip
    assert shell.session.recorder is None
    assert open_fds() == before  # the file is closed
    nothing = "error: record: nothing is being recorded; `record FILE` starts"
    assert shell.fails("record stop") == nothing
    assert shell.ok("echo on") == "on\n"
    assert steps(path)[0] == ("echo kept", ["kept"])


def test_a_file_size_limit_stops_the_recording_for_real(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes the kernel refuse the write past it (EFBIG): a real write error."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    script = ("record t.psl\npy \"print('a' * 3000)\"\npy \"print('b' * 3000)\"\n"
              "echo still here\n")  # fmt: skip
    done = subprocess.run([pslrepl_exe()], input=script, capture_output=True, text=True,
                          timeout=60, cwd=tmp_path, preexec_fn=limit)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("still here\n")
    assert done.stderr == ("warning: record: can't write t.psl: File too large (EFBIG); the "
                           "recording stopped after 1 command\n")  # fmt: skip
    assert (tmp_path / "t.psl").stat().st_size <= 4096


def test_a_file_removed_while_recording_stops_it(shell: Shell, tmp_path: Path) -> None:
    path = tmp_path / "t.psl"
    shell.ok(f"record {path}")
    shell.ok("echo one")
    path.unlink()
    ok, out, err = shell("echo two")
    assert ok and out == "two\n"
    assert err == (f"warning: record: {path} was removed while recording; the recording "
                   "stopped after 1 command\n")  # fmt: skip
    assert shell.session.recorder is None
    assert not path.exists()


def test_a_directory_made_read_only_does_not_stop_an_open_recording(
    shell: Shell, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    path = folder / "t.psl"
    shell.ok(f"record {path}")
    folder.chmod(0o500)
    try:
        shell.ok("echo one")
        assert shell.ok("record stop") == f"record: wrote 1 command to {path}\n"
    finally:
        folder.chmod(0o700)
    assert steps(path) == [("echo one", ["one"])]


# -- the file itself ----------------------------------------------------------------------


def test_a_transcript_is_created_for_its_owner_alone(shell: Shell, tmp_path: Path) -> None:
    path = tmp_path / "t.psl"
    out = shell.ok(f"record {path}")
    assert out == f"record: writing the session to {path}; `record stop` ends it\n"
    shell.ok("echo a secret someone typed")
    shell.ok("record stop")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_existing_file_is_replaced_and_made_private(shell: Shell, tmp_path: Path) -> None:
    path = tmp_path / "t.psl"
    path.write_text("old content\n" * 100)
    path.chmod(0o644)
    out = shell.ok(f"record {path}")
    assert out == (f"record: writing the session to {path} (it replaces the file that was "
                   "there); `record stop` ends it\n")  # fmt: skip
    shell.ok("record stop")
    assert path.read_text().startswith(HEADER) and "old content" not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("dangling", [False, True])
def test_record_never_writes_through_a_symlink(
    shell: Shell, tmp_path: Path, dangling: bool
) -> None:
    target = tmp_path / "precious"
    if not dangling:
        target.write_text("keep me\n")
    link = tmp_path / "t.psl"
    link.symlink_to(target)
    error = shell.fails(f"record {link}")
    assert error == (f"error: record: {str(link)!r} is a symbolic link; record won't write "
                     "through one (it could point anywhere): give another path, or remove "
                     "the link first")  # fmt: skip
    assert shell.session.recorder is None
    if dangling:
        assert not target.exists()
    else:
        assert target.read_text() == "keep me\n"
    assert link.is_symlink()


def test_record_refuses_a_directory_a_fifo_and_no_name(shell: Shell, tmp_path: Path) -> None:
    assert shell.fails(f"record {tmp_path}") == (
        f"error: record: {str(tmp_path)!r} is a directory; give a file path in it, like "
        f"{tmp_path / 'demo.psl'}"
    )
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # Opening a FIFO nobody reads would block the shell: it is refused at once.
    assert shell.fails(f"record {fifo}") == (
        f"error: record: {str(fifo)!r} is a FIFO with no reader; give a path for a regular file"
    )
    assert shell.fails("record ''") == "error: record: give a file name, like `record demo.psl`"
    assert shell.fails(f"record {tmp_path}/no/such/dir/t.psl").startswith(
        f"error: record: can't write '{tmp_path}/no/such/dir/t.psl': No such file or directory"
    )
    assert shell.session.recorder is None
    shell.ok(f"record {tmp_path / 'fine.psl'}")  # and the shell can still record


def test_a_second_record_is_refused_and_the_first_goes_on(shell: Shell, tmp_path: Path) -> None:
    first, second = tmp_path / "1.psl", tmp_path / "2.psl"
    shell.ok(f"record {first}")
    assert shell.fails(f"record {second}") == (
        f"error: record: already recording to {first}; `record stop` first"
    )
    assert not second.exists()
    shell.ok("echo x")
    shell.ok("record stop")
    assert steps(first) == [("echo x", ["x"])]


def test_a_file_closed_under_the_recorder_stops_it_with_a_warning(
    shell: Shell, tmp_path: Path
) -> None:
    """Whatever the file does, the recorder must not raise into run_line (it did: a
    ValueError ended the session)."""
    path = tmp_path / "t.psl"
    shell.ok(f"record {path}")
    shell.session.recorder.fh.close()
    ok, out, err = shell("echo hi")
    assert ok and out == "hi\n"
    assert err == (f"warning: record: internal error writing {path} (ValueError: I/O "
                   "operation on closed file.); please report it; the recording stopped "
                   "after 0 commands\n")  # fmt: skip
    assert shell.session.recorder is None
    assert shell.ok("echo on") == "on\n"
