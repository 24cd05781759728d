"""docs/TLS.md runs as written: its session blocks, in order, are one checked transcript,
the stepped handshake among them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pslrepl.replay import replay
from pslrepl.transcript import PROMPT, parse

DOC = Path(__file__).resolve().parent.parent / "docs" / "TLS.md"

# What differs from run to run, as it stands in a line: a hexdump line (bytes of keys and
# randoms), a fingerprint, trustme's random name parts, a path, a number of 3 digits or
# more (a port, a size). In a records table, every number (a signature's size varies).
VARYING = re.compile(
    r"(?P<hexdump>^[0-9a-f]{8}(?:  .*)?$)"
    r"|(?P<random>#[\w-]{16}\b)"
    r"|(?P<path>(?<!\S)/\S+)"
    r"|(?P<number>\d{3,})"
)
ROW = re.compile(r"(?:in|out) +[a-z_]+ +TLSv")


def as_pattern(line: str) -> str:
    """An output line as the transcript line that matches it in any run."""
    pieces, pos = [], 0
    for m in VARYING.finditer(line):
        pieces.append(re.escape(line[pos : m.start()]))
        kind = m.lastgroup
        pieces.append({"hexdump": r"[0-9a-f]{8}(  [0-9a-f ]+ \|.*\|)?", "random": r"#[\w-]{16}",
                       "path": r"/\S+", "number": r"\d+"}[kind or "number"])  # fmt: skip
        pos = m.end()
    pieces.append(re.escape(line[pos:]))
    pattern = "".join(pieces)
    if ROW.match(line):
        pattern = re.sub(r"(?<![\\\w])\d+", r"\\d+", pattern)
    return line if pattern == re.escape(line) else pattern + " (re)"


def session_blocks(text: str) -> list[list[str]]:
    blocks = re.findall(r"```text\n(.*?)```", text, re.DOTALL)
    return [b.splitlines() for b in blocks if any(x.startswith(PROMPT) for x in b.splitlines())]


def as_transcript(lines: list[str]) -> str:
    out = []
    for line in lines:
        if line.startswith(PROMPT) or line.startswith("#") or line == "...":
            out.append(line)
        else:
            out.append(as_pattern(line))
    return "\n".join(out) + "\n"


def test_the_page_shows_the_stepped_handshake() -> None:
    lines = [x for b in session_blocks(DOC.read_text(encoding="utf-8")) for x in b]
    commands = [x[len(PROMPT) :] for x in lines if x.startswith(PROMPT)]
    for step in ("tls bio c", "tls bio s --server", "tls step c", "tls pass c s", "tls step s",
                 "tls pass s c", "tls read c"):  # fmt: skip
        assert step in commands
    assert "encrypted: NewSessionTicket (233)" in "\n".join(lines)


def test_the_patterns_keep_what_does_not_vary() -> None:
    assert (
        as_pattern("c: wrote 1 record (517 bytes)") == r"c:\ wrote\ 1\ record\ \(\d+\ bytes\) (re)"
    )
    assert as_pattern("t: sent 6 bytes") == "t: sent 6 bytes"
    dump = as_pattern("00000000  16 03 01 02 00 01 00 01  fc 03 03 7a 68 83 a4 35 |.....zh..5|")
    assert re.fullmatch(dump[:-5], "000000a1  17 03 03 |...|")
    row = as_pattern("out  application_data    TLSv1.2  95      encrypted: CertificateVerify (78)")
    assert re.fullmatch(row[:-5], "out  application_data    TLSv1.2  96      encrypted: "
                                  "CertificateVerify (79)")  # fmt: skip
    assert not re.fullmatch(row[:-5], "out  application_data    TLSv1.2  96      encrypted: "
                                      "Certificate (79)")  # fmt: skip


@pytest.mark.timeout(120)
def test_the_page_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # certs/ and keys.log are written in the current directory
    lines = [x for b in session_blocks(DOC.read_text(encoding="utf-8")) for x in b]
    outcome = replay(parse(as_transcript(lines)), path="docs/TLS.md")
    assert outcome.ok, outcome.report()
    assert (tmp_path / "certs" / "alice.key").stat().st_mode & 0o777 == 0o600
    assert "CLIENT_TRAFFIC_SECRET_0" not in (tmp_path / "keys.log").read_text()  # no TLS then
