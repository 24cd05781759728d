"""Export of what shows the session's state (ls, info, help, set, clients) and of what the
shell refused: the script prints what the shell showed, each address, port and fd from
its own objects; a transcript's embedded files and {tmp} become the script's own."""

from __future__ import annotations

import re
from pathlib import Path

from pslrepl.export import NOT_EXPORTED, export_records
from pslrepl.export.replaying import transcript_records
from tests.helpers import Shell
from tests.test_export_units import check_same, masked, run_alone, script_of, shell_output


def test_ls_and_info_print_the_live_addresses_and_fds_of_the_scripts_own_sockets(
    shell: Shell, tmp_path: Path
):
    expected = shell_output(shell, ["tcp listen srv 0", "tcp connect c srv", "accept srv s",
                                    "send c hello", "recv s", "ls", "info s"])  # fmt: skip
    source = script_of(shell)
    assert NOT_EXPORTED not in source
    out = run_alone(source, tmp_path)

    def fd_masked(lines: list[str]) -> list[str]:  # an fd is the script's own too
        return masked([re.sub(r"^fd:( +)\d+$", r"fd:\1N", line) for line in lines])

    assert fd_masked(out) == fd_masked(expected)
    # from the objects, not the session's values: the script's ports are its own
    assert 'f"getpeername: {addr(s.getpeername())}"' in source
    assert 'f"fd:          {s.fileno()}"' in source
    assert "table(" in source and "addr(c.getsockname())" in source
    port = out[0].rpartition(":")[2]
    assert any(line.startswith("getsockname: ") and line.endswith(":" + port) for line in out)


def test_help_and_set_print_the_shells_text(shell: Shell, tmp_path: Path):
    out = check_same(shell, ["set", "set display", "help poll"], tmp_path)
    assert "usage: poll NAME" in out and "display: text" in out


def test_explain_on_prints_each_commands_calls_after_it(shell: Shell, tmp_path: Path):
    out = check_same(shell, ["set explain on", "tcp listen srv 0", "set explain off",
                             "tcp connect c srv"], tmp_path)  # fmt: skip
    assert "  srv.bind(('127.0.0.1', 0))" in out
    assert not any(line.startswith("  c = ") for line in out)  # explain was off by then


def test_a_history_that_let_an_ls_go_marks_it(shell: Shell):
    shell.ok("ls")
    record = shell.session.history.last()
    assert record is not None and record.shown
    record.shown = ()  # as CommandLog leaves a record past its budget
    source = script_of(shell)
    assert f"{NOT_EXPORTED} what this ls showed was not kept" in source


def test_lines_the_shell_refused_print_its_error_and_the_rest_runs(tmp_path: Path):
    transcript = tmp_path / "t.psl"
    transcript.write_text(
        "psl> spwan p -- cat\n"
        "error: unknown command 'spwan'; did you mean spawn?\n"
        "psl> set timeout soon\n"
        "error: timeout must be a number, not 'soon'\n"
        "psl> echo on\n"
        "on\n"
    )
    records, facts = transcript_records(str(transcript))
    source = export_records(records, **facts).text()
    assert NOT_EXPORTED not in source
    assert run_alone(source, tmp_path) == [
        "error: unknown command 'spwan'; did you mean spawn?",
        "error: timeout must be a number, not 'soon'",
        "on",
    ]


def test_embedded_files_and_tmp_paths_are_the_scripts_own(tmp_path: Path):
    transcript = tmp_path / "t.psl"
    transcript.write_text(
        "psl> run -- cat {tmp}/dir/a.txt\n"
        "nul-free {braces} and 'quotes'\n"
        "exited with status 0\n"
        'psl> run -- {python} -c "import os,sys; print(oct(os.stat(sys.argv[1]).st_mode & 0o777))"'
        " {tmp}/dir/a.txt\n"
        "0o600\n"
        "exited with status 0\n"
        "-- dir/a.txt --\n"
        "nul-free {braces} and 'quotes'\n"
    )
    records, facts = transcript_records(str(transcript))
    script = export_records(records, **facts)
    source = script.text()
    assert facts["tmp"] not in source  # the session's directory is gone: never named
    assert "sys.executable" in source
    where = tmp_path / "run"
    where.mkdir()
    assert run_alone(source, where) == ["nul-free {braces} and 'quotes'", "exited with status 0",
                                        "0o600", "exited with status 0"]  # fmt: skip


def test_a_send_and_a_recv_that_failed_print_the_shells_error_and_its_note(tmp_path: Path):
    # through a transcript, as --export-py makes it
    transcript = tmp_path / "t.psl"
    transcript.write_text("".join(f"psl> {line}\n" for line in [
        "tcp listen srv 0",
        "tcp connect c srv",
        "accept srv s",
        "close s",
        "send c a",
        "send c b",
        "tcp connect c3 srv",
        "accept srv s3",
        "send c3 unread",
        "wait s3 data",
        "close s3",
        "recv c3",
        "echo still here",
    ]))  # fmt: skip
    records, facts = transcript_records(str(transcript))
    source = export_records(records, **facts).text()
    assert NOT_EXPORTED not in source
    out = run_alone(source, tmp_path)
    assert "error: c: Broken pipe (EPIPE): the peer has closed; nothing more can be sent" in out
    assert "error: c3: Connection reset by peer (ECONNRESET): the peer reset the connection" in out
    assert sum(line.startswith("note: ") for line in out) == 2
    assert out[-1] == "still here"


def test_a_send_bounded_by_its_timeout_sends_what_fits_as_the_shells(shell: Shell, tmp_path: Path):
    big = tmp_path / "big"
    big.write_bytes(bytes(16 << 20))
    lines = ["set notes off", "tcp listen srv 0", "tcp connect c srv", "accept srv s",
             f"send c --file {big} --timeout 0.2"]  # fmt: skip
    expected = shell_output(shell, lines)
    source = script_of(shell)
    assert NOT_EXPORTED not in source
    out = run_alone(source, tmp_path)  # a blocking send would wait here for ever
    pattern = r"c: sent \d+ bytes of 16777216 \(send may send less: sendall loops\)"
    assert re.fullmatch(pattern, expected[-1]) and re.fullmatch(pattern, out[-1])
