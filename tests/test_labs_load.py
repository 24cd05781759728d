"""`load FILE` brings a lab up, as COMMANDS.md spells it (and `lab load FILE` does);
`load TARGET` measures a server: one command, told apart by what TARGET is."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Shell


def test_load_a_lab_file_brings_it_up(shell: Shell, tmp_path: Path) -> None:
    shell.ok("tcp listen l 0; serve e tcp 0 --handler echo")
    shell.ok(f"save {tmp_path}/lab.toml")
    shell.ok("close l e")
    out = shell.ok(f"load {tmp_path}/lab.toml")
    assert out.splitlines()[-1] == f"{tmp_path}/lab.toml: 2 resources up (l, e)"
    assert [row.split()[0] for row in shell.ok("ls").splitlines()[1:]] == ["l", "e"]
    shell.ok("close l e")
    assert shell.ok("reset").count("up") >= 1  # reset returns to the lab `load` brought up
    assert [row.split()[0] for row in shell.ok("ls").splitlines()[1:]] == ["l", "e"]


def test_load_options_do_not_apply_to_a_lab(shell: Shell, tmp_path: Path) -> None:
    shell.ok(f"save {tmp_path}/lab.toml")
    error = shell.fails(f"load {tmp_path}/lab.toml --requests 5")
    assert error == (f"error: load: {tmp_path}/lab.toml is a lab file, which --requests does "
                     "not apply to; load TARGET measures a server")  # fmt: skip


def test_load_a_server_by_name_still_measures_it(shell: Shell) -> None:
    shell.ok("serve e tcp 0 --handler echo")
    out = shell.ok("load e --requests 50 --conns 2")
    assert "round trips: 50" in out and "errors:      none" in out
