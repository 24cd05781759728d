"""export py of reset (no lab loaded): what is open closed newest first, children's
groups ended, and the settings back to their defaults, as the shell does."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Shell
from tests.test_export_units import check_same, script_of


def test_reset_closes_everything_and_the_settings_go_back(shell: Shell, tmp_path: Path):
    out = check_same(shell, [
        "set display hex",
        "serve e tcp 0 --handler echo --threading",
        "relay r tcp-listen:0 e",
        "tcp connect c r",
        "spawn p -- sleep 30",
        "sh --bg j -- sleep 30",
        "reset",
        "spawn q -- cat",
        r'write q "a\x00b\n"',
        "read q --line",  # shown as text again: display is back to its default
        "reset",
    ], tmp_path)  # fmt: skip
    assert "reset: closed 5 resources (j, p, c, r, e); an empty session" in out
    assert out[-2:] == ["a\\x00b", "reset: closed 1 resource (q); an empty session"]
    assert "# NOT EXPORTED" not in script_of(shell)


def test_close_all_closes_newest_first_saying_each(shell: Shell, tmp_path: Path) -> None:
    out = check_same(shell, [
        "close --all",
        "serve e tcp 0 --handler echo --threading",
        "tcp listen srv 0",
        "spawn p -- sleep 30",
        "sh --bg j -- sleep 30",
        "relay r tcp-listen:0 e",
        "close --all",
        "close --all",
    ], tmp_path)  # fmt: skip
    assert out[0] == out[-1] == "nothing to close"
    at = next(i for i, line in enumerate(out) if line.startswith("r: closed ("))
    assert [line.split(":")[0] for line in out[at : at + 5]] == ["r", "j", "p", "srv", "e"]
