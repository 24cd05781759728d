"""pslrepl --lab FILE in a real terminal (tmux): the shell opens with the lab up."""

from __future__ import annotations

from pathlib import Path

from tests.terminal import Terminal


def test_the_shell_opens_with_the_lab_up_and_reset_returns_to_it(tmp_path: Path) -> None:
    lab = tmp_path / "lab.toml"
    lab.write_text('[settings]\ndisplay = "hex"\n\n[[listener]]\nname = "l"\naddr = "0"\n')
    t = Terminal(tmp_path, args=("--lab", str(lab)), cols=160)
    try:
        screen = t.wait_for(f"{lab}: 1 resource up (l)")
        assert "l: listening on 127.0.0.1:" in screen
        t.run("tcp listen extra 0", "extra: listening on")
        t.run("reset", "reset: closed 2 resources (extra, l); back to")
        # Settings are back to the lab's: shown once by the load, once by reset, now again.
        t.run("set display")
        t.wait_for(lambda s: s.count("display: hex") == 3
                   and s.split("display: hex")[-1].lstrip().startswith("psl>"))  # fmt: skip
        t.send("C-d")
        assert t.exit_status() == 0
    finally:
        t.close()
