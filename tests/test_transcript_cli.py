"""Transcripts end to end: record a live session, replay it, break it, update it, pytest."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import run_cli


@pytest.fixture(autouse=True)
def _private_tmpdir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
                    ) -> None:  # fmt: skip
    """Each pslrepl these tests start keeps its temporary directory apart: at start, one
    removes what a pslrepl that died left in TMPDIR and says so on standard error, which
    these tests compare whole."""
    monkeypatch.setenv("TMPDIR", str(tmp_path_factory.mktemp("tmpdir")))


SESSION = """\
record {path}
# sort and cat through pipes
spawn s -- sort
writeline s pear; writeline s apple
eof s
read s --all
wait s
spawn c -- cat
py c.pid > 0
writeline c hello
read c --line
ps
ls
info c
log c --last 2
run -- ls -d {tmp_hint}
nosuch
record stop
"""


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    path = tmp_path / "session.psl"
    script = SESSION.format(path=path, tmp_hint="/")
    done = run_cli("--keep-going", input=script)
    assert "Traceback" not in done.stderr
    assert path.exists()
    return path


def test_record_writes_placeholders_and_comments(recorded: Path) -> None:
    text = recorded.read_text()
    assert text.startswith("# Recorded with pslrepl")
    assert "# sort and cat through pipes\n" in text
    assert "psl> spawn s -- sort\ns: started pid {s.pid}: sort\n" in text
    assert "{time} <- stdout 6 bytes: hello\\n" in text
    assert "psl> nosuch\nerror: unknown command 'nosuch'; `help` lists commands\n" in text
    assert "record" not in text.replace("# Recorded", "")
    assert "age:         {age}" in text


def test_recording_from_a_script_file_leaves_out_where_errors_ran(tmp_path: Path) -> None:
    """A script prints "FILE:LINE: " in its errors; the transcript shows what a session
    shows, and replays the same from anywhere."""
    out = tmp_path / "t.psl"
    script = tmp_path / "make.psl"
    script.write_text(f"record {out}\nserve web tcp 0 --tls\ntls connect t web\n"
                      "tls info t\ntcp connect x 127.0.0.1:1\nrecord stop\n")  # fmt: skip
    done = run_cli("--keep-going", str(script))
    assert f"error: {script}:5: x: Connection refused" in done.stderr
    text = out.read_text()
    assert "psl> tcp connect x 127.0.0.1:1\nerror: x: Connection refused (ECONNREFUSED)" in text
    # the certificate is the session test CA's, new each time: written as placeholders
    assert "subject:         {t.subject}\nissuer:          {t.issuer}\n" in text
    assert "sha256:          {t.sha256}\n" in text
    for _ in range(3):
        done = run_cli("--check", str(out))
        assert done.returncode == 0, done.stdout + done.stderr


def test_a_recorded_session_replays_green_ten_times(recorded: Path) -> None:
    for _ in range(10):
        done = run_cli("--check", str(recorded))
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout == f"{recorded}: pass (15 commands)\n"


def test_a_broken_line_fails_with_a_diff_and_update_mends_only_it(recorded: Path) -> None:
    original = recorded.read_text()
    broken = original.replace("\napple\npear\n", "\napple\nplum\n")
    assert broken != original
    recorded.write_text(broken)
    done = run_cli("--check", str(recorded))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == f"{recorded}: FAIL"
    step_line = broken.splitlines().index("psl> read s --all") + 1
    assert lines[1] == f"{recorded}:{step_line}: psl> read s --all"
    assert "-plum" in lines and "+pear" in lines and " apple" in lines
    done = run_cli("--update", str(recorded))
    assert done.returncode == 0 and done.stdout == f"{recorded}: updated (15 commands)\n"
    assert recorded.read_text() == original  # only the broken line changed back
    assert run_cli("--check", str(recorded)).returncode == 0
    assert run_cli("--update", str(recorded)).stdout.endswith("unchanged (15 commands)\n")


def test_update_keeps_placeholders_and_patterns_that_still_match(tmp_path: Path) -> None:
    path = tmp_path / "t.psl"
    path.write_text("# keep me\npsl> spawn p -- cat\np: started pid * (glob)\n"
                    "psl> py 'print(p.pid); print(\"new\")'\n{p.pid}\nold\n")  # fmt: skip
    assert run_cli("--update", str(path)).returncode == 0
    expected = ("# keep me\npsl> spawn p -- cat\np: started pid * (glob)\n"
                "psl> py 'print(p.pid); print(\"new\")'\n{p.pid}\nnew\n")  # fmt: skip
    assert path.read_text() == expected


def test_check_keep_going_and_several_files(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.psl", tmp_path / "bad.psl"
    good.write_text("psl> echo hi\nhi\n")
    bad.write_text("psl> echo 1\n2\npsl> echo 3\n4\n")
    done = run_cli("--check", str(good), str(bad))
    assert done.returncode == 1
    assert done.stdout.startswith(f"{good}: pass (1 command)\n{bad}: FAIL\n")
    assert done.stdout.count("psl> echo") == 1
    done = run_cli("--check", "--keep-going", str(bad))
    assert done.stdout.count("psl> echo") == 2
    assert run_cli("--check", str(tmp_path / "none.psl")).returncode == 2
    assert "needs the transcript FILEs" in run_cli("--check").stderr


def test_pytest_plugin_collects_transcripts(tmp_path: Path) -> None:
    (tmp_path / "good_demo.psl").write_text("psl> echo hi\nhi\n")
    (tmp_path / "bad_demo.psl").write_text("psl> echo hi\nbye\n")
    (tmp_path / "empty_demo.psl").write_text("")
    run = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(tmp_path)]
    wide = {**os.environ, "COLUMNS": "1000"}  # the short summary, not cut at 80
    done = subprocess.run(run + ["-q"], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env=wide)  # fmt: skip
    assert "2 failed, 1 passed" in done.stdout
    assert "-bye" in done.stdout and "+hi" in done.stdout
    # the short summary names the command that differs, not only the file
    assert f"FAILED bad_demo.psl::bad_demo.psl - {tmp_path}/bad_demo.psl:1: psl> echo hi" in (
        done.stdout
    )
    # a file that is no transcript fails in one line, no traceback
    empty = f"{tmp_path}/empty_demo.psl: it is empty: `record FILE` in the shell writes a"
    assert f"\n{empty} transcript\n" in done.stdout and "Traceback" not in done.stdout
    done = subprocess.run(run + ["-q", "-k", "good"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)  # fmt: skip
    assert "1 passed, 2 deselected" in done.stdout


def test_pygments_finds_the_lexer_for_psl_files() -> None:
    from pygments.lexers import get_lexer_for_filename
    from pygments.token import Generic

    lexer = get_lexer_for_filename("demo.psl")
    tokens = list(lexer.get_tokens("# note\npsl> echo hi\nhi\n"))
    assert (Generic.Prompt, "psl> ") in tokens and (Generic.Output, "hi") in tokens


# -- files that are no transcript ----------------------------------------------------------


def _no_transcript(tmp_path: Path, case: str) -> tuple[Path, str]:
    path = tmp_path / f"{case}.psl"
    if case == "missing":
        return path, "no such file; give the path of a .psl transcript"
    if case == "directory":
        path.mkdir()
        return path, f"it is a directory; give the transcripts in it, like {path}/*.psl"
    if case == "not-utf8":
        path.write_bytes(b"psl> echo hi\nhi\npsl> echo \xff\n\xff\n")
        return path, ("line 3 is not UTF-8 text (byte 0xff); a transcript is UTF-8: write a "
                      "byte in output as a \\xNN escape in a (re) line")  # fmt: skip
    if case == "empty":
        path.write_text("")
        return path, "it is empty: `record FILE` in the shell writes a transcript"
    assert case == "comments-only"
    path.write_text("# a title\nsome words\n")
    return path, ("it holds no commands (no line starts 'psl> '): `record FILE` in the "
                  "shell writes a transcript")  # fmt: skip


@pytest.mark.parametrize("mode", ["--check", "--update"])
@pytest.mark.parametrize("case", ["missing", "directory", "not-utf8", "empty", "comments-only"])
def test_a_file_that_is_no_transcript_is_one_line_and_status_2(
    tmp_path: Path, mode: str, case: str
) -> None:
    path, why = _no_transcript(tmp_path, case)
    before = sorted(p.name for p in tmp_path.iterdir())
    done = run_cli(mode, str(path))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == f"pslrepl: {path}: {why}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_one_bad_file_among_several_is_named_and_the_rest_are_checked(tmp_path: Path) -> None:
    good = tmp_path / "good.psl"
    good.write_text("psl> echo hi\nhi\n")
    done = run_cli("--check", str(tmp_path / "none.psl"), str(good))
    assert done.returncode == 2
    assert done.stdout == f"{good}: pass (1 command)\n"
    assert done.stderr.count("\n") == 1 and "none.psl" in done.stderr


def test_update_never_writes_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.psl"
    real.write_text("psl> echo hi\nwrong\n")
    link = tmp_path / "link.psl"
    link.symlink_to(real)
    done = run_cli("--update", str(link))
    assert done.returncode == 2
    why = f"it is a symbolic link (to {real}); --update won't write through one"
    assert done.stderr == f"pslrepl: {link}: {why}: give the file it points to\n"
    assert real.read_text() == "psl> echo hi\nwrong\n" and link.is_symlink()
    # reading through one is fine: --check follows it
    assert run_cli("--check", str(link)).returncode == 1
    assert run_cli("--update", str(real)).returncode == 0
    assert real.read_text() == "psl> echo hi\nhi\n" and link.is_symlink()


def test_update_replaces_the_file_whole_and_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "t.psl"
    path.write_text("psl> echo hi\nwrong\n")
    path.chmod(0o640)
    inode = path.stat().st_ino
    assert run_cli("--update", str(path)).returncode == 0
    assert path.read_text() == "psl> echo hi\nhi\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.stat().st_ino != inode  # a new file renamed over the old one
    assert [p.name for p in tmp_path.iterdir()] == ["t.psl"]  # no temporary file left


# -- the pytest plugin and pytest-timeout ---------------------------------------------------


def run_pytest(folder: Path, *args: str, timeout: float = 120
               ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
         "-o", "timeout_method=thread", *args, str(folder)],
        capture_output=True, text=True, timeout=timeout, cwd=folder,
    )  # fmt: skip


HANG = 'psl> echo start\nstart\npsl> py "import time; time.sleep(120)"\npsl> echo never\nnever\n'


def test_a_transcript_that_hangs_fails_naming_itself_and_the_rest_run(tmp_path: Path) -> None:
    (tmp_path / "hang_demo.psl").write_text(HANG)
    (tmp_path / "wait_demo.psl").write_text(
        "psl> spawn s -- sleep 120\n...\npsl> wait s --timeout 100\n...\n"
    )
    (tmp_path / "good_demo.psl").write_text("psl> echo hi\nhi\n")
    started = time.monotonic()
    done = run_pytest(tmp_path, "-o", "timeout=6")
    took = time.monotonic() - started
    out = done.stdout
    assert "2 failed, 1 passed" in out, out + done.stderr
    assert "+++ Timeout +++" not in out  # pytest-timeout's last resort was not needed
    for name, line, command in (("hang_demo", 3, 'py "import time; time.sleep(120)"'),
                                ("wait_demo", 3, "wait s --timeout 100")):  # fmt: skip
        where = f"{tmp_path}/{name}.psl:{line}: psl> {command}"
        assert (
            f"{where}: still running at the time limit (3.6 s, pytest-timeout is 6 s): cancelled"
            in out
        )
        assert "+error: replay: cancelled at the time limit (3.6 s, pytest-timeout is 6 s)" in out
    assert "psl> echo never" not in out
    assert took < 30


def test_a_hang_that_ignores_the_cancel_is_named_in_pytest_timeouts_dump(tmp_path: Path) -> None:
    """A transcript that traps SIGINT keeps its command running past the cancel: then
    pytest-timeout ends the run, and the transcript's line is in what it prints."""
    (tmp_path / "stuck_demo.psl").write_text("psl> trap INT\n...\n" + HANG.split("\n", 2)[2])
    done = run_pytest(tmp_path, "-o", "timeout=6")
    assert done.returncode != 0
    assert "+++ Timeout +++" in done.stdout
    assert (f"pslrepl: {tmp_path}/stuck_demo.psl:3: psl> py \"import time; time.sleep(120)\": "
            "still running after") in done.stdout  # fmt: skip


def test_check_on_the_command_line_has_no_time_limit_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "slow.psl"
    path.write_text('psl> py "import time; time.sleep(2); print(1)"\n1\n')
    done = run_cli("--check", str(path))
    assert done.returncode == 0, done.stdout


def test_a_captured_value_with_a_semicolon_or_quote_is_one_word_never_a_command(
    tmp_path: Path,
) -> None:
    """Captures are filled in each word after the command line is split (as -c fills in
    {tmp}): a child's banner holding `; run -- touch ...` is text, not a command."""
    planted = tmp_path / "PLANTED"
    script = tmp_path / "inj.psl"
    script.write_text(
        f'psl> echo "hello; run -- touch {planted}"\n{{?msg:.*}}\n'
        "psl> echo [{msg}]\n"
        f"[hello; run -- touch {planted}]\n"
        'psl> echo quote "it\'s"\nquote {?q:.*}\n'
        "psl> echo [{q}] {q}x\n[it's] it'sx\n"
        "psl> run -- sh -c 'echo $#' sh {msg} {q}\n2\nexited with status 0\n"
    )
    done = run_cli("--check", str(script))
    assert (done.returncode, done.stderr) == (0, ""), done.stdout
    assert done.stdout == f"{script}: pass (5 commands)\n"
    assert not planted.exists()


def test_a_tmp_with_a_space_and_semicolon_is_one_word_as_in_c(tmp_path: Path) -> None:
    odd = tmp_path / "sp ace;x"
    odd.mkdir()
    script = tmp_path / "sp.psl"
    script.write_text("psl> run -- cat {tmp}/f\nhi\nexited with status 0\n-- f --\nhi\n")
    done = run_cli("--check", str(script), env={"TMPDIR": str(odd)})
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{script}: pass (1 command)\n", "")


def test_a_placeholder_nothing_binds_fails_instead_of_matching_its_own_text(
    tmp_path: Path,
) -> None:
    """A typo'd `{l.prot}` echoed as text matched the expected `{l.prot}`: the check
    passed. Now the step fails naming it, and --update says it can't mend it (exit 1)."""
    path = tmp_path / "typo.psl"
    text = ("psl> tcp listen l 0\nl: listening on {l.laddr}\npsl> echo {l.prot} {l.port}\n"
            "{l.prot} {l.port}\n")  # fmt: skip
    path.write_text(text)
    message = (f"{path}:3: psl> echo {{l.prot}} {{l.port}}: its expected output uses "
               "{l.prot}, which nothing binds (no capture nor resource of that name before "
               "it): fix the name, or write {{l.prot}} for the text {l.prot}\n")  # fmt: skip
    done = run_cli("--check", str(path))
    assert (done.returncode, done.stdout) == (1, f"{path}: FAIL\n{message}")
    done = run_cli("--update", str(path))
    assert (done.returncode, done.stdout) == (1, f"{path}: unchanged (2 commands)\n{message}")
    path.write_text(text.replace("{l.prot}", "{{l.prot}}"))  # the text, written so: passes
    assert run_cli("--check", str(path)).returncode == 0


def test_commands_after_exit_are_named_and_update_does_not_claim_to_mend_them(
    tmp_path: Path,
) -> None:
    """--check said to --update, which said "unchanged" (exit 0), and --check failed
    again."""
    path = tmp_path / "ex.psl"
    text = "psl> echo a\na\npsl> exit\npsl> echo b\nb\n"
    path.write_text(text)
    message = (f"{path}:4: not run: the command on line 3 ended the session; remove the "
               "commands after it (--update can't)\n")  # fmt: skip
    done = run_cli("--check", str(path))
    assert (done.returncode, done.stdout) == (1, f"{path}: FAIL\n{message}")
    done = run_cli("--update", str(path))
    assert (done.returncode, done.stdout) == (1, f"{path}: unchanged (2 commands)\n{message}")
    assert path.read_text() == text
