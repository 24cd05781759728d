"""Transcripts: `{{NAME}}` as a placeholder's own text, and --update keeping captures."""

from __future__ import annotations

from pathlib import Path

from pslrepl.replay import replay
from pslrepl.transcript import literal, match_line, parse
from tests.helpers import run_cli

# -- {{NAME}}: the text {NAME} --------------------------------------------------------


def test_doubled_braces_in_a_command_and_a_line_are_the_text() -> None:
    text = ("psl> echo {{tmp}} is {tmp}\n{{tmp}} is {tmp}\n"
            "psl> py \"tmp = 5; print(f'{{tmp}}')\"\n5\n")  # fmt: skip
    outcome = replay(parse(text), path="t.psl")
    assert outcome.ok, outcome.report()
    assert outcome.actual[0][0].startswith("{tmp} is /")


def test_a_doubled_placeholder_does_not_match_the_value() -> None:
    outcome = replay(parse("psl> echo {tmp}\n{{tmp}}\n"), path="t.psl")
    assert not outcome.ok
    assert match_line("{{tmp}}", "{tmp}", {"tmp": "/x"}) == {"tmp": "/x"}
    assert match_line("{{tmp}}", "/x", {"tmp": "/x"}) is None
    assert match_line("{{x}} {x}", "{x} 7", {}) == {"x": "7"}


def test_output_holding_braces_is_written_doubled_and_reads_back() -> None:
    for text in ("{tmp}", "a {{x}} b", "{p.pid} and {", "{{{x}}}", 'json {"a": {"b": 1}}'):
        line = literal(text)
        assert not line.endswith(" (re)"), line
        assert match_line(line, text, {}) is not None, (text, line)
        assert match_line(line, text + "!", {}) is None
    assert literal("{tmp}") == "{{tmp}}"


def test_update_writes_a_literal_placeholder_doubled(tmp_path: Path) -> None:
    path = tmp_path / "t.psl"
    path.write_text("psl> echo {{tmp}} and {{web.port}}\nold\n")
    done = run_cli("--update", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert path.read_text() == "psl> echo {{tmp}} and {{web.port}}\n{{tmp}} and {{web.port}}\n"
    assert run_cli("--check", str(path)).returncode == 0


# -- --update keeps captures --------------------------------------------------------------


def test_update_keeps_a_short_captured_value_as_its_capture(tmp_path: Path) -> None:
    path = tmp_path / "t.psl"
    path.write_text("psl> echo token 42\ntoken {?t:[0-9]+}\n"
                    "psl> echo {t} and more, not 420 nor 142\n{t} and less\n")  # fmt: skip
    done = run_cli("--update", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert path.read_text().splitlines()[-1] == "{t} and more, not 420 nor 142"
    # With another value the next run passes: nothing was frozen.
    path.write_text(path.read_text().replace("token 42", "token 7"))
    assert run_cli("--check", str(path)).returncode == 0


def test_update_says_where_a_capture_it_wrote_away_is_still_used(tmp_path: Path) -> None:
    path = tmp_path / "t.psl"
    path.write_text("psl> echo token abc\ntoken {?t:[0-9]+}\npsl> echo got {t}\ngot {t}\n")
    done = run_cli("--update", str(path))
    assert done.returncode == 1
    assert done.stdout.splitlines()[1] == (
        f"{path}:3: {{t}} is used here, but the update wrote away its capture (made under "
        "line 1): that line no longer matched; write the capture back into the new line"
    )
