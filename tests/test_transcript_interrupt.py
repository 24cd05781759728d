"""Ctrl-C under `--check --jobs N`: every check ends at once and leaves nothing behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.helpers import pslrepl_exe


def _alive(token: str) -> list[int]:
    """Processes whose command line holds ``token``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if token.encode() in fh.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


@pytest.mark.parametrize("to_group", [True, False], ids=["terminal-ctrl-c", "sigint-to-pslrepl"])
def test_ctrl_c_under_jobs_ends_every_check_and_names_the_unfinished(
    tmp_path: Path, to_group: bool
) -> None:
    token = uuid.uuid4().hex
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    names = []
    for i in range(4):
        ready = tmp_path / f"port{i}"
        (tmp_path / f"t{i}.psl").write_text(
            "psl> serve s tcp 0\n...\n"
            f'psl> spawn p -- {{python}} -c "import time; time.sleep(60)" {token}\n...\n'
            f"psl> py \"open(r'{ready}.part', 'w').write('{{s.port}}')\"\n...\n"
            f"psl> py \"import os; os.rename(r'{ready}.part', r'{ready}')\"\n...\n"
            'psl> py "import time; time.sleep(60)"\n'
        )  # fmt: skip
        names.append(f"t{i}.psl")
    env = dict(os.environ, TMPDIR=str(tmpdir))
    proc = subprocess.Popen([pslrepl_exe(), "--check", "--jobs", "3", *names], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        ports = [tmp_path / f"port{i}" for i in range(3)]  # three run, the fourth waits
        while not all(p.exists() for p in ports):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.02)
        assert len(_alive(token)) == 3
        started = time.monotonic()
        if to_group:  # as the terminal sends it: to every process of the foreground group
            os.killpg(proc.pid, signal.SIGINT)
        else:  # as a CI runner or kill(1) may: to pslrepl alone
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert err.splitlines()[-1] == ("pslrepl: interrupted after 0 of 4 transcripts; not "
                                    "finished: t0.psl, t1.psl, t2.psl, t3.psl")  # fmt: skip
    assert took < 5, took  # each check ends at once (it took 10 s and more per check)
    assert _alive(token) == []  # the children the checks spawned are gone
    for port in ports:
        with socket.socket() as s, pytest.raises(ConnectionRefusedError):
            s.connect(("127.0.0.1", int(port.read_text())))
    assert sorted(os.listdir(tmpdir)) == []  # each session's {tmp} removed
