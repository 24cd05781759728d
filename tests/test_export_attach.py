"""export py of attach: a transcript's typed lines (``|>``) are written to the stream as a
piped attach writes them, and what comes back is shown as the shell showed it; what was
typed at a live session's attach is the user's and stays a marked comment."""

from __future__ import annotations

import io
from pathlib import Path

from pslrepl.export import NOT_EXPORTED, export_records
from pslrepl.export.replaying import transcript_records
from pslrepl.transcript import match_output
from tests.helpers import Shell
from tests.test_export import expected_lines, ruff_findings, run_script
from tests.test_export_units import script_of

TRANSCRIPT = """\
psl> spawn k -- cat
k: started pid {k.pid}: cat
psl> attach k --repr
|> tab\té
|>
b'tab\\t\\xc3\\xa9\\n\\n'  (8 bytes)
k: detached (8 bytes sent, 8 received); its output ended (EOF)
psl> tcp listen srv 0
srv: listening on {srv.laddr}
psl> tcp connect c srv
c: connected {c.laddr} -> {srv.laddr}
psl> accept srv s
s: accepted from {c.laddr} on {srv.laddr}
psl> attach c --timeout 0.2
|> hi
c: detached (3 bytes sent, 0 received); nothing more came in 0.2 s
psl> recv s
hi
(3 bytes)
psl> recv s
EOF: the peer closed its side (recv returned b'')
"""


def test_attach_in_a_transcript_sends_its_lines_then_eof(tmp_path: Path) -> None:
    path = tmp_path / "attach.psl"
    path.write_text(TRANSCRIPT)
    records, facts = transcript_records(str(path))
    typed = [r.values.get("typed") for r in records if r.command == "attach"]
    assert typed == [["tab\té", ""], ["hi"]]
    script = export_records(records, source=path.name, **facts)
    assert not script.missing
    done = run_script(script.text(), tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    actual = done.stdout.decode().split("\n")[:-1]
    assert match_output(expected_lines(path), actual, {}) is not None, actual
    assert ruff_findings(tmp_path / "exported.py") == ""


def test_what_was_typed_at_a_live_attach_stays_marked(shell: Shell) -> None:
    shell.ok("spawn k -- cat")
    shell.session.env.stdin = io.StringIO("a secret, perhaps\n")
    shell.ok("attach k")
    source = script_of(shell)
    assert f"{NOT_EXPORTED} what was typed to attach is the user's" in source
    assert "secret" not in source


def test_attach_to_a_tls_connection_is_marked(tmp_path: Path) -> None:
    path = tmp_path / "tls.psl"
    path.write_text("psl> serve e tcp 0 --handler upper --tls\npsl> tls connect c e\n"
                    "psl> attach c --timeout 0.2\n|> hi\n")  # fmt: skip
    records, facts = transcript_records(str(path))
    script = export_records(records, source=path.name, **facts)
    assert script.missing == ["attach"]
    assert f"{NOT_EXPORTED} attach to a TLS connection is not exported yet" in script.text()
