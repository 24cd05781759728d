"""timeline: the session drawn as a sequence diagram from its real events and calls."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pslrepl.invocation import CommandRecord
from pslrepl.output import Screen
from pslrepl.timeline.model import Diagram, Step, _attribute
from pslrepl.timeline.text import draw
from tests.helpers import Shell, child, complete, python_http_server, run_cli

TWO_SENDS = ["tcp listen srv 0", "tcp connect c srv", "accept srv s", 'send c "one "',
             'send c "two"', "recv s", "shutdown c wr", "recv s"]  # fmt: skip


def conversation(shell: Shell) -> None:
    for line in TWO_SENDS:
        shell.ok(line)


def test_two_sends_that_one_recv_read_are_two_arrows_and_one_read(shell: Shell) -> None:
    conversation(shell)
    out = shell.ok("timeline c s")
    assert out.splitlines() == [
        "             c                        srv                        s",
        "2> tcp connect c srv",
        "             |-connect---------------->|                         |",
        "3> accept srv s",
        "             |                         |-accept----------------->|",
        '4> send c "one "',
        "             |-send 4 b'one '----------------------------------->|",
        '5> send c "two"',
        "             |-send 3 b'two'------------------------------------>|",
        "6> recv s",
        "             |                         |       recv 7 b'one two' *",
        "7> shutdown c wr",
        "             |-FIN shutdown(SHUT_WR)---------------------------->|",
        "8> recv s",
        "             |                         |                         * recv EOF: b''",
    ]


def test_last_and_names_choose_the_steps(shell: Shell) -> None:
    conversation(shell)
    shell.ok("tcp listen other 0")
    out = shell.ok("timeline --last 2")
    assert [ln for ln in out.splitlines() if "> " in ln] == ["8> recv s", "9> tcp listen other 0"]
    assert "other" in out.splitlines()[0] and "c " not in out.splitlines()[0]
    assert "other" not in shell.ok("timeline c")
    assert shell.ok("timeline --last 0").strip() == "(no events to draw)"


def test_a_closed_resource_is_still_drawn_and_an_unknown_name_is_one_error(shell: Shell) -> None:
    conversation(shell)
    shell.ok("close s")
    out = shell.ok("timeline s")
    assert "* closed" in out and "recv 7 b'one two'" in out
    assert (
        shell.fails("timeline nosuch")
        == "error: no resource named 'nosuch'; `ls` lists what is live"
    )
    shell.ok("echo still here")


def test_since_takes_a_duration_or_a_clock_time_and_says_what_it_wants(shell: Shell) -> None:
    conversation(shell)
    assert "send 4 b'one '" in shell.ok("timeline --since 10m")
    import time

    first = min(e.t for e in list(shell.session.log))
    clock = time.strftime("%H:%M:%S", time.localtime(first - 1))
    if not clock.startswith("23:59"):  # a session begun just before midnight: not today
        assert "send 4 b'one '" in shell.ok(f"timeline --since {clock}")
    later = time.strftime("%H:%M:%S", time.localtime(time.time() + 3600))
    if later > clock:
        error = shell.fails(f"timeline --since {later}")
        assert error.startswith(f"error: timeline: --since {later} is later than now (")
    assert shell.fails("timeline --since 25:00").startswith("error: timeline: --since wants")
    error = shell.fails("timeline --since yesterday")
    assert error.startswith("error: timeline: --since wants a clock time (14:05 or 14:05:30)")


def test_binary_bytes_are_escaped_in_the_terminal_and_kept_whole_in_the_page(
    shell: Shell, tmp_path: Path
) -> None:
    shell.ok("tcp listen srv 0; tcp connect c srv; accept srv s")
    shell.ok('send c "a\\x00b\\r\\nc\\x1b[31m"')
    shell.ok("recv s")
    out = shell.ok("timeline")
    assert "\x1b" not in out and "\x00" not in out
    assert "recv 11 b'a\\x00b\\r\\nc\\x1b[31m' *" in out
    shell.ok(f"timeline --html {tmp_path}/t.html")
    page = (tmp_path / "t.html").read_text(encoding="utf-8")
    assert "00000000  61 00 62 0d 0a 63 1b 5b  33 31 6d" in page  # the hex dump on click
    assert "11 bytes" in page
    # Self-contained: nothing fetched, nothing run.
    assert "<script" not in page and " src=" not in page and "href=" not in page
    assert stat.S_IMODE((tmp_path / "t.html").stat().st_mode) == 0o600


def test_mermaid_escapes_what_mermaid_reads_as_syntax(shell: Shell) -> None:
    shell.ok("tcp listen srv 0; tcp connect c srv; accept srv s")
    shell.ok('send c "x;y#<z>"')
    out = shell.ok("timeline --mermaid").splitlines()
    assert out[0] == "sequenceDiagram"
    assert out[1:4] == ["    participant L0 as srv", "    participant L1 as c",
                        "    participant L2 as s"]  # fmt: skip
    assert "    L1->>L2: send 7 b'x#59;y#35;#60;z#62;'" in out
    assert '    %% psl> send c "x;y#<z>"' in out


def test_svg_is_xml_with_placeholders_written_private_and_never_through_a_link(
    shell: Shell, tmp_path: Path
) -> None:
    conversation(shell)
    port = shell.session.volatile["srv.port"]
    out = shell.ok(f"timeline --svg {tmp_path}/t.svg")
    assert out == f"wrote {tmp_path}/t.svg: the SVG picture of 8 steps in 3 lanes\n"
    path = tmp_path / "t.svg"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "send 4 b'one '" in texts and "recv 7 b'one two'" in texts
    assert "listening on: {srv.laddr}" in texts
    assert port not in text  # the port is a placeholder: a replay draws the same file
    target = tmp_path / "victim"
    target.write_text("keep")
    os.symlink(target, tmp_path / "link.svg")
    error = shell.fails(f"timeline --svg {tmp_path}/link.svg")
    assert "symbolic link" in error
    assert target.read_text() == "keep"


def test_the_terminal_timeline_fits_its_width_and_merges_lanes(shell: Shell) -> None:
    shell.ok("tcp listen srv 0")
    for i in range(8):
        shell.ok(f"tcp connect c{i} srv; accept srv s{i}; send c{i} hello{i}")
    shell.session.printer.screen = Screen(lambda: (40, 200))
    out = shell.ok("timeline")
    lines = out.splitlines()
    assert all(len(line) <= 40 for line in lines), [ln for ln in lines if len(ln) > 40]
    assert lines[0].rstrip().endswith("...")  # 17 lanes do not fit 40 columns
    assert "srv" in lines[0]  # the busiest lane stays


def test_colour_terminals_get_box_drawing_and_plain_output_ascii() -> None:
    diagram = Diagram(["a", "b"], [Step(1.0, "a", "b", "send 1 b'x'", kind="send")], {}, set())
    fancy = ["".join(t for _, t in line) for line in draw(diagram, width=40, fancy=True)]
    plain = ["".join(t for _, t in line) for line in draw(diagram, width=40, fancy=False)]
    assert "\u2502" in fancy[1] and "\u25b6" in fancy[1]
    assert plain[1].isascii() and plain[1].strip().startswith("|-send 1 b'x'")


def test_a_pause_between_commands_is_marked_not_drawn_to_scale() -> None:
    records = [CommandRecord("a", "a", (), True, 100.0), CommandRecord("b", "b", (), True, 130.0)]
    for n, record in enumerate(records, 1):
        record.number = n
    steps = [Step(100.1, "x", "x", "one", kind="note"), Step(130.2, "x", "x", "two", kind="note")]
    _attribute(steps, records, 5.0)
    assert (steps[0].gap, round(steps[1].gap, 1)) == (0.0, 30.1)
    lines = draw(Diagram(["x"], steps, {1: "a", 2: "b"}, set()), width=40, fancy=False)
    text = ["".join(t for _, t in line) for line in lines]
    assert text[3] == "             : 30s later"
    assert ("notice@age", "30s") in lines[3]  # a transcript records it as {age}
    steps[1].gap = 0.0
    _attribute(steps, records, 60.0)
    assert steps[1].gap == 0.0


def test_a_childs_life_is_drawn_from_the_shell(shell: Shell) -> None:
    shell.ok("set events live")  # what threads posted is drawn (a transcript leaves it out)
    upper = child("import sys; sys.stdout.write(sys.stdin.readline().upper())")
    shell.ok(f"spawn p -- {upper}")
    shell.ok("writeline p hi; wait p")
    out = shell.ok("timeline p")
    assert "|-write 3 b'hi\\n'" in out
    assert "|<stdout 3 b'HI\\n'" in out
    assert "exited with status 0" in out
    assert out.splitlines()[0].split() == ["psl", "p"]


def test_svg_renders_to_a_png(shell: Shell, tmp_path: Path) -> None:
    exe = shutil.which("rsvg-convert")
    if exe is None:
        pytest.skip("rsvg-convert is missing (Debian: apt-get install librsvg2-bin)")
    conversation(shell)
    shell.ok(f"timeline --svg {tmp_path}/t.svg")
    subprocess.run([exe, "-o", str(tmp_path / "t.png"), str(tmp_path / "t.svg")],
                   check=True, timeout=30)  # fmt: skip
    png = (tmp_path / "t.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width > 400 and height > 200


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def test_the_html_page_opens_in_a_headless_browser(shell: Shell, tmp_path: Path) -> None:
    exe = _chromium()
    if exe is None:
        pytest.skip("no headless Chromium here (Debian: apt-get install chromium)")
    conversation(shell)
    shell.ok(f"timeline --html {tmp_path}/t.html")
    shot = tmp_path / "shot.png"
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu",
                    f"--screenshot={shot}", "--window-size=900,700",
                    (tmp_path / "t.html").as_uri()], capture_output=True, timeout=60)  # fmt: skip
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    import zlib

    # Non-blank: the decompressed pixels are not all one colour.
    chunks, pos = [], 8
    while pos < len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        if data[pos + 4 : pos + 8] == b"IDAT":
            chunks.append(data[pos + 8 : pos + 8 + size])
        pos += size + 12
    pixels = zlib.decompress(b"".join(chunks))
    assert len(set(pixels[1 : 1 + 900 * 3 * 50])) > 2


def test_timeline_output_in_a_transcript_is_checked(tmp_path: Path) -> None:
    """Recorded with placeholders, replayed, and a drawing that changes fails the check."""
    script = tmp_path / "t.psl"
    lines = "\n".join(f"psl> {line}" for line in TWO_SENDS[:6])
    script.write_text(lines + "\npsl> timeline --last 1\n", encoding="utf-8")
    run = run_cli("--update", str(script))
    assert run.returncode == 0, run.stderr
    recorded = script.read_text(encoding="utf-8")
    assert "psl> timeline --last 1\n             s\n6> recv s\n" in recorded
    assert run_cli("--check", str(script)).returncode == 0
    script.write_text(recorded.replace("* recv 7 b'one two'", "* recv 7 b'onetwo'"))
    failed = run_cli("--check", str(script))
    assert failed.returncode == 1 and "recv 7 b'one two'" in failed.stdout + failed.stderr


def test_a_script_draws_plain_ascii_80_columns_wide() -> None:
    run = run_cli("-c", "; ".join(TWO_SENDS) + "; timeline", env={"COLUMNS": "200"})
    assert run.returncode == 0, run.stderr
    drawn = run.stdout.split("EOF: the peer closed its side (recv returned b'')\n", 1)[1]
    assert drawn.isascii() and "\x1b" not in drawn
    assert max(len(line) for line in drawn.splitlines()) <= 80


@pytest.mark.parametrize(("env", "fancy"), [({}, True), ({"NO_COLOR": "1"}, False)])
def test_a_real_terminal_gets_the_drawing_fitted_to_its_width(
    tmp_path: Path, env: dict[str, str], fancy: bool
) -> None:
    """In tmux, 60 columns: no line wraps, the lanes merge past what fits; box drawing
    characters with colour, ASCII under NO_COLOR."""
    from tests.terminal import Terminal

    term = Terminal(tmp_path, cols=60, rows=60, env=env)
    try:
        term.run("tcp listen srv 0; tcp connect c srv; accept srv s", "s: accepted")
        term.run("udp open u1; udp open u2; udp open u3; udp open u4; udp open u5", "u5: ")
        term.run('send c "one "; send c two; recv s', "(7 bytes)")
        screen = term.run("timeline", "recv 7 b'one two'")
        lines = screen.splitlines()
        head = next(i for i, ln in enumerate(lines) if ln.startswith("psl> timeline"))
        drawn = [ln for ln in lines[head + 1 :] if ln.strip() and not ln.startswith("psl>")]
        assert all(len(ln) <= 60 for ln in drawn)
        assert drawn[0].rstrip().endswith("...")  # 9 lanes do not fit 60 columns
        assert ("\u2502" in screen) is fancy and ("\u25b6" in screen) is fancy
        arrow = "\u2500\u25b6\u2502 send 4 b'one '" if fancy else "->| send 4 b'one '"
        assert any(arrow in ln for ln in drawn), drawn
    finally:
        term.close()


def test_a_reset_and_a_cut_datagram_are_marked_where_the_read_met_them(shell: Shell) -> None:
    shell.ok("tcp listen srv 0; tcp connect c srv; accept srv s")
    # SO_LINGER 0: close sends RST, not FIN.
    shell.ok("py s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, "
             "(1).to_bytes(4, sys.byteorder) + bytes(4))")  # fmt: skip
    shell.ok("close s")
    c = shell.session.registry.get("c")
    assert shell.session.wait_for(lambda: c.held_error is not None, 10)
    exc = c.take_error()  # what the recv that meets it does
    assert exc is not None and exc.errno == errno.ECONNRESET
    shell.ok("udp open u2 --bind 0; udp open u1; sendto u1 u2 hello; recvfrom u2 2")
    out = shell.ok("timeline c u2")
    assert "* RST: ECONNRESET" in out
    assert "* recv 2 b'he' (MSG_TRUNC: th" in out
    assert "|<send 5 b'hello'" in out  # from u1, which bound its port by sending


def test_a_servers_reply_comes_after_the_request_that_caused_it(shell: Shell) -> None:
    """The echo server reads and answers on its own thread, often before the send's event
    is posted: the drawing still shows request, server's read, reply, then the recv."""
    shell.ok("set events live")  # the server's steps are its threads'
    shell.ok("serve e tcp 0 --handler echo")
    shell.ok("tcp connect c e")
    shell.ok('send c "ping\\n"')
    shell.ok("recv c --line")
    out = shell.ok("timeline c e")
    block = out.split('> send c "ping\\n"\n', 1)[1].splitlines()
    steps = [ln for ln in block if "> " not in ln[:6] and ("send " in ln or "recv " in ln)]
    assert "|<send 5 b'ping\\n'" in steps[0]  # c's request, to the server's lane
    assert "* recv 5 b'ping\\n'" in steps[1]  # the server's read
    assert "|-send 5 b'ping\\n'" in steps[2]  # its reply
    assert "* recv 5 b'ping\\n'" in steps[3]  # and c's read of it, last
    header = out.splitlines()[0].split()
    assert header == ["e", "c"]


def test_tab_completes_the_resources_names(shell: Shell) -> None:
    shell.ok("tcp listen srv 0; tcp listen spare 0")
    assert sorted(complete(shell, "timeline s")) == ["spare", "srv"]
    assert complete(shell, "timeline srv --l") == ["--last"]


def test_an_outside_peer_is_a_lane_named_by_its_address(shell: Shell, tmp_path: Path) -> None:
    """A real peer nobody here wrote (python -m http.server): its bytes come to c as an
    arrow from its lane, since it never says it sent them."""
    (tmp_path / "hello.txt").write_text("hi\n")
    with python_http_server(tmp_path) as http_port:
        shell.ok(f"tcp connect c 127.0.0.1:{http_port}")
        shell.ok('send c "GET /hello.txt HTTP/1.0\\r\\n\\r\\n"')
        shell.ok("recv c --all")
    out = shell.ok("timeline c --mermaid").splitlines()
    assert f"    participant L1 as 127.0.0.1:{http_port}" in out
    assert "    L0->>L1: connect" in out
    assert any(line.startswith("    L1->>L0: recv ") and "HTTP/1.0 200" in line for line in out)
    assert "    Note over L0: recv EOF: b''" in out


def test_no_line_is_wider_than_the_terminal_whatever_the_lanes_and_labels() -> None:
    """Random diagrams (lanes, long and wide-character labels, pauses) at every width
    from 1 to 130: each line fits (8 columns at least: below that nothing can be drawn)."""
    import random

    from pslrepl.render import line_width

    rnd = random.Random(12)
    for _ in range(400):
        lanes = [f"lane{i}" * rnd.randint(1, 3) for i in range(rnd.randint(1, 14))]
        steps = []
        for k in range(rnd.randint(1, 12)):
            label = "x" * rnd.randint(0, 90) + "\u00e9\u4e2d"
            step = Step(float(k), rnd.choice(lanes), rnd.choice(lanes), label,
                        kind=rnd.choice(["send", "recv", "note", "eof"]))  # fmt: skip
            step.command, step.gap = k // 3, 12.0 if rnd.random() < 0.1 else 0.0
            steps.append(step)
        width = rnd.randint(1, 130)
        diagram = Diagram(lanes, steps, {0: "cmd " * 40, 1: "x"}, set())
        for fancy in (True, False):
            for line in draw(diagram, width=width, fancy=fancy):
                assert line_width(line) <= max(width, 8), (width, line)


def test_control_characters_never_make_the_svg_unreadable() -> None:
    """A pasted line or a peer's words may hold an escape sequence or a NUL: XML 1.0
    allows neither, so they are written as \\xNN."""
    from pslrepl.timeline.mermaid import mermaid
    from pslrepl.timeline.svg import html, svg

    step = Step(1.0, "a\x07", "b", "say \x1b[31m\x00", kind="note", words="w\x1b")
    step.command = 1
    diagram = Diagram(["a\x07", "b"], [step], {1: "echo \x1b[2J"}, set())
    root = ET.fromstring(svg(diagram).encode("utf-8"))
    texts = " ".join("".join(t.itertext()) for t in root.iter())
    assert "say \\x1b[31m\\x00" in texts and "\\x07" in texts and "\x1b" not in texts
    assert "\x1b" not in html(diagram) and "\x00" not in html(diagram)
    assert all(line.isprintable() for line in mermaid(diagram))


def test_a_label_is_never_cut_inside_a_number() -> None:
    # A port cut short (127.0.0.1:4...) reads as another, and a transcript's drawing
    # would differ with each run's port: the cut goes before the number.
    label = "listening on: 127.0.0.1:45678 and 9999"
    seen = set()
    checked = 0
    for width in range(8, 60):
        steps = [Step(1.0, "a", "a", label, kind="start"),
                 Step(2.0, "a", "b", "send 123456 b'x'", kind="send")]  # fmt: skip
        lines = draw(Diagram(["a", "b"], steps, {}, set()), width=width, fancy=False)
        for line in lines:
            text = "".join(t for _, t in line)
            for full in (label, "send 123456 b'x'"):
                at, cut = text.find(full[:4]), text.find("\u2026")
                if 0 <= at < cut:
                    kept = text[at:cut]  # the label's part shown before the ellipsis
                    assert full.startswith(kept), (width, text)
                    assert not (kept[-1:].isdigit() and full[len(kept)].isdigit()), (width, text)
                    checked += 1
            seen.add(text.strip())
    assert checked > 20
    assert "* listening on: 127.0.0.1:\u2026" in seen  # cut before the port
    assert "* listening on: 127.0.0.1:45678 and \u2026" in seen
