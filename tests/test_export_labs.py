"""export py of labs and the session's own views: lab load is the lab's commands (each
exported as its own) and what the shell said; save, timeline and tls bio stay clearly
marked comments saying why."""

from __future__ import annotations

from pathlib import Path

from pslrepl.export import NOT_EXPORTED
from tests.helpers import Shell
from tests.test_export_units import check_same, script_of


def test_lab_load_is_its_commands_then_what_the_shell_said(shell: Shell, tmp_path: Path):
    lab = tmp_path / "lab.toml"
    lab.write_text('[settings]\ndisplay = "repr"\n\n[[process]]\nname = "p"\nargv = ["cat"]\n\n'
                   '[[listener]]\nname = "srv"\naddr = "0"\n')  # fmt: skip
    out = check_same(shell, [
        f"load {lab}",
        "close --all",
        f"lab load {lab}",
        r'write p "a\x00\n"',
        "read p --line",
        "tcp connect c srv",
        "accept srv s",
        "close s",
    ], tmp_path)  # fmt: skip
    assert out.count(f"{lab}: 2 resources up (p, srv)") == 2
    assert r"b'a\x00\n'  (3 bytes)" in out  # the lab's display setting holds in the script


def test_save_timeline_and_tls_bio_are_marked_saying_why(shell: Shell, tmp_path: Path):
    shell.ok("tcp listen srv 0")
    shell.ok(f"save {tmp_path}/lab.toml")
    shell.ok("timeline")
    shell.ok("tls bio b")
    shell.ok("reset")
    shell.ok(f"lab load {tmp_path}/lab.toml")
    shell.ok("reset")
    source = script_of(shell)
    assert f"{NOT_EXPORTED} save writes the shell's own lab file" in source
    assert f"{NOT_EXPORTED} timeline draws the session's history" in source
    assert f"{NOT_EXPORTED} tls bio (and its step, pass, read, write) is not exported" in source
    assert f"{NOT_EXPORTED} reset closes b too, which the script does not make" in source
    assert f"{NOT_EXPORTED} a reset back to the lab loaded above" in source
    compile(source, "exported.py", "exec")
