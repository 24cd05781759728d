"""Each classroom example's timeline, terminal and SVG, against its golden file.

Steps a background thread posts (a child's output as it arrives, its exit, a server's
clients, a relay's copies) fall where they happened, which a replay can't repeat: the
goldens hold the steps the commands themselves made, in the order they made them.
Regenerate with PSL_UPDATE_GOLDENS=1 after a change meant to alter the pictures.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pslrepl.timeline.model import build
from pslrepl.timeline.svg import placeholders, svg
from pslrepl.timeline.text import draw
from pslrepl.transcript.syntax import parse
from pslrepl.transcript.writing import Namer
from tests.helpers import make_shell

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.psl"))
GOLDENS = Path(__file__).resolve().parent / "data" / "timeline"


def replayed(example: Path):  # type: ignore[no-untyped-def]
    """The example's commands run in a fresh session, as a replay runs them: its files
    written to {tmp}, placeholders filled into each word (the lines keep them)."""
    from pslrepl.replay import write_embedded
    from pslrepl.transcript.words import expand_in_words

    shell = make_shell()
    transcript = parse(example.read_text(encoding="utf-8"))
    for file in transcript.files:
        assert not write_embedded(shell.session.tmp, file)
    now: list[dict[str, str]] = [{}]
    expand_in_words(shell.dispatcher, shell.session, now)
    for step in transcript.steps:
        now[0] = {"tmp": shell.session.tmp, "python": sys.executable,
                  **dict(shell.session.volatile)}  # fmt: skip
        shell(step.command)
    return shell


# The interpreter's own name (python3, python3.12...) is the machine's.
PYTHON = f"({os.path.basename(sys.executable)})"


def settled(diagram, tmp: str, namer: Namer):  # type: ignore[no-untyped-def]
    # A reset is drawn from the recv's call, or (once recv calls take_error) from the
    # error the watcher's read-ahead took first: which one, timing decides. Left out.
    # What a python child printed is left out too: slow-network's nagle.py says what it
    # timed.
    diagram.steps = [s for s in diagram.steps if not s.background and s.kind != "rst"
                     and not (s.src == PYTHON and s.kind == "data")]  # fmt: skip
    for step in diagram.steps:
        step.gap = 0.0  # a pause depends on the machine's load
        step.src, step.dst = (("(python)" if x == PYTHON else x) for x in (step.src, step.dst))
        # Placeholders before the drawing cuts a label: a port cut short is no port.
        label = step.label.replace(sys.executable, "{python}").replace(tmp, "{tmp}")
        step.label = placeholders(namer, label)
    diagram.lanes = ["(python)" if lane == PYTHON else lane for lane in diagram.lanes]
    diagram.commands = {n: line.replace(sys.executable, "{python}")
                        for n, line in diagram.commands.items()}  # fmt: skip
    lanes = [lane for lane in diagram.lanes
             if any(lane in (s.src, s.dst) for s in diagram.steps)]  # fmt: skip
    diagram.lanes = lanes
    return diagram


def steady(text: str) -> str:
    """A send of many bytes that a timeout bounds sends what the kernel's buffers took:
    its count is the machine's, not the example's."""
    text = re.sub(r"\b(send|recv|write) \d{5,}\b", r"\1 {n}", text)
    return re.sub(r"\b\d{5,} bytes\b", "{n} bytes", text)


def check(path: Path, text: str) -> bool:
    """Compare with the golden; a missing one is written (True: the test must fail)."""
    text = steady(text)
    if os.environ.get("PSL_UPDATE_GOLDENS") or not path.exists():
        path.write_text(text, encoding="utf-8")
        return not os.environ.get("PSL_UPDATE_GOLDENS")
    assert text == path.read_text(encoding="utf-8"), f"{path.name} differs"
    return False


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_each_examples_timeline_matches_its_golden(example: Path, tmp_path: Path) -> None:
    shell = replayed(example)
    try:
        session = shell.session
        namer = Namer(dict(session.volatile))
        diagram = settled(build(session), session.tmp, namer)
        lines = draw(diagram, width=80, fancy=False)
        text = "".join(placeholders(namer, "".join(t for _, t in line)).rstrip() + "\n"
                       for line in lines)  # fmt: skip
        picture = svg(diagram, namer)
        ET.fromstring(picture.encode("utf-8"))  # well-formed XML
        written = [path.name for path, drawn in ((GOLDENS / f"{example.stem}.txt", text),
                                                 (GOLDENS / f"{example.stem}.svg", picture))
                   if check(path, drawn)]  # fmt: skip
        assert not written, f"{written} were missing: written now; check them in"
        renderer = shutil.which("rsvg-convert")
        if renderer is not None:  # a real renderer draws it (CI has librsvg2-bin)
            (tmp_path / "t.svg").write_text(picture, encoding="utf-8")
            subprocess.run([renderer, "-o", str(tmp_path / "t.png"), str(tmp_path / "t.svg")],
                           check=True, timeout=30)  # fmt: skip
            assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        shell.close()
