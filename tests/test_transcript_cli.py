"""Transcripts end to end: record a live session, replay it, break it, update it, pytest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_cli

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
    assert done.stdout.startswith(f"{good}: pass (1 commands)\n{bad}: FAIL\n")
    assert done.stdout.count("psl> echo") == 1
    done = run_cli("--check", "--keep-going", str(bad))
    assert done.stdout.count("psl> echo") == 2
    assert run_cli("--check", str(tmp_path / "none.psl")).returncode == 2
    assert "needs the transcript FILEs" in run_cli("--check").stderr


def test_pytest_plugin_collects_transcripts(tmp_path: Path) -> None:
    (tmp_path / "good_demo.psl").write_text("psl> echo hi\nhi\n")
    (tmp_path / "bad_demo.psl").write_text("psl> echo hi\nbye\n")
    run = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(tmp_path)]
    done = subprocess.run(run + ["-q"], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)  # fmt: skip
    assert "1 failed, 1 passed" in done.stdout
    assert "-bye" in done.stdout and "+hi" in done.stdout
    done = subprocess.run(run + ["-q", "-k", "good"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)  # fmt: skip
    assert "1 passed, 1 deselected" in done.stdout


def test_pygments_finds_the_lexer_for_psl_files() -> None:
    from pygments.lexers import get_lexer_for_filename
    from pygments.token import Generic

    lexer = get_lexer_for_filename("demo.psl")
    tokens = list(lexer.get_tokens("# note\npsl> echo hi\nhi\n"))
    assert (Generic.Prompt, "psl> ") in tokens and (Generic.Output, "hi") in tokens
