"""Checking many transcripts: --jobs N, --junit FILE, --check -i, and pytest -n (xdist)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.helpers import pslrepl_exe, run_cli


@pytest.fixture(autouse=True)
def _private_tmpdir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
                    ) -> None:  # fmt: skip
    """Each pslrepl these tests start keeps its temporary directory apart (a pslrepl at
    start names what a dead one left in TMPDIR, on the standard error compared here)."""
    monkeypatch.setenv("TMPDIR", str(tmp_path_factory.mktemp("tmpdir")))


def _mixed(folder: Path) -> list[str]:
    """Transcripts that pass, fail, skip and are no transcript, in a known order."""
    files = {
        "a_pass.psl": "psl> tcp listen srv 0\nsrv: listening on {srv.laddr}\n",
        "b_fail.psl": "psl> echo b\nnot b\npsl> echo after\nnot after\n",
        "c_skip.psl": "#! require exec:no-such-program-psl\npsl> echo c\nc\n",
        "d_pass.psl": "psl> echo d {tmp}\nd {tmp}\n",
        "e_fail.psl": "psl> py \"print('nul\\x00 cr\\r esc\\x1b[1m lf')\"\nsomething else\n",
        "f_pass.psl": "psl> udp open --bind 127.0.0.1:0 u\nu: udp socket {u.laddr}\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    names = [str(folder / name) for name in files]
    names.insert(3, str(folder / "missing.psl"))
    return names


def test_jobs_gives_the_serial_reports_in_file_order(tmp_path: Path) -> None:
    paths = _mixed(tmp_path)
    serial = run_cli("--check", *paths)
    assert serial.returncode == 2  # the missing file outranks the failures
    assert serial.stdout.count(": pass (1 command)\n") == 3
    assert serial.stdout.count(": FAIL\n") == 2 and ": skip (" in serial.stdout
    parallel = run_cli("--check", "--jobs", "3", *paths)
    assert (parallel.returncode, parallel.stdout, parallel.stderr) == (
        serial.returncode, serial.stdout, serial.stderr
    )  # fmt: skip
    # more jobs than files; and the exit status without the missing file
    without_missing = [p for p in paths if "missing" not in p]
    assert run_cli("--check", "-j", "16", *without_missing).returncode == 1


def test_jobs_really_run_at_once(tmp_path: Path) -> None:
    """Three transcripts that each wait (bounded) until all three have started: they pass
    only when run side by side."""
    meet = tmp_path / "meet"
    meet.mkdir()
    code = ("import os, sys, time; d = sys.argv[1]; open(os.path.join(d, sys.argv[2]), 'w')"
            ".close(); end = time.monotonic() + 20; any(time.sleep(0.01) for _ in iter("
            "lambda: len(os.listdir(d)) < 3 and time.monotonic() < end, False)); "
            "print(len(os.listdir(d)))")  # fmt: skip
    paths = []
    for name in "xyz":
        path = tmp_path / f"{name}.psl"
        path.write_text(f'psl> run -- {{python}} -c "{code}" {meet} {name}\n3\n'
                        "exited with status 0\n")  # fmt: skip
        paths.append(str(path))
    done = run_cli("--check", "--jobs", "3", *paths, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "".join(f"{p}: pass (1 command)\n" for p in paths)


def test_jobs_keep_going_is_passed_on(tmp_path: Path) -> None:
    paths = _mixed(tmp_path)
    bad = [p for p in paths if "b_fail" in p]
    assert run_cli("--check", "--jobs", "2", *bad).stdout.count("psl> echo") == 1
    done = run_cli("--check", "--keep-going", "--jobs", "2", *bad)
    assert done.stdout.count("psl> echo") == 2  # both steps differ: both are shown


@pytest.mark.parametrize(
    ("args", "signum", "status", "said"),
    [
        (["--jobs", "2"], signal.SIGTERM, 128 + signal.SIGTERM,
         "pslrepl: ended by a signal after 0 of 2 transcripts; not finished: a.psl, b.psl\n"),
        (["--jobs", "2"], signal.SIGINT, 130,
         "pslrepl: interrupted after 0 of 2 transcripts; not finished: a.psl, b.psl\n"),
        (["--jobs", "2", "--junit", "r.xml"], signal.SIGINT, 130,
         "pslrepl: interrupted after 0 of 2 transcripts; not finished: a.psl, b.psl; "
         "--junit's report is not written\n"),
        ([], signal.SIGINT, 130,
         "pslrepl: interrupted after 0 of 2 transcripts; not finished: a.psl, b.psl\n"),
    ],
)  # fmt: skip
def test_stopping_a_check_ends_the_checks_it_started(
    tmp_path: Path, args: list[str], signum: int, status: int, said: str
) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    paths = []
    for name in "ab":
        path = tmp_path / f"{name}.psl"
        path.write_text(f"psl> py \"import os, time; open('{pids}/' + str(os.getpid()), 'w')"
                        '.close(); time.sleep(60)"\n')  # fmt: skip
        paths.append(path.name)
    proc = subprocess.Popen([pslrepl_exe(), "--check", *args, *paths], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    want = 2 if args else 1  # serial: the first is running, the second waits
    try:
        end = time.monotonic() + 30
        while len(os.listdir(pids)) < want and time.monotonic() < end:
            time.sleep(0.01)
        started = [int(name) for name in os.listdir(pids)]
        assert len(started) == want
        proc.send_signal(signum)
        assert proc.wait(timeout=30) == status
    finally:
        proc.kill()
        out, err = proc.communicate()
    assert out == "" and err == said  # one line, no traceback
    assert not (tmp_path / "r.xml").exists()
    end = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() and _not_zombie(pid) for pid in started):
        assert time.monotonic() < end, f"checks {started} outlived the check"
        time.sleep(0.01)


def test_stopping_jobs_shows_the_results_already_made_and_ends_a_backtracking_match(
    tmp_path: Path,
) -> None:
    """Ctrl-C under --jobs dropped a FAIL already made (held back for file order) and
    counted it nowhere; a check matching a backtracking pattern could not be stopped (re
    holds the GIL from its watcher) and was killed 5 s later, its {tmp} left behind."""
    pids = tmp_path / "pids"
    pids.mkdir()
    tmpdir = Path(os.environ["TMPDIR"])
    mark = "py \"import os; open('{}/{}-' + str(os.getpid()), 'w').close()\"\n".format
    (tmp_path / "a.psl").write_text(f"psl> {mark(pids, 'a')}psl> py \"import time; "
                                    'time.sleep(60)"\n')  # fmt: skip
    (tmp_path / "b.psl").write_text(f"psl> {mark(pids, 'b')}psl> echo {'a' * 40}c\n"
                                    "(a+)+b (re)\n")  # fmt: skip
    (tmp_path / "c.psl").write_text(f"psl> {mark(pids, 'c')}psl> echo x\ny\n")
    proc = subprocess.Popen(
        [pslrepl_exe(), "--check", "--jobs", "3", "a.psl", "b.psl", "c.psl"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )  # fmt: skip (no signal reaches pytest)
    try:
        end = time.monotonic() + 30
        # all three started, and c's check has ended (its process has exited)
        while len(os.listdir(pids)) < 3 and time.monotonic() < end:
            time.sleep(0.01)
        (c_pid,) = [int(n[2:]) for n in os.listdir(pids) if n.startswith("c-")]
        while _not_zombie(c_pid) and time.monotonic() < end:
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        proc.kill()
        out, err = proc.communicate()
    assert out.startswith("c.psl: FAIL\nc.psl:2: psl> echo x\n"), (out, err)
    assert err == ("pslrepl: interrupted after 1 of 3 transcripts (1 failed: c.psl); not "
                   "finished: a.psl, b.psl\n")  # fmt: skip
    assert list(tmpdir.glob("pslrepl-*")) == []  # each check closed its own session


def _not_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


# -- --junit ----------------------------------------------------------------------------


def test_junit_report_holds_each_verdict_and_the_diffs(tmp_path: Path) -> None:
    paths = _mixed(tmp_path)
    report = tmp_path / "out" / "report.xml"
    report.parent.mkdir()
    for jobs in ("1", "3"):
        done = run_cli("--check", "--jobs", jobs, "--junit", str(report), *paths)
        assert done.returncode == 2
        assert stat.S_IMODE(report.stat().st_mode) == 0o600
        assert [p.name for p in report.parent.iterdir()] == ["report.xml"]
        suite = ET.parse(report).getroot()[0]  # well-formed though output held a NUL
        assert (suite.get("tests"), suite.get("failures"), suite.get("errors"),
                suite.get("skipped")) == ("7", "2", "1", "1")  # fmt: skip
        cases = {Path(c.get("name", "")).name: c for c in suite}
        assert list(cases) == [Path(p).name for p in paths]
        assert [len(cases[n]) for n in ("a_pass.psl", "d_pass.psl", "f_pass.psl")] == [0, 0, 0]
        (skipped,) = cases["c_skip.psl"]
        assert skipped.tag == "skipped"
        assert skipped.get("message") == "exec:no-such-program-psl: no no-such-program-psl on PATH"
        (failure,) = cases["b_fail.psl"]
        assert failure.tag == "failure"
        assert failure.get("message") == f"{paths[1]}:1: psl> echo b"  # what CI shows
        assert "-not b\n+b\n" in (failure.text or "")
        assert "to take the new output: pslrepl --update" in (failure.text or "")
        (nul,) = cases["e_fail.psl"]
        assert "+nul\\x00 cr\\x0d esc\\x1b[1m lf" in (nul.text or "")
        (error,) = cases["missing.psl"]
        assert error.tag == "error"
        assert error.get("message", "").endswith(
            "missing.psl: no such file; give the path of a .psl transcript"
        )
        assert all(float(c.get("time", "x")) >= 0 for c in suite)


def test_junit_replaces_only_a_regular_file_and_refuses_anything_else_up_front(
    tmp_path: Path,
) -> None:
    """A device, a FIFO or a symbolic link at the --junit path is refused before any
    transcript runs (one line, exit 2) and left as it was: `--junit /dev/null` once
    replaced the machine's /dev/null with a file. A report written before is replaced."""
    marker = tmp_path / "ran"
    good = tmp_path / "good.psl"
    good.write_text(f"psl> run -- touch {marker}\nexited with status 0\n")
    target = tmp_path / "target.txt"
    target.write_text("keep me")
    link = tmp_path / "link.xml"
    link.symlink_to(target)
    fifo = tmp_path / "fifo.xml"
    os.mkfifo(fifo)
    cases = [(link, f"a symbolic link (to {target})"), (fifo, "a FIFO (named pipe)")]
    if os.geteuid() == 0:  # a device node of the test's own, like /dev/null (1, 3)
        device = tmp_path / "null"
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        cases.append((device, "a device"))
    for path, what in cases:
        done = run_cli("--check", "--junit", str(path), str(good))
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr == (f"pslrepl: --junit {path}: it is {what}; the report is written "
                               "only as a regular file: give the path of a new file or of a "
                               "report written before\n")  # fmt: skip
        assert not marker.exists()  # refused before the transcript ran
    assert link.is_symlink() and target.read_text() == "keep me"
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    if os.geteuid() == 0:
        assert stat.S_ISCHR(device.lstat().st_mode)
    # a report written before (a regular file) is replaced by the new one, 0600
    old = tmp_path / "report.xml"
    old.write_text('<?xml version="1.0"?>\n<testsuites><testsuite tests="9"/></testsuites>\n')
    assert run_cli("--check", "--junit", str(old), str(good)).returncode == 0
    assert ET.parse(old).getroot()[0].get("tests") == "1"
    assert stat.S_IMODE(old.stat().st_mode) == 0o600 and marker.exists()
    marker.unlink()
    nowhere = tmp_path / "no" / "such" / "dir" / "r.xml"
    done = run_cli("--check", "--junit", str(nowhere), str(good))
    assert (done.returncode, done.stdout) == (2, "")  # said before the check ran
    assert done.stderr.startswith(f"pslrepl: --junit {nowhere}: can't write it: ")
    assert done.stderr.count("\n") == 1 and not marker.exists()
    done = run_cli("--check", "--junit", str(tmp_path), str(good))
    assert done.stderr == f"pslrepl: --junit {tmp_path}: it is a directory; give a file name\n"
    assert not marker.exists()


def test_junit_never_replaces_a_transcript_or_other_file_of_the_users(tmp_path: Path) -> None:
    """`--junit tests/*.psl` (the report's name forgotten) once replaced the first
    transcript with the XML and checked the rest, exit 0. Only an empty file or a JUnit
    report is replaced; anything else is refused before any transcript runs, unchanged."""
    marker = tmp_path / "ran"
    good = tmp_path / "good.psl"
    good.write_text(f"psl> run -- touch {marker}\nexited with status 0\n")
    victim = tmp_path / "victim.psl"
    victim.write_bytes(b"psl> echo a\na\n")
    code = tmp_path / "important.py"
    code.write_bytes(b"print(1)\n")
    tail = "; it is left as it is: give the report's own name (e.g. --junit report.xml) or "
    tail += "that of a report written before\n"
    for path, argv, what in (
        (victim, [str(victim), str(good)], "it is a transcript given to check, not a report"),
        (victim, [str(good)], "it is a transcript, not a report"),
        (code, [str(good)], "it holds something other than a JUnit report"),
    ):
        before = path.read_bytes()
        done = run_cli("--check", "--junit", str(path), *argv)
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr == f"pslrepl: --junit {path}: {what}{tail}"
        assert path.read_bytes() == before and not marker.exists()
    done = run_cli("--check", "--junit", "", str(good))
    assert (done.returncode, done.stdout, not marker.exists()) == (2, "", True)
    assert done.stderr == ("pslrepl: --junit needs a FILE: give the report's name "
                           "(e.g. --junit report.xml)\n")  # fmt: skip
    empty = tmp_path / "made-by-mktemp.xml"  # an empty file is taken, and so is our own report
    empty.write_bytes(b"")
    for _ in range(2):
        assert run_cli("--check", "--junit", str(empty), str(good)).returncode == 0
        assert ET.parse(empty).getroot()[0].get("tests") == "1"


def test_junit_refuses_a_link_put_at_the_path_while_the_transcripts_ran(tmp_path: Path) -> None:
    """The path is looked at again as the report is written: a link made there by then is
    refused and left alone (the report is not written through nor over it)."""
    target = tmp_path / "target.txt"
    target.write_text("keep me")
    link = tmp_path / "r.xml"
    good = tmp_path / "good.psl"
    good.write_text(f"psl> run -- ln -s {target} {link}\nexited with status 0\n")
    done = run_cli("--check", "--junit", str(link), str(good))
    assert done.returncode == 2 and done.stdout == f"{good}: pass (1 command)\n"
    assert done.stderr.startswith(f"pslrepl: --junit {link}: it is a symbolic link")
    assert link.is_symlink() and target.read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".r.xml")] == []


# -- --check -i -------------------------------------------------------------------------

THREE = "psl> echo one\n1\npsl> echo two\n2\npsl> echo same\nsame\npsl> echo three\n3\n"


@pytest.mark.parametrize(
    ("answers", "taken", "after"),
    [
        (
            "y\nn\ny\n",
            2,
            "psl> echo one\none\npsl> echo two\n2\npsl> echo same\nsame\npsl> echo three\nthree\n",
        ),  # fmt: skip
        (
            "a\n",
            3,
            THREE.replace("\n1\n", "\none\n")
            .replace("\n2\n", "\ntwo\n")
            .replace("\n3\n", "\nthree\n"),
        ),  # fmt: skip
        ("n\nq\n", 0, THREE),
        ("", 0, THREE),  # end of input: nothing is taken
        ("maybe\nY\nq\n", 1, THREE.replace("\n1\n", "\none\n")),  # asked again
    ],
)
def test_check_i_takes_what_is_answered_yes(
    tmp_path: Path, answers: str, taken: int, after: str
) -> None:
    path = tmp_path / "t.psl"
    path.write_text(THREE)
    done = run_cli("--check", "-i", str(path), input=answers)
    question = "take the new output? [y]es, [n]o, [a]ll the rest, [q]uit: "
    assert path.read_text() == after
    last = done.stdout.rsplit(question, 1)[-1].splitlines(keepends=True)[-1]
    left = 3 - taken
    assert last == f"{path}: took {taken} of 3 changes" + (
        f"; {left} still differ{'s' if left == 1 else ''}\n" if left else "\n"
    )
    assert done.returncode == (1 if left else 0)
    assert f"{path}:1: psl> echo one\n--- expected\n+++ actual\n" in done.stdout
    if answers == "maybe\nY\nq\n":  # asked again, saying what to type
        assert done.stdout.count(question) == 2
        assert f"{question}maybe\nanswer y, n, a or q: Y\n" in done.stdout


def test_check_i_on_a_passing_or_skipped_transcript_asks_nothing(tmp_path: Path) -> None:
    good = tmp_path / "good.psl"
    good.write_text("psl> echo hi\nhi\n")
    skip = tmp_path / "skip.psl"
    skip.write_text("#! require exec:no-such-program-psl\npsl> echo hi\nnot hi\n")
    done = run_cli("--check", "-i", str(good), str(skip), input="")
    assert done.returncode == 0
    assert done.stdout == (f"{good}: pass (1 command)\n{skip}: skip (exec:no-such-program-psl: "
                           "no no-such-program-psl on PATH)\n")  # fmt: skip


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["--check", "--jobs", "0", "t.psl"], "--jobs takes a whole number from 1 to 256, not '0'"),
        (["--check", "--jobs", "257", "t.psl"], "--jobs takes a whole number from 1 to 256"),
        (
            ["--check", "--jobs", "two", "t.psl"],
            "--jobs takes a whole number from 1 to 256, not 'two'",
        ),  # fmt: skip
        (["--check", "t.psl", "--jobs"], "--jobs needs a number"),
        (["--check", "t.psl", "--junit"], "--junit needs a FILE"),
        (["--update", "--jobs", "2", "t.psl"], "--jobs goes with --check"),
        (["--update", "--junit", "r.xml", "t.psl"], "--junit goes with --check"),
        (["-i", "t.psl"], "-i goes with --check"),
        (
            ["--check", "-i", "-j", "2", "t.psl"],
            "-i asks about each difference in turn: give it without --jobs",
        ),  # fmt: skip
    ],
)
def test_wrong_checking_options_are_one_line_and_status_2(args: list[str], why: str) -> None:
    done = run_cli(*args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"pslrepl: {why}")
    assert done.stderr.endswith("; see pslrepl --help\n") and done.stderr.count("\n") == 1


# -- pytest: skips, and pytest -n (xdist) ----------------------------------------------


def _pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", *args,
         str(folder)],
        capture_output=True, text=True, timeout=120, cwd=folder,
    )  # fmt: skip


def _demo(folder: Path) -> None:
    (folder / "pass_demo.psl").write_text("psl> tcp listen srv 0\nsrv: listening on {srv.laddr}\n")
    (folder / "fail_demo.psl").write_text("psl> echo hi\nbye\n")
    (folder / "skip_demo.psl").write_text("#! require exec:no-such-program-psl\npsl> echo x\nx\n")


def test_pytest_reports_an_unmet_condition_as_skipped_with_the_reason(tmp_path: Path) -> None:
    _demo(tmp_path)
    done = _pytest(tmp_path)
    assert "1 failed, 1 passed, 1 skipped" in done.stdout, done.stdout + done.stderr
    assert "exec:no-such-program-psl: no no-such-program-psl on PATH" in done.stdout


def test_the_plugin_works_under_pytest_xdist(tmp_path: Path) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist is not installed (pip install .[test])")
    _demo(tmp_path)
    for name in "ab":  # more items than workers, each listening on a port of its own
        (tmp_path / f"{name}_demo.psl").write_text(
            "psl> tcp listen srv 0\nsrv: listening on {srv.laddr}\npsl> tcp connect c srv\n"
            "c: connected {c.laddr} -> {srv.laddr}\n"
        )
    # a worker runs items in its main thread: a time limit still cancels a hang
    (tmp_path / "hang_demo.psl").write_text('#! timeout 0.5\npsl> py "import time; '
                                            'time.sleep(60)"\n')  # fmt: skip
    done = _pytest(tmp_path, "-n", "2")
    assert "2 failed, 3 passed, 1 skipped" in done.stdout, done.stdout + done.stderr
    assert "(0.5 s, #! timeout on line 1): cancelled" in done.stdout
    assert "-bye" in done.stdout and "+hi" in done.stdout
    assert "exec:no-such-program-psl: no no-such-program-psl on PATH" in done.stdout


def test_a_check_that_dies_is_named_and_the_rest_are_checked(tmp_path: Path) -> None:
    """A transcript that kills its own check (SIGKILL: nothing can report it) is an
    error naming it; the checks beside it go on."""
    dies = tmp_path / "dies.psl"
    dies.write_text('psl> py "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"\n')
    good = tmp_path / "good.psl"
    good.write_text("psl> echo hi\nhi\n")
    done = run_cli("--check", "--jobs", "2", str(dies), str(good))
    assert done.returncode == 2
    assert done.stdout == f"{good}: pass (1 command)\n"
    assert done.stderr == (f"pslrepl: {dies}: its check ended (signal 9) before it said how "
                           "it went\n")  # fmt: skip


# A transcript the time limit stops: the cancelled command (run buffers until its child
# ends) has shown nothing, and a step after it never runs.
STOPPED = ("#! timeout 0.5\npsl> echo a\nnot a\npsl> run -- sh -c 'echo partial; sleep 30'\n"
           "partial\nexited with status 0\npsl> echo never\nnever\n")  # fmt: skip


def test_check_i_on_a_transcript_the_time_limit_stopped_still_fails(tmp_path: Path) -> None:
    """-i takes what is answered yes, but the transcript is not checked to its end: it
    says where it stopped and exits 1, every time; the cancelled command's written lines
    are not offered for an empty output."""
    path = tmp_path / "t.psl"
    path.write_text(STOPPED)
    for taken in (1, 0):
        done = run_cli("--check", "-i", str(path), input="y\ny\n")
        assert done.returncode == 1, done.stdout
        lines = done.stdout.splitlines()
        assert lines[-2] == f"{path}: took {taken} of {taken} changes; 1 still differs"
        assert lines[-1] == (f"{path}:4: psl> run -- sh -c 'echo partial; sleep 30': still "
                             "running at the time limit (0.5 s, #! timeout on line 1): "
                             "cancelled; the steps after it were not checked: raise "
                             "#! timeout or find why it hangs")  # fmt: skip
        # piped answers are echoed: the report after a question starts a line of its own
        assert done.stdout.count("[q]uit: y\n") == taken
        assert path.read_text() == STOPPED.replace("\nnot a\n", "\na\n")


def test_update_at_a_timeout_keeps_the_written_lines_of_a_command_that_showed_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "t.psl"
    path.write_text(STOPPED)
    done = run_cli("--update", str(path))
    assert done.returncode == 1
    assert done.stdout.splitlines()[1].endswith(
        "cancelled; it had shown nothing: its expected lines are kept as written; the steps "
        "after it were not run"
    )
    assert path.read_text() == STOPPED.replace("\nnot a\n", "\na\n")


def test_check_i_quit_stops_asking_and_checks_no_more_files(tmp_path: Path) -> None:
    """[q]uit ends the run, as git add -p's does: the files after it are not replayed
    (their commands don't run), and a typo is answered with what to type."""
    first, second, third = (tmp_path / f"{n}.psl" for n in ("one", "two", "three"))
    marker = tmp_path / "ran"
    first.write_text(THREE)
    second.write_text(f"psl> run -- touch {marker}\nexited with status 0\n")
    third.write_text(THREE)
    done = run_cli("--check", "-i", str(first), str(second), str(third), input="yes\nx\n\nq\n")
    assert done.returncode == 1
    assert not marker.exists()
    assert first.read_text() == THREE.replace("\n1\n", "\none\n")
    assert "[q]uit: yes\n" in done.stdout
    assert "[q]uit: x\nanswer y, n, a or q: \nanswer y, n, a or q: q\n" in done.stdout
    assert done.stdout.endswith(f"{first}: took 1 of 3 changes; 2 still differ\n"
                                "quit: 2 more transcripts not checked\n")  # fmt: skip
    assert str(third) + ":" not in done.stdout


@pytest.mark.parametrize("args", [["-j2"], ["--jobs=2"]])
def test_jobs_written_as_one_word(tmp_path: Path, args: list[str]) -> None:
    paths = [str(tmp_path / f"{n}.psl") for n in "ab"]
    for path in paths:
        Path(path).write_text("psl> echo hi\nhi\n")
    done = run_cli("--check", *args, *paths)
    assert (done.returncode, done.stderr) == (0, "")
    assert run_cli("--check", "-jx", *paths).stderr.endswith(
        "--jobs takes a whole number from 1 to 256, not 'x'; see pslrepl --help\n"
    )


def test_pytest_without_pytest_timeout_still_bounds_a_transcript(tmp_path: Path) -> None:
    """No pytest-timeout: a hang is bounded as --check bounds it (psl_timeout here), and
    an unmet condition's skip is located at the transcript, not in the plugin."""
    (tmp_path / "hang_demo.psl").write_text('psl> py "import time; time.sleep(60)"\n')
    (tmp_path / "skip_demo.psl").write_text("#! require exec:no-such-program-psl\n"
                                            "psl> echo x\nx\n")  # fmt: skip
    done = _pytest(tmp_path, "-p", "no:timeout", "-o", "psl_timeout=0.5")
    assert "1 failed, 1 skipped" in done.stdout, done.stdout + done.stderr
    assert "still running at the time limit (0.5 s, psl_timeout): cancelled" in done.stdout
    assert "SKIPPED [1] skip_demo.psl" in done.stdout


def test_a_replays_commands_read_an_empty_stdin_never_pslrepls_own(tmp_path: Path) -> None:
    """`py input()` read pslrepl's own standard input: --check waited on the keyboard,
    a worker under --jobs read the parent's input, and -i's answers were eaten."""
    reads = tmp_path / "reads.psl"
    reads.write_text(
        "psl> py \"import sys; print(repr(sys.stdin.read()))\"\n''\n"
        'psl> py "print(input())"\nerror: py: EOFError: EOF when reading a line (line 1)\n'
        'psl> run -- sh -c "wc -c; echo done"\n0\ndone\nexited with status 0\n'
    )
    for jobs in ("1", "2"):
        done = run_cli("--check", "--jobs", jobs, str(reads), str(reads), input="typed\n")
        assert (done.returncode, done.stderr) == (0, ""), done.stdout
    asks = tmp_path / "asks.psl"
    asks.write_text('psl> py "print(input())"\nx\npsl> echo a\nb\n')
    done = run_cli("--check", "-i", str(asks), input="y\nn\n")
    assert done.stdout.endswith(f"{asks}: took 1 of 2 changes; 1 still differs\n"), done.stdout
    assert asks.read_text() == ("psl> py \"print(input())\"\n"
                                "error: py: EOFError: EOF when reading a line (line 1)\n"
                                "psl> echo a\nb\n")  # fmt: skip


def test_each_transcript_runs_in_its_own_tmp_and_names_its_folder_as_testdir(
    tmp_path: Path,
) -> None:
    """Commands ran in the caller's working directory, shared by --jobs workers: two
    checks read each other's relative file, a relative unix socket was "already there",
    and the files were left in the caller's tree. {testdir} names a fixture beside it."""
    caller = tmp_path / "caller"
    caller.mkdir()
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "data.txt").write_bytes(b"fixture\n")
    body = ("psl> run -- sh -c \"pwd; echo {tmp} > out.txt; cat out.txt; cat {testdir}/data.txt\"\n"
            "{tmp}\n{tmp}\nfixture\nexited with status 0\n"
            "psl> unix listen x s.sock\nx: listening on s.sock\n"
            "psl> run -- ls out.txt s.sock\nout.txt\ns.sock\nexited with status 0\n")  # fmt: skip
    paths = []
    for name in ("one.psl", "two.psl"):
        (tests / name).write_text(body)
        paths.append(str(tests / name))
    for jobs in ("1", "2"):
        done = run_cli("--check", "--jobs", jobs, *paths, cwd=str(caller))
        assert (done.returncode, done.stderr) == (0, ""), done.stdout
    assert list(caller.iterdir()) == []
    assert sorted(p.name for p in tests.iterdir()) == ["data.txt", "one.psl", "two.psl"]


def test_check_i_after_a_backtracking_pattern_says_to_mend_the_pattern(tmp_path: Path) -> None:
    """-i said to raise #! timeout, which does not help a pattern that backtracks."""
    path = tmp_path / "slow.psl"
    text = f"#! timeout 0.3\npsl> echo {'a' * 40}c\n(a+)+b (re)\n"
    path.write_text(text)
    done = run_cli("--check", "-i", str(path), input="")
    assert done.returncode == 1 and path.read_text() == text
    assert done.stdout.endswith(
        "the steps after it were not checked: write its pattern so "
        "that a line can match it one way only\n"
    ), done.stdout
