"""Transcripts as tests: captures, #! require, #! timeout and embedded files."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pslrepl.replay import read_transcript, replay
from pslrepl.transcript import captures, format_transcript, literal, match_line, parse
from pslrepl.transcript.directives import read_directives, unmet
from tests.helpers import pslrepl_exe, run_cli


@pytest.fixture(autouse=True)
def _private_tmpdir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
                    ) -> None:  # fmt: skip
    """Each pslrepl these tests start keeps its temporary directory apart: at start, one
    removes what a pslrepl that died left in TMPDIR and says so on standard error, which
    these tests compare whole."""
    monkeypatch.setenv("TMPDIR", str(tmp_path_factory.mktemp("tmpdir")))


# -- captures -------------------------------------------------------------------------


def test_a_capture_binds_one_word_and_later_lines_must_show_it() -> None:
    bound = match_line("token {?tok} ok", "token a1b2 ok", {})
    assert bound == {"tok": "a1b2"}
    assert match_line("token {?tok} ok", "token a1 b2 ok", {}) is None  # one word only
    assert match_line("{tok}", "a1b2", bound) == bound
    assert match_line("{tok}", "a1b3", bound) is None
    # used again in the same line: the same text
    assert match_line("{?w} and {w}", "x and x", {}) == {"w": "x"}
    assert match_line("{?w} and {w}", "x and y", {}) is None


def test_a_capture_with_a_regex_may_hold_braces_and_rebinds_a_name() -> None:
    assert match_line(r"year {?y:\d{4}}!", "year 2024!", {}) == {"y": "2024"}
    assert match_line(r"year {?y:\d{4}}!", "year 202!", {}) is None
    assert match_line(r"{?b:\}+}", "}}", {}) == {"b": "}}"}
    # a capture always matches afresh: the name takes the new value
    assert match_line("{?n:[0-9]+}", "7", {"n": "5"}) == {"n": "7"}
    # an unclosed one is plain text
    assert captures("left {?open:x") == []
    assert match_line("left {?open:x", "left {?open:x", {}) == {}


def test_a_capture_is_bound_for_the_commands_after_it() -> None:
    text = ("psl> echo token 9f3a port 41000\ntoken {?tok} port {?port:[0-9]+}\n"
            "psl> echo {tok}:{port}\n9f3a:41000\n")  # fmt: skip
    outcome = replay(parse(text), path="t.psl")
    assert outcome.ok, outcome.report()
    assert outcome.bindings["tok"] == "9f3a" and outcome.bindings["port"] == "41000"
    wrong = text.replace("9f3a:41000\n", "9f3a:41001\n")
    assert not replay(parse(wrong), path="t.psl").ok


def test_output_that_looks_like_a_capture_or_a_file_mark_is_written_escaped() -> None:
    for line in ("token {?tok} here", "-- notes.txt --"):
        written = literal(line)
        assert written.endswith(" (re)")
        assert match_line(written, line, {}) == {}


def test_a_bad_capture_regex_is_one_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "t.psl"
    path.write_text("psl> echo x\n# a comment\nx\n{?v:[x}\n")
    done = run_cli("--check", str(path))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"pslrepl: {path}: line 4: capture {{?v:...}}: bad "
                                  "regular expression '[x'")  # fmt: skip
    assert done.stderr.count("\n") == 1


# -- #! require -------------------------------------------------------------------------


def _ipv6_here() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_each_condition_says_whether_it_holds_here() -> None:
    major, minor = sys.version_info[:2]
    assert unmet([]) == ""
    assert unmet(["linux"]) == ("" if sys.platform.startswith("linux") else unmet(["linux"]))
    assert unmet([f"python>={major}.{minor}", f"python=={major}.{minor}"]) == ""
    assert unmet([f"python<={major}.{minor}", f"python<{major}.{minor + 1}"]) == ""
    assert unmet([f"python>{major}.{minor}"]).startswith(f"python>{major}.{minor}: this is "
                                                         f"python {major}.{minor}")  # fmt: skip
    assert unmet([f"python<{major}.{minor}"]) != ""
    assert unmet(["exec:sh"]) == ""
    assert unmet(["exec:no-such-program-psl"]) == (
        "exec:no-such-program-psl: no no-such-program-psl on PATH"
    )
    assert unmet(["!exec:no-such-program-psl"]) == ""
    assert unmet(["!exec:sh"]).startswith("!exec:sh: sh is /")
    assert (unmet(["root"]) == "") == (os.geteuid() == 0)
    assert (unmet(["!root"]) == "") == (os.geteuid() != 0)
    assert (unmet(["ipv6"]) == "") == _ipv6_here()
    assert unmet(["netns", "!netns"]) != ""  # one of the two is unmet, whichever holds
    # the first unmet one is the reason
    assert unmet(["exec:sh", "exec:nope-a", "exec:nope-b"]).startswith("exec:nope-a:")


def test_an_unmet_condition_skips_with_the_reason_and_exit_0(tmp_path: Path) -> None:
    path = tmp_path / "t.psl"
    path.write_text("#! require exec:sh exec:no-such-program-psl\npsl> echo x\nnot x\n")
    done = run_cli("--check", str(path))
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout == f"{path}: skip (exec:no-such-program-psl: no no-such-program-psl on PATH)\n"
    )
    path.write_text("#! require exec:sh\npsl> echo x\nnot x\n")  # met: it runs, and fails
    assert run_cli("--check", str(path)).returncode == 1


@pytest.mark.parametrize(
    ("directive", "why"),
    [
        ("#! require", "line 1: #! require needs conditions: exec:PROGRAM, root"),
        ("#! require lnux", "line 1: unknown condition 'lnux'; known: exec:PROGRAM"),
        ("#! require exec:", "line 1: unknown condition 'exec:'; known:"),
        ("#! require python>=three", "line 1: unknown condition 'python>=three'"),
        ("#! timeout", "line 1: #! timeout takes one number of seconds, like #! timeout 30"),
        ("#! timeout 1 2", "line 1: #! timeout takes one number of seconds"),
        ("#! timeout 0", "line 1: #! timeout must be seconds above 0 and at most 86400, not '0'"),
        ("#! timeout -1", "line 1: #! timeout must be seconds above 0"),
        ("#! timeout nan", "line 1: #! timeout must be seconds above 0"),
        (
            "#! timeout \uff15",
            "line 1: #! timeout must be seconds above 0 and at most 86400, not '\uff15'",
        ),  # a fullwidth 5: float() would take it
        ("#! timeout 1_0", "line 1: #! timeout must be seconds above 0"),
        ("#! timeout 1e3", "line 1: #! timeout must be seconds above 0"),
        (
            "#! timeout soon",
            "line 1: #! timeout must be seconds above 0 and at most 86400, not 'soon'",
        ),  # fmt: skip
        (
            "#! tiemout 5",
            "line 1: unknown directive '#! tiemout'; known: #! require COND..., #! timeout S",
        ),  # fmt: skip
    ],
)
def test_a_wrong_directive_is_one_line_and_status_2(
    tmp_path: Path, directive: str, why: str
) -> None:
    path = tmp_path / "t.psl"
    path.write_text(f"{directive}\npsl> echo x\nx\n")
    for mode in ("--check", "--update"):
        done = run_cli(mode, str(path))
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.startswith(f"pslrepl: {path}: {why}"), done.stderr
        assert done.stderr.count("\n") == 1
    assert path.read_text() == f"{directive}\npsl> echo x\nx\n"


def test_a_directive_after_the_first_command_is_refused_and_a_shebang_is_a_comment() -> None:
    with pytest.raises(
        ValueError,
        match="^line 3: '#! timeout 5' is a #! directive; it goes before the first command",
    ):
        read_directives(parse("psl> echo x\nx\n#! timeout 5\nx\n"))
    found = read_directives(parse("#!/usr/bin/env pslrepl\n#! timeout 2.5\npsl> echo x\nx\n"))
    assert found.timeout == 2.5 and found.require == []


# -- embedded files ---------------------------------------------------------------------

EMBEDDED = """\
# files after the last output
psl> run -- cat {tmp}/data.txt {tmp}/sub/dir/more.txt
first line
psl\\> not a command: a file's line (re)
x -- y --

third
exited with status 0
-- data.txt --
first line
psl> not a command: a file's line
-- sub/dir/more.txt --
x -- y --

third
"""


def test_embedded_files_are_written_to_tmp_before_the_first_command() -> None:
    transcript = parse(EMBEDDED)
    assert len(transcript.steps) == 1
    assert [f.name for f in transcript.files] == ["data.txt", "sub/dir/more.txt"]
    assert format_transcript(transcript) == EMBEDDED  # they round-trip
    outcome = replay(transcript, path="t.psl")
    assert outcome.ok, outcome.report()


def test_embedded_files_are_0600_and_hold_exactly_their_lines(tmp_path: Path) -> None:
    text = ("psl> run -- {python} -c \"import os, stat, sys; s = os.stat(sys.argv[1]); "
            "print(oct(stat.S_IMODE(s.st_mode)), repr(open(sys.argv[1], 'rb').read()))\" "
            "{tmp}/key.pem\n0o600 b'-----BEGIN-----\\\\n\\\\n  x\\\\n'\nexited with status 0\n"
            "-- key.pem --\n-----BEGIN-----\n\n  x\n")  # fmt: skip
    outcome = replay(parse(text), path="t.psl")
    assert outcome.ok, outcome.report()


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("/etc/passwd", "a name is relative to {tmp}; drop the leading /"),
        ("../up", "a name may not hold an empty part, . or ..; give a path inside {tmp}"),
        ("a//b", "a name may not hold an empty part, . or ..; give a path inside {tmp}"),
        ("a/./b", "a name may not hold an empty part, . or ..; give a path inside {tmp}"),
    ],
)
def test_an_embedded_file_outside_tmp_is_refused(tmp_path: Path, name: str, why: str) -> None:
    path = tmp_path / "t.psl"
    path.write_text(f"psl> echo x\nx\n-- {name} --\nhi\n")
    done = run_cli("--check", str(path))
    assert done.returncode == 2
    assert done.stderr == f"pslrepl: {path}: line 3: embedded file {name!r}: {why}\n"


def test_an_embedded_file_given_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="embedded file 'a' comes twice; give each file once"):
        read_directives(parse("psl> echo x\nx\n-- a --\n1\n-- a --\n2\n"))


def test_update_keeps_embedded_files_and_directives(tmp_path: Path) -> None:
    path = tmp_path / "t.psl"
    path.write_text("#! require exec:cat\npsl> run -- cat {tmp}/f\nold\n-- f --\nnew\n")
    assert run_cli("--update", str(path)).returncode == 0
    assert path.read_text() == ("#! require exec:cat\npsl> run -- cat {tmp}/f\nnew\n"
                                "exited with status 0\n-- f --\nnew\n")  # fmt: skip


# -- #! timeout -------------------------------------------------------------------------

SLOW = ('#! timeout 0.5\npsl> echo start\nstart\npsl> echo partial; py "import time; '
        'time.sleep(30)"\npsl> echo never\nnever\n')  # fmt: skip


def test_a_timeout_names_the_command_and_shows_its_output_so_far(tmp_path: Path) -> None:
    path = tmp_path / "slow.psl"
    path.write_text(SLOW)
    done = run_cli("--check", str(path))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    where = f'{path}:4: psl> echo partial; py "import time; time.sleep(30)"'
    assert lines[1] == (f"{where}: still running at the time limit (0.5 s, #! timeout on "
                        "line 1): cancelled; its output so far is below")  # fmt: skip
    assert "+partial" in lines
    assert "+error: replay: cancelled at the time limit (0.5 s, #! timeout on line 1)" in lines
    assert "psl> echo never" not in done.stdout


def test_update_at_a_timeout_keeps_what_was_produced(tmp_path: Path) -> None:
    path = tmp_path / "slow.psl"
    path.write_text(SLOW)
    done = run_cli("--update", str(path))
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == f"{path}: updated (2 commands)"
    assert done.stdout.splitlines()[1].endswith(
        "cancelled; what it had shown is kept; the steps after it were not run"
    )
    assert path.read_text() == SLOW.replace('time.sleep(30)"\n', 'time.sleep(30)"\npartial\n')


def test_the_shorter_of_timeout_and_the_callers_limit_wins() -> None:
    text = '#! timeout 100\npsl> py "import time; time.sleep(30)"\n'
    outcome = replay(parse(text), path="t.psl", time_limit=0.3, limit_note="a test's")
    assert outcome.timed_out and "(0.3 s, a test's)" in outcome.report()
    text = '#! timeout 0.3\npsl> py "import time; time.sleep(30)"\n'
    outcome = replay(parse(text), path="t.psl", time_limit=100, limit_note="a test's")
    assert outcome.timed_out and "(0.3 s, #! timeout on line 1)" in outcome.report()


def test_read_transcript_checks_directives_for_every_reader(tmp_path: Path) -> None:
    """--export-py and --present read transcripts the same way: a typo is named there too."""
    from pslrepl.replay import TranscriptFileError

    path = tmp_path / "t.psl"
    path.write_text("#! require lnux\npsl> echo x\nx\n")
    with pytest.raises(TranscriptFileError, match="unknown condition 'lnux'"):
        read_transcript(str(path))


@pytest.mark.skipif(shutil.which("unshare") is None, reason="no unshare (util-linux) here")
def test_netns_holds_where_unshare_can_make_one() -> None:
    import subprocess

    argv = ["unshare", "--net", "true"] if os.geteuid() == 0 else ["unshare", "-rn", "true"]
    can = subprocess.run(argv, capture_output=True, timeout=10).returncode == 0
    assert (unmet(["netns"]) == "") == can


def test_a_name_that_is_a_file_and_a_folder_fails_before_anything_runs() -> None:
    """A name that is a file's and another's folder at once is refused as the file is
    read (it once failed as the files were written, with advice to --update)."""
    text = "psl> echo x\nx\n-- a --\n1\n-- a/b --\n2\n"
    outcome = replay(parse(text), path="t.psl")
    assert not outcome.ok and outcome.steps_run == 0
    assert outcome.report().splitlines()[1] == (
        "t.psl: line 5: embedded file 'a/b' needs a to be a folder, but line 3 makes it a "
        "file; rename one of them"
    )


def test_ctrl_c_during_update_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    from tests.helpers import pslrepl_exe

    flag = tmp_path / "running"
    path = tmp_path / "t.psl"
    text = (f"psl> echo new\nold\npsl> py \"open('{flag}', 'w').close(); import time; "
            "time.sleep(60)\"\n")  # fmt: skip
    path.write_text(text)
    proc = subprocess.Popen([pslrepl_exe(), "--update", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        end = time.monotonic() + 30
        while not flag.exists() and time.monotonic() < end:
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        proc.kill()
        out, err = proc.communicate()
    assert (out, err) == ("", f"pslrepl: interrupted: {path} is unchanged\n")
    assert path.read_text() == text


def test_the_docs_name_every_directive_condition_and_option() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "TRANSCRIPTS.md").read_text()
    from pslrepl.transcript.directives import KNOWN_CONDITIONS

    names = ["exec:PROGRAM", "root", "linux", "python>=X.Y", "ipv6", "netns"]
    assert all(name in KNOWN_CONDITIONS for name in names)
    for name in names[:3] + names[4:] + ["python>=3.12", "!COND", "#! require COND...",
                                         "#! timeout S", "{?NAME}", "{?NAME:REGEX}",
                                         "-- NAME --", "--jobs N", "--junit FILE", "`-i`",
                                         "{python}", "{tmp}", "pytest -n N", "cram",
                                         "testscript"]:  # fmt: skip
        assert f"{name}" in docs, name


def test_a_cr_in_an_embedded_file_is_kept_and_update_keeps_it_in_the_file(
    tmp_path: Path,
) -> None:
    """An HTTP request fixture's CRLF reaches {tmp} byte for byte, and --update (which
    rewrites a step's output) leaves the fixture's CRs in the .psl."""
    text = ("psl> py \"print(open('{tmp}/req', 'rb').read())\"\nold\n"
            "-- req --\nGET / HTTP/1.0\r\nHost: x\r\n\r\n-- plain --\nlf only\n")  # fmt: skip
    path = tmp_path / "cr.psl"
    path.write_bytes(text.encode())
    done = run_cli("--update", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    want = text.replace("\nold\n", "\nb'GET / HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n'\n")
    assert path.read_bytes() == want.encode()
    assert run_cli("--check", str(path)).returncode == 0


def test_update_keeps_a_crlf_transcript_crlf(tmp_path: Path) -> None:
    """A transcript whose every line ends CRLF (a Windows checkout) is written back so;
    its embedded files hold LF line ends, as the file did before the checkout."""
    text = ("psl> echo hi\r\nold\r\npsl> run -- od -An -c {tmp}/f\r\n"
            "   a  \\\\n\r\nexited with status 0\r\n-- f --\r\na\r\n")  # fmt: skip
    path = tmp_path / "crlf.psl"
    path.write_bytes(text.encode())
    done = run_cli("--update", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert path.read_bytes() == text.replace("old", "hi").encode()


# A command that swallows the cancel: it catches KeyboardInterrupt and goes on (bounded,
# so a replay that never gives up on it still ends, after about 10 s).
SWALLOWS = ("psl> py \"import time; exec('for i in range(200):\\n  try: time.sleep(0.05)\\n"
            "  except KeyboardInterrupt: print(i)')\"\n")  # fmt: skip


def test_a_command_that_swallows_the_cancel_is_given_up_on_after_the_grace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pslrepl.transcript.timelimit as timelimit

    monkeypatch.setattr(timelimit, "GRACE", 0.2)
    text = "#! timeout 0.3\npsl> echo before\nbefore\n" + SWALLOWS + "psl> echo after\nafter\n"
    started = time.monotonic()
    outcome = replay(parse(text), path="t.psl")
    assert time.monotonic() - started < 5
    assert outcome.timed_out and outcome.cancelled_step == 1
    assert outcome.cancelled.endswith(
        "cancelled; it went on after the cancel, so the replay gave up on it"
    )
    report = outcome.report()
    assert "+error: replay: cancelled at the time limit (0.3 s, #! timeout on line 1)" in report
    assert "echo after" not in report and "Abandoned" not in report
    assert report.endswith("t.psl stopped at the time limit: raise it (#! timeout S) or find "
                           "why the command hangs")  # fmt: skip


def test_a_second_ctrl_c_ends_a_check_whose_command_swallowed_the_first(tmp_path: Path) -> None:
    started, swallowed = tmp_path / "started", tmp_path / "swallowed"
    path = tmp_path / "t.psl"
    # Every point the first Ctrl-C may come at (once `started` exists) is in the try.
    path.write_text(
        "psl> py \"exec(open('{tmp}/loop.py').read())\"\n-- loop.py --\n"
        "import time\nn = 0\nwhile n < 200:\n    try:\n"
        f"        open({str(started)!r}, 'w').close()\n"
        "        while n < 200:\n            n += 1\n            time.sleep(0.05)\n"
        f"    except KeyboardInterrupt:\n        open({str(swallowed)!r}, 'w')\n"
    )
    check = subprocess.Popen([pslrepl_exe(), "--check", str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        for marker in (started, swallowed):
            end = time.monotonic() + 30
            while not marker.exists() and time.monotonic() < end:
                time.sleep(0.01)
            assert marker.exists()
            check.send_signal(signal.SIGINT)  # the first is swallowed, the loop goes on
        out, err = check.communicate(timeout=5)  # not the 10 s the loop runs
    finally:
        check.kill()
        check.wait()
    assert check.returncode == 130, out + err
    assert "pslrepl: interrupted after 0 of 1 transcripts" in err


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (
            "psl> echo hi\n{?tmp}\n",
            "line 2: a capture may not be named tmp: {tmp} is the "
            "session's folder; pick another name",
        ),
        (
            "psl> echo hi\nhi\npsl> echo 3\n# c\n{?python:\\d}\n",
            "line 5: a capture may "
            "not be named python: {python} is this interpreter; pick another name",
        ),
        (
            "psl> echo 1\n{?l.port}\n",
            "line 2: {?l.port} is no capture: a capture's NAME is "
            "ASCII letters, digits, _ and - (no dot or space); write {?NAME} or {?NAME:REGEX}",
        ),
        (
            "psl> echo x 1\nx {?n} (re)\n",
            "line 2: {?n...} in a (re) line is plain text "
            "there, never a capture: drop the ' (re)' and write the pattern's parts as "
            "{?NAME:REGEX}",
        ),  # fmt: skip
        ("psl> echo x 1\nx* {?n:\\d} (glob)\n", "line 2: {?n...} in a (glob) line is plain"),
        ("psl> echo x\n{?café}\n", "line 2: {?café} is no capture: a capture's NAME is ASCII"),
        (
            "#! timeout 1\n#! timeout 5\npsl> echo x\nx\n",
            "line 2: a second #! timeout (line 1 gives one); keep one",
        ),  # fmt: skip
        (
            "\ufeffpsl> echo x\nx\n",
            "it starts with a byte order mark (BOM), so its first "
            "line reads as no command: save it as UTF-8 without a BOM",
        ),  # fmt: skip
        ("psl> echo a b\n{?bad name}\n", "line 2: {?bad name} is no capture"),
        # a free placeholder or {testdir} captured would stop matching what it stands for
        (
            "psl> echo 12:00:00\n{?time}\n",
            "line 2: a capture may not be named time: {time} is any clock time; pick another name",
        ),  # fmt: skip
        (
            "psl> echo a\n{?testdir}\n",
            "line 2: a capture may not be named testdir: "
            "{testdir} is the transcript's own folder; pick another name",
        ),  # fmt: skip
        # a bad (re) line was a silent "differs", and --update wrote its text over it
        (
            "psl> echo a[\na[ (re)\n",
            "line 2: bad regular expression in a (re) line "
            "(unterminated character set at position 1); fix it, or write a line of text as "
            "it is",
        ),  # fmt: skip
        # a REGEX's own group number or name is not its own in the line's pattern
        (
            "psl> echo zz\n{?z:(z)\\1}\n",
            "line 2: its captures make no regular expression "
            "together (cannot refer to an open group",
        ),  # fmt: skip
        (
            "psl> echo c c\n{?a:(?P<g>c)} {?b:(?P<g>c)}\n",
            "line 2: its captures make no "
            "regular expression together (redefinition of group name 'g'",
        ),  # fmt: skip
        (
            "psl> run -- cat {tmp}/x\n-- x --\nA\n-- x/y --\nB\n",
            "line 4: embedded file "
            "'x/y' needs x to be a folder, but line 2 makes it a file; rename one of them",
        ),
        (
            "psl> run -- cat {tmp}/x\n-- d/e/f --\nA\n-- d/e --\nB\n",
            "line 2: embedded file 'd/e/f' needs d/e to be a folder, but line 4 makes it a file",
        ),
    ],
)
def test_a_capture_or_file_name_that_cant_work_is_refused_naming_its_line(
    tmp_path: Path, body: str, why: str
) -> None:
    path = tmp_path / "t.psl"
    path.write_text(body)
    done = run_cli("--check", str(path))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"pslrepl: {path}: {why}"), done.stderr
    assert done.stderr.count("\n") == 1


def test_a_failing_commands_control_bytes_are_escaped_in_its_header() -> None:
    """The FILE:LINE header escapes an ESC in the command as the diff's lines do."""
    outcome = replay(parse("psl> echo \x1b[31mred\nnot red\n"), path="t.psl")
    header = outcome.report().splitlines()[1]
    assert header == "t.psl:1: psl> echo \\x1b[31mred"
