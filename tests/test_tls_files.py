"""Files that hold TLS secrets are written only where asked, never halfway, never
silently over what was there."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Shell


def test_a_key_log_in_a_missing_directory_is_refused_and_makes_none(
    shell: Shell, tmp_path: Path
) -> None:
    target = tmp_path / "no" / "such" / "k.log"
    assert shell.fails(f"set tls-keylog {target}") == (
        f"error: tls-keylog: {target.parent} is no directory; make it first, or pick another place"
    )
    assert not (tmp_path / "no").exists()
    assert shell.ok("set tls-keylog") == "tls-keylog: off\n"
    shell.ok(f"set tls-keylog {tmp_path}/k.log")
    assert (tmp_path / "k.log").stat().st_mode & 0o777 == 0o600


def test_ca_issue_checks_both_files_before_writing_either(shell: Shell, tmp_path: Path) -> None:
    (tmp_path / "eve.pem").symlink_to(tmp_path / "victim.pem")
    assert "eve.pem is a symbolic link" in shell.fails(f"ca issue eve {tmp_path}")
    assert not (tmp_path / "eve.key").exists() and not (tmp_path / "victim.pem").exists()


def test_ca_issue_says_what_it_replaced(shell: Shell, tmp_path: Path) -> None:
    (tmp_path / "bob.key").write_text("precious\n")
    out = shell.ok(f"ca issue bob --client {tmp_path}")
    assert "replaced what was there: bob.key" in out
    assert (tmp_path / "bob.key").read_text().startswith("-----BEGIN")
    assert (tmp_path / "bob.key").stat().st_mode & 0o777 == 0o600
    assert "replaced" not in shell.ok(f"ca issue carol --client {tmp_path}")


def test_a_directory_given_for_a_file_is_said_so(shell: Shell, tmp_path: Path) -> None:
    for target in (str(tmp_path), f"{tmp_path}/"):
        assert shell.fails(f"export py {target}") == (
            f"error: export py: {target} is a directory; give a file's name in it, like session.py"
        )
