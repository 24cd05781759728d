"""pslrepl --present's command line, where no terminal is needed to tell what is wrong."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import run_cli


def test_present_needs_a_terminal_and_says_what_works_without_one(tmp_path: Path) -> None:
    show = tmp_path / "show.psl"
    show.write_text("psl> echo hi\nhi\n")
    done = run_cli("--present", str(show))
    assert done.returncode == 2
    # (endswith: a session killed earlier may be reported first, as left behind)
    assert done.stderr.endswith(f"pslrepl: --present needs a terminal (it waits for key presses); "
                           f"pslrepl --check {show} replays it without one\n")  # fmt: skip
    assert done.stdout == ""


def test_present_names_a_file_it_cannot_show(tmp_path: Path) -> None:
    done = run_cli("--present", str(tmp_path / "missing.psl"))
    assert done.returncode == 2
    assert "missing.psl: no such file; give the path of a .psl transcript" in done.stderr
    empty = tmp_path / "empty.psl"
    empty.write_text("# only a comment\n")
    done = run_cli("--present", str(empty))
    assert done.returncode == 2
    assert "it holds no commands" in done.stderr


def test_present_takes_one_file_and_instant_goes_with_it(tmp_path: Path) -> None:
    done = run_cli("--present", "a.psl", "b.psl")
    assert (done.returncode, done.stderr.splitlines()[-1] + "\n") == (
        2, "pslrepl: --present takes one FILE: a.psl and b.psl; see pslrepl --help\n")  # fmt: skip
    done = run_cli("--instant", "a.psl")
    assert (done.returncode, done.stderr) == (
        2, "pslrepl: --instant goes with --present; see pslrepl --help\n")  # fmt: skip
    done = run_cli("--present", "--check", "a.psl")
    assert done.returncode == 2 and "not --check too" in done.stderr
    done = run_cli("--present")
    assert (done.returncode, done.stderr) == (
        2, "pslrepl: --present needs the transcript FILEs; see pslrepl --help\n")  # fmt: skip


def test_help_shows_present() -> None:
    done = run_cli("--help")
    assert "pslrepl --present [--instant] [--no-color] FILE" in done.stdout
    assert "--instant      with --present" in done.stdout


def test_present_refuses_what_a_replay_would_skip_and_a_wrong_directive(tmp_path: Path) -> None:
    show = tmp_path / "show.psl"
    show.write_text("#! require exec:no-such-program-here\npsl> echo hi\nhi\n")
    done = run_cli("--present", str(show))
    assert done.returncode == 2
    assert done.stderr.endswith(
        f"pslrepl: {show}: needs what this machine lacks (exec:no-such-program-here: no "
        "no-such-program-here on PATH); a replay skips it here\n")  # fmt: skip
    show.write_text("#! timeout soon\npsl> echo hi\nhi\n")
    done = run_cli("--present", str(show))
    assert done.returncode == 2 and f"pslrepl: {show}: line 1: " in done.stderr
