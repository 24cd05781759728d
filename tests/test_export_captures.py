"""export py of a transcript's captures ({?NAME}): the script matches what its own run
shows and uses its own values after (a port a child chose, a token it printed)."""

from __future__ import annotations

from pathlib import Path

from pslrepl.export import export_records
from pslrepl.export.captures import _rewritten
from pslrepl.export.replaying import transcript_records
from pslrepl.transcript import match_output
from tests.test_export import expected_lines, ruff_findings, run_script

# A child that prints an id and the port it chose, then echoes one client's bytes.
CODE = ("import secrets, socket; s = socket.create_server(('127.0.0.1', 0)); "
        "print('id', secrets.token_hex(4), 'at', s.getsockname()[1]); "
        "c, _ = s.accept(); c.sendall(c.recv(100))")  # fmt: skip
TRANSCRIPT = """\
psl> spawn k -- {python} -u -c "CODE"
k: started pid {k.pid}: {python} -u -c "CODE"
psl> read k --line
id {?id:[0-9a-f]{8}} at {?port}
psl> tcp connect c 127.0.0.1:{port}
c: connected {c.laddr} -> 127.0.0.1:{port}
psl> send c "x{id}\\x00"
c: sent 10 bytes
psl> recv c --all --repr
b'x{id}\\x00'  (10 bytes)
EOF: the peer closed its side (recv returned b'')
psl> echo {port}:{id}
{port}:{id}
""".replace("CODE", CODE)


def test_captured_values_are_the_scripts_own(tmp_path: Path) -> None:
    path = tmp_path / "captures.psl"
    path.write_text(TRANSCRIPT)
    records, facts = transcript_records(str(path))
    script = export_records(records, source=path.name, **facts)
    source = script.text()
    assert not script.missing
    assert "captured_port = found.group('p1')" in source
    assert "int(captured_port)" in source and "captured_id.encode()" in source
    done = run_script(source, tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    actual = done.stdout.decode().split("\n")[:-1]
    assert match_output(expected_lines(path), actual, {}) is not None, actual
    # the script's own id, not the session's: it went through the child and back
    assert actual[-3] == f"b'x{actual[1].split()[1]}\\x00'  (10 bytes)"
    assert ruff_findings(tmp_path / "exported.py") == ""


def test_a_captured_value_in_a_string_bytes_and_a_number() -> None:
    line = "c.connect(('127.0.0.1', 4242)); c.send(b'a4242b'); print(\"at 4242 {x}\")"
    assert _rewritten(line, "v", "4242") == (
        "c.connect(('127.0.0.1', int(v))); c.send(b'a' + v.encode() + b'b'); "
        'print(f"at {v} {{x}}")'
    )
